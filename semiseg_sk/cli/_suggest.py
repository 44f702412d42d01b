# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""``semiseg suggest``: the regions to label next, marked and listed."""

import csv
import io
import json
import os

from ..exceptions import CommandError
from ._common import (
    check_channels,
    check_device,
    find_input_images,
    load,
    naming_files,
    progress,
    read_images,
    say,
    set_n_jobs,
)
from ._paths import check_dir, match_labels, output_plan, real_path

__all__ = ["LISTING", "run"]

#: Names of the listing files written into the output folder.
LISTING = ("suggestions.json", "suggestions.csv")

#: Columns of ``suggestions.csv``; the keys of each record in the JSON file.
COLUMNS = (
    "rank",
    "image",
    "region",
    "score",
    "uncertainty",
    "density",
    "area",
    "centroid_row",
    "centroid_col",
    "point_row",
    "point_col",
    "bbox_min_row",
    "bbox_min_col",
    "bbox_max_row",
    "bbox_max_col",
)


def _listing_paths(args, paths):
    """The listing files; refused before any work if they exist or are inputs."""
    inputs = {real_path(p) for p in paths} | {real_path(args.model)}
    listing = [os.path.join(args.output, name) for name in LISTING]
    for path in listing:
        if real_path(path) in inputs:
            raise CommandError(
                f"output {path} would overwrite an input; refusing (inputs are "
                f"never overwritten)."
            )
        if os.path.exists(path) and not args.force:
            raise CommandError(
                f"{path} exists; refusing to overwrite (use --force to replace "
                f"earlier outputs)."
            )
    return listing


def records(suggestions, paths):
    """One dict per suggestion, best first: where it is and how it scored.

    ``point`` is the region's innermost pixel, where a stroke fits best;
    rows and columns count from 0 and the bounding box's maxima are
    exclusive.
    """
    rows = []
    for k, (image, region) in enumerate(suggestions.ids):
        point, centroid = suggestions.points[k], suggestions.centroids[k]
        box = suggestions.bboxes[k]
        rows.append(
            {
                "rank": k + 1,
                "image": os.fspath(paths[image]),
                "region": int(region),
                "score": round(float(suggestions.scores[k]), 6),
                "uncertainty": round(float(suggestions.uncertainty[k]), 6),
                "density": round(float(suggestions.density[k]), 6),
                "area": int(suggestions.areas[k]),
                "centroid_row": round(float(centroid[0]), 2),
                "centroid_col": round(float(centroid[1]), 2),
                "point_row": int(point[0]),
                "point_col": int(point[1]),
                **dict(zip(COLUMNS[-4:], (int(v) for v in box))),
            }
        )
    return rows


def _write_text(path, text, *, overwrite):
    from ..io import atomic_path

    with atomic_path(path, overwrite=overwrite) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)


def _csv_text(rows):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _read_labels(args, paths, images):
    """The labels drawn so far (all -1 without --labels or a label file)."""
    from ._fit import read_label_files

    if args.labels is None:
        return None
    check_dir(args.labels, "--labels")
    label_files = match_labels(paths, args.labels, "label")
    if not any(f is not None for f in label_files):
        say(args, f"note: no label file in {args.labels} for any image")
    return read_label_files(images, label_files)


def run(args):
    from ..guidance import _check_model, plot_suggestions, suggest_regions
    from ..pipeline import to_device
    from ..plotting import save_figure

    check_device(args)
    if getattr(args, "scheduler", None) is not None:
        raise CommandError(
            "--scheduler: suggest ranks the regions of all images together, in "
            "this process; run it without --scheduler."
        )
    if args.n < 1:
        raise CommandError(f"-n {args.n}: expected a number of regions >= 1.")
    model, _ = load(args)
    try:
        _check_model(model)
    except TypeError as exc:
        raise CommandError(f"{args.model}: cannot suggest regions: {exc}") from exc
    paths = find_input_images(args)
    outdir = args.output
    if os.path.exists(outdir) and not os.path.isdir(outdir):
        raise CommandError(f"-o {outdir} is not a folder.")
    plan = output_plan(args, paths, outdir, [("picture", "_suggestions.png")])
    listing = _listing_paths(args, paths)
    images = read_images(args, paths)
    check_channels(model, paths, images)
    labels = _read_labels(args, paths, images)
    if args.device is not None:
        to_device(model, args.device)
    set_n_jobs(model, args.n_jobs)

    say(args, f"ranking the regions of {len(images)} images")
    with naming_files(paths):
        out = suggest_regions(
            model,
            images,
            args.n,
            labels=labels,
            kind=args.uncertainty,
            random_state=args.random_state,
        )
    rows = records(out, paths)

    os.makedirs(outdir, exist_ok=True)
    keep = {"overwrite": args.force}
    marked = sorted({int(i) for i in out.ids[:, 0]})
    for index in progress(args, marked, "writing"):
        stem = os.path.splitext(os.path.basename(paths[index]))[0]
        fig = plot_suggestions(out, index, title=f"{stem}: label next")
        save_figure(fig, plan[index]["picture"], **keep)
    _write_text(listing[0], json.dumps(rows, indent=2) + "\n", **keep)
    _write_text(listing[1], _csv_text(rows), **keep)
    say(
        args,
        f"wrote {len(rows)} suggestions in {len(marked)} images to {outdir} "
        f"({', '.join(LISTING)} and <image>_suggestions.png)",
    )
    return 0
