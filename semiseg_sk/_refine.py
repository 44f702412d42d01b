# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""PixelRefiner: bring region predictions back to pixel resolution.

Superpixels lose structures smaller than a region (small nuclei, thin
folds, roads), where a pixel classifier does well; regions and the
unlabeled images win where texture and context matter. :class:`PixelRefiner`
trains a pixel classifier on multiscale filter features of the scribbled
pixels and of pseudo-labeled pixels of all training images, labeled and
unlabeled: pixels of regions that label spreading labeled with some
confidence, kept only where a classifier of the scribbles agrees. So the
semi-supervised gain of the region graph reaches pixel level. Its
probabilities are blended with the region probabilities at every pixel.
Last, class boundaries are snapped to image edges: the pixels near a
boundary are re-assigned by a marker-controlled watershed on the image's
gradient magnitude, so that boundaries follow the strongest edge nearby and
specks narrower than the band disappear.
"""

from numbers import Integral, Real

import numpy as np
from scipy import ndimage as ndi
from skimage.feature import multiscale_basic_features
from skimage.filters import gaussian, sobel
from skimage.segmentation import find_boundaries, watershed
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .utils._image import as_feature_image, as_float_image
from .utils.fixes import HasMethods, Interval, StrOptions, _fit_context

__all__ = ["PixelRefiner"]

# fit_predict_proba keeps the pixel features computed at fit for the
# prediction of the same images, up to this many bytes in all.
_MAX_KEPT_FEATURE_BYTES = 512 * 2**20
# The default forests: the one that checks pseudo-labels against the
# scribbles, and the pixel classifier itself.
_AGREE_TREES = 20
_TREES = 30
# The pixel classifier predicts images in batches of about this many pixels.
_PREDICT_BATCH_PIXELS = 2**20


def _pixel_features(image, sigma_min, sigma_max, convert2lab):
    """(H * W, n_features) float32 multiscale filter features of one image."""
    image = as_feature_image(image, convert2lab)
    feats = multiscale_basic_features(
        image,
        sigma_min=sigma_min,
        sigma_max=sigma_max,
        channel_axis=None if image.ndim == 2 else -1,
    )
    return feats.reshape(-1, feats.shape[-1])


def _edge_magnitude(image, sigma):
    """Gradient magnitude of the Gaussian-smoothed image, over all channels."""
    smooth = gaussian(
        as_float_image(image), sigma, channel_axis=None if image.ndim == 2 else -1
    )
    if smooth.ndim == 2:
        return sobel(smooth)
    return np.sqrt(sum(sobel(smooth[..., c]) ** 2 for c in range(smooth.shape[-1])))


def _snap_to_edges(image, proba, width, sigma):
    """Move class boundaries onto the image edges within ``width`` pixels.

    Every pixel closer than ``width`` (Euclidean, in pixels) to a boundary of
    ``proba.argmax(-1)`` is given the probabilities of the pixel whose
    watershed basin it falls in: a marker-controlled watershed on the
    gradient magnitude of the image smoothed with a Gaussian of ``sigma``,
    with every pixel outside that band as its own marker. So boundaries move
    to the strongest edge nearby, the argmax of the result is its own
    segmentation, and specks narrower than ``2 * width`` disappear.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
    proba : ndarray of shape (H, W, n_classes)
    width : float
        Half-width of the band around the boundaries; 0 returns ``proba``.
    sigma : float
        Gaussian smoothing before the gradient (noise makes false edges).

    Returns
    -------
    proba : ndarray of shape (H, W, n_classes)
        A new array (or ``proba`` itself when nothing moves).
    """
    if width <= 0:
        return proba
    boundaries = find_boundaries(proba.argmax(axis=-1), mode="thick")
    if not boundaries.any():
        return proba
    band = ndi.distance_transform_edt(~boundaries) <= width
    if band.all():
        return proba  # no pixel is far enough from a boundary to be a marker
    # Marker i + 1 is flat pixel i. Only the pixels just outside the band can
    # flood it, so the watershed runs on the band and that rim alone.
    rim = ndi.binary_dilation(band) & ~band
    markers = np.zeros(band.shape, dtype=np.intp)
    markers[rim] = np.flatnonzero(rim) + 1
    source = watershed(_edge_magnitude(image, sigma), markers, mask=band | rim) - 1
    flat = proba.reshape(-1, proba.shape[-1])
    out = proba.copy()
    out[band] = flat[source[band]]
    return out


class PixelRefiner(BaseEstimator):
    """Refine region class probabilities with a pixel classifier.

    Used through ``RegionClassifier(refine=PixelRefiner())``; fitted on the
    region probabilities that the region classifier gives its own training
    images.

    Parameters
    ----------
    estimator : classifier, default=None
        Pixel classifier with ``predict_proba``. None uses
        ``RandomForestClassifier(n_estimators=30, n_jobs=-1)`` seeded from
        ``random_state`` (and a 20-tree forest for the ``agree`` check):
        fewer trees than scikit-image's trainable segmentation (100), as
        accurate after blending and snapping on the benchmark's tuning seeds
        (``benchmarks/RESULTS.md``) and faster. A given estimator is cloned
        for both.
    threshold : float, default=0.6
        A pixel whose region's largest class probability is at least this
        becomes a candidate pseudo-labeled training pixel (if it is not
        scribbled).
    max_pseudo : int, default=1000
        Pseudo-labeled pixels drawn per class at most, uniformly over the
        candidates of all training images, labeled and unlabeled; 0 trains
        on the scribbled pixels only.
    agree : bool, default=True
        Keep only the pseudo-labels that a first pixel classifier, trained on
        the scribbled pixels alone, agrees with.
    weight : float, default=0.5
        Share of the region probabilities in the result; 0 keeps only the
        pixel classifier, 1 only the regions.
    blend : {"linear", "geometric"}, default="linear"
        ``weight * p_region + (1 - weight) * p_pixel``, or the normalised
        weighted geometric mean of the two.
    sigma_min : float, default=0.5
        Smallest Gaussian scale of the pixel features
        (:func:`skimage.feature.multiscale_basic_features`).
    sigma_max : float, default=16.0
        Largest Gaussian scale of the pixel features.
    convert2lab : bool, default=True
        Compute the pixel features of 3-channel (RGB) images in CIE Lab, each
        channel scaled to about [0, 1], as :class:`RegionStats` does; other
        images are not affected.
    snap_width : float, default=3
        Pixels closer than this to a class boundary of the blended
        probabilities are re-assigned by a watershed on the image gradient
        (see Notes), so that boundaries follow image edges;
        0 turns snapping off.
    snap_sigma : float, default=2.0
        Gaussian smoothing of the image before its gradient is taken for
        snapping.
    random_state : int, RandomState instance or None, default=None
        Seeds the pixel sampling and the default forest.

    Attributes
    ----------
    estimator_ : classifier
        The fitted pixel classifier.
    n_pseudo_ : int
        Number of pseudo-labeled pixels it was trained on.
    n_scribbled_ : int
        Number of scribbled pixels it was trained on.

    Notes
    -----
    Snapping: every pixel closer than ``snap_width`` pixels to a class
    boundary of the blended probabilities takes the probabilities of the
    pixel whose basin it joins in a marker-controlled watershed on the
    gradient magnitude of the image smoothed with ``snap_sigma`` (every pixel
    outside that band is its own marker). Boundaries move to the strongest
    edge nearby, ``predict`` stays the argmax of ``predict_proba``, and
    specks narrower than about ``2 * snap_width`` disappear -- so do true
    structures that thin: use ``snap_width=0`` for lines and fibres.
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "threshold": [Interval(Real, 0, 1, closed="both")],
        "max_pseudo": [Interval(Integral, 0, None, closed="left")],
        "agree": ["boolean"],
        "weight": [Interval(Real, 0, 1, closed="both")],
        "blend": [StrOptions({"linear", "geometric"})],
        "sigma_min": [Interval(Real, 0, None, closed="neither")],
        "sigma_max": [Interval(Real, 0, None, closed="neither")],
        "convert2lab": ["boolean"],
        "snap_width": [Interval(Real, 0, None, closed="left")],
        "snap_sigma": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        threshold=0.6,
        max_pseudo=1000,
        agree=True,
        weight=0.5,
        blend="linear",
        sigma_min=0.5,
        sigma_max=16.0,
        convert2lab=True,
        snap_width=3,
        snap_sigma=2.0,
        random_state=None,
    ):
        self.estimator = estimator
        self.threshold = threshold
        self.max_pseudo = max_pseudo
        self.agree = agree
        self.weight = weight
        self.blend = blend
        self.sigma_min = sigma_min
        self.sigma_max = sigma_max
        self.convert2lab = convert2lab
        self.snap_width = snap_width
        self.snap_sigma = snap_sigma
        self.random_state = random_state

    def _features(self, X, i, kept=None):
        """Pixel features of image ``X[i]``, from ``kept`` when it has them.

        ``kept`` (a dict, or None) collects the stacks computed here while
        they fit in ``_MAX_KEPT_FEATURE_BYTES``.
        """
        if kept is not None and i in kept:
            return kept[i]
        stack = _pixel_features(
            X[i].image, self.sigma_min, self.sigma_max, self.convert2lab
        )
        if kept is not None:
            used = sum(a.nbytes for a in kept.values())
            if used + stack.nbytes <= _MAX_KEPT_FEATURE_BYTES:
                kept[i] = stack
        return stack

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, region_proba):
        """Fit the pixel classifier on scribbles and confident pseudo-labels.

        Parameters
        ----------
        X : list of Regions
            The training regions (their images give the pixel features).
        y : list of ndarray of shape (H, W) of int
            Encoded pixel labels ``0 .. n_classes - 1``, -1 for unlabeled.
        region_proba : list of ndarray of shape (n_regions, n_classes)
            Region class probabilities of each training image.

        Returns
        -------
        self : PixelRefiner
        """
        return self._fit(X, y, region_proba)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_predict_proba(self, X, y, region_proba):
        """Fit, then refine the probabilities of the training images.

        The same as ``fit(X, y, region_proba).predict_proba(X,
        region_proba)``, with the pixel features of each image computed once
        (while they fit in 512 MB).

        Parameters
        ----------
        X : list of Regions
        y : list of ndarray of shape (H, W) of int
            Encoded pixel labels ``0 .. n_classes - 1``, -1 for unlabeled.
        region_proba : list of ndarray of shape (n_regions, n_classes)

        Returns
        -------
        proba : list of ndarray of shape (H, W, n_classes)
        """
        kept = {}
        self._fit(X, y, region_proba, kept)
        return self._predict_proba(X, region_proba, kept)

    def _fit(self, X, y, region_proba, kept=None):
        rng = check_random_state(self.random_state)
        n_classes = region_proba[0].shape[1]
        scribbled, pseudo = [], []  # (image index, flat pixel index, class)
        for i, (regions, lab, proba) in enumerate(zip(X, y, region_proba)):
            lab = lab.ravel()
            seg = regions.segments.ravel()
            conf = proba.max(axis=1)[seg]
            best = proba.argmax(axis=1)[seg]
            idx = np.flatnonzero(lab >= 0)
            scribbled.append((np.full(idx.size, i), idx, lab[idx]))
            idx = np.flatnonzero((lab < 0) & (conf >= self.threshold))
            if self.max_pseudo == 0:
                idx = idx[:0]
            pseudo.append((np.full(idx.size, i), idx, best[idx]))
        img_s, pix_s, cls_s = (np.concatenate(a) for a in zip(*scribbled))
        img_p, pix_p, cls_p = (np.concatenate(a) for a in zip(*pseudo))
        # Candidates: up to 4 * max_pseudo per class when they must agree with
        # a classifier of the scribbles, max_pseudo otherwise.
        n_draw = self.max_pseudo * (4 if self.agree else 1)
        keep = []
        for c in range(n_classes):
            members = np.flatnonzero(cls_p == c)
            if members.size > n_draw:
                members = rng.choice(members, n_draw, replace=False)
            keep.append(members)
        keep = np.sort(np.concatenate(keep))
        img_p, pix_p, cls_p = img_p[keep], pix_p[keep], cls_p[keep]

        def features_of(img, pix):
            # One image's feature stack at a time, keeping only the rows
            # needed: stacks of large images do not pile up in memory.
            img_all = np.concatenate([img_s, img])
            pix_all = np.concatenate([pix_s, pix])
            out = None
            for i in np.unique(img_all):
                rows = np.flatnonzero(img_all == i)
                stack = self._features(X, i, kept)
                if out is None:
                    out = np.empty((img_all.size, stack.shape[1]), dtype=np.float32)
                out[rows] = stack[pix_all[rows]]
            return out[: img_s.size], out[img_s.size :]

        def new_estimator(n_estimators=_TREES):
            if self.estimator is None:
                return RandomForestClassifier(
                    n_estimators=n_estimators,
                    n_jobs=-1,
                    random_state=rng.randint(np.iinfo(np.int32).max),
                )
            return clone(self.estimator)

        features_s, features_p = features_of(img_p, pix_p)
        if self.agree and cls_p.size:
            # Keep the pseudo-labels a classifier of the scribbles agrees with:
            # a region that label spreading got wrong rarely passes both.
            first = new_estimator(_AGREE_TREES).fit(features_s, cls_s)
            agree = first.classes_[first.predict_proba(features_p).argmax(axis=1)]
            ok = np.flatnonzero(agree == cls_p)
            keep = []
            for c in range(n_classes):
                members = ok[cls_p[ok] == c]
                if members.size > self.max_pseudo:
                    members = rng.choice(members, self.max_pseudo, replace=False)
                keep.append(members)
            keep = np.sort(np.concatenate(keep))
            features_p, cls_p = features_p[keep], cls_p[keep]
        self.n_scribbled_ = int(cls_s.size)
        self.n_pseudo_ = int(cls_p.size)
        features = np.concatenate([features_s, features_p])
        target = np.concatenate([cls_s, cls_p])
        self.estimator_ = new_estimator().fit(features, target)
        self.n_classes_ = n_classes
        return self

    def predict_proba(self, X, region_proba):
        """Blend pixel-classifier and region probabilities, snapped to edges.

        Parameters
        ----------
        X : list of Regions
        region_proba : list of ndarray of shape (n_regions, n_classes)

        Returns
        -------
        proba : list of ndarray of shape (H, W, n_classes)
        """
        check_is_fitted(self)
        return self._predict_proba(X, region_proba)

    def _pixel_proba(self, X, kept=None):
        """Yield the pixel classifier's (n_pixels, n_classes) proba per image.

        Images are predicted in batches of about ``_PREDICT_BATCH_PIXELS``
        pixels: one call per batch costs less than one per small image.
        """
        batch, n_pixels = [], 0
        for i, regions in enumerate(X):
            batch.append(i)
            n_pixels += regions.segments.size
            if n_pixels < _PREDICT_BATCH_PIXELS and i + 1 < len(X):
                continue
            stacks = [self._features(X, j, kept) for j in batch]
            proba = self.estimator_.predict_proba(np.concatenate(stacks))
            del stacks
            bounds = np.cumsum([0] + [X[j].segments.size for j in batch])
            for lo, hi in zip(bounds[:-1], bounds[1:]):
                full = np.zeros((hi - lo, self.n_classes_))
                full[:, self.estimator_.classes_] = proba[lo:hi]
                yield full
            batch, n_pixels = [], 0

    def _predict_proba(self, X, region_proba, kept=None):
        out = []
        pixel_proba = self._pixel_proba(X, kept) if self.weight < 1 else None
        for regions, proba in zip(X, region_proba):
            painted = regions.paint(proba).reshape(-1, self.n_classes_)
            if pixel_proba is not None:
                pixel = next(pixel_proba)
                if self.blend == "linear":
                    painted = self.weight * painted + (1 - self.weight) * pixel
                else:
                    eps = 1e-3
                    painted = np.exp(
                        self.weight * np.log(painted + eps)
                        + (1 - self.weight) * np.log(pixel + eps)
                    )
                    painted /= painted.sum(axis=1, keepdims=True)
            painted = painted.reshape(*regions.shape, self.n_classes_)
            out.append(
                _snap_to_edges(regions.image, painted, self.snap_width, self.snap_sigma)
            )
        return out
