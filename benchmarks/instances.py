# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Instance benchmark: nuclei as objects, scored against the instance truth.

The stardist test image (DSB 2018 nuclei, 512x512, 125 nuclei; the
instance truth is ``benchmarks/_data/stardist/mask2d.tif``, which
``tasks.nuclei`` binarises) is scribbled as ``tasks.nuclei_single`` does,
segmented into background / nucleus by ``make_segmenter(random_state=seed)
.fit_predict`` and by scikit-image's trainable segmentation on the same
scribbles, and each class mask becomes instances with
``semiseg_sk.instances.to_instances(mask, classes=[1])``: connected
components only, or split by the distance-transform watershed. "truth
mask" applies the same conversion to the binarised truth: the best any
semantic segmentation can reach with that conversion.

Scores: average precision at IoU 0.5 (TP / (TP + FP + FN), DSB 2018 and
stardist), its mean over the thresholds 0.5, 0.55, ..., 0.95 (the DSB 2018
score) and the aggregated Jaccard index.

Usage::

    .venv/bin/python benchmarks/fetch_data.py
    .venv/bin/python benchmarks/instances.py --seeds 10,11,12
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tasks import DATA, nuclei_single  # noqa: E402

from semiseg_sk import make_segmenter  # noqa: E402
from semiseg_sk.baselines import skimage_trainable_segmentation  # noqa: E402
from semiseg_sk.instances import to_instances  # noqa: E402
from semiseg_sk.metrics import (  # noqa: E402
    aggregated_jaccard_index,
    average_precision,
    mean_iou,
)

DSB_THRESHOLDS = np.arange(0.5, 1.0, 0.05)
CONVERSIONS = {
    "components": dict(),
    "watershed (min_distance=5, default)": dict(split_touching=True),
    "watershed (min_distance=10)": dict(split_touching=True, min_distance=10),
}


def instance_truth():
    import tifffile

    return tifffile.imread(DATA / "stardist" / "mask2d.tif").astype(np.int64)


def scores(truth, mask):
    out = {}
    for name, params in CONVERSIONS.items():
        pred = to_instances(mask, classes=[1], **params)
        out[name] = (
            average_precision(truth, pred),
            average_precision(truth, pred, iou_threshold=DSB_THRESHOLDS),
            aggregated_jaccard_index(truth, pred),
            int(pred.max()),
        )
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="10,11,12")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    truth = instance_truth()
    results = {"truth mask": [scores(truth, (truth > 0).astype(np.int64))]}
    miou = {"semiseg_sk": [], "skimage": []}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in seeds:
            data = nuclei_single(seed)
            masks = {
                "semiseg_sk": make_segmenter(random_state=seed).fit_predict(
                    data.images, data.labels
                )[0],
                "skimage": skimage_trainable_segmentation(
                    data.images, data.labels, data.images, random_state=seed
                )[0],
            }
            for method, mask in masks.items():
                miou[method].append(mean_iou(data.truths, [mask]))
                results.setdefault(method, []).append(scores(truth, mask))
            print(f"seed {seed} done ({time.perf_counter() - start:.0f} s)", flush=True)

    print(
        f"\nnuclei (stardist img2d, {len(np.unique(truth)) - 1} true nuclei; seeds "
        f"{args.seeds}; mean ± std over seeds)\n"
    )
    print(
        "| semantic mask | mIoU | to_instances | AP@0.5 | AP@0.5:0.95 | AJI | objects |"
    )
    print("|---|---:|---|---:|---:|---:|---:|")
    for method, per_seed in results.items():
        m = "1.000" if method == "truth mask" else f"{np.mean(miou[method]):.3f}"
        for conv in CONVERSIONS:
            values = np.array([s[conv] for s in per_seed], dtype=float)
            cells = [
                f"{values[:, k].mean():.3f} ± {values[:, k].std():.3f}"
                for k in range(3)
            ]
            cells.append(f"{values[:, 3].mean():.0f}")
            print(f"| {method} | {m} | {conv} | " + " | ".join(cells) + " |")
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
