# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Benchmark tasks: scribbled training images, unlabeled ones, dense test truth.

Every task is a function ``task(seed) -> Bunch`` with ``images`` and
``labels`` (training set: the first two images scribbled, the rest
unlabeled, all -1), ``truths`` (dense truth of the training images, for the
dense-label ceiling), ``test_images`` and ``test_truths``. The seed moves
the scribbles and, where the data allow it, which tiles are scribbled,
unlabeled or held out.
"""

import json
from pathlib import Path

import numpy as np
from skimage.draw import polygon as draw_polygon
from skimage.transform import rescale, resize
from sklearn.utils import Bunch

from semiseg_sk.datasets import make_scribbled_dataset, make_scribbles

DATA = Path(__file__).resolve().parent / "_data"

# Scribbles: a few short strokes per class and image, well under 1% of pixels.
SCRIBBLES = dict(n_strokes=2, stroke_length=20, stroke_width=2)


def _scribble(truths, rng, n_labeled=2, **params):
    params = {**SCRIBBLES, **params}
    labels = [make_scribbles(t, random_state=rng, **params) for t in truths[:n_labeled]]
    labels += [np.full(t.shape, -1, dtype=np.int64) for t in truths[n_labeled:]]
    return labels


def mosaics(seed, *, size=192, n_unlabeled=10, n_test=4):
    """Texture mosaics (brick, grass, gravel); test crops from the unseen halves."""
    data = make_scribbled_dataset(
        2, n_unlabeled, n_test, size=size, random_state=seed, **SCRIBBLES
    )
    return Bunch(
        images=data.images,
        labels=data.labels,
        truths=data.truths,
        test_images=data.test_images,
        test_truths=data.test_truths,
    )


def _nuclei_image():
    import tifffile

    image = tifffile.imread(DATA / "stardist" / "img2d.tif").astype(np.float64)
    mask = tifffile.imread(DATA / "stardist" / "mask2d.tif")
    image = (image - image.min()) / (image.max() - image.min())
    return image, (mask > 0).astype(np.int64)


def nuclei(seed, *, tile=128, n_unlabeled=6):
    """DSB 2018 nuclei (stardist's test image) cut into 16 disjoint tiles.

    Two random tiles are scribbled, ``n_unlabeled`` are unlabeled and the
    rest are held out. Classes: background, nucleus.
    """
    image, truth = _nuclei_image()
    tiles = [
        (image[r : r + tile, c : c + tile], truth[r : r + tile, c : c + tile])
        for r in range(0, image.shape[0], tile)
        for c in range(0, image.shape[1], tile)
    ]
    rng = np.random.RandomState(seed)
    # Scribbled tiles must show both classes.
    order = rng.permutation(len(tiles))
    both = [i for i in order if len(np.unique(tiles[i][1])) == 2]
    first = both[:2]
    rest = [i for i in order if i not in first]
    train = first + rest[:n_unlabeled]
    test = rest[n_unlabeled:]
    truths = [tiles[i][1] for i in train]
    return Bunch(
        images=[tiles[i][0] for i in train],
        # Shorter strokes: a 128x128 tile is small (0.6% of its pixels).
        labels=_scribble(truths, rng, stroke_length=12),
        truths=truths,
        test_images=[tiles[i][0] for i in test],
        test_truths=[tiles[i][1] for i in test],
    )


def _transductive(image, truth, seed):
    rng = np.random.RandomState(seed)
    images = [image]
    return Bunch(
        images=images,
        labels=_scribble([truth], rng, n_labeled=1),
        truths=[truth],
        test_images=images,  # the same list: see is_transductive
        test_truths=[truth],
    )


def is_transductive(data):
    """Whether the task's test images are its training images themselves."""
    return data.test_images is data.images


def images_described(data):
    """Distinct images whose features each method computes.

    Returns ``(semiseg_sk, scikit-image)``: semiseg_sk describes every
    training image, labeled or not, and the test images; scikit-image's
    pixel classifier only the scribbled images and the test images.
    """
    n_test = 0 if is_transductive(data) else len(data.test_images)
    n_scribbled = sum(1 for lab in data.labels if (lab >= 0).any())
    return len(data.images) + n_test, n_scribbled + n_test


def nuclei_single(seed):
    """The whole 512x512 nuclei image, scribbled and segmented (transductive)."""
    image, truth = _nuclei_image()
    return _transductive(image, truth, seed)


def quokka_single(seed, *, scale=0.5):
    """imgaug's quokka photograph and its polygon mask (transductive)."""
    from skimage.io import imread

    image = imread(DATA / "imgaug" / "quokka.jpg").astype(np.float64) / 255.0
    polygon = json.loads((DATA / "imgaug" / "quokka_annotations.json").read_text())
    points = polygon["polygons"][0]["keypoints"]
    rows = [p["y"] for p in points]
    cols = [p["x"] for p in points]
    truth = np.zeros(image.shape[:2], dtype=np.int64)
    rr, cc = draw_polygon(rows, cols, truth.shape)
    truth[rr, cc] = 1
    if scale != 1:
        image = rescale(image, scale, channel_axis=-1, anti_aliasing=True)
        truth = (resize(truth.astype(float), image.shape[:2], order=0) > 0.5).astype(
            np.int64
        )
    return _transductive(image, truth, seed)


TASKS = {
    "mosaics": mosaics,
    "nuclei": nuclei,
    "nuclei-single": nuclei_single,
    "quokka-single": quokka_single,
}
