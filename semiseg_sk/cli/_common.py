# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""What the commands share: messages, progress bars, reading inputs, the model."""

import contextlib
import re
import sys
import warnings

from ..exceptions import CommandError
from ..utils.validation import n_channels

__all__ = [
    "BATCH",
    "OUTPUT_SUFFIXES",
    "check_channels",
    "check_device",
    "check_file",
    "check_inputs",
    "expected_channels",
    "find_input_images",
    "load",
    "model_spacing",
    "naming_files",
    "progress",
    "progress_enabled",
    "read_checked",
    "read_images",
    "say",
    "set_n_jobs",
]

#: Stem suffixes of the files ``semiseg predict`` writes; files found in
#: folders or by patterns with these suffixes are not taken as images.
OUTPUT_SUFFIXES = (
    "_labels",
    "_proba",
    "_uncertainty",
    "_overlay",
    "_instances",
    "_suggestions",
)

#: Images per predict call: bounded memory, some parallelism.
BATCH = 8


def say(args, message):
    if not args.quiet:
        print(message, file=sys.stderr, flush=True)


def progress_enabled(args):
    return not args.quiet and sys.stderr.isatty()


def progress(args, iterable, desc, total=None):
    from tqdm import tqdm

    return tqdm(
        iterable,
        desc=desc,
        total=total,
        unit="image",
        file=sys.stderr,
        disable=not progress_enabled(args),
        leave=False,
    )


def find_input_images(args):
    from ..io import find_images

    return find_images(args.images, exclude_suffixes=OUTPUT_SUFFIXES)


def check_device(args):
    """Refuse a --device semiseg_sk does not run on before any work."""
    if args.device is not None:
        from ..features._torch import resolve_device

        resolve_device(args.device, name="--device")


def read_checked(path, volume=False):
    """Read an image (a TIFF stack with ``volume``) and check it, naming the file."""
    from ..io import read_image, read_volume
    from ..utils.validation import check_image

    if volume:
        image = read_volume(path)[0]
        return check_image(image, name=str(path), index=None, ndim=3)
    return check_image(read_image(path), name=str(path), index=None)


def read_images(args, paths, volume=False, *, keep=True):
    """Read and check every image (TIFF stacks with ``volume``).

    With ``keep=False`` give their shapes only: each image is read, checked
    and dropped, so memory holds one image, whatever their number.
    """
    ndim = 3 if volume else 2
    images, first = [], None
    for path in progress(args, paths, "reading"):
        image = read_checked(path, volume)
        first = n_channels(image, ndim) if first is None else first
        if n_channels(image, ndim) != first:
            raise CommandError(
                f"{path} has {n_channels(image, ndim)} channel(s) but {paths[0]} "
                f"has {first}; all images must have the same number of channels."
            )
        images.append(image if keep else image.shape)
    return images


def model_spacing(model):
    """The voxel spacing a model segments volumes with, None for 2-D images."""
    for _, step in getattr(model, "steps", [(None, model)]):
        spacing = getattr(step, "spacing", None)
        if spacing is not None:
            return tuple(float(s) for s in spacing)
    return None


@contextlib.contextmanager
def naming_files(paths):
    """Errors of the library name images ``X[i]``: say which file that is."""

    def name(match):
        i = int(match.group(1))
        return str(paths[i]) if i < len(paths) else match.group(0)

    try:
        yield
    except (ValueError, TypeError) as exc:
        text = re.sub(r"\bX\[(\d+)\]", name, str(exc))
        if text == str(exc):
            raise
        raise CommandError(text) from exc


def set_n_jobs(model, n_jobs):
    if n_jobs is None:
        return
    keys = [k for k in model.get_params(deep=True) if k.split("__")[-1] == "n_jobs"]
    model.set_params(**dict.fromkeys(keys, n_jobs))


def check_file(path, expected, volume=False):
    """None if ``path`` reads as an image with ``expected`` channels, else the error.

    ``expected`` None accepts any number of channels; ``volume`` reads a TIFF
    stack. Runs where the task runs (a worker process, a dask worker), so it
    returns the error instead of raising it.
    """
    try:
        image = read_checked(path, volume)
        _check_n_channels(path, image, expected, 3 if volume else 2)
    except (CommandError, OSError, ValueError, TypeError) as exc:
        return exc
    return None


def check_inputs(args, paths, model, *, skip=False, workers=None):
    """Read and check every image before the first output is written.

    Returns the paths that passed; with ``skip``, the others are reported
    and left out instead of stopping the run. With ``workers`` (an
    :class:`~semiseg_sk.cli._scheduler.ImageWorkers`), the images are read
    and checked where they will be predicted, in parallel.
    """
    expected = expected_channels(model)
    volume = model_spacing(model) is not None
    if workers is None:
        errors = (check_file(path, expected, volume) for path in paths)
    else:
        errors = workers.map(check_file, paths, expected, volume)
    good = []
    bar = progress(args, errors, "checking", len(paths))
    with contextlib.closing(errors), contextlib.closing(bar):
        for path, error in zip(paths, bar):
            if error is not None:
                if not skip:
                    raise error
                warnings.warn(f"skipped {path}: {error}", UserWarning)
                continue
            good.append(path)
    if not good:
        raise CommandError(f"none of the {len(paths)} images can be read.")
    return good


def load(args):
    from ..io import load_model

    return load_model(args.model, return_info=True)


def expected_channels(model):
    """The number of channels ``model`` was trained on, or None if it does not say."""
    for _, step in getattr(model, "steps", [(None, model)]):
        expected = getattr(step, "n_channels_", None)
        if expected is not None:
            return expected
    return None


def _check_n_channels(path, image, expected, ndim=2):
    if expected is not None and n_channels(image, ndim) != expected:
        raise CommandError(
            f"{path} has {n_channels(image, ndim)} channel(s) but the model was "
            f"trained on images with {expected}."
        )


def check_channels(model, paths, images):
    expected = expected_channels(model)
    ndim = 2 if model_spacing(model) is None else 3
    for path, image in zip(paths, images):
        _check_n_channels(path, image, expected, ndim)
