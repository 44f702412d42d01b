# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""``semiseg predict`` and ``semiseg evaluate``: masks, maps and scores per image."""

import argparse
import contextlib
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
    model_spacing,
    naming_files,
    progress,
    read_checked,
    say,
    set_n_jobs,
)
from ._paths import check_dir, match_labels, output_plan
from ._scheduler import absolute, image_workers, library_backend, uses_workers

__all__ = ["evaluate", "predict", "predict_batches", "predict_file"]


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
    volume = model_spacing(model) is not None
    try:
        for start in range(0, len(paths), BATCH):
            chunk = paths[start : start + BATCH]
            images = [read_checked(p, volume) for p in chunk]
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


def _instance_options(args, model, info):
    """The :func:`~semiseg_sk.instances.to_instances` options of --instances, or None.

    ``--instance-classes`` takes the label files' numbering (1..K) or the
    class names stored at fit; the model's masks count classes from 0.
    """
    if args.instances and model_spacing(model) is not None:
        raise CommandError(
            "--instances: the model segments volumes, and instance masks are "
            "made from 2-D masks only for now."
        )
    if not args.instances:
        for flag, given in (
            ("--instance-classes", args.instance_classes is not None),
            ("--split-touching", args.split_touching),
        ):
            if given:
                raise CommandError(f"{flag} needs --instances.")
        return None
    if args.min_distance < 1:
        raise CommandError(
            f"--min-distance {args.min_distance}: expected a whole number of "
            f"pixels >= 1."
        )
    options = {"split_touching": args.split_touching}
    if args.split_touching:
        options["min_distance"] = args.min_distance
    if args.instance_classes is None:
        return options
    known = [int(c) for c in model.classes_]
    names = (info.get("summary") or {}).get("class_names") or []
    chosen = []
    for token in args.instance_classes.split(","):
        token = token.strip()
        if token in names:
            number = names.index(token) + 1
        elif token.isdigit():
            number = int(token)
        else:
            named = f" or one of the class names {', '.join(names)}" if names else ""
            raise CommandError(
                f"--instance-classes {token!r}: expected a class number (1..K, as "
                f"in the label files){named}."
            )
        if number - 1 not in known:
            raise CommandError(
                f"--instance-classes {number}: the model has classes "
                f"{', '.join(str(c + 1) for c in known)}."
            )
        chosen.append(number - 1)
    options["classes"] = chosen
    return options


def _output_options(args, model, info):
    """What ``_write_outputs`` needs: small and picklable, for workers."""
    return argparse.Namespace(
        force=args.force,
        proba=args.proba,
        uncertainty=args.uncertainty,
        overlay=args.overlay,
        instances=_instance_options(args, model, info),
        spacing=model_spacing(model),
    )


def _output_kinds(options):
    # Volumes: masks and maps as TIFF stacks, pictures of orthogonal slices.
    stack = ".png" if options.spacing is None else ".tif"
    kinds = [("mask", "_labels" + stack)]
    if options.proba:
        kinds += [("proba", "_proba.npy"), ("uncertainty", "_uncertainty" + stack)]
    if options.overlay:
        kinds += [("overlay", "_overlay.png")]
    if options.instances is not None:
        kinds += [("instances", "_instances.tif")]
    return kinds


def _write_outputs(options, outputs, image, mask, proba, segments):
    """Write one image's outputs; refuse existing files unless --force."""
    import numpy as np

    from ..io import write_array, write_image, write_mask
    from ..metrics import uncertainty_map

    keep = {"overwrite": options.force}
    spacing = getattr(options, "spacing", None)
    if spacing is not None:
        return _write_volume_outputs(options, outputs, image, mask, proba, segments)
    write_mask(outputs["mask"], mask, **keep)
    if options.proba:
        write_array(outputs["proba"], proba.astype(np.float32), **keep)
        uncertain = uncertainty_map(proba, kind=options.uncertainty)
        write_image(
            outputs["uncertainty"], np.round(uncertain * 255).astype(np.uint8), **keep
        )
    if options.overlay:
        from ..plotting import overlay

        write_image(outputs["overlay"], overlay(image, mask, segments=segments), **keep)
    if options.instances is not None:
        from ..instances import to_instances

        objects = to_instances(mask, **options.instances)
        small = objects.max(initial=0) <= np.iinfo(np.uint16).max
        write_image(
            outputs["instances"],
            objects.astype(np.uint16 if small else np.uint32),
            **keep,
        )


def _write_volume_outputs(options, outputs, image, mask, proba, segments):
    """The outputs of one volume: TIFF stacks with the spacing, slice pictures."""
    import numpy as np

    from ..io import write_array, write_image, write_volume, write_volume_mask
    from ..metrics import uncertainty_map

    keep = {"overwrite": options.force, "spacing": options.spacing}
    write_volume_mask(outputs["mask"], mask, **keep)
    if options.proba:
        write_array(outputs["proba"], proba.astype(np.float32), overwrite=options.force)
        # Per voxel: the map of the slices stacked as one tall image.
        tall = proba.reshape(-1, *proba.shape[2:])
        uncertain = uncertainty_map(tall, kind=options.uncertainty)
        uncertain = uncertain.reshape(proba.shape[:3])
        write_volume(
            outputs["uncertainty"], np.round(uncertain * 255).astype(np.uint8), **keep
        )
    if options.overlay:
        from ..plotting import orthogonal_slices

        picture = orthogonal_slices(
            image, mask, segments=segments, spacing=options.spacing
        )
        write_image(outputs["overlay"], picture, overwrite=options.force)


def _another_run(exc, outdir):
    return CommandError(
        f"{exc} Is another run writing into {outdir}? (--force replaces "
        f"earlier outputs.)"
    )


def _predict_here(args, model, plan, options):
    """Predict in this process, in batches; the number of images written."""
    results = predict_batches(
        args,
        model,
        list(plan),
        proba=options.proba,
        regions=options.overlay,
        skip=args.skip_errors,
    )
    n_written = 0
    for path, image, mask, proba, segments in results:
        try:
            _write_outputs(options, plan[path], image, mask, proba, segments)
        except FileExistsError as exc:
            raise _another_run(exc, args.output) from exc
        n_written += 1
    return n_written


def predict_file(job, model, options):
    """Read, predict and write one image where the task runs.

    Parameters
    ----------
    job : tuple
        ``(path, outputs)``: the image file and its output paths by kind.
    model : estimator object
        The fitted segmenter (sent once to each dask worker).
    options : argparse.Namespace
        What to write (see ``_output_options``).

    Returns
    -------
    record : tuple
        ``(path, status, message)``: status ``"ok"``, ``"error"`` (the image
        cannot be read or predicted; message says why) or ``"exists"`` (an
        output appeared meanwhile). Images and masks stay on the worker.
    """
    from joblib import parallel_config

    path, outputs = job
    try:
        image = read_checked(path, options.spacing is not None)
        # A dask task runs under joblib's dask backend: without this, the
        # steps' own parallel calls would send their work back to the cluster.
        with parallel_config(backend="sequential"):
            ((_, _, mask, proba, segments),) = _predict_items(
                model, [path], [image], options.proba, options.overlay
            )
    except (*_PREDICT_ERRORS, OSError) as exc:
        return path, "error", str(exc)
    try:
        _write_outputs(options, outputs, image, mask, proba, segments)
    except FileExistsError as exc:
        return path, "exists", str(exc)
    return path, "ok", None


def _predict_on_workers(args, workers, model, plan, options):
    """One task per image on the workers; the number of images written.

    Each task reads its image from its path, predicts it and writes its
    outputs, and sends back a small record: this process never holds the
    images or masks. Tasks are independent, so the masks are those of
    predicting one image at a time here.
    """
    jobs = list(plan.items())
    records = workers.map(
        predict_file, jobs, model, options, shared=[model], ordered=False
    )
    n_written = 0
    bar = progress(args, None, "predicting", total=len(jobs))
    with contextlib.closing(records), contextlib.closing(bar):
        for path, status, message in records:
            bar.update(1)
            if status == "exists":
                raise _another_run(message, args.output)
            if status == "error":
                if not args.skip_errors:
                    raise CommandError(message)
                warnings.warn(f"skipped {path}: {message}", UserWarning)
                continue
            n_written += 1
    return n_written


def predict(args):
    from ..io._atomic import check_folder_writable
    from ..pipeline import to_device

    check_device(args)
    on_workers = uses_workers(args)
    model, info = load(args)
    paths = find_input_images(args)
    outdir = args.output
    if os.path.exists(outdir) and not os.path.isdir(outdir):
        raise CommandError(f"-o {outdir} is not a folder.")
    options = _output_options(args, model, info)
    plan = dict(zip(paths, output_plan(args, paths, outdir, _output_kinds(options))))
    if args.device is not None:
        to_device(model, args.device)
    if not on_workers:
        set_n_jobs(model, args.n_jobs)
        paths = check_inputs(args, paths, model, skip=args.skip_errors)
        os.makedirs(outdir, exist_ok=True)
        check_folder_writable(outdir)
        n_written = _predict_here(args, model, {p: plan[p] for p in paths}, options)
    else:
        # One image per task: the workers are the parallelism.
        set_n_jobs(model, 1)
        with image_workers(args, lambda text: say(args, text)) as workers:
            if workers.client is not None:  # workers may run in other folders
                plan = {
                    absolute(p): {k: absolute(o) for k, o in outputs.items()}
                    for p, outputs in plan.items()
                }
                paths = list(plan)
            paths = check_inputs(
                args, paths, model, skip=args.skip_errors, workers=workers
            )
            os.makedirs(outdir, exist_ok=True)
            check_folder_writable(outdir)
            n_written = _predict_on_workers(
                args, workers, model, {p: plan[p] for p in paths}, options
            )
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
    from ..io import read_labels, read_volume_labels
    from ..pipeline import to_device

    check_device(args)
    uses_workers(args)
    model, _ = load(args)
    read_truth = read_labels if model_spacing(model) is None else read_volume_labels
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
        read_truth(truth_file)
    if args.device is not None:
        to_device(model, args.device)

    rows, truths, preds = [], [], []
    with library_backend(args, model, lambda text: say(args, text)):
        results = predict_batches(args, model, [p for p, _ in pairs])
        for (path, truth_file), (_, image, mask, _, _) in zip(pairs, results):
            truth = read_truth(truth_file, shape=image.shape)
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
