# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The ``semiseg`` command line (also ``python -m semiseg_sk``).

Commands: ``fit``, ``predict``, ``evaluate``, ``info`` and ``demo``; see
``semiseg COMMAND --help`` and the user guide page "Command line".

Exit codes: 0 success, 1 an error in the data or files (a one-line message
on standard error), 2 a usage error, 130 interrupted.
"""

import argparse
import ast
import json
import math
import os
import sys
import time
import warnings

__all__ = ["main", "build_parser"]

#: Stem suffixes of the files ``semiseg predict`` writes; files found in
#: folders or by patterns with these suffixes are not taken as images.
OUTPUT_SUFFIXES = ("_labels", "_proba", "_uncertainty", "_overlay")

_BATCH = 8  # images per predict call: bounded memory, some parallelism


class CommandError(Exception):
    """An error reported to the user as one line, without a traceback."""


# -- helpers ----------------------------------------------------------------


def _say(args, message):
    if not args.quiet:
        print(message, file=sys.stderr, flush=True)


def _progress_enabled(args):
    return not args.quiet and sys.stderr.isatty()


def _progress(args, iterable, desc, total=None):
    from tqdm import tqdm

    return tqdm(
        iterable,
        desc=desc,
        total=total,
        unit="image",
        file=sys.stderr,
        disable=not _progress_enabled(args),
        leave=False,
    )


def _unknown_settings_message(model, unknown, args):
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
    return "\n".join(lines)


def _parse_setting(text):
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


def _same_file(a, b):
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(
        os.path.realpath(b)
    )


def _real(path):
    return os.path.normcase(os.path.realpath(path))


def _find_images(args):
    from .io import find_images

    return find_images(args.images, exclude_suffixes=OUTPUT_SUFFIXES)


def _check_dir(path, what):
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what} {path}: no such folder.")
    if not os.path.isdir(path):
        raise CommandError(f"{what} {path} is not a folder.")


def _read_images(args, paths):
    from .io import read_image
    from .utils.validation import n_channels

    images = []
    for path in _progress(args, paths, "reading"):
        images.append(read_image(path))
    first = n_channels(images[0])
    for path, image in zip(paths, images):
        if n_channels(image) != first:
            raise CommandError(
                f"{path} has {n_channels(image)} channel(s) but {paths[0]} has "
                f"{first}; all images must have the same number of channels."
            )
    return images


def _match_labels(paths, label_dir, what):
    """Label file of each image (or None); refuse label files that are inputs."""
    from .io import find_label_file

    inputs = {_real(p) for p in paths}
    matched = []
    for path in paths:
        found = find_label_file(path, label_dir)
        if found is not None and _real(found) in inputs:
            raise CommandError(
                f"{found} is both an input image and the {what} file of {path}; "
                f"put {what} files in their own folder or name them "
                f"<stem>_labels.png."
            )
        matched.append(found)
    return matched


def _model_device(model, device):
    """Move fitted torch steps of ``model`` to ``device``."""
    steps = getattr(model, "steps", [(None, model)])
    for _, step in steps:
        if hasattr(step, "module_") and hasattr(step, "device_"):
            from ._torch import resolve_device

            resolved = resolve_device(device)
            step.module_.to(resolved)
            step.device_ = resolved


def _set_n_jobs(model, n_jobs):
    if n_jobs is None:
        return
    keys = [k for k in model.get_params(deep=True) if k.split("__")[-1] == "n_jobs"]
    model.set_params(**dict.fromkeys(keys, n_jobs))


def _load(args):
    from .io import load_model

    return load_model(args.model, return_info=True)


def _check_channels(model, paths, images):
    from .utils.validation import n_channels

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


def _predict_batches(args, model, paths, *, proba=False, regions=False):
    """Yield (path, image, mask, proba or None, segments or None) per image."""
    from sklearn.pipeline import Pipeline

    from .io import read_image

    bar = _progress(args, None, "predicting", total=len(paths))
    try:
        for start in range(0, len(paths), _BATCH):
            chunk = paths[start : start + _BATCH]
            images = [read_image(p) for p in chunk]
            _check_channels(model, chunk, images)
            segments = [None] * len(chunk)
            if isinstance(model, Pipeline) and len(model.steps) > 1:
                Xt = model[:-1].transform(images)
                final = model[-1]
                masks = final.predict(Xt)
                probas = final.predict_proba(Xt) if proba else [None] * len(chunk)
                if regions:
                    segments = [getattr(r, "segments", None) for r in Xt]
            else:
                masks = model.predict(images)
                probas = model.predict_proba(images) if proba else [None] * len(chunk)
            for item in zip(chunk, images, masks, probas, segments):
                yield item
                bar.update(1)
    finally:
        bar.close()


# -- fit --------------------------------------------------------------------


def _fit(args):
    import numpy as np

    from ._segmenter import make_segmenter
    from .exceptions import SingleClassWarning
    from .io import read_labels, save_model

    _check_dir(args.labels, "--labels")
    paths = _find_images(args)
    output = args.output
    for path in paths:
        if _same_file(path, output):
            raise CommandError(f"-o {output} is an input image; refusing to touch it.")
    if os.path.isdir(output):
        raise CommandError(f"-o {output} is a folder; expected a model file name.")
    if os.path.exists(output) and not args.force:
        raise CommandError(
            f"{output} exists; refusing to overwrite it (use --force to replace it)."
        )
    label_files = _match_labels(paths, args.labels, "label")
    for found in label_files:
        if found is not None and _same_file(found, output):
            raise CommandError(f"-o {output} is a label file; refusing to touch it.")
    if not any(f is not None for f in label_files):
        raise CommandError(
            f"no label file in {args.labels} for any of the {len(paths)} images; "
            f"the label file of photo.jpg is photo.<ext> or photo_labels.<ext>."
        )

    images = _read_images(args, paths)
    labels = []
    for image, found in zip(images, label_files):
        if found is None:
            labels.append(np.full(image.shape[:2], -1, dtype=np.int64))
        else:
            labels.append(read_labels(found, shape=image.shape))
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

    model = make_segmenter(
        autoencoder=not args.no_autoencoder,
        device=args.device,
        random_state=args.random_state,
        n_jobs=args.n_jobs,
        verbose=1 if _progress_enabled(args) else 0,
    )
    settings = dict(args.set or [])
    unknown = [key for key in settings if key not in model.get_params()]
    if unknown:
        raise CommandError(_unknown_settings_message(model, unknown, args))
    if settings:
        try:
            model.set_params(**settings)
        except ValueError as exc:
            raise CommandError(f"--set: {exc}") from exc

    n_labeled_images = sum(n > 0 for n in n_labeled)
    _say(
        args,
        f"fitting on {len(images)} images ({n_labeled_images} labeled, "
        f"{sum(n_labeled)} labeled pixels, {len(classes)} "
        f"class{'es' if len(classes) != 1 else ''}) ...",
    )
    tic = time.perf_counter()
    with warnings.catch_warnings():
        # Said below in the label files' numbering (1..K), not the model's (0..).
        warnings.simplefilter("ignore", SingleClassWarning)
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
        "n_channels": int(images[0].shape[2]) if images[0].ndim == 3 else 1,
        "images": [os.path.basename(p) for p in paths],
        "label_files": [
            None if f is None else os.path.basename(f) for f in label_files
        ],
        "settings": settings,
        "random_state": args.random_state,
        "fit_seconds": round(seconds, 3),
    }
    ae = getattr(model, "named_steps", {}).get("autoencoderfeatures")
    if ae is not None and hasattr(ae, "n_epochs_"):
        summary["autoencoder_epochs"] = int(ae.n_epochs_)
    save_model(model, output, summary=summary, overwrite=args.force)
    _say(args, f"model written to {output} (fit in {seconds:.1f} s)")
    return 0


# -- predict ----------------------------------------------------------------


def _output_plan(args, paths, outdir, kinds):
    """Output paths per image; refuse collisions with inputs and each other."""
    inputs = {_real(p) for p in paths} | {_real(args.model)}
    holds_inputs = []
    if os.path.isdir(outdir):
        holds_inputs = [
            p
            for p in list(paths) + [args.model]
            if _same_file(os.path.dirname(os.path.abspath(p)), outdir)
        ]
    if holds_inputs and not args.force:
        more = ", ..." if len(holds_inputs) > 1 else ""
        raise CommandError(
            f"output folder {outdir} holds inputs ({holds_inputs[0]}{more}); choose "
            f"another folder or use --force (inputs are never overwritten)."
        )
    plan, seen, existing = [], {}, []
    for path in paths:
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem in seen:
            raise CommandError(
                f"{seen[stem]} and {path} have the same name {stem!r}; their outputs "
                f"would collide. Predict them into different folders."
            )
        seen[stem] = path
        outputs = {kind: os.path.join(outdir, stem + suffix) for kind, suffix in kinds}
        for out in outputs.values():
            if _real(out) in inputs:
                raise CommandError(
                    f"output {out} would overwrite an input; refusing (inputs are "
                    f"never overwritten)."
                )
            if os.path.exists(out):
                existing.append(out)
        plan.append(outputs)
    if existing and not args.force:
        raise CommandError(
            f"{existing[0]} exists ({len(existing)} output file(s) exist); refusing "
            f"to overwrite (use --force to replace earlier outputs)."
        )
    return plan


def _predict(args):
    import numpy as np

    from .io import write_array, write_image, write_mask
    from .plotting import overlay, uncertainty_map

    model, _ = _load(args)
    paths = _find_images(args)
    outdir = args.output
    if os.path.exists(outdir) and not os.path.isdir(outdir):
        raise CommandError(f"-o {outdir} is not a folder.")
    kinds = [("mask", "_labels.png")]
    if args.proba:
        kinds += [("proba", "_proba.npy"), ("uncertainty", "_uncertainty.png")]
    if args.overlay:
        kinds += [("overlay", "_overlay.png")]
    plan = _output_plan(args, paths, outdir, kinds)
    os.makedirs(outdir, exist_ok=True)
    _set_n_jobs(model, args.n_jobs)
    if args.device is not None:
        _model_device(model, args.device)

    results = _predict_batches(
        args, model, paths, proba=args.proba, regions=args.overlay
    )
    for outputs, (_, image, mask, proba, segments) in zip(plan, results):
        write_mask(outputs["mask"], mask)
        if args.proba:
            write_array(outputs["proba"], proba.astype(np.float32))
            uncertain = uncertainty_map(proba, kind=args.uncertainty)
            write_image(
                outputs["uncertainty"], np.round(uncertain * 255).astype(np.uint8)
            )
        if args.overlay:
            write_image(outputs["overlay"], overlay(image, mask, segments=segments))
    _say(args, f"wrote predictions of {len(paths)} images to {outdir}")
    return 0


# -- evaluate ---------------------------------------------------------------


def _scores(truth, pred):
    from .metrics import dice_score, mean_iou, pixel_accuracy

    try:
        return {
            "miou": mean_iou(truth, pred),
            "dice": dice_score(truth, pred),
            "accuracy": pixel_accuracy(truth, pred),
        }
    except ValueError:  # no labeled pixel in the truth
        return {"miou": None, "dice": None, "accuracy": None}


def _fmt(value):
    return "     -" if value is None or math.isnan(value) else f"{value:6.3f}"


def _evaluate(args):
    from .io import read_labels

    model, _ = _load(args)
    _check_dir(args.truth, "--truth")
    paths = _find_images(args)
    truth_files = _match_labels(paths, args.truth, "truth")
    missing = [p for p, t in zip(paths, truth_files) if t is None]
    pairs = [(p, t) for p, t in zip(paths, truth_files) if t is not None]
    if not pairs:
        raise CommandError(
            f"no truth file in {args.truth} for any of the {len(paths)} images; the "
            f"truth file of photo.jpg is photo.<ext> or photo_labels.<ext>."
        )
    for path in missing:
        _say(args, f"note: no truth file for {path}; skipped")
    _set_n_jobs(model, args.n_jobs)
    if args.device is not None:
        _model_device(model, args.device)

    rows, truths, preds = [], [], []
    results = _predict_batches(args, model, [p for p, _ in pairs])
    for (path, truth_file), (_, image, mask, _, _) in zip(pairs, results):
        truth = read_labels(truth_file, shape=image.shape)
        truths.append(truth)
        preds.append(mask)
        rows.append({"image": os.fspath(path), **_scores([truth], [mask])})
    if not any((t >= 0).any() for t in truths):
        raise CommandError("the truth files have no labeled pixel; nothing to score.")
    keys = ("miou", "dice", "accuracy")
    mean = {}
    for key in keys:
        values = [r[key] for r in rows if r[key] is not None]
        mean[key] = sum(values) / len(values) if values else None
    pooled = _scores(truths, preds)
    report = {
        "model": os.fspath(args.model),
        "images": rows,
        "mean": mean,
        "pooled": pooled,
        "skipped": [os.fspath(p) for p in missing],
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    width = max(len("mean over images"), *(len(r["image"]) for r in rows))
    print(f"{'image':<{width}}  {'mIoU':>6}  {'Dice':>6}  {'acc.':>6}")
    print("-" * (width + 24))
    for row in rows + [
        {"image": "mean over images", **mean},
        {"image": "all pixels", **pooled},
    ]:
        if row["image"] == "mean over images":
            print("-" * (width + 24))
        print(
            f"{row['image']:<{width}}  "
            + "  ".join(_fmt(row[k]) for k in ("miou", "dice", "accuracy"))
        )
    return 0


# -- info -------------------------------------------------------------------


def _param_text(value):
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _info(args):
    from . import __version__

    model, info = _load(args)
    steps = getattr(model, "steps", [(type(model).__name__.lower(), model)])
    params = {
        name: {
            k: _param_text(v) for k, v in sorted(step.get_params(deep=False).items())
        }
        for name, step in steps
        if hasattr(step, "get_params")
    }
    classes = getattr(model, "classes_", None)
    mask_values = None if classes is None else [int(c) + 1 for c in classes]
    if args.json:
        out = {k: v for k, v in info.items()}
        out.update(
            file=os.fspath(args.model),
            current_version=__version__,
            steps=[name for name, _ in steps],
            params=params,
            classes=mask_values,
        )
        print(json.dumps(out, indent=2, default=str))
        return 0
    summary = info.get("summary") or {}
    names = summary.get("class_names") or []
    lines = [
        f"file:        {args.model}",
        f"format:      {info.get('format')} {info.get('format_version') or ''}",
        f"saved with:  semiseg_sk {info.get('version') or 'unknown'}"
        f" (this is {__version__})",
        f"created:     {info.get('created') or 'unknown'}",
    ]
    versions = info.get("versions") or {}
    if versions:
        lines.append(
            "versions:    " + ", ".join(f"{k} {v}" for k, v in versions.items())
        )
    if mask_values is not None:
        shown = [
            f"{v} ({names[v - 1]})" if v - 1 < len(names) and names[v - 1] else str(v)
            for v in mask_values
        ]
        lines.append("classes:     " + ", ".join(shown) + "  (mask values)")
    if summary:
        lines.append("training:")
        for key, value in summary.items():
            if key in ("images", "label_files", "class_names"):
                continue
            lines.append(f"  {key}: {value}")
    lines.append("steps:")
    for name, step_params in params.items():
        lines.append(f"  {name}:")
        lines += [f"    {k} = {v}" for k, v in step_params.items()]
    print("\n".join(lines))
    return 0


# -- demo -------------------------------------------------------------------


def _demo(args):
    from ._demo import run_demo

    run_demo(
        output=args.output,
        n_unlabeled=args.n_unlabeled,
        random_state=args.random_state,
        verbose=0 if args.quiet else 1,
        progress=_progress_enabled(args),
    )
    return 0


# -- parser -----------------------------------------------------------------


def _common(parser, *, jobs=True):
    group = parser.add_argument_group("common options")
    group.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bars or messages"
    )
    if jobs:
        group.add_argument(
            "--n-jobs",
            type=int,
            default=None,
            help="images processed in parallel (-1: all cores)",
        )
        group.add_argument(
            "--device",
            default=None,
            help="where the autoencoder runs: cpu, cuda, cuda:N or auto",
        )
    group.add_argument(
        "--traceback",
        action="store_true",
        help="show the Python traceback of an error (for bug reports)",
    )


def _version_text():
    from . import __version__

    return f"semiseg_sk {__version__}"


class _VersionAction(argparse.Action):
    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs):
        super().__init__(option_strings, dest=dest, nargs=0, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(_version_text())
        parser.exit()


def build_parser():
    """The argument parser of the ``semiseg`` command."""
    parser = argparse.ArgumentParser(
        prog="semiseg",
        description="Semi-supervised image segmentation from a few scribbles.",
        epilog="Label images use 0 = unlabeled and 1..K = classes. Model files "
        "are pickles: load only files you trust.",
    )
    parser.add_argument(
        "--version", action=_VersionAction, help="show the version and exit"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fit = sub.add_parser(
        "fit",
        help="train a segmenter on images and a folder of label images",
        description="Train a segmenter. The label image of photo.jpg is "
        "photo.<ext> or photo_labels.<ext> in the --labels folder (any image "
        "extension); 0 = unlabeled, 1..K = classes. Images without a label "
        "image are unlabeled images and are used too.",
    )
    fit.add_argument(
        "images", nargs="+", metavar="IMAGES", help="files, folders, globs"
    )
    fit.add_argument("--labels", required=True, metavar="DIR", help="label images")
    fit.add_argument(
        "-o", "--output", required=True, metavar="MODEL", help="model file"
    )
    fit.add_argument(
        "--set",
        action="append",
        type=_parse_setting,
        metavar="KEY=VALUE",
        help="pipeline parameter, e.g. superpixels__n_segments=400 (repeatable; "
        "values are Python literals, else strings)",
    )
    fit.add_argument(
        "--no-autoencoder",
        action="store_true",
        help="leave out AutoencoderFeatures (faster, no torch needed)",
    )
    fit.add_argument(
        "--class-names",
        metavar="NAMES",
        help="comma-separated names of classes 1..K, stored in the model",
    )
    fit.add_argument("--random-state", type=int, default=0, help="seed (default 0)")
    fit.add_argument(
        "-f", "--force", action="store_true", help="replace an existing model file"
    )
    _common(fit)
    fit.set_defaults(func=_fit, device="cpu")

    predict = sub.add_parser(
        "predict",
        help="write a mask (and optional maps) per image",
        description="Write OUTDIR/<stem>_labels.png per image (0 = unlabeled, "
        "1..K = classes, uint8 or uint16), usable again as a label image.",
    )
    predict.add_argument("model", metavar="MODEL", help="model file")
    predict.add_argument(
        "images", nargs="+", metavar="IMAGES", help="files, folders, globs"
    )
    predict.add_argument("-o", "--output", required=True, metavar="OUTDIR")
    predict.add_argument(
        "--proba",
        action="store_true",
        help="also write <stem>_proba.npy (H, W, K float32) and <stem>_uncertainty.png",
    )
    predict.add_argument(
        "--uncertainty",
        choices=("margin", "entropy"),
        default="margin",
        help="uncertainty map: 1 - max proba (margin) or normalised entropy",
    )
    predict.add_argument(
        "--overlay",
        action="store_true",
        help="also write <stem>_overlay.png: mask colours and region boundaries",
    )
    predict.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="allow an output folder holding inputs, replace earlier outputs",
    )
    _common(predict)
    predict.set_defaults(func=_predict)

    evaluate = sub.add_parser(
        "evaluate",
        help="score predictions against truth label images",
        description="Per-image and mean mIoU, Dice and pixel accuracy. Truth "
        "files are matched like label files (0 = not scored).",
    )
    evaluate.add_argument("model", metavar="MODEL", help="model file")
    evaluate.add_argument(
        "images", nargs="+", metavar="IMAGES", help="files, folders, globs"
    )
    evaluate.add_argument("--truth", required=True, metavar="DIR")
    evaluate.add_argument("--json", action="store_true", help="print JSON")
    _common(evaluate)
    evaluate.set_defaults(func=_evaluate)

    info = sub.add_parser("info", help="versions, parameters, classes, training")
    info.add_argument("model", metavar="MODEL", help="model file")
    info.add_argument("--json", action="store_true", help="print JSON")
    _common(info, jobs=False)
    info.set_defaults(func=_info)

    demo = sub.add_parser(
        "demo", help="fit on scribbled texture mosaics, print scores, save a picture"
    )
    demo.add_argument("--output", default="demo_overlay.png", help="picture to write")
    demo.add_argument("--n-unlabeled", type=int, default=20)
    demo.add_argument("--random-state", type=int, default=0)
    _common(demo, jobs=False)
    demo.set_defaults(func=_demo)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"semiseg: warning: {message}", file=sys.stderr, flush=True)


def main(argv=None):
    """Run the ``semiseg`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments; None reads ``sys.argv[1:]``.

    Returns
    -------
    code : int
        0 on success, 1 on an error in the data or files, 2 on a usage error
        (argparse exits with it), 130 when interrupted.
    """
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        if not args.traceback:
            warnings.showwarning = _show_warning
        try:
            return args.func(args) or 0
        except KeyboardInterrupt:
            print("semiseg: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:
            # The reader went away (``semiseg info m.joblib | head``): stop quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1
        except (CommandError, OSError, ValueError, TypeError, ImportError) as exc:
            if args.traceback:
                raise
            message = str(exc) or type(exc).__name__
            if isinstance(exc, OSError) and exc.filename and exc.strerror:
                message = f"{exc.filename}: {exc.strerror}"
            print(f"semiseg {args.command}: error: {message}", file=sys.stderr)
            return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
