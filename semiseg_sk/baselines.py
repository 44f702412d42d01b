# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The tools users compare semiseg_sk with, run the way their docs show.

Used by the demo and by ``benchmarks/`` so that every comparison runs the
anchor in the same process, on the same scribbles.
"""

import numpy as np
from skimage.feature import multiscale_basic_features
from skimage.future import fit_segmenter, predict_segmenter
from sklearn.ensemble import RandomForestClassifier

from .utils._image import as_float_image
from .utils.validation import check_images, check_labels

__all__ = ["skimage_trainable_segmentation"]


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
    images = check_images(images, name="images")
    labels = check_labels(labels, [im.shape for im in images], require_labeled=True)
    test_images = check_images(test_images, name="test_images")
    if clf is None:
        clf = RandomForestClassifier(
            n_estimators=100, n_jobs=-1, random_state=random_state
        )
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
