# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The tools users compare semiseg_sk with, run the way their docs show.

scikit-image's trainable segmentation is called as its gallery does;
ilastik's pixel classification, a desktop application, is rebuilt from its
default filter bank (:func:`~semiseg_sk.features.filter_bank`) and a
100-tree random forest. Used by the demo and by ``benchmarks/`` so that
every comparison runs the anchor in the same process, on the same
scribbles.
"""

import numpy as np
from skimage.feature import multiscale_basic_features
from skimage.future import fit_segmenter, predict_segmenter
from sklearn.ensemble import RandomForestClassifier

from .features._filters import filter_bank
from .utils._image import as_float_image
from .utils.validation import check_images, check_labels, check_spacing

__all__ = ["ilastik_pixel_classification", "skimage_trainable_segmentation"]

# Pixels per call of the forest's predict: 2**18 rows of 49 float32 features
# per channel are about 50 MB, and the forest's probabilities stay small.
_PREDICT_BATCH = 1 << 18


def _check_inputs(images, labels, test_images, ndim=2):
    """The training images, their labels (-1 = unlabeled) and the test images."""
    images = check_images(images, name="images", ndim=ndim)
    labels = check_labels(
        labels, [im.shape for im in images], require_labeled=True, ndim=ndim
    )
    return images, labels, check_images(test_images, name="test_images", ndim=ndim)


def _default_forest(random_state, n_jobs):
    """scikit-image's and ilastik's default: a 100-tree random forest."""
    return RandomForestClassifier(
        n_estimators=100, n_jobs=n_jobs, random_state=random_state
    )


def _features(image):
    return multiscale_basic_features(
        as_float_image(image), channel_axis=None if image.ndim == 2 else -1
    )


def skimage_trainable_segmentation(
    images, labels, test_images, *, clf=None, random_state=None
):
    """scikit-image's trainable segmentation trained on several images.

    Computes :func:`skimage.feature.multiscale_basic_features` (default
    settings) for every image, trains the classifier with
    :func:`skimage.future.fit_segmenter` on the labeled pixels of all
    training images and predicts with
    :func:`skimage.future.predict_segmenter`, as in scikit-image's gallery
    example. Unlabeled training images contribute nothing: this pixel
    classifier is fully supervised. A test image that is one of the labeled
    training arrays (the same object, for segmenting the scribbled image
    itself) reuses the features computed for training.

    Parameters
    ----------
    images : list of ndarray of shape (H, W) or (H, W, C)
        Training images.
    labels : list of ndarray of shape (H, W) of int
        Their labels, -1 for unlabeled pixels (converted to scikit-image's
        0 = unlabeled convention internally).
    test_images : list of ndarray
        Images to segment.
    clf : classifier, default=None
        None uses scikit-image's default,
        ``RandomForestClassifier(n_estimators=100, n_jobs=-1)``, here seeded
        with ``random_state``.
    random_state : int, default=None
        Seed of the default forest.

    Returns
    -------
    masks : list of ndarray of shape (H, W)
        Predicted class of every pixel of each test image.
    """
    images, labels, test_images = _check_inputs(images, labels, test_images)
    clf = _default_forest(random_state, n_jobs=-1) if clf is None else clf
    labeled = [(im, lab) for im, lab in zip(images, labels) if (lab >= 0).any()]
    # Keyed by the array itself: a test image that is also a labeled training
    # image reuses its features, as in scikit-image's gallery example, where
    # the scribbled image is segmented with the stack it was trained on.
    stacks = {id(im): _features(im) for im, _ in labeled}
    # fit_segmenter takes one label image and its feature stack: lay the
    # labeled images side by side as rows of one long stack.
    feats = np.concatenate(
        [stacks[id(im)].reshape(-1, 1, stacks[id(im)].shape[-1]) for im, _ in labeled]
    )
    target = np.concatenate([lab.reshape(-1, 1) + 1 for _, lab in labeled])
    clf = fit_segmenter(target, feats, clf)
    return [
        predict_segmenter(stacks[id(im)] if id(im) in stacks else _features(im), clf)
        - 1
        for im in test_images
    ]


def _ilastik_features(image):
    return filter_bank(image)


def _ilastik_volume_features(spacing):
    return lambda volume: filter_bank(volume, spacing=spacing)


def _predict_pixels(clf, features):
    flat = features.reshape(-1, features.shape[-1])
    pred = [
        clf.predict(flat[i : i + _PREDICT_BATCH])
        for i in range(0, len(flat), _PREDICT_BATCH)
    ]
    return np.concatenate(pred).reshape(features.shape[:-1])


def ilastik_pixel_classification(
    images,
    labels,
    test_images,
    *,
    clf=None,
    random_state=None,
    n_jobs=-1,
    spacing=None,
):
    """ilastik-style pixel classification: its default features, 100 trees.

    Computes :func:`~semiseg_sk.features.filter_bank` (ilastik's six filter
    families at its default scales 0.3, 0.7, 1.0, 1.6, 3.5, 5.0 and 10.0:
    49 features per channel) for every scribbled training image, trains the
    classifier on their labeled pixels, as ilastik trains one forest on the
    labels of all its images, and predicts every pixel of each test image
    in batches of 262,144 pixels. Unlabeled training images contribute
    nothing: this pixel classifier is fully supervised. A test image that is
    one of the labeled training arrays (the same object, for segmenting the
    scribbled image itself) reuses the features computed for training.

    Parameters
    ----------
    images : list of ndarray of shape (H, W) or (H, W, C)
        Training images; every channel is filtered, as in ilastik.
    labels : list of ndarray of shape (H, W) of int
        Their labels, -1 for unlabeled pixels.
    test_images : list of ndarray
        Images to segment.
    clf : classifier, default=None
        None uses ``RandomForestClassifier(n_estimators=100)``, scikit-learn's
        forest standing in for ilastik's default 100-tree VIGRA random forest
        (both draw bootstrap samples and try the square root of the number of
        features at each split), seeded with ``random_state``.
    random_state : int, default=None
        Seed of the default forest.
    n_jobs : int, default=-1
        Workers of the default forest's fit and predict; -1 uses every core,
        as ilastik does unless told otherwise (``LAZYFLOW_THREADS``) and as
        scikit-image's default forest does. Ignored when ``clf`` is given.
    spacing : tuple of 3 float, default=None
        With a voxel size ``(dz, dy, dx)``, every image is a volume
        (Z, Y, X[, C]) with (Z, Y, X) labels, and the features are ilastik's
        3-D ones (``filter_bank(..., spacing=spacing)``, 61 per channel).

    Returns
    -------
    masks : list of ndarray of shape (H, W)
        Predicted class of every pixel of each test image.
    """
    spacing = check_spacing(spacing)
    ndim = 2 if spacing is None else 3
    images, labels, test_images = _check_inputs(images, labels, test_images, ndim)
    clf = _default_forest(random_state, n_jobs) if clf is None else clf
    describe = (
        _ilastik_features if spacing is None else _ilastik_volume_features(spacing)
    )
    # Keyed by the array itself: a test image that is also a labeled training
    # image reuses its features, kept until its last place in test_images.
    last_use = {id(im): i for i, im in enumerate(test_images)}
    stacks, rows, targets = {}, [], []
    for im, lab in zip(images, labels):
        labeled = lab >= 0
        if not labeled.any():
            continue
        features = stacks.get(id(im))
        if features is None:
            features = describe(im)
        rows.append(features[labeled])
        targets.append(lab[labeled])
        if id(im) in last_use:
            stacks[id(im)] = features
        del features
    clf.fit(np.concatenate(rows), np.concatenate(targets))
    del rows, targets
    masks = []
    for i, im in enumerate(test_images):
        features = stacks.get(id(im))
        if features is None:
            features = describe(im)
        if last_use[id(im)] == i:
            stacks.pop(id(im), None)
        masks.append(_predict_pixels(clf, features))
        del features
    return masks
