# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Guidance benchmark: strokes where suggest_regions asks, against random strokes.

A simulated annotator starts from each task's scribbles (two scribbled
training images, the others unlabeled), then works for three rounds. Each
round the model is asked for 5 regions of the training images; in each the
annotator draws a short stroke (up to ``STROKE`` pixels along the region's
long axis, through its innermost pixel), each pixel taking its class from
the ground truth; the model is refitted from scratch on all strokes so far.
The random annotator draws the same strokes in 5 regions drawn uniformly
from the unlabeled regions. mIoU is measured on the held-out test images
after every round. "suggest_regions" runs with its defaults (uncertainty of
the region estimator's probabilities, density weight 1, diversity 1, held
back from regions like those already labeled); "source=pixels" takes the
uncertainty of the refined pixel probabilities instead; "uncertainty only"
is the ablation without density and diversity (``density_weight=0,
diversity=0``).

To stay affordable on a 2-core machine the segmenter is
``make_segmenter(autoencoder=False, random_state=seed)``.

Usage::

    .venv/bin/python benchmarks/guidance.py --seeds 10,11,12
    .venv/bin/python benchmarks/guidance.py --seeds 10 --picture /tmp/next.png
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tasks import TASKS  # noqa: E402

from semiseg_sk import make_segmenter  # noqa: E402
from semiseg_sk.guidance import plot_suggestions, suggest_regions  # noqa: E402
from semiseg_sk.metrics import mean_iou  # noqa: E402
from semiseg_sk.plotting import save_figure  # noqa: E402

N_ROUNDS = 3
PER_ROUND = 5
STROKE = 10  # pixels along a stroke's centre line
STRATEGIES = {
    "random strokes": None,
    "suggest_regions": dict(),
    "suggest_regions, source=pixels": dict(source="pixels"),
    "uncertainty only": dict(density_weight=0.0, diversity=0.0),
}


def stroke(region, length=STROKE):
    """Pixels of a short stroke inside a region: along its long axis.

    The stroke runs through the region's innermost pixel along the main
    axis of its pixels, and stops where it would come within one pixel of
    the region's border (a tiny region gets its innermost pixel only).
    """
    depth = ndi.distance_transform_edt(np.pad(region, 1))[1:-1, 1:-1]
    centre = np.array(np.unravel_index(np.argmax(depth), depth.shape), dtype=float)
    coords = np.argwhere(region).astype(float)
    if len(coords) > 2:
        _, vectors = np.linalg.eigh(np.cov(coords.T))
        axis = vectors[:, -1]
    else:
        axis = np.array([0.0, 1.0])
    points = [tuple(centre.astype(int))]
    for sign in (1, -1):
        for t in range(1, length // 2 + 1):
            r, c = np.rint(centre + sign * t * axis).astype(int)
            if not (0 <= r < region.shape[0] and 0 <= c < region.shape[1]):
                break
            if depth[r, c] < 2:
                break
            points.append((r, c))
    return tuple(np.array(points).T)


def draw(labels, truth, regions, ids):
    """New labels: ``labels`` plus one stroke in each region of ``ids``."""
    labels = [lab.copy() for lab in labels]
    for image, index in ids:
        rr, cc = stroke(regions[image].segments == index)
        labels[image][rr, cc] = truth[image][rr, cc]
    return labels


def random_ids(regions, labels, n, rng):
    """``n`` regions drawn uniformly among those with no labeled pixel."""
    pool = [
        (i, j)
        for i, (r, lab) in enumerate(zip(regions, labels))
        for j in np.flatnonzero(
            np.bincount(r.segments[lab >= 0], minlength=r.n_regions) == 0
        )
    ]
    chosen = rng.choice(len(pool), size=min(n, len(pool)), replace=False)
    return [pool[k] for k in chosen]


def run_task(name, seed, picture=None):
    data = TASKS[name](seed)
    scores = {}
    for strategy, params in STRATEGIES.items():
        rng = np.random.RandomState(seed)
        labels = [lab.copy() for lab in data.labels]
        history = []
        for round_ in range(N_ROUNDS + 1):
            seg = make_segmenter(autoencoder=False, random_state=seed)
            seg.fit(data.images, labels)
            history.append(mean_iou(data.test_truths, seg.predict(data.test_images)))
            if round_ == N_ROUNDS:
                break
            if params is None:
                regions = seg[:-1].transform(data.images)
                ids = random_ids(regions, labels, PER_ROUND, rng)
            else:
                out = suggest_regions(
                    seg,
                    data.images,
                    PER_ROUND,
                    labels=labels,
                    random_state=seed,
                    **params,
                )
                regions, ids = out.regions, out.ids.tolist()
                if picture and round_ == 0 and strategy == "suggest_regions":
                    first = ids[0][0]
                    fig = plot_suggestions(out, first, title=f"{name}, round 1")
                    save_figure(fig, picture)
            labels = draw(labels, data.truths, regions, ids)
        scores[strategy] = history
    return scores


def table(results, tasks, seeds):
    lines = []
    for name in tasks:
        lines.append(f"\n{name} (mIoU on the test images, mean ± std over seeds)\n")
        head = "| annotator | " + " | ".join(
            ["scribbles"] + [f"round {k}" for k in range(1, N_ROUNDS + 1)]
        )
        lines.append(head + " | gain after 3 rounds vs random |")
        lines.append("|---|" + "---:|" * (N_ROUNDS + 2))
        random = np.array([results[name, s]["random strokes"] for s in seeds])
        for strategy in STRATEGIES:
            values = np.array([results[name, s][strategy] for s in seeds])
            cells = [
                f"{values[:, k].mean():.3f} ± {values[:, k].std():.3f}"
                for k in range(N_ROUNDS + 1)
            ]
            gain = values[:, -1] - random[:, -1]
            per_seed = ", ".join(f"{g:+.3f}" for g in gain)
            cells.append(
                "—"
                if strategy == "random strokes"
                else f"{gain.mean():+.3f} (per seed {per_seed})"
            )
            lines.append(f"| {strategy} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="10,11,12")
    parser.add_argument("--tasks", default="mosaics,nuclei")
    parser.add_argument("--picture", default=None, help="PNG of round 1's suggestions")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    tasks = args.tasks.split(",")
    results = {}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in tasks:
            for seed in seeds:
                t = time.perf_counter()
                picture = args.picture if seed == seeds[0] else None
                results[name, seed] = run_task(name, seed, picture)
                summary = {
                    k: " ".join(f"{v:.3f}" for v in h)
                    for k, h in results[name, seed].items()
                }
                print(
                    f"{name} seed {seed} ({time.perf_counter() - t:.0f} s): {summary}",
                    flush=True,
                )
    print(table(results, tasks, seeds))
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
