# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""``semiseg fit``: train a segmenter on images and a folder of label images."""

import argparse
import ast
import os
import time
import warnings

from ..exceptions import CommandError
from ._common import (
    check_device,
    find_input_images,
    naming_files,
    progress_enabled,
    read_images,
    say,
)
from ._paths import check_dir, check_output_file, match_labels, same_file
from ._scheduler import library_backend, uses_workers

__all__ = [
    "build_model",
    "fit_channels",
    "fit_spacing",
    "parse_channels",
    "parse_setting",
    "parse_spacing",
    "read_label_files",
    "run",
]


def unknown_settings_message(model, unknown, args):
    """Explain --set keys the pipeline does not have, with close matches."""
    import difflib

    valid = sorted(k for k in model.get_params() if "__" in k)
    lines = []
    for key in unknown:
        close = difflib.get_close_matches(key, valid, n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        lines.append(f"--set {key}: the pipeline has no such parameter.{hint}")
    steps = ", ".join(name for name, _ in model.steps)
    lines.append(f"Parameters are named <step>__<parameter>; the steps are {steps}.")
    if getattr(args, "no_autoencoder", False) and any(
        k.startswith("autoencoderfeatures__") for k in unknown
    ):
        lines.append("autoencoderfeatures is left out by --no-autoencoder.")
    return " ".join(lines)


def parse_setting(text):
    """``key=value`` with the value read as a Python literal, else a string."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise argparse.ArgumentTypeError(
            f"expected KEY=VALUE such as superpixels__n_segments=400; got {text!r}"
        )
    try:
        parsed = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        parsed = value.strip()
    return key, parsed


def parse_channels(text):
    """``--channels 0,2`` or ``--channels dapi,gfp``: indices or names."""
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated channel indices or names such as 0,2; "
            f"got {text!r}"
        )
    return [int(item) if item.isdigit() else item for item in items]


def parse_spacing(text):
    """``--spacing 2,0.5,0.5``: the voxel size (dz, dy, dx)."""
    try:
        spacing = tuple(float(item) for item in text.split(","))
    except ValueError:
        spacing = ()
    if len(spacing) != 3 or not all(0 < s < float("inf") for s in spacing):
        raise argparse.ArgumentTypeError(
            f"expected three positive numbers dz,dy,dx such as 2,0.5,0.5; got {text!r}"
        )
    return spacing


def fit_spacing(args, paths):
    """The spacing of the volumes to fit on (None for 2-D images).

    ``--spacing`` wins; else the spacing the TIFF stacks declare, which must
    agree (1, 1, 1 for files that declare none). Volumes are fitted with
    ``--volume`` or when an input file has a Z axis.
    """
    from ..io import is_volume_file, volume_metadata

    volume = args.volume or args.spacing is not None
    stack = None if volume else next((p for p in paths if is_volume_file(p)), None)
    if not volume and stack is None:
        return None
    for path in paths:
        if os.path.splitext(path)[1].lower() not in (".tif", ".tiff"):
            why = f"{stack} is a volume (a TIFF stack with a Z axis)"
            if stack is None:
                why = "--volume or --spacing reads every image as a volume"
            raise CommandError(
                f"{path} is a 2-D image but {why}; fit volumes (TIFF stacks) and "
                f"2-D images in separate models."
            )
    if args.spacing is not None:
        return args.spacing
    declared = {}
    for path in paths:
        spacing = volume_metadata(path)["spacing"] or (1.0, 1.0, 1.0)
        declared.setdefault(spacing, path)
    if len(declared) > 1:
        shown = "; ".join(f"{p}: {s}" for s, p in declared.items())
        raise CommandError(
            f"the volumes declare different voxel spacings ({shown}); one model "
            f"takes one spacing: give --spacing dz,dy,dx."
        )
    return next(iter(declared))


def fit_channels(args, paths):
    """``(channels, channel_names)`` of ``--channels`` and ``--channel-names``.

    Names in ``--channels`` are looked up in ``--channel-names``, else in
    the OME channel names of the first input file.
    """
    channels, names = args.channels, args.channel_names
    if names is not None:
        names = [name.strip() for name in names.split(",")]
    if channels is not None and names is None:
        if any(isinstance(c, str) for c in channels):
            from ..io import volume_metadata

            if os.path.splitext(paths[0])[1].lower() in (".tif", ".tiff"):
                names = volume_metadata(paths[0])["channel_names"]
            if names is None:
                raise CommandError(
                    f"--channels {','.join(map(str, channels))} names channels "
                    f"but {paths[0]} does not name its channels (OME-TIFF "
                    f"Channel names); give --channel-names or channel indices."
                )
    return channels, names


def build_model(args, *, spacing=None, channels=None, channel_names=None):
    """The pipeline with the --set values, checked before any image is read."""
    from sklearn.base import BaseEstimator

    from ..pipeline import make_segmenter
    from ..utils.fixes import check_parameters

    model = make_segmenter(
        spacing=spacing,
        channels=channels,
        channel_names=channel_names,
        autoencoder="auto" if not args.no_autoencoder else False,
        device=args.device or "cpu",
        random_state=args.random_state,
        n_jobs=args.n_jobs,
        verbose=1 if progress_enabled(args) else 0,
    )
    settings = dict(args.set or [])
    whole = [key for key in settings if "__" not in key]
    if whole:
        hint = (
            "; --no-autoencoder leaves out the autoencoder"
            if "autoencoderfeatures" in whole
            else ""
        )
        raise CommandError(
            f"--set {whole[0]}=... would replace a step or set the pipeline "
            f"itself; --set changes parameters of steps, named "
            f"<step>__<parameter>{hint}."
        )
    unknown = [key for key in settings if key not in model.get_params()]
    if unknown:
        raise CommandError(unknown_settings_message(model, unknown, args))
    try:
        model.set_params(**settings)
        # Type and range of every parameter now, not after reading the images.
        nested = model.get_params(deep=True).values()
        for estimator in [model, *nested]:
            if isinstance(estimator, BaseEstimator):
                check_parameters(estimator)
    except (ValueError, TypeError) as exc:
        raise CommandError(f"--set: {exc}") from exc
    return model, settings


def read_label_files(images, label_files, volume=False):
    """Targets of the images (all -1 without a label file), checked.

    ``images`` are the images or their shapes. The target of an image
    without a label file is a read-only view that takes no memory.
    """
    import numpy as np

    from ..io import read_labels, read_volume_labels

    top = np.iinfo(np.uint16).max
    ndim = 3 if volume else 2
    labels = []
    for image, found in zip(images, label_files):
        shape = tuple(getattr(image, "shape", image))
        if found is None:
            labels.append(np.broadcast_to(np.int64(-1), shape[:ndim]))
            continue
        if volume:
            target = read_volume_labels(found, shape=shape)
        else:
            target = read_labels(found, shape=shape)
        if target.size and target.max() + 1 > top:
            raise CommandError(
                f"{found}: holds label value {target.max() + 1}; expected at most "
                f"{top}, since predicted masks are written as 16-bit images."
            )
        labels.append(target)
    return labels


def run(args):
    import numpy as np

    from ..exceptions import SingleClassWarning
    from ..io import ImageCollection, save_model

    check_dir(args.labels, "--labels")
    check_device(args)
    uses_workers(args)
    paths = find_input_images(args)
    output = args.output
    for path in paths:
        if same_file(path, output):
            raise CommandError(f"-o {output} is an input image; refusing to touch it.")
    label_files = match_labels(paths, args.labels, "label")
    for found in label_files:
        if found is not None and same_file(found, output):
            raise CommandError(f"-o {output} is a label file; refusing to touch it.")
    if not any(f is not None for f in label_files):
        raise CommandError(
            f"no label file in {args.labels} for any of the {len(paths)} images; "
            f"the label file of photo.jpg is photo.<ext> or photo_labels.<ext>."
        )
    check_output_file(output, force=args.force)
    spacing = fit_spacing(args, paths)
    channels, channel_names = fit_channels(args, paths)
    model, settings = build_model(
        args, spacing=spacing, channels=channels, channel_names=channel_names
    )
    volume = spacing is not None
    ndim = 3 if volume else 2
    if volume:
        say(args, f"volumes with voxel spacing {spacing} (dz, dy, dx)")
        images = read_images(args, paths, volume)
        shapes = [image.shape for image in images]
    else:
        # Each image is read and checked here, then read again where the
        # steps run it (a worker with --scheduler): this process never holds
        # them all.
        shapes = read_images(args, paths, keep=False)
        images = ImageCollection.from_paths(paths)
    labels = read_label_files(shapes, label_files, volume)
    n_labeled = [int((lab >= 0).sum()) for lab in labels]
    if sum(n_labeled) == 0:
        raise CommandError(
            f"none of the {sum(f is not None for f in label_files)} label files has "
            f"a labeled pixel; label images use 0 for unlabeled and 1..K for classes."
        )
    classes = np.unique(np.concatenate([lab[lab >= 0] for lab in labels]))
    class_names = None
    if args.class_names:
        class_names = [name.strip() for name in args.class_names.split(",")]
        if len(class_names) < int(classes.max()) + 1:
            raise CommandError(
                f"--class-names gives {len(class_names)} names but the label files "
                f"use classes up to {int(classes.max()) + 1}."
            )

    n_labeled_images = sum(n > 0 for n in n_labeled)
    say(
        args,
        f"fitting on {len(images)} images ({n_labeled_images} labeled, "
        f"{sum(n_labeled)} labeled pixels, {len(classes)} "
        f"class{'es' if len(classes) != 1 else ''}) ...",
    )
    tic = time.perf_counter()

    def say_to(text):
        say(args, text)

    with warnings.catch_warnings():
        # Said below in the label files' numbering (1..K), not the model's (0..).
        warnings.simplefilter("ignore", SingleClassWarning)
        with library_backend(args, model, say_to), naming_files(paths):
            model.fit(images, labels)
    seconds = time.perf_counter() - tic
    if len(classes) == 1:
        warnings.warn(
            f"only class {int(classes[0]) + 1} is labeled in the label images; "
            f"every pixel will be predicted as that class. Label at least two "
            f"classes.",
            UserWarning,
            stacklevel=1,
        )

    counts = {
        int(c) + 1: int(sum(int((lab == c).sum()) for lab in labels)) for c in classes
    }
    summary = {
        "n_images": len(images),
        "n_labeled_images": n_labeled_images,
        "n_labeled_pixels": sum(n_labeled),
        "classes": [int(c) + 1 for c in classes],
        "class_pixel_counts": counts,
        "class_names": class_names,
        "n_channels": shapes[0][ndim] if len(shapes[0]) > ndim else 1,
        "spacing": spacing,
        "channels": channels,
        "channel_names": channel_names,
        "images": [os.path.basename(p) for p in paths],
        "label_files": [
            None if f is None else os.path.basename(f) for f in label_files
        ],
        "settings": settings,
        "random_state": args.random_state,
        "fit_seconds": round(seconds, 3),
    }
    ae = model.named_steps.get("autoencoderfeatures")
    if ae is not None:
        summary["autoencoder_epochs"] = int(ae.n_iter_)
    save_model(model, output, summary=summary, overwrite=args.force)
    say(args, f"model written to {output} (fit in {seconds:.1f} s)")
    return 0
