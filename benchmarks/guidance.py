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
from the unlabeled regions; one draw moves the score by about as much as
the effect measured, so the random row of each seed is the mean over
``--random-draws`` draws. mIoU is measured on the held-out test images
after every round.

Annotators: "suggest_regions" with its defaults (uncertainty of the mean of
the region estimator's and the refined pixel probabilities, density, per
predicted class, to the power 0.5, score-weighted k-means diversity over
every candidate, regions with an inscribed radius of 2 pixels or more);
"k-means of the 50 best" clusters the 50 best-scored candidates only
(Zhdanov's prefilter); "pixels, no density, k-means of the 50 best" also
takes the uncertainty of the refined pixel probabilities alone and no
density; "regions, greedy" is the selection of the first version
(uncertainty of the region estimator's probabilities, density to the power
1, the greedy similarity penalty, every region a candidate; the density is
normalised per predicted class, as now); "oracle" (``--oracle``) draws its
strokes at random in regions the model predicts wrongly (it reads the
truth: the headroom of choosing where to stroke, not a method).

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
    "random strokes": "random",
    "suggest_regions": dict(),
    "k-means of the 50 best": dict(n_candidates=10),
    "pixels, no density, k-means of the 50 best": dict(
        source="pixels", density_weight=0.0, n_candidates=10
    ),
    "regions, greedy": dict(
        source="regions", density_weight=1.0, diversity="greedy", min_depth=0
    ),
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


def oracle_ids(seg, regions, labels, truths, n, rng):
    """``n`` unlabeled regions, at random among those predicted wrongly.

    A region is wrong when the majority of its predicted pixels is not the
    majority of its true ones; with fewer wrong regions, random ones fill up.
    """
    pool = random_ids(regions, labels, sum(r.n_regions for r in regions), rng)
    masks = seg[-1].predict(regions)

    def majority(values, r):
        counts = np.zeros((r.n_regions, values.max() + 2))
        np.add.at(counts, (r.segments, values + 1), 1)
        return counts[:, 1:].argmax(axis=1)

    wrong = {
        i: majority(masks[i], r) != majority(truths[i], r)
        for i, r in enumerate(regions)
    }
    ranked = sorted(pool, key=lambda ij: not wrong[ij[0]][ij[1]])
    return ranked[:n]


def annotate(seg, data, labels, params, rng, seed):
    """The regions of the next round's strokes, and the regions they index."""
    if params in ("random", "oracle"):
        regions = seg[:-1].transform(data.images)
        if params == "random":
            return regions, random_ids(regions, labels, PER_ROUND, rng)
        return regions, oracle_ids(seg, regions, labels, data.truths, PER_ROUND, rng)
    out = suggest_regions(
        seg, data.images, PER_ROUND, labels=labels, random_state=seed, **params
    )
    return out, out.ids.tolist()


def run_annotator(data, seed, params, rng, picture=None, name=""):
    """mIoU after the scribbles and after every round of strokes."""
    labels = [lab.copy() for lab in data.labels]
    history = []
    for round_ in range(N_ROUNDS + 1):
        seg = make_segmenter(autoencoder=False, random_state=seed)
        seg.fit(data.images, labels)
        history.append(mean_iou(data.test_truths, seg.predict(data.test_images)))
        if round_ == N_ROUNDS:
            break
        out, ids = annotate(seg, data, labels, params, rng, seed)
        if picture and round_ == 0 and isinstance(params, dict) and not params:
            fig = plot_suggestions(out, ids[0][0], title=f"{name}, round 1")
            save_figure(fig, picture)
        regions = out.regions if isinstance(params, dict) else out
        labels = draw(labels, data.truths, regions, ids)
    return history


def run_task(name, seed, strategies, random_draws=1, picture=None):
    data = TASKS[name](seed)
    scores = {}
    for strategy, params in strategies.items():
        draws = random_draws if params == "random" else 1
        histories = [
            run_annotator(
                data,
                seed,
                params,
                np.random.RandomState(seed + 1000 * k),
                picture,
                name,
            )
            for k in range(draws)
        ]
        scores[strategy] = np.mean(histories, axis=0).tolist()
    return scores


def table(results, tasks, seeds, strategies):
    lines = []
    for name in tasks:
        lines.append(f"\n{name} (mIoU on the test images, mean ± std over seeds)\n")
        head = "| annotator | " + " | ".join(
            ["scribbles"] + [f"round {k}" for k in range(1, N_ROUNDS + 1)]
        )
        lines.append(head + " | gain after 3 rounds vs random |")
        lines.append("|---|" + "---:|" * (N_ROUNDS + 2))
        random = np.array([results[name, s]["random strokes"] for s in seeds])
        for strategy in strategies:
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
    parser.add_argument(
        "--random-draws",
        type=int,
        default=2,
        help="random annotators per seed, averaged (default 2)",
    )
    parser.add_argument(
        "--oracle", action="store_true", help="add the oracle annotator"
    )
    parser.add_argument("--picture", default=None, help="PNG of round 1's suggestions")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    tasks = args.tasks.split(",")
    strategies = dict(STRATEGIES)
    if args.oracle:
        strategies["oracle (reads the truth)"] = "oracle"
    results = {}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in tasks:
            for seed in seeds:
                t = time.perf_counter()
                picture = args.picture if seed == seeds[0] else None
                results[name, seed] = run_task(
                    name, seed, strategies, args.random_draws, picture
                )
                summary = {
                    k: " ".join(f"{v:.3f}" for v in h)
                    for k, h in results[name, seed].items()
                }
                print(
                    f"{name} seed {seed} ({time.perf_counter() - t:.0f} s): {summary}",
                    flush=True,
                )
    print(table(results, tasks, seeds, strategies))
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
