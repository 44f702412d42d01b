# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Where the fit + predict time of make_segmenter() goes, task by task.

Runs the default pipeline step by step on the tasks of ``accuracy.py`` (same
data, same scribbles), next to scikit-image's trainable segmentation in the
same process, the two interleaved ``--repeats`` times; prints the median
seconds of each step as a Markdown table, then the number of images each
method computes features for and the time per such image.

The steps are those of ``make_segmenter()``: ``fit_transform`` of the three
feature steps on the training images, ``RegionClassifier.fit`` (label
spreading, then the pixel refiner's forests on pixel features of every
training image), the three ``transform`` on the test images and
``RegionClassifier.predict``. Transductive tasks (the test image is the
scribbled image) use ``RegionClassifier.fit_predict`` instead of the last
three, as ``accuracy.py`` does.

Usage::

    python benchmarks/fetch_data.py            # once
    python benchmarks/time_breakdown.py --repeats 5
"""

import argparse
import time
import warnings

import numpy as np
from accuracy import _skimage, machine
from tasks import TASKS, images_described, is_transductive

from semiseg_sk import make_segmenter

STEPS = (
    "superpixels",
    "regionstats",
    "autoencoderfeatures",
    "classifier fit",
    "test features",
    "predict",
)


def _timed(times, name, func, *args):
    tic = time.perf_counter()
    out = func(*args)
    times[name] = times.get(name, 0.0) + time.perf_counter() - tic
    return out


def ours_by_step(data, seed):
    """Seconds of each step of make_segmenter() fitted and applied to ``data``."""
    seg = make_segmenter(random_state=seed)
    times = {}
    X = data.images
    for name, step in seg.steps[:-1]:
        X = _timed(times, name, step.fit_transform, X, data.labels)
    classifier = seg.steps[-1][1]
    if is_transductive(data):
        _timed(times, "classifier fit", classifier.fit_predict, X, data.labels)
        return times
    _timed(times, "classifier fit", classifier.fit, X, data.labels)
    X_test = _timed(times, "test features", seg[:-1].transform, data.test_images)
    _timed(times, "predict", classifier.predict, X_test)
    return times


def breakdown(task, repeats, seed=0):
    data = TASKS[task](seed)
    ours, anchor = [], []
    for _ in range(repeats):
        tic = time.perf_counter()
        _skimage(data, seed)
        anchor.append(time.perf_counter() - tic)
        ours.append(ours_by_step(data, seed))
    steps = {s: float(np.median([t.get(s, 0.0) for t in ours])) for s in STEPS}
    total = float(np.median([sum(t.values()) for t in ours]))
    ratio = float(np.median([sum(t.values()) / a for t, a in zip(ours, anchor)]))
    return steps, total, float(np.median(anchor)), ratio, images_described(data)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning)
    # torch starts once per process (2-3 s); keep it out of the first task.
    warm = TASKS["mosaics"](0)
    make_segmenter(random_state=0).fit(warm.images[:2], warm.labels[:2])

    head = ["task", *STEPS, "total", "skimage", "ratio", "images", "ms per image"]
    print("| " + " | ".join(head) + " |")
    print("|---|" + "---:|" * (len(head) - 1))
    for task in args.tasks.split(","):
        steps, total, anchor, ratio, (n_ours, n_anchor) = breakdown(task, args.repeats)
        cells = [f"{steps[s]:.2f}" if steps[s] else "—" for s in STEPS]
        per_image = f"{1000 * total / n_ours:.0f} / {1000 * anchor / n_anchor:.0f}"
        cells += [
            f"{total:.2f}",
            f"{anchor:.2f}",
            f"{ratio:.1f}x",
            f"{n_ours} / {n_anchor}",
            per_image,
        ]
        print(f"| {task} | " + " | ".join(cells) + " |", flush=True)
    print(
        f"\nSeconds, median of {args.repeats} interleaved runs (seed 0); ratio: "
        "median of the per-run ratios; images: distinct images whose features each "
        "method computes (semiseg_sk / scikit-image), with the time per such "
        f"image in ms.\nMachine: {machine()}"
    )


if __name__ == "__main__":
    main()
