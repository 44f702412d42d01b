# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""``semiseg predict`` and ``semiseg evaluate``: masks, maps and scores per image."""

import json
import math
import os
import warnings

from ..exceptions import CommandError
from ._common import (
    BATCH,
    check_device,
    check_inputs,
    find_input_images,
    load,
    naming_files,
    progress,
    read_checked,
    say,
    set_n_jobs,
)
from ._paths import check_dir, match_labels, output_plan

__all__ = ["evaluate", "predict", "predict_batches"]


def _predict_chunk(model, images, *, proba, regions):
    """Masks, probabilities (or None) and segments (or None) of some images."""
    from sklearn.pipeline import Pipeline

    from ..pipeline import predict_outputs

    nothing = [None] * len(images)
    if isinstance(model, Pipeline) and len(model.steps) > 1:
        out = predict_outputs(model, images, proba=proba, regions=regions)
        segments = [r.segments for r in out.regions] if regions else nothing
        return out.masks, out.proba or nothing, segments
    probas = model.predict_proba(images) if proba else nothing
    return model.predict(images), probas, nothing


# What a prediction raises for an image it cannot take (a message, no bug).
_PREDICT_ERRORS = (CommandError, ValueError, TypeError)


def _predict_items(model, paths, images, proba, regions):
    """(path, image, mask, proba, segments) of some images; errors name files."""
    with naming_files(paths):
        outs = _predict_chunk(model, images, proba=proba, regions=regions)
    return list(zip(paths, images, *outs))


def predict_batches(args, model, paths, *, proba=False, regions=False, skip=False):
    """Yield (path, image, mask, proba or None, segments or None) per image.

    Images are read and predicted in batches of :data:`BATCH`, so memory
    stays bounded; regions and features of each image are computed once.
    Errors name the file. With ``skip``, an image whose prediction fails is
    reported and left out instead of stopping the run.
    """
    bar = progress(args, None, "predicting", total=len(paths))
    try:
        for start in range(0, len(paths), BATCH):
            chunk = paths[start : start + BATCH]
            images = [read_checked(p) for p in chunk]
            try:
                items = _predict_items(model, chunk, images, proba, regions)
            except _PREDICT_ERRORS:
                if not skip:
                    raise
                items = []
                for path, image in zip(chunk, images):
                    try:
                        items += _predict_items(model, [path], [image], proba, regions)
                    except _PREDICT_ERRORS as exc:
                        warnings.warn(f"skipped {path}: {exc}", UserWarning)
            for item in items:
                yield item
                bar.update(1)
    finally:
        bar.close()


def _write_outputs(args, outputs, image, mask, proba, segments):
    """Write one image's outputs; refuse existing files unless --force."""
    import numpy as np

    from ..io import write_array, write_image, write_mask
    from ..metrics import uncertainty_map
    from ..plotting import overlay

    keep = {"overwrite": args.force}
    write_mask(outputs["mask"], mask, **keep)
    if args.proba:
        write_array(outputs["proba"], proba.astype(np.float32), **keep)
        uncertain = uncertainty_map(proba, kind=args.uncertainty)
        write_image(
            outputs["uncertainty"], np.round(uncertain * 255).astype(np.uint8), **keep
        )
    if args.overlay:
        write_image(outputs["overlay"], overlay(image, mask, segments=segments), **keep)


def predict(args):
    from ..io._atomic import check_folder_writable
    from ..pipeline import to_device

    check_device(args)
    model, _ = load(args)
    paths = find_input_images(args)
    outdir = args.output
    if os.path.exists(outdir) and not os.path.isdir(outdir):
        raise CommandError(f"-o {outdir} is not a folder.")
    kinds = [("mask", "_labels.png")]
    if args.proba:
        kinds += [("proba", "_proba.npy"), ("uncertainty", "_uncertainty.png")]
    if args.overlay:
        kinds += [("overlay", "_overlay.png")]
    plan = dict(zip(paths, output_plan(args, paths, outdir, kinds)))
    set_n_jobs(model, args.n_jobs)
    if args.device is not None:
        to_device(model, args.device)
    paths = check_inputs(args, paths, model, skip=args.skip_errors)
    os.makedirs(outdir, exist_ok=True)
    check_folder_writable(outdir)

    results = predict_batches(
        args,
        model,
        paths,
        proba=args.proba,
        regions=args.overlay,
        skip=args.skip_errors,
    )
    n_written = 0
    for path, image, mask, proba, segments in results:
        try:
            _write_outputs(args, plan[path], image, mask, proba, segments)
        except FileExistsError as exc:
            raise CommandError(
                f"{exc} Is another run writing into {outdir}? (--force replaces "
                f"earlier outputs.)"
            ) from exc
        n_written += 1
    skipped = len(plan) - n_written
    note = f" ({skipped} skipped, see the warnings)" if skipped else ""
    say(args, f"wrote predictions of {n_written} images to {outdir}{note}")
    return 0


def scores(truth, pred):
    from ..metrics import dice_score, mean_iou, pixel_accuracy

    try:
        return {
            "miou": mean_iou(truth, pred),
            "dice": dice_score(truth, pred),
            "accuracy": pixel_accuracy(truth, pred),
        }
    except ValueError:  # no labeled pixel in the truth
        return {"miou": None, "dice": None, "accuracy": None}


def fmt(value):
    return "     -" if value is None or math.isnan(value) else f"{value:6.3f}"


def evaluate(args):
    from ..io import read_labels
    from ..pipeline import to_device

    check_device(args)
    model, _ = load(args)
    check_dir(args.truth, "--truth")
    paths = find_input_images(args)
    truth_files = match_labels(paths, args.truth, "truth")
    missing = [p for p, t in zip(paths, truth_files) if t is None]
    pairs = [(p, t) for p, t in zip(paths, truth_files) if t is not None]
    if not pairs:
        raise CommandError(
            f"no truth file in {args.truth} for any of the {len(paths)} images; the "
            f"truth file of photo.jpg is photo.<ext> or photo_labels.<ext>."
        )
    for path in missing:
        say(args, f"note: no truth file for {path}; skipped")
    # Every file is checked before the first (slow) prediction.
    check_inputs(args, [p for p, _ in pairs], model)
    for _, truth_file in pairs:
        read_labels(truth_file)
    set_n_jobs(model, args.n_jobs)
    if args.device is not None:
        to_device(model, args.device)

    rows, truths, preds = [], [], []
    results = predict_batches(args, model, [p for p, _ in pairs])
    for (path, truth_file), (_, image, mask, _, _) in zip(pairs, results):
        truth = read_labels(truth_file, shape=image.shape)
        truths.append(truth)
        preds.append(mask)
        rows.append({"image": os.fspath(path), **scores([truth], [mask])})
    if not any((t >= 0).any() for t in truths):
        raise CommandError("the truth files have no labeled pixel; nothing to score.")
    keys = ("miou", "dice", "accuracy")
    mean = {}
    for key in keys:
        values = [r[key] for r in rows if r[key] is not None]
        mean[key] = sum(values) / len(values) if values else None
    pooled = scores(truths, preds)
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
            + "  ".join(fmt(row[k]) for k in ("miou", "dice", "accuracy"))
        )
    return 0
