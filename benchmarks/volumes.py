# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Volumes: 3-D segmentation of a brain against slice-by-slice 2-D and a 3-D anchor.

The volume is nilearn's MNI ICBM152 2009a average brain (the T1 template
and its grey- and white-matter probability maps, ``benchmarks/_data``),
block-averaged to 2 mm voxels (``--zoom``) and cropped to the brain. The
truth has 3 classes: 0 background (outside the brain and CSF: what the GM
and WM probabilities leave), 1 grey matter, 2 white matter, the most
probable one at every voxel. ``--z-step`` keeps every n-th axial slice,
for anisotropic voxels. Scribbles (the benchmark tasks' strokes) are drawn
on ``--slices`` axial slices only, picked at random by the seed among the
middle half of the brain. Every method gets the same scribbles, in one
process, and is scored by 3-D mIoU over every voxel of the volume:

- ``3d``: ``make_segmenter(spacing=...)``, ``fit_predict`` on the volume;
- ``2d slices``: ``make_segmenter()`` (2-D defaults) ``fit_predict`` on
  every axial slice as an image: the scribbled slices labeled, all others
  unlabeled images;
- ``ilastik 3d``: ilastik's 3-D filter bank and a 100-tree forest
  (:func:`semiseg_sk.baselines.ilastik_pixel_classification` with
  ``spacing``), the anchor.

Prints a Markdown table: median mIoU, per-class IoU, seconds and peak
resident memory over the seeds (peak RSS of the process during the call,
``VmHWM`` reset before each; psutil when ``/proc`` is missing).

``--big`` runs the 3-D pipeline once on the brain at 1 mm padded to 256³
voxels (16.7 M), for its time and peak memory.

Usage::

    .venv/bin/python benchmarks/volumes.py --seeds 0,1,2
    .venv/bin/python benchmarks/volumes.py --seeds 0 --z-step 2
    .venv/bin/python benchmarks/volumes.py --big
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tasks import DATA, SCRIBBLES, _read_nifti  # noqa: E402

from semiseg_sk import make_segmenter  # noqa: E402
from semiseg_sk.baselines import ilastik_pixel_classification  # noqa: E402
from semiseg_sk.datasets import make_scribbles  # noqa: E402
from semiseg_sk.metrics import mean_iou  # noqa: E402

CLASSES = ("background", "grey matter", "white matter")
# The cortex task's strokes: grey matter is a ribbon a few voxels wide.
STROKES = {**SCRIBBLES, "stroke_length": 12}


def _block_mean(volume, zoom):
    shape = [n // zoom * zoom for n in volume.shape]
    v = volume[: shape[0], : shape[1], : shape[2]]
    return v.reshape(
        shape[0] // zoom, zoom, shape[1] // zoom, zoom, shape[2] // zoom, zoom
    ).mean(axis=(1, 3, 5))


def brain(zoom=2, z_step=1, pad_to=None):
    """(volume, truth, spacing): the MNI brain, axial slices first (z, y, x)."""
    name = "mni_icbm152_{}_tal_nlin_sym_09a_converted.nii.gz"
    t1, gm, wm = (
        _read_nifti(DATA / "nilearn" / name.format(k)) for k in ("t1", "gm", "wm")
    )
    scale = max(gm.max(), wm.max())
    t1, gm, wm = t1 / t1.max(), gm / scale, wm / scale
    inside = (t1 > 0).astype(np.float64)
    if zoom > 1:
        t1, gm, wm, inside = (_block_mean(v, zoom) for v in (t1, gm, wm, inside))
    truth = np.argmax(np.stack([1 - gm - wm, gm, wm]), axis=0)
    truth[inside < 0.5] = 0
    # NIfTI (x, y, z) to (z, y, x), anterior up.
    t1 = np.ascontiguousarray(t1.transpose(2, 1, 0)[:, ::-1])
    truth = np.ascontiguousarray(truth.transpose(2, 1, 0)[:, ::-1])
    t1, truth = t1[::z_step], truth[::z_step]
    if pad_to is not None:
        pads = [(0, max(0, pad_to - n)) for n in t1.shape]
        box = tuple(slice(0, pad_to) for _ in range(3))
        t1, truth = np.pad(t1, pads)[box], np.pad(truth, pads)[box]
    else:
        z, y, x = np.nonzero(truth > 0)
        box = tuple(
            slice(max(int(a.min()) - 2, 0), int(a.max()) + 3) for a in (z, y, x)
        )
        t1, truth = t1[box], truth[box]
    spacing = (float(zoom * z_step), float(zoom), float(zoom))
    return np.ascontiguousarray(t1), truth.astype(np.int64), spacing


def scribble(truth, seed, n_slices):
    """Scribbles on ``n_slices`` axial slices of the middle half of the brain."""
    rng = np.random.RandomState(seed)
    depth = truth.shape[0]
    middle = np.arange(depth // 4, depth - depth // 4)
    labels = np.full(truth.shape, -1, dtype=np.int64)
    for z in np.sort(rng.choice(middle, n_slices, replace=False)):
        labels[z] = make_scribbles(truth[z], random_state=rng, **STROKES)
    return labels


def _rss_mb(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def measured(fn, *args):
    """(result, seconds, peak RSS MB during the call)."""
    _reset_peak()
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start, _rss_mb("VmHWM")


def run_3d(volume, labels, spacing, seed):
    seg = make_segmenter(spacing=spacing, random_state=seed)
    return seg.fit_predict([volume], [labels])[0]


def run_slices(volume, labels, spacing, seed):
    seg = make_segmenter(random_state=seed)
    masks = seg.fit_predict(list(volume), list(labels))
    return np.stack(masks)


def run_ilastik(volume, labels, spacing, seed):
    return ilastik_pixel_classification(
        [volume], [labels], [volume], spacing=spacing, random_state=seed, n_jobs=1
    )[0]


METHODS = {"3d": run_3d, "2d slices": run_slices, "ilastik 3d": run_ilastik}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--slices", type=int, default=3)
    parser.add_argument("--zoom", type=int, default=2)
    parser.add_argument("--z-step", type=int, default=1)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--big", action="store_true")
    args = parser.parse_args(argv)
    if args.big:
        return big(args)
    volume, truth, spacing = brain(args.zoom, args.z_step)
    print(
        f"brain {volume.shape} voxels of {spacing} mm, class fractions "
        f"{np.round(np.bincount(truth.ravel()) / truth.size, 3).tolist()}; "
        f"scribbles on {args.slices} axial slices"
    )
    seeds = [int(s) for s in args.seeds.split(",")]
    results = {m: [] for m in args.methods.split(",")}
    for seed in seeds:
        labels = scribble(truth, seed, args.slices)
        for name in results:
            mask, seconds, peak = measured(METHODS[name], volume, labels, spacing, seed)
            per_class = mean_iou([truth], [mask], per_class=True)
            results[name].append((per_class.mean(), per_class, seconds, peak))
            print(
                f"seed {seed} {name:10s} mIoU {per_class.mean():.3f} "
                f"{np.round(per_class, 3).tolist()} {seconds:.1f} s {peak:.0f} MB",
                flush=True,
            )
    print()
    print(
        "| method | mIoU (median) | min..max | "
        + " | ".join(CLASSES)
        + " | s | peak RSS MB |"
    )
    print("|---|---|---|" + "---|" * len(CLASSES) + "---|---|")
    for name, rows in results.items():
        miou = [r[0] for r in rows]
        per_class = np.median([r[1] for r in rows], axis=0)
        print(
            f"| {name} | {np.median(miou):.3f} | {min(miou):.3f}..{max(miou):.3f} | "
            + " | ".join(f"{v:.3f}" for v in per_class)
            + f" | {np.median([r[2] for r in rows]):.0f} | "
            f"{np.median([r[3] for r in rows]):.0f} |"
        )


def big(args):
    """The 3-D pipeline on the brain at 1 mm, padded to 256^3."""
    volume, truth, spacing = brain(1, 1, pad_to=256)
    labels = scribble(truth, 0, args.slices)
    base = _rss_mb("VmRSS")
    mask, seconds, peak = measured(run_3d, volume, labels, spacing, 0)
    per_class = mean_iou([truth], [mask], per_class=True)
    print(
        f"256^3 brain {volume.shape} ({volume.size / 1e6:.1f} M voxels): mIoU "
        f"{per_class.mean():.3f} {np.round(per_class, 3).tolist()}, {seconds:.0f} s, "
        f"peak RSS {peak:.0f} MB ({base:.0f} MB before the call, holding the "
        f"volume, its truth and scribbles)"
    )


if __name__ == "__main__":
    main()
