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
probabilities are blended with the region probabilities at every pixel, and
class boundaries are then snapped to image edges (``_snap.py``).
"""

from numbers import Integral, Real

import numpy as np
from scipy import ndimage as ndi
from skimage.segmentation import find_boundaries
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.utils import check_random_state
from sklearn.utils.parallel import delayed
from sklearn.utils.validation import check_is_fitted

from .._regions import check_regions
from ..features._stats import _sigmas
from ..features._volume_features import VolumeFeatures, slabs
from ..utils._channels import (
    CHANNEL_CONSTRAINTS,
    fill_channel_params,
    resolve_channels,
    select_channels,
    selected_regions,
)
from ..utils._docstring import docstring
from ..utils._image import as_feature_image, channels_last
from ..utils._parallel import N_JOBS, capped_n_jobs, image_parallel, thread_budget
from ..utils._random import RANDOM_STATE, draw_seed
from ..utils.fixes import (
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
    multiscale_basic_features,
)
from ..utils.validation import check_classifier, check_labels, n_channels
from ._context import context_features
from ._select import (
    candidate_scores,
    fit_temperature,
    holds_out_whole_images,
    stroke_folds,
    stroke_window,
    tempered,
    window_pixels,
)
from ._snap import snap_to_edges

__all__ = ["PixelRefiner"]

# The default forests: the one that checks pseudo-labels against the
# scribbles, and the pixel classifier itself.
_CHECK_TREES = 20
_TREES = 30
# The pixel classifier predicts images in batches of about this many pixels.
_PREDICT_BATCH_PIXELS = 2**20
# Images of at least this many pixels are predicted coarse to fine (see
# coarse_stride); below, every pixel. The pixel classifier runs at every pixel
# where the blend's two best classes are closer than _DENSE_MARGIN.
_COARSE_MIN_PIXELS = 2**18
_DENSE_MARGIN = 0.2
# Cross-validation over strokes (``"cv"`` values): the region weights and
# snap widths tried, what stands when the scribbles cannot be split (a class
# with a single stroke), the extra margin of the window around each held-out
# stroke, and how much worse than the best a candidate nearer the fallback
# may score and still be chosen (held-out scribbles are few: small
# differences are noise).
_CV_WEIGHTS = (0.0, 0.25, 0.5, 0.75)
_CV_SNAP_WIDTH = 3
_FALLBACK_WEIGHT = 0.5
_CV_WINDOW_MARGIN = 8
_CV_TOLERANCE = 0.01
# Snapping is switched off only where it multiplies the held-out error of
# the blend by at least this much (see _choose).
_CV_SNAP_ERROR_RATIO = 2.0


def pixel_features(image, sigma_min, sigma_max, convert2lab):
    """(H * W, n_features) float32 multiscale filter features of one image."""
    image = as_feature_image(image, convert2lab)
    feats = multiscale_basic_features(
        image,
        sigma_min=sigma_min,
        sigma_max=sigma_max,
        n_threads=thread_budget(),
        channel_axis=None if image.ndim == 2 else -1,
    )
    return feats.reshape(-1, feats.shape[-1])


def volume_features(regions, image, sigma_min, sigma_max, convert2lab):
    """The 3-D multiscale features of a volume, computed slab by slab.

    ``image`` is the volume of ``regions`` with the channels the refiner
    computes from.
    """
    image = channels_last(as_feature_image(image, convert2lab, 3), 3)
    sigmas = _sigmas(sigma_min, sigma_max, None)
    return VolumeFeatures(image, sigmas, regions.relative_spacing)


class _PixelFeatures:
    """The pixel feature stack of each image of X, computed on demand.

    Stacks are not kept: one lives at a time, so memory does not grow with
    the number or the size of the images beyond one image's stack. A volume
    gets a :class:`VolumeFeatures` instead, whose features are computed a
    slab at a time; the last one is kept, for fitting then predicting it.
    """

    def __init__(self, refiner, X):
        self.refiner = refiner
        self.X = X
        self._volume = (None, None)

    def __call__(self, i):
        r = self.refiner
        image = r._image(self.X[i])
        return pixel_features(image, r.sigma_min, r.sigma_max, r.convert2lab)

    def volume(self, i):
        """The :class:`VolumeFeatures` of volume ``i``."""
        if self._volume[0] != i:
            r = self.refiner
            self._volume = (i, None)  # free the last one first
            self._volume = (
                i,
                volume_features(
                    self.X[i],
                    r._image(self.X[i]),
                    r.sigma_min,
                    r.sigma_max,
                    r.convert2lab,
                ),
            )
        return self._volume[1]

    def rows(self, image_index, pixel_index):
        """Feature rows of the given (image, flat pixel) pairs, one image at a time.

        Only the rows needed are kept, so the stacks of large images do not
        pile up in memory. Each image is one task (parallel with the
        refiner's ``n_jobs``): a lazy image is read where its task runs.
        """
        r = self.refiner
        images = np.unique(image_index)
        wheres = [np.flatnonzero(image_index == i) for i in images]
        flat = [(i, w) for i, w in zip(images, wheres) if self.X[i].ndim == 2]
        channels_ = getattr(r, "channels_", None)
        parts = image_parallel(r.n_jobs, len(flat))(
            delayed(_feature_rows)(
                selected_regions([self.X[i]], channels_)[0],
                pixel_index[where],
                r.sigma_min,
                r.sigma_max,
                r.convert2lab,
            )
            for i, where in flat
        )
        parts = iter(parts)  # the 2-D images' rows, in order; volumes run here
        out = None
        for i, where in zip(images, wheres):
            if self.X[i].ndim == 2:
                rows = next(parts)
            else:
                rows = self.volume(i).rows(pixel_index[where])
            if out is None:
                out = np.empty((image_index.size, rows.shape[1]), dtype=np.float32)
            out[where] = rows
        return out


def _feature_rows(regions, pixels, sigma_min, sigma_max, convert2lab):
    """The pixel feature rows of some pixels of one 2-D image.

    ``regions`` holds only the channels the refiner computes from.
    """
    return pixel_features(regions.image, sigma_min, sigma_max, convert2lab)[pixels]


def _crops(regions, windows):
    """The crops of the image of ``regions`` in the given (rows, cols) windows."""
    image = regions.image
    return [image[window] for window in windows]


def _per_class_sample(members, classes_of, n_classes, n_max, rng):
    """At most ``n_max`` of ``members`` per class, drawn without replacement.

    ``members=None`` stands for ``np.arange(classes_of.size)``, without
    allocating it.
    """
    keep = []
    for c in range(n_classes):
        in_class = classes_of == c
        chosen = np.flatnonzero(in_class) if members is None else members[in_class]
        if chosen.size > n_max:
            chosen = rng.choice(chosen, n_max, replace=False)
        keep.append(chosen)
    return np.sort(np.concatenate(keep))


@docstring
class PixelRefiner(BaseEstimator):
    """Refine region class probabilities with a pixel classifier.

    Used through ``RegionClassifier(refiner=PixelRefiner())``; fitted on the
    region probabilities that the region classifier gives its own training
    images.

    Parameters
    ----------
    estimator : classifier, default=None
        Pixel classifier with ``predict_proba`` (a regressor or clusterer
        raises a TypeError at fit). None uses a 30-tree
        ``RandomForestClassifier`` seeded from ``random_state`` (and a
        20-tree forest for ``check_pseudo_labels``). A given estimator is
        cloned for both.
    pseudo_threshold : float, default=0.6
        A pixel whose region's largest class probability is at least this
        becomes a candidate pseudo-labeled training pixel (if it is not
        scribbled).
    max_pseudo : int, default=1000
        Pseudo-labeled pixels drawn per class at most, uniformly over the
        candidates of the training images (see ``pseudo_images``); 0 trains
        on the scribbled pixels only.
    pseudo_images : int, default=16
        Pseudo-labels are drawn from the scribbled images and from at most
        this many other training images, picked at random, so that fitting
        computes the pixel features of a bounded number of images however
        many images the collection has.
    check_pseudo_labels : bool, default=True
        Keep only the pseudo-labels that a first pixel classifier, trained on
        the scribbled pixels alone, agrees with.
    region_weight : float or "cv", default=0.5
        Share of the region probabilities in the result; 0 keeps only the
        pixel classifier, 1 only the regions. ``"cv"`` chooses it among 0,
        0.25, 0.5 and 0.75 at fit by cross-validation over the scribbled
        strokes (see Notes), so that it can differ from one data set to
        the next: low where regions erase thin or small structures.
    blend : {"linear", "geometric"}, default="linear"
        ``region_weight * p_region + (1 - region_weight) * p_pixel``, or the
        normalised weighted geometric mean of the two.
    sigma_min : float, default=0.5
        Smallest Gaussian scale of the pixel features
        (:func:`skimage.feature.multiscale_basic_features`).
    sigma_max : float, default=16.0
        Largest Gaussian scale of the pixel features.
    convert2lab : bool, default=True
        Compute the pixel features of 3-channel (RGB) images in CIE Lab, each
        channel scaled to about [0, 1], as :class:`~semiseg_sk.RegionStats`
        does; other images are not affected.
    coarse_stride : int, default=3
        On images of 512 x 512 pixels or more, the pixel classifier runs on
        every ``coarse_stride``-th pixel of each row and column, is
        interpolated in between, and runs on every pixel near where the
        class can depend on it (see Notes); 1 runs it on every pixel.
    snap_width : float or "cv", default="cv"
        Pixels closer than this to a class boundary of the blended
        probabilities are re-assigned by a watershed on the image gradient
        (see Notes), so that boundaries follow image edges; 0 turns snapping
        off. ``"cv"`` snaps 3 pixels wide unless the cross-validation over
        the scribbled strokes shows snapping erasing what the blend alone
        gets right (thin structures such as a cortical ribbon; see Notes);
        it can tell only when each class is scribbled on two images or
        more, and snaps otherwise.
    snap_sigma : float, default=2.0
        Gaussian smoothing of the image before its gradient is taken for
        snapping.
    {channels}
    {channel_names}
    temperature : float or "cv", default=0.8
        Temperature scaling of the blended probabilities: their logarithms
        are divided by it and they are renormalised, so below 1 sharpens
        them. Masks do not change, only the probabilities (and the
        uncertainty maps made from them). The default was chosen for the
        lowest calibration error on held-out data; ``"cv"`` fits it at fit
        on the held-out strokes of the cross-validation over the scribbles
        (see Notes), which are easier than the average pixel (scribbles lie
        inside their class), so it tends to sharpen too much.
    cv : int, default=3
        Folds of strokes in the cross-validation (fewer when a class has
        fewer strokes; with a single stroke in some class none is run and
        the weight 0.5, snap width 3 and temperature 1 stand).
    auto_context : bool, default=False
        Run the pixel classifier twice: the second pass also sees the first
        pass's pixel probabilities, raw and smoothed at 1, 3 and 9 pixels
        (ilastik's auto-context). It is trained on the training pixels of
        the scribbled images and predicts every pixel (no coarse to fine),
        so it costs about two more forest passes per image.
    n_jobs : int, default=None
        Cores the default forests use, never more than they have trees.
        ``None`` means 1 unless in a :obj:`joblib.parallel_backend` context;
        ``-1`` means all processors. Results do not depend on it.
    random_state : int, RandomState instance or None, default=None
        Seeds the pixel sampling and the default forests.

    Attributes
    ----------
    estimator_ : classifier
        The fitted pixel classifier.
    classes_ : ndarray of shape (n_classes,)
        The class labels of ``y``; the columns of ``region_proba`` and of
        the probabilities returned follow them.
    n_channels_ : int
        Number of image channels seen at fit.
    {channels_attribute}
    {channel_names_attribute}
    n_pseudo_ : int
        Number of pseudo-labeled pixels it was trained on.
    n_scribbled_ : int
        Number of scribbled pixels it was trained on.
    region_weight_ : float
        The region weight used: ``region_weight``, or the one chosen by
        cross-validation.
    snap_width_ : float
        The snap width used.
    context_estimator_ : classifier or None
        The second-pass pixel classifier of ``auto_context``.
    temperature_ : float
        The temperature the blended probabilities' logarithms are divided by.
    cv_scores_ : dict or None
        ``{(region_weight, snap_width): mean IoU}`` over the held-out
        scribbled pixels of the cross-validation, or None when none ran.

    Notes
    -----
    Coarse to fine: on a large image, the pixel classifier first runs on a
    grid of every ``coarse_stride``-th pixel and its probabilities are
    interpolated to all pixels; it then runs again on every pixel within
    ``coarse_stride`` pixels of where the blend disagrees with the region
    class, where its two best classes are within 0.2 of each other, or where
    the blended class changes. Elsewhere the region class wins by a wide
    margin and the interpolated probabilities stand: the masks are those of
    evaluating every pixel but for structures that the grid misses entirely,
    at a fraction of the cost.

    Volumes (Regions with a ``spacing``): the pixel features are the 3-D
    multiscale features of :class:`~semiseg_sk.RegionStats` on volumes (every
    Gaussian ``sigma`` wide in units of the smallest voxel side), computed,
    classified and blended a slab of slices at a time; the pixel classifier
    runs on every voxel (``coarse_stride`` applies to 2-D images only), and
    snapping measures ``snap_width`` and ``snap_sigma`` in units of the
    smallest voxel side too.

    Snapping: every pixel closer than ``snap_width`` pixels to a class
    boundary of the blended probabilities takes the probabilities of the
    pixel whose basin it joins in a marker-controlled watershed on the
    gradient magnitude of the image smoothed with ``snap_sigma`` (every pixel
    outside that band is its own marker). Boundaries move to the strongest
    edge nearby, ``predict`` stays the argmax of ``predict_proba``, and
    specks narrower than about ``2 * snap_width`` disappear -- so do true
    structures that thin: use ``snap_width=0`` for lines and fibres.

    Cross-validation over strokes, for ``"cv"`` values:
    the scribbles are split into strokes (connected pixels of one class),
    the strokes of each class are dealt into ``cv`` folds, and each fold is
    held out in turn. A 20-tree pixel forest trained on the other strokes
    (and on the pseudo-labels away from the held-out ones) and the region
    probabilities of a region estimator refitted without them (when the
    :class:`~semiseg_sk.RegionClassifier` passes ``region_proba_cv``; the
    fitted region probabilities otherwise) are blended with each candidate
    weight and snapped with each candidate width in a window around each
    held-out stroke. The candidate of the best mean IoU over the held-out
    pixels wins; one nearer the fallback (0.5, 3) within 0.01 of it is
    preferred. A candidate without snapping is chosen over snapping only
    when the folds hold out whole images (each class scribbled on two images
    or more) and snapping at least doubles the held-out error: strokes lie
    inside their class, so snapping changes them only where it erases a
    structure the blend gets right, and a stroke held out of an image whose
    other strokes were trained on flatters the blend. Only the scribbles are
    used, never test labels. The cross-validation draws from a random
    stream of its own: the forests are the same whether it runs or not.
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "pseudo_threshold": [Interval(Real, 0, 1, closed="both")],
        "max_pseudo": [Interval(Integral, 0, None, closed="left")],
        "pseudo_images": [Interval(Integral, 0, None, closed="left")],
        "check_pseudo_labels": ["boolean"],
        "region_weight": [Interval(Real, 0, 1, closed="both"), StrOptions({"cv"})],
        "blend": [StrOptions({"linear", "geometric"})],
        "sigma_min": [Interval(Real, 0, None, closed="neither")],
        "sigma_max": [Interval(Real, 0, None, closed="neither")],
        "convert2lab": ["boolean"],
        "coarse_stride": [Interval(Integral, 1, None, closed="left")],
        "snap_width": [Interval(Real, 0, None, closed="left"), StrOptions({"cv"})],
        "snap_sigma": [Interval(Real, 0, None, closed="neither")],
        **CHANNEL_CONSTRAINTS,
        "temperature": [Interval(Real, 0, None, closed="neither"), StrOptions({"cv"})],
        "auto_context": ["boolean"],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "n_jobs": N_JOBS,
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        estimator=None,
        *,
        pseudo_threshold=0.6,
        max_pseudo=1000,
        pseudo_images=16,
        check_pseudo_labels=True,
        region_weight=0.5,
        blend="linear",
        sigma_min=0.5,
        sigma_max=16.0,
        convert2lab=True,
        coarse_stride=3,
        snap_width="cv",
        snap_sigma=2.0,
        channels=None,
        channel_names=None,
        temperature=0.8,
        cv=3,
        auto_context=False,
        n_jobs=None,
        random_state=None,
    ):
        self.estimator = estimator
        self.pseudo_threshold = pseudo_threshold
        self.max_pseudo = max_pseudo
        self.pseudo_images = pseudo_images
        self.check_pseudo_labels = check_pseudo_labels
        self.region_weight = region_weight
        self.blend = blend
        self.sigma_min = sigma_min
        self.sigma_max = sigma_max
        self.convert2lab = convert2lab
        self.coarse_stride = coarse_stride
        self.snap_width = snap_width
        self.snap_sigma = snap_sigma
        self.channels = channels
        self.channel_names = channel_names
        self.temperature = temperature
        self.cv = cv
        self.auto_context = auto_context
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __setstate__(self, state):
        # Refiners pickled before channels= existed use every channel.
        super().__setstate__(fill_channel_params(type(self), state))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, region_proba, region_proba_cv=None):
        """Fit the pixel classifier on scribbles and confident pseudo-labels.

        Parameters
        ----------
        X : list of Regions
            The training regions (their images give the pixel features).
        y : list of ndarray of shape (H, W) of int
            Pixel labels; -1 marks unlabeled pixels.
        region_proba : list of ndarray of shape (n_regions, n_classes)
            Region class probabilities of each training image, columns in the
            order of the sorted classes of ``y``.
        region_proba_cv : callable, default=None
            ``region_proba_cv(y_fold)`` gives the region probabilities of X
            from a region estimator fitted on the labels ``y_fold`` (the
            scribbles less a held-out fold); used by the cross-validation
            over strokes (see Notes). :class:`~semiseg_sk.RegionClassifier`
            passes it. None uses ``region_proba`` there.

        Returns
        -------
        self : PixelRefiner
            The fitted refiner.
        """
        X, y, region_proba = self._check_fit_input(X, y, region_proba)
        self._fit(X, y, region_proba, _PixelFeatures(self, X), region_proba_cv)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_predict_proba(self, X, y, *, region_proba, region_proba_cv=None):
        """Fit, then refine the probabilities of the training images.

        The same as ``fit(X, y, region_proba=region_proba).predict_proba(X,
        region_proba=region_proba)``.

        Parameters
        ----------
        X : list of Regions
            The training regions.
        y : list of ndarray of shape (H, W) of int
            Pixel labels; -1 marks unlabeled pixels.
        region_proba : list of ndarray of shape (n_regions, n_classes)
            Region class probabilities of each training image.
        region_proba_cv : callable, default=None
            See :meth:`fit`.

        Returns
        -------
        proba : list of ndarray of shape (H, W, n_classes)
            Refined class probabilities of every pixel.
        """
        X, y, region_proba = self._check_fit_input(X, y, region_proba)
        features = _PixelFeatures(self, X)
        self._fit(X, y, region_proba, features, region_proba_cv)
        return self._predict_proba(X, region_proba, features)

    def _check_fit_input(self, X, y, region_proba):
        if self.estimator is not None:
            check_classifier(self.estimator, "estimator", "PixelRefiner")
        X = check_regions(X, name="X", estimator="PixelRefiner")
        y = check_labels(
            y, [r.shape for r in X], name="y", require_labeled=True, ndim=X[0].ndim
        )
        if self.sigma_min > self.sigma_max:
            raise ValueError(
                f"sigma_min={self.sigma_min} is larger than "
                f"sigma_max={self.sigma_max}; expected sigma_min <= sigma_max."
            )
        if X[0].ndim == 3:
            two_d = [
                f"{name}='cv'"
                for name in ("region_weight", "snap_width", "temperature")
                if isinstance(getattr(self, name), str)
            ]
            if self.auto_context:
                two_d.append("auto_context=True")
            if two_d:
                raise ValueError(
                    f"PixelRefiner with {', '.join(two_d)} works on 2-D images "
                    f"only, and X[0] is a volume (spacing={X[0].spacing}); "
                    f"expected auto_context=False and numbers, not 'cv', for "
                    f"volumes."
                )
        channels = resolve_channels(
            self.channels,
            self.channel_names,
            X[0]._image,
            estimator="PixelRefiner",
            ndim=X[0].ndim,
        )
        self.channels_, self.channel_names_ = channels
        self.n_channels_ = n_channels(X[0]._image, X[0].ndim)
        self.classes_ = np.unique(np.concatenate([lab[lab >= 0] for lab in y]))
        region_proba = self._check_region_proba(X, region_proba)
        return X, y, region_proba

    def _image(self, regions):
        """The image of ``regions`` with the channels the refiner computes from."""
        return select_channels(
            regions.image, getattr(self, "channels_", None), regions.ndim
        )

    def _check_region_proba(self, X, region_proba):
        if len(region_proba) != len(X):
            raise ValueError(
                f"region_proba has {len(region_proba)} arrays for {len(X)} "
                f"images; expected one (n_regions, n_classes) array per image."
            )
        n_classes = len(self.classes_)
        checked = []
        for i, (regions, proba) in enumerate(zip(X, region_proba)):
            proba = np.asarray(proba)
            if proba.shape != (regions.n_regions, n_classes):
                raise ValueError(
                    f"region_proba[{i}] has shape {proba.shape}; expected "
                    f"({regions.n_regions}, {n_classes}): one row per region of "
                    f"X[{i}] and one column per class."
                )
            checked.append(proba)
        return checked

    def _new_estimator(self, rng, n_estimators=_TREES):
        if self.estimator is None:
            return RandomForestClassifier(
                n_estimators=n_estimators,
                n_jobs=capped_n_jobs(self.n_jobs, n_estimators),
                random_state=draw_seed(rng),
            )
        return clone(self.estimator)

    def _pseudo_sources(self, y, rng):
        """Indices of the training images that pseudo-labels are drawn from."""
        scribbled = [i for i, lab in enumerate(y) if (lab >= 0).any()]
        others = [i for i, lab in enumerate(y) if not (lab >= 0).any()]
        if len(others) > self.pseudo_images:
            others = rng.choice(others, self.pseudo_images, replace=False).tolist()
        return set(scribbled + others)

    def _fit(self, X, y, region_proba, features, region_proba_cv=None):
        rng = check_random_state(self.random_state)
        # The cross-validation draws from a stream of its own, so that the
        # forests and pseudo-labels do not depend on whether it runs.
        cv_rng = np.random.RandomState(draw_seed(rng))
        n_classes = len(self.classes_)
        sources = self._pseudo_sources(y, rng)
        small = np.min_scalar_type(-n_classes)
        scribbled, pseudo = [], []  # (image index, flat pixel index, class)
        for i, (regions, lab, proba) in enumerate(zip(X, y, region_proba)):
            if i not in sources:
                continue
            lab = np.where(lab >= 0, np.searchsorted(self.classes_, lab), -1).ravel()
            seg = regions.segments.ravel()
            confidence = proba.max(axis=1)[seg]
            best = proba.argmax(axis=1)[seg]
            # Compact dtypes: the candidates of up to pseudo_images megapixel
            # images are held together until the draw.
            idx = np.flatnonzero(lab >= 0).astype(np.int32)
            scribbled.append((np.full(idx.size, i, np.int32), idx, lab[idx]))
            idx = np.flatnonzero((lab < 0) & (confidence >= self.pseudo_threshold))
            idx = idx[:0] if self.max_pseudo == 0 else idx.astype(np.int32)
            pseudo.append(
                (np.full(idx.size, i, np.int32), idx, best[idx].astype(small))
            )
        img_s, pix_s, cls_s = (np.concatenate(a) for a in zip(*scribbled))
        img_p, pix_p, cls_p = (np.concatenate(a) for a in zip(*pseudo))
        # Candidates: up to 4 * max_pseudo per class when they must agree with
        # a classifier of the scribbles, max_pseudo otherwise.
        n_draw = self.max_pseudo * (4 if self.check_pseudo_labels else 1)
        keep = _per_class_sample(None, cls_p, n_classes, n_draw, rng)
        img_p, pix_p, cls_p = img_p[keep], pix_p[keep], cls_p[keep]

        cv = self._cv_plan(X, y, cv_rng)
        img_w, pix_w = (cv["img_w"], cv["pix_w"]) if cv else ([], [])
        every = features.rows(
            np.concatenate([img_s, img_p, *img_w]),
            np.concatenate([pix_s, pix_p, *pix_w]),
        )
        n_sp = img_s.size + img_p.size
        features_s, features_p = every[: img_s.size], every[img_s.size : n_sp]
        features_w = every[n_sp:]
        if self.check_pseudo_labels and cls_p.size:
            # Keep the pseudo-labels a classifier of the scribbles agrees with:
            # a region that label spreading got wrong rarely passes both.
            first = self._new_estimator(rng, _CHECK_TREES).fit(features_s, cls_s)
            agree = first.classes_[first.predict_proba(features_p).argmax(axis=1)]
            ok = np.flatnonzero(agree == cls_p)
            keep = _per_class_sample(ok, cls_p[ok], n_classes, self.max_pseudo, rng)
            features_p, cls_p = features_p[keep], cls_p[keep]
            img_p, pix_p = img_p[keep], pix_p[keep]
        self.n_scribbled_ = int(cls_s.size)
        self.n_pseudo_ = int(cls_p.size)
        self._select(
            X,
            y,
            region_proba,
            region_proba_cv,
            cv,
            (img_s, pix_s, features_s, cls_s),
            (img_p, pix_p, features_p, cls_p),
            features_w,
            cv_rng,
        )
        self.estimator_ = self._new_estimator(rng).fit(
            np.concatenate([features_s, features_p]), np.concatenate([cls_s, cls_p])
        )
        self.context_estimator_ = None
        if self.auto_context:
            self._fit_context(
                X,
                region_proba,
                features,
                np.concatenate([img_s, img_p]),
                np.concatenate([pix_s, pix_p]),
                np.concatenate([cls_s, cls_p]),
                rng,
            )
        return self

    def _context_rows(self, regions, proba, stack):
        """One image's filter features with the first pass's context appended."""
        first = self._forest_proba(stack)
        painted = regions.paint(proba).reshape(first.shape)
        return np.hstack([stack, context_features(regions.shape, first)]), painted

    def _fit_context(self, X, region_proba, features, img, pix, cls, rng):
        """Fit the second pass on the training pixels of the scribbled images."""
        rows, targets = [], []
        for i in np.unique(img[: self.n_scribbled_]):
            here = img == i
            stack, _ = self._context_rows(X[i], region_proba[i], features(i))
            rows.append(stack[pix[here]])
            targets.append(cls[here])
        self.context_estimator_ = self._new_estimator(rng).fit(
            np.concatenate(rows), np.concatenate(targets)
        )

    def _cv_plan(self, X, y, rng):
        """Strokes, folds and windows of the cross-validation, or None if none runs."""
        wanted = "cv" in (self.region_weight, self.snap_width, self.temperature)
        if not wanted or any(len(r.shape) != 2 for r in X):
            return None
        strokes, folds = stroke_folds(y, self.classes_, self.cv, rng)
        if not folds.size:
            return None
        whole_images = holds_out_whole_images(strokes, folds)
        if not whole_images and self.snap_width == "cv" and (
            "cv" not in (self.region_weight, self.temperature)
        ):
            return None  # snapping stays whatever the scores (see _choose)
        widths = [_CV_SNAP_WIDTH if self.snap_width == "cv" else self.snap_width]
        margin = int(np.ceil(max(widths))) + _CV_WINDOW_MARGIN
        windows = [stroke_window(pix, X[i].shape, margin) for i, pix, _ in strokes]
        crops = self._window_crops(X, [i for i, _, _ in strokes], windows)
        pix_w = [window_pixels(w, X[i].shape) for w, (i, _, _) in zip(windows, strokes)]
        img_w = [np.full(p.size, i, np.int32) for p, (i, _, _) in zip(pix_w, strokes)]
        return dict(
            strokes=strokes,
            folds=folds,
            whole_images=whole_images,
            windows=windows,
            crops=crops,
            img_w=img_w,
            pix_w=pix_w,
        )

    def _window_crops(self, X, image_index, windows):
        """The image crop of each window, one task per image (a lazy image is
        read where its task runs), with the channels the refiner uses."""
        images = sorted(set(image_index))
        per_image = image_parallel(self.n_jobs, len(images))(
            delayed(_crops)(
                selected_regions([X[i]], getattr(self, "channels_", None))[0],
                [w for j, w in zip(image_index, windows) if j == i],
            )
            for i in images
        )
        per_image = {i: iter(c) for i, c in zip(images, per_image)}
        return [next(per_image[i]) for i in image_index]

    def _candidates(self):
        """(region_weight, snap_width) pairs, the nearest the fallback first."""
        weights = _CV_WEIGHTS if self.region_weight == "cv" else (self.region_weight,)
        widths = (_CV_SNAP_WIDTH, 0) if self.snap_width == "cv" else (self.snap_width,)
        pairs = [(float(w), float(s)) for w in weights for s in widths]
        return sorted(
            pairs, key=lambda p: (abs(p[0] - _FALLBACK_WEIGHT), p[1] != _CV_SNAP_WIDTH)
        )

    def _select(
        self,
        X,
        y,
        region_proba,
        region_proba_cv,
        cv,
        scribbled,
        pseudo,
        features_w,
        rng,
    ):
        """Set region_weight_, snap_width_, temperature_ and cv_scores_."""
        candidates = self._candidates()
        self.region_weight_, self.snap_width_ = candidates[0]
        if self.region_weight == "cv":
            self.region_weight_ = _FALLBACK_WEIGHT
        if self.snap_width == "cv":
            self.snap_width_ = float(_CV_SNAP_WIDTH)
        self.temperature_ = 1.0 if self.temperature == "cv" else float(self.temperature)
        self.cv_scores_ = None
        if cv is None:
            return
        img_s, pix_s, features_s, cls_s = scribbled
        img_p, pix_p, features_p, cls_p = pseudo
        strokes, folds = cv["strokes"], cv["folds"]
        n_classes = len(self.classes_)
        # Each scribbled pixel's fold, and the folds whose windows cover each
        # pseudo-labeled pixel (those pseudo-labels sit next to held-out
        # strokes: they are left out of that fold's forest).
        fold_of = {}
        for (i, pix, _), f in zip(strokes, folds):
            fold_of.setdefault(i, np.full(X[i].n_pixels, -1, np.intp))[pix] = f
        fold_s = np.array([fold_of[i][p] for i, p in zip(img_s, pix_s)])
        covers = {}
        for (i, _, _), f, pix in zip(strokes, folds, cv["pix_w"]):
            covers.setdefault(i, np.zeros(X[i].n_pixels, np.int64))[pix] |= 1 << int(f)
        cover_p = np.array(
            [covers[i][p] if i in covers else 0 for i, p in zip(img_p, pix_p)],
            dtype=np.int64,
        )
        bounds = np.cumsum([0] + [p.size for p in cv["pix_w"]])
        windows = []
        for f in range(int(folds.max()) + 1):
            held = np.flatnonzero(folds == f)
            y_fold = list(y)
            for k in held:
                i, pix, _ = strokes[k]
                if y_fold[i] is y[i]:
                    y_fold[i] = y[i].copy()
                y_fold[i].ravel()[pix] = -1
            fold_proba = (
                region_proba if region_proba_cv is None else region_proba_cv(y_fold)
            )
            train_s = fold_s != f
            train_p = (cover_p >> f) & 1 == 0
            forest = self._new_estimator(rng, _CHECK_TREES).fit(
                np.concatenate([features_s[train_s], features_p[train_p]]),
                np.concatenate([cls_s[train_s], cls_p[train_p]]),
            )
            for k in held:
                i, pix, c = strokes[k]
                window = cv["windows"][k]
                shape = (
                    window[0].stop - window[0].start,
                    window[1].stop - window[1].start,
                )
                pixel = self._forest_proba(
                    features_w[bounds[k] : bounds[k + 1]], forest
                ).reshape(*shape, n_classes)
                region = fold_proba[i][X[i].segments[window]]
                inside = np.flatnonzero(np.isin(cv["pix_w"][k], pix))
                truth = np.full(inside.size, c, np.intp)
                windows.append((cv["crops"][k], region, pixel, inside, truth))
        scores, probas, truths = candidate_scores(
            windows,
            candidates,
            lambda region, pixel, w: self._blend(region, pixel, w),
            self.snap_sigma,
            n_classes,
        )
        self.cv_scores_ = dict(zip(candidates, scores))
        chosen = _choose(candidates, scores, cv["whole_images"])
        self.region_weight_, self.snap_width_ = candidates[chosen]
        if self.temperature == "cv":
            self.temperature_ = fit_temperature(probas[chosen], truths)

    def predict_proba(self, X, *, region_proba):
        """Blend pixel-classifier and region probabilities, snapped to edges.

        Parameters
        ----------
        X : list of Regions
            The regions of the images to refine.
        region_proba : list of ndarray of shape (n_regions, n_classes)
            Region class probabilities of each image, columns in the order
            of ``classes_``.

        Returns
        -------
        proba : list of ndarray of shape (H, W, n_classes)
            Refined class probabilities of every pixel.
        """
        check_is_fitted(self)
        expected = getattr(self, "n_channels_", None)
        X = check_regions(
            X, name="X", n_channels_expected=expected, estimator="PixelRefiner"
        )
        region_proba = self._check_region_proba(X, region_proba)
        return self._predict_proba(X, region_proba, _PixelFeatures(self, X))

    def _forest_proba(self, rows, estimator=None):
        """(n_rows, n_classes) probabilities of the pixel classifier."""
        estimator = self.estimator_ if estimator is None else estimator
        full = np.zeros((rows.shape[0], len(self.classes_)))
        full[:, estimator.classes_] = estimator.predict_proba(rows)
        return full

    def _probas(self, X, region_proba, features):
        """Yield (region, pixel) probabilities, (n_pixels, n_classes) each, per image.

        Small images are predicted in batches of about
        ``_PREDICT_BATCH_PIXELS`` pixels (one call per batch costs less than
        one per small image); large ones one at a time, coarse to fine.
        """
        if self.context_estimator_ is not None:
            for i, regions in enumerate(X):
                rows, painted = self._context_rows(
                    regions, region_proba[i], features(i)
                )
                yield painted, self._forest_proba(rows, self.context_estimator_)
            return
        pending, n_pending = [], 0
        for i, regions in enumerate(X):
            if regions.ndim == 3:
                yield from self._probas_every_pixel(pending, X, region_proba, features)
                pending, n_pending = [], 0
                yield self._probas_volume(regions, region_proba[i], features.volume(i))
                continue
            if self.coarse_stride > 1 and regions.n_pixels >= _COARSE_MIN_PIXELS:
                yield from self._probas_every_pixel(pending, X, region_proba, features)
                pending, n_pending = [], 0
                yield self._probas_coarse_to_fine(regions, region_proba[i], features(i))
                continue
            pending.append(i)
            n_pending += regions.n_pixels
            if n_pending >= _PREDICT_BATCH_PIXELS:
                yield from self._probas_every_pixel(pending, X, region_proba, features)
                pending, n_pending = [], 0
        yield from self._probas_every_pixel(pending, X, region_proba, features)

    def _probas_every_pixel(self, batch, X, region_proba, features):
        if not batch:
            return
        pixel = self._forest_proba(np.concatenate([features(j) for j in batch]))
        bounds = np.cumsum([0] + [X[j].n_pixels for j in batch])
        n_classes = len(self.classes_)
        for j, lo, hi in zip(batch, bounds[:-1], bounds[1:]):
            painted = X[j].paint(region_proba[j]).reshape(-1, n_classes)
            yield painted, pixel[lo:hi]

    def _probas_volume(self, regions, proba, features):
        """The blended probabilities of a volume, (n_voxels, n_classes), and None.

        Features, pixel probabilities and the blend are made a slab of
        slices at a time: memory holds the result and one slab's features.
        """
        seg = regions.segments
        plane = seg.shape[1] * seg.shape[2]
        out = np.empty((seg.size, len(self.classes_)))
        for z0, z1 in slabs(regions.shape):
            rows = features.slab(z0, z1).reshape(-1, features.n_features)
            painted = proba[seg[z0:z1].ravel()]
            out[z0 * plane : z1 * plane] = self._blend(
                painted, self._forest_proba(rows)
            )
        return out, None

    def _probas_coarse_to_fine(self, regions, proba, stack):
        """Region and pixel probabilities of one large image, coarse to fine.

        The pixel classifier runs on a grid of every ``coarse_stride``-th
        pixel, its probabilities are interpolated (bilinear) to every pixel,
        and it runs again on every pixel within ``coarse_stride`` of where
        the blend is uncertain, disagrees with the regions or changes class:
        where a pixel's class can depend on it. Elsewhere the blend keeps the
        regions' class with a wide margin, and the interpolated
        probabilities stand.
        """
        s, n_classes = self.coarse_stride, len(self.classes_)
        (height, width), first = regions.shape, self.coarse_stride // 2
        stack = stack.reshape(height, width, -1)
        grid = stack[first::s, first::s]
        coarse = self._forest_proba(grid.reshape(-1, stack.shape[-1]))
        pixel = _upsample(
            coarse.reshape(*grid.shape[:2], n_classes), s, first, height, width
        )
        painted = regions.paint(proba).reshape(-1, n_classes)
        pixel = pixel.reshape(-1, n_classes)
        blended = self._blend(painted, pixel)
        decision = blended.argmax(axis=1)
        top2 = np.partition(blended, n_classes - 2, axis=1)[:, -2:]
        dense = (
            (decision != painted.argmax(axis=1))
            | (top2[:, 1] - top2[:, 0] < _DENSE_MARGIN)
        ).reshape(height, width)
        dense |= find_boundaries(decision.reshape(height, width), mode="thick")
        dense = ndi.maximum_filter(dense, size=2 * s + 1)
        where = np.flatnonzero(dense)
        pixel[where] = self._forest_proba(stack.reshape(-1, stack.shape[-1])[where])
        return painted, pixel

    def _blend(self, region, pixel, weight=None):
        w = self.region_weight_ if weight is None else weight
        if self.blend == "linear":
            return w * region + (1 - w) * pixel
        eps = 1e-3
        out = np.exp(w * np.log(region + eps) + (1 - w) * np.log(pixel + eps))
        return out / out.sum(axis=1, keepdims=True)

    def _predict_proba(self, X, region_proba, features):
        n_classes = len(self.classes_)
        if self.region_weight_ < 1:
            probas = self._probas(X, region_proba, features)
        else:
            probas = (
                (r.paint(p).reshape(-1, n_classes), None)
                for r, p in zip(X, region_proba)
            )
        out = []
        for regions, (painted, pixel) in zip(X, probas):
            if pixel is not None:
                painted = self._blend(painted, pixel)
            painted = tempered(painted, self.temperature_)
            painted = painted.reshape(*regions.shape, n_classes)
            out.append(
                snap_to_edges(
                    self._image(regions),
                    painted,
                    self.snap_width_,
                    self.snap_sigma,
                    regions.relative_spacing,
                )
            )
        return out


def _choose(candidates, scores, whole_images):
    """Index of the candidate chosen from its held-out scores.

    The first candidate (they come nearest the fallback first) within
    ``_CV_TOLERANCE`` of the best score. A candidate without snapping counts
    only when the folds hold out whole images and snapping at least
    ``_CV_SNAP_ERROR_RATIO`` times its held-out error (1 - score).

    Held-out strokes lie inside their class, where snapping usually changes
    nothing. When the scribbles do tell, on images the models were not
    fitted on, they tell it by snapping erasing strokes that the blend alone
    gets right (thin structures: a ribbon narrower than the band), and that
    is the evidence snapping is switched off on. A stroke held out of an
    image whose other strokes were trained on flatters the blend, and
    snapping in a window around a stroke adds errors of its own (the window
    is too small for the watershed to see whole objects): there, and for a
    small difference, snapping stays.
    """
    snapped = [s for (_, width), s in zip(candidates, scores) if width > 0]
    floor = 1 - max(snapped, default=1.0) - _CV_TOLERANCE

    def counts(width, score):
        if width > 0 or not snapped:
            return True
        return whole_images and _CV_SNAP_ERROR_RATIO * (1 - score) <= floor

    eligible = [
        k
        for k, ((_, width), score) in enumerate(zip(candidates, scores))
        if counts(width, score)
    ]
    best = max(scores[k] for k in eligible)
    return next(k for k in eligible if scores[k] >= best - _CV_TOLERANCE)


def _upsample(coarse, stride, first, height, width):
    """Bilinear interpolation of a grid of every ``stride``-th pixel to all pixels.

    ``coarse[i, j]`` is the value at pixel ``(first + stride * i, first +
    stride * j)``; pixels beyond the outer grid points take the nearest one.
    """

    def axis_weights(n, n_grid):
        pos = np.clip((np.arange(n) - first) / stride, 0, n_grid - 1)
        lo = np.floor(pos).astype(np.intp)
        hi = np.minimum(lo + 1, n_grid - 1)
        return lo, hi, (pos - lo)[:, None]

    lo, hi, w = axis_weights(height, coarse.shape[0])
    rows = coarse[lo] * (1 - w[..., None]) + coarse[hi] * w[..., None]
    lo, hi, w = axis_weights(width, coarse.shape[1])
    return rows[:, lo] * (1 - w) + rows[:, hi] * w
