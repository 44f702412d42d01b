# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The refiner's choices made from the scribbles alone: blend, snapping, temperature.

Cross-validation over strokes: the scribbled pixels are split into strokes
(connected components of one class), the strokes of each class are dealt
into folds, and each fold is held out in turn. A pixel forest trained
without the fold's strokes, and region probabilities from a region
estimator fitted without them, are blended with each candidate region
weight, optionally snapped to the image edges, in a window around each
held-out stroke; the candidate with the best mean IoU over the held-out
scribbled pixels wins. Their out-of-fold probabilities also give the
temperature that calibrates the blend. No test label is ever seen.
"""

import numpy as np
from scipy import ndimage as ndi

from ..features._gating import _macro_iou
from ._snap import snap_to_edges

__all__ = ["fit_temperature", "holds_out_whole_images", "stroke_folds", "tempered"]

# Temperatures tried when calibrating (log-spaced): below 1 sharpens, above
# 1 softens the blended probabilities.
_TEMPERATURES = np.geomspace(0.2, 5.0, 41)
_EPS = 1e-6


def stroke_folds(y, classes, n_folds, rng):
    """Strokes of the scribbles and the fold of each: by image, else dealt per class.

    Parameters
    ----------
    y : list of ndarray of shape (H, W) of int
        Pixel labels, -1 for unlabeled pixels.
    classes : ndarray of shape (n_classes,)
        Sorted class labels.
    n_folds : int
        Folds wanted; fewer when a class has fewer strokes.
    rng : RandomState

    Returns
    -------
    strokes : list of (image index, ndarray of flat pixel indices, class index)
    folds : ndarray of shape (n_strokes,) of int
        The fold of each stroke; empty when some class has fewer than two
        strokes (nothing can be held out).
    """
    strokes = []
    for i, lab in enumerate(y):
        for c, value in enumerate(classes):
            comps, n = ndi.label(lab == value, structure=np.ones((3, 3)))
            if not n:
                continue
            flat = comps.ravel()
            order = np.argsort(flat, kind="stable")
            bounds = np.searchsorted(flat[order], np.arange(1, n + 2))
            for lo, hi in zip(bounds[:-1], bounds[1:]):
                strokes.append((i, order[lo:hi], c))
    cls = np.array([s[2] for s in strokes], dtype=np.intp)
    image = np.array([s[0] for s in strokes], dtype=np.intp)
    # Whole images are held out when every class is scribbled on at least
    # two images: strokes of one image share its look, so holding out a
    # stroke of an image the forest was trained on flatters the forest.
    groups = np.unique(image)
    per_class = [np.unique(image[cls == c]).size for c in range(len(classes))]
    if min(per_class, default=0) >= 2:
        n_folds = min(n_folds, groups.size)
        order = rng.permutation(groups.size)
        fold_of_image = dict(zip(groups[order], np.arange(groups.size) % n_folds))
        return strokes, np.array([fold_of_image[i] for i in image], dtype=np.intp)
    counts = np.bincount(cls, minlength=len(classes))
    n_folds = min(n_folds, int(counts.min()) if counts.size else 0)
    if n_folds < 2:
        return strokes, np.zeros(0, dtype=np.intp)
    folds = np.empty(cls.size, dtype=np.intp)
    for c in range(len(classes)):
        members = rng.permutation(np.flatnonzero(cls == c))
        folds[members] = (np.arange(members.size) + rng.randint(n_folds)) % n_folds
    return strokes, folds


def holds_out_whole_images(strokes, folds):
    """Whether every fold holds out whole images (no image split across folds).

    Only then does a held-out stroke come from an image that neither the
    pixel forest nor the regions were fitted on; otherwise the other strokes
    of its image flatter whatever leans on the forest most.
    """
    fold_of_image = {}
    for (i, _, _), f in zip(strokes, folds):
        if fold_of_image.setdefault(i, f) != f:
            return False
    return len(fold_of_image) > 1


def stroke_window(pixels, shape, margin):
    """The (row slice, column slice) box around flat ``pixels``, ``margin`` wider."""
    rows, cols = np.unravel_index(pixels, shape)
    return (
        slice(max(rows.min() - margin, 0), min(rows.max() + margin + 1, shape[0])),
        slice(max(cols.min() - margin, 0), min(cols.max() + margin + 1, shape[1])),
    )


def window_pixels(window, shape):
    """Flat indices of the pixels of a box, row by row."""
    rows = np.arange(window[0].start, window[0].stop)
    cols = np.arange(window[1].start, window[1].stop)
    return (rows[:, None] * shape[1] + cols[None, :]).ravel()


def candidate_scores(windows, candidates, blend, snap_sigma, n_classes):
    """Held-out score and probabilities of each candidate.

    Parameters
    ----------
    windows : list of tuple
        Per held-out stroke: ``(image, region, pixel, inside, truth)`` with
        the window's image crop, its region and pixel-forest probabilities
        ((h, w, n_classes) each), the flat positions of the stroke's pixels
        in the window and their class index.
    candidates : list of (region_weight, snap_width)
    blend : callable
        ``blend(region, pixel, weight)`` -> probabilities.

    Returns
    -------
    scores : list of float
        Mean IoU over the held-out pixels of each candidate.
    probas : list of ndarray of shape (n_held_out_pixels, n_classes)
    truths : ndarray of shape (n_held_out_pixels,)
    """
    preds = [[] for _ in candidates]
    probas = [[] for _ in candidates]
    truths = []
    for image, region, pixel, inside, truth in windows:
        truths.append(truth)
        blended = {}
        for k, (weight, width) in enumerate(candidates):
            if weight not in blended:
                blended[weight] = blend(region, pixel, weight)
            proba = snap_to_edges(image, blended[weight], width, snap_sigma)
            proba = proba.reshape(-1, n_classes)[inside]
            probas[k].append(proba)
            preds[k].append(proba.argmax(axis=1))
    truths = np.concatenate(truths)
    return (
        [_macro_iou(truths, np.concatenate(p), n_classes) for p in preds],
        [np.concatenate(p) for p in probas],
        truths,
    )


def tempered(proba, temperature):
    """``proba ** (1 / temperature)``, renormalised over the last axis."""
    if temperature == 1:
        return proba
    logp = np.log(np.clip(proba, _EPS, None)) / temperature
    logp -= logp.max(axis=-1, keepdims=True)
    out = np.exp(logp)
    out /= out.sum(axis=-1, keepdims=True)
    return out


def fit_temperature(proba, truth):
    """The temperature of least negative log-likelihood of ``truth``."""
    losses = [
        -np.log(
            np.clip(tempered(proba, t)[np.arange(truth.size), truth], _EPS, None)
        ).mean()
        for t in _TEMPERATURES
    ]
    return float(_TEMPERATURES[int(np.argmin(losses))])
