# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Thin structures: what boundary snapping costs on lines a few pixels wide.

Synthetic images: smooth random curves ``--widths`` pixels wide, slightly
brighter than a smoothed-noise background, plus pixel noise. Two images are
scribbled, four are unlabeled and four are held out. Compares scikit-image's
trainable segmentation with ``make_segmenter()`` at its default
(``snap_width="cv"``: snapping 3 pixels wide unless the scribbles show it
erasing what the blend gets right), at v0.1's fixed ``snap_width=3`` and
with snapping narrowed or off, all on the same scribbles in one process. Prints a Markdown table of test mIoU (mean ± std over seeds)
and median fit + predict seconds.

Usage::

    .venv/bin/python benchmarks/thin_structures.py --seeds 0,1,2 --widths 3,5
"""

import argparse
import time

import numpy as np
from scipy import ndimage as ndi
from skimage.draw import line

from semiseg_sk import make_segmenter
from semiseg_sk.baselines import skimage_trainable_segmentation
from semiseg_sk.datasets import make_scribbles
from semiseg_sk.metrics import mean_iou


def curves_image(rng, width, size=192, n_curves=4, n_steps=60, step=4.0):
    """One image of ``n_curves`` smooth random curves ``width`` pixels wide."""
    truth = np.zeros((size, size), dtype=bool)
    for _ in range(n_curves):
        point = rng.uniform(0, size, 2)
        angle = rng.uniform(0, 2 * np.pi)
        for _ in range(n_steps):
            angle += rng.normal(0, 0.15)
            nxt = point + step * np.array([np.cos(angle), np.sin(angle)])
            rr, cc = line(*np.round(point).astype(int), *np.round(nxt).astype(int))
            inside = (rr >= 0) & (rr < size) & (cc >= 0) & (cc < size)
            truth[rr[inside], cc[inside]] = True
            point = nxt
    if width > 1:
        truth = ndi.binary_dilation(truth, iterations=(width - 1) // 2)
    background = ndi.gaussian_filter(rng.normal(size=(size, size)), 3)
    background = 0.4 + 0.15 * background / background.std()
    image = background + 0.25 * truth + rng.normal(0, 0.05, (size, size))
    return np.clip(image, 0, 1), truth.astype(np.int64)


def task(seed, width, n_labeled=2, n_unlabeled=4, n_test=4):
    rng = np.random.RandomState(seed)
    pairs = [curves_image(rng, width) for _ in range(n_labeled + n_unlabeled + n_test)]
    images, truths = [p[0] for p in pairs], [p[1] for p in pairs]
    n_train = n_labeled + n_unlabeled
    strokes = dict(n_strokes=2, stroke_length=20, stroke_width=2)
    labels = [
        make_scribbles(t, random_state=rng, **strokes) for t in truths[:n_labeled]
    ] + [np.full(t.shape, -1) for t in truths[n_labeled:n_train]]
    return images[:n_train], labels, images[n_train:], truths[n_train:]


def _ours(snap_width):
    def run(images, labels, test_images, seed):
        seg = make_segmenter(random_state=seed)
        if snap_width is not None:
            seg.set_params(regionclassifier__refiner__snap_width=snap_width)
        return seg.fit(images, labels).predict(test_images)

    return run


METHODS = {
    "skimage": lambda images, labels, test, seed: skimage_trainable_segmentation(
        images, labels, test, random_state=seed
    ),
    "semiseg_sk (default, snap_width='cv')": _ours(None),
    "semiseg_sk snap_width=3 (v0.1)": _ours(3),
    "semiseg_sk snap_width=1": _ours(1),
    "semiseg_sk snap_width=0": _ours(0),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--widths", default="3,5")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    widths = [int(w) for w in args.widths.split(",")]
    results = {}
    for width in widths:
        for seed in seeds:
            images, labels, test_images, test_truths = task(seed, width)
            for name, method in METHODS.items():
                tic = time.perf_counter()
                masks = method(images, labels, test_images, seed)
                seconds = time.perf_counter() - tic
                score = mean_iou(test_truths, masks)
                results.setdefault((name, width), []).append((score, seconds))
    print("| method | " + " | ".join(f"{w}-px curves" for w in widths) + " |")
    print("|---|" + "---:|" * len(widths))
    for name in METHODS:
        cells = []
        for width in widths:
            scores = np.array([r[0] for r in results[(name, width)]])
            seconds = np.median([r[1] for r in results[(name, width)]])
            cells.append(f"{scores.mean():.3f} ± {scores.std():.3f} ({seconds:.1f} s)")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"\nseeds {seeds}; mIoU on 4 held-out images, median fit + predict seconds")


if __name__ == "__main__":
    main()
