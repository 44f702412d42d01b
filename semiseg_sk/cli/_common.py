# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""What the commands share: messages, progress bars, reading inputs, the model."""

import sys

from ..exceptions import CommandError

__all__ = [
    "BATCH",
    "OUTPUT_SUFFIXES",
    "check_channels",
    "find_input_images",
    "load",
    "progress",
    "progress_enabled",
    "read_images",
    "say",
    "set_n_jobs",
]

#: Stem suffixes of the files ``semiseg predict`` writes; files found in
#: folders or by patterns with these suffixes are not taken as images.
OUTPUT_SUFFIXES = ("_labels", "_proba", "_uncertainty", "_overlay")

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


def read_images(args, paths):
    from ..io import read_image
    from ..utils.validation import n_channels

    images = []
    for path in progress(args, paths, "reading"):
        images.append(read_image(path))
    first = n_channels(images[0])
    for path, image in zip(paths, images):
        if n_channels(image) != first:
            raise CommandError(
                f"{path} has {n_channels(image)} channel(s) but {paths[0]} has "
                f"{first}; all images must have the same number of channels."
            )
    return images


def set_n_jobs(model, n_jobs):
    if n_jobs is None:
        return
    keys = [k for k in model.get_params(deep=True) if k.split("__")[-1] == "n_jobs"]
    model.set_params(**dict.fromkeys(keys, n_jobs))


def load(args):
    from ..io import load_model

    return load_model(args.model, return_info=True)


def check_channels(model, paths, images):
    from ..utils.validation import n_channels

    expected = None
    for _, step in getattr(model, "steps", [(None, model)]):
        expected = getattr(step, "n_channels_", None)
        if expected is not None:
            break
    if expected is None:
        return
    for path, image in zip(paths, images):
        if n_channels(image) != expected:
            raise CommandError(
                f"{path} has {n_channels(image)} channel(s) but the model was "
                f"trained on images with {expected}."
            )
