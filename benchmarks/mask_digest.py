# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""A digest of the default pipeline's masks on the benchmark tasks.

For refactorings that must not change results: run it before and after (for
instance in a ``git worktree`` of the older commit) and compare the digests.
It fits ``make_segmenter(random_state=0)`` on each task and seed and hashes
the masks of ``fit_predict`` on the training images and, for tasks with
held-out images, of ``fit`` then ``predict`` on them.

Usage::

    .venv/bin/python benchmarks/mask_digest.py --seeds 10,11
    .venv/bin/python benchmarks/mask_digest.py --tasks mosaics,nuclei
"""

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tasks import TASKS, is_transductive  # noqa: E402

from semiseg_sk import make_segmenter  # noqa: E402

# The tasks of the benchmark when the digest was first used (commit f15ea84).
DEFAULT_TASKS = "mosaics,nuclei,nuclei-single,quokka-single"


def masks_of(task, seed):
    """``{kind: list of masks}`` of the default pipeline on one task and seed."""
    data = TASKS[task](seed)
    out = {
        "fit_predict": make_segmenter(random_state=0).fit_predict(
            data.images, data.labels
        )
    }
    if not is_transductive(data):
        seg = make_segmenter(random_state=0).fit(data.images, data.labels)
        out["predict_new"] = seg.predict(data.test_images)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=DEFAULT_TASKS)
    parser.add_argument("--seeds", default="10,11")
    args = parser.parse_args(argv)
    digest = hashlib.sha1()
    for task in args.tasks.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            for kind, masks in sorted(masks_of(task, seed).items()):
                one = hashlib.sha1()
                for mask in masks:
                    data = np.ascontiguousarray(mask).astype(np.int64).tobytes()
                    one.update(data)
                    digest.update(data)
                print(f"{task:>16} seed {seed} {kind:<12} {one.hexdigest()[:12]}")
    print(f"digest {digest.hexdigest()}")


if __name__ == "__main__":
    main()
