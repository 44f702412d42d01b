# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""RegionClassifier: label regions with any scikit-learn classifier."""

import inspect
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import SelfTrainingClassifier
from sklearn.utils.metadata_routing import get_routing_for_object
from sklearn.utils.validation import check_is_fitted

from .._regions import check_feature_width, check_regions
from ..base import ImageEstimatorMixin
from ..exceptions import SingleClassWarning, UnseenClassWarning
from ..utils.fixes import BaseLabelPropagation, HasMethods, StrOptions, _fit_context
from ..utils.validation import (
    check_classifier,
    check_labels,
    n_channels,
    unseen_classes,
)
from ._label_spreading import SparseLabelSpreading

__all__ = ["RegionClassifier", "default_region_estimator", "region_targets"]

# Estimators that learn from the unlabeled regions (y == -1).
_SEMI_SUPERVISED = (BaseLabelPropagation, SelfTrainingClassifier, SparseLabelSpreading)
# Semi-supervised estimators whose label_distributions_ are the propagated
# (transductive) class distributions of their training samples.
_TRANSDUCTIVE = (BaseLabelPropagation, SparseLabelSpreading)
# Images are painted and refined in chunks of about this many pixels: one
# refiner call per chunk costs less than one per small image, and memory
# stays that of one chunk whatever the number of images.
_CHUNK_PIXELS = 2**20


def _chunks(X):
    """Consecutive index ranges of X of about ``_CHUNK_PIXELS`` pixels each."""
    start, n_pixels = 0, 0
    for i, regions in enumerate(X):
        n_pixels += regions.n_pixels
        if n_pixels >= _CHUNK_PIXELS or i + 1 == len(X):
            yield range(start, i + 1)
            start, n_pixels = i + 1, 0


def _final_step(estimator):
    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


def default_region_estimator(**label_spreading_params):
    """The estimator RegionClassifier uses when none is given.

    ``make_pipeline(StandardScaler(), SparseLabelSpreading(**params))``: every
    region feature standardised, then label spreading over the regions of
    all images.

    Parameters
    ----------
    **label_spreading_params : dict
        Parameters of the :class:`SparseLabelSpreading`.

    Returns
    -------
    estimator : sklearn.pipeline.Pipeline
    """
    return make_pipeline(
        StandardScaler(), SparseLabelSpreading(**label_spreading_params)
    )


def region_targets(X, y, classes):
    """The training label of every region: the majority of its labeled pixels.

    Parameters
    ----------
    X : list of Regions
        One Regions object per image.
    y : list of ndarray of shape (H, W) of int
        Pixel labels; -1 marks unlabeled pixels.
    classes : ndarray of shape (n_classes,)
        Sorted class labels.

    Returns
    -------
    targets : ndarray of shape (n_regions_total,) of int
        The index into ``classes`` of each region's majority class, -1 where
        a region has no labeled pixel; regions of all images, in order.
    """
    targets = []
    for regions, lab in zip(X, y):
        counts = regions.label_counts(_encode(lab, classes), len(classes))
        best = counts.argmax(axis=1)
        targets.append(np.where(counts.sum(axis=1) > 0, best, -1))
    return np.concatenate(targets)


def _encode(labels, classes):
    """Pixel labels as indices into ``classes``; -1 stays -1."""
    return np.where(labels >= 0, np.searchsorted(classes, labels), -1)


def _fit_region_estimator(estimator, features, targets, X):
    """Fit ``estimator``, routing the regions' adjacency to it if it asks for it.

    An estimator (or a step of a Pipeline) that requests ``adjacency`` in its
    fit metadata, as :class:`SparseLabelSpreading` does by default, receives
    the block-diagonal border-length adjacency of the regions of all images.
    The adjacency travels by scikit-learn's metadata routing, whatever the
    global ``enable_metadata_routing`` setting is.
    """
    with config_context(enable_metadata_routing=True):
        wants = get_routing_for_object(estimator).consumes("fit", ["adjacency"])
        if wants:
            adjacency = sp.block_diag([r.adjacency() for r in X], format="csr")
            return estimator.fit(features, targets, adjacency=adjacency)
    return estimator.fit(features, targets)


class RegionClassifier(ImageEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Classify regions from their features and paint the labels on the pixels.

    Each region's training label is the majority class of its labeled pixels,
    or -1 (unlabeled) when it has none. Semi-supervised estimators
    (:class:`~semiseg_sk.SparseLabelSpreading`,
    :class:`~sklearn.semi_supervised.LabelSpreading`,
    :class:`~sklearn.semi_supervised.LabelPropagation`,
    :class:`~sklearn.semi_supervised.SelfTrainingClassifier`, or a Pipeline
    ending in one) are fitted on every region of every image, labeled or not;
    supervised classifiers on the labeled regions only. Region probabilities
    are painted back onto the pixels of each region, or, with ``refiner``,
    blended at every pixel with a pixel classifier's. Volumes (Regions with a
    ``spacing``) work the same way: region probabilities are painted back
    onto the voxels, and label maps are (Z, Y, X).

    Parameters
    ----------
    estimator : estimator object, default=None
        A scikit-learn classifier, or a Pipeline ending in one, fitted on the
        region feature matrix; a regressor or clusterer raises a TypeError
        at fit. None uses ``make_pipeline(StandardScaler(),
        SparseLabelSpreading())``. An estimator that requests ``adjacency``
        as fit metadata (:class:`SparseLabelSpreading` does by default, also
        as a step of a Pipeline) receives which regions touch inside each
        image, through scikit-learn's metadata routing.
    semi_supervised : {"auto", True, False}, default="auto"
        Whether ``estimator`` learns from unlabeled regions (marked -1).
        ``"auto"`` recognises scikit-learn's and semiseg_sk's semi-supervised
        estimators, also as the last step of a Pipeline.
    refiner : estimator object, default=None
        Pixel-level refinement of the region probabilities, such as
        :class:`~semiseg_sk.PixelRefiner`: fitted after ``estimator`` with
        ``refiner.fit(X, y, region_proba=...)`` on the training images, their
        pixel labels and the region probabilities the estimator gives them;
        its ``predict_proba(X, region_proba=...)`` then gives the pixel
        probabilities, called on a few images at a time. None paints the
        region probabilities unchanged.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted clone of ``estimator``; None when only one class labels a
        region.
    refiner_ : estimator object or None
        The fitted clone of ``refiner``.
    classes_ : ndarray of shape (n_classes,)
        The class labels seen in ``y``.
    fallback_class_ : int or None
        When ``estimator_`` is None, the index into ``classes_`` of the one
        class that labels a region, which every pixel gets.
    n_features_in_ : int
        Number of region features seen at fit.
    n_channels_ : int
        Number of image channels seen at fit.
    region_labels_ : ndarray of shape (n_regions_total,)
        The training label of every region of every training image (-1 when
        the region has no labeled pixel), in the order of the images.

    See Also
    --------
    make_segmenter : A complete pipeline with this step at its end.

    Notes
    -----
    A semi-supervised estimator labels the training regions by propagation
    (transduction). :meth:`fit_predict` returns those propagated labels for
    the training images; :meth:`predict` is inductive, for any images, as in
    scikit-learn's :class:`~sklearn.semi_supervised.LabelSpreading`, so a
    mask never depends on which images were fitted or are predicted
    together.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from semiseg_sk import Superpixels, RegionStats, RegionClassifier
    >>> image = np.zeros((32, 32)); image[:, 16:] = 1.0
    >>> labels = np.full((32, 32), -1); labels[5, 5] = 0; labels[5, 25] = 1
    >>> regions = RegionStats(filters=False).fit_transform(
    ...     Superpixels(n_segments=8).fit_transform([image]))
    >>> clf = RegionClassifier(RandomForestClassifier(random_state=0))
    >>> mask = clf.fit(regions, [labels]).predict(regions)[0]
    >>> int(mask[0, 0]), int(mask[0, 31])
    (0, 1)
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "semi_supervised": [StrOptions({"auto"}), "boolean"],
        "refiner": [HasMethods(["fit", "predict_proba"]), None],
    }

    def __init__(self, estimator=None, *, semi_supervised="auto", refiner=None):
        self.estimator = estimator
        self.semi_supervised = semi_supervised
        self.refiner = refiner

    def _is_semi_supervised(self, estimator):
        if self.semi_supervised != "auto":
            return bool(self.semi_supervised)
        return isinstance(_final_step(estimator), _SEMI_SUPERVISED)

    @staticmethod
    def _features(X, name="X", n_features=None):
        for i, regions in enumerate(X):
            if regions.features is None:
                raise ValueError(
                    f"{name}[{i}] has no region features; put a feature step such "
                    f"as RegionStats() before RegionClassifier."
                )
        check_feature_width(X, n_features, name=name, estimator="RegionClassifier")
        features = np.vstack([r.features for r in X])
        if not np.isfinite(features).all():
            bad = next(i for i, r in enumerate(X) if not np.isfinite(r.features).all())
            columns = ~np.isfinite(X[bad].features).all(axis=0)
            names = np.asarray(X[bad].feature_names)[columns].tolist()
            shown = names[:5] + (["..."] if len(names) > 5 else [])
            raise ValueError(
                f"{name}[{bad}] has NaN or infinite region features in "
                f"{', '.join(shown)}; expected finite features. Check the step "
                f"that made them and the image values."
            )
        return features

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the estimator on region labels taken from the pixel labels.

        Parameters
        ----------
        X : list of Regions
            Regions with features, one per image.
        y : list of ndarray of shape (H, W) of int
            Per-pixel labels; -1 marks unlabeled pixels. Images whose map is
            all -1 are unlabeled images: they still take part in fitting a
            semi-supervised estimator.

        Returns
        -------
        self : RegionClassifier
            The fitted step.
        """
        X, y, region_proba, features = self._fit_regions(X, y)
        self._fit_refiner(X, y, region_proba, features)
        return self

    @_fit_context(prefer_skip_nested_validation=False)
    def fit_predict(self, X, y):
        """Fit, then label every pixel of the training images themselves.

        The transductive use: segment the images that were scribbled on (and
        the unlabeled ones fitted with them), from the labels that the
        semi-supervised estimator propagated to their regions. Through a
        Pipeline, ``pipeline.fit_predict(images, labels)`` computes every
        image's regions and features once.

        Parameters
        ----------
        X : list of Regions
            Regions with features, one per image.
        y : list of ndarray of shape (H, W) of int
            Per-pixel labels; -1 marks unlabeled pixels.

        Returns
        -------
        masks : list of ndarray of shape (H, W)
            The predicted class of each pixel of each image of ``X``.
        """
        return list(self._iter_fit_predict(X, y, proba=False))

    def _iter_fit_predict(self, X, y, *, proba):
        """Fit, then yield the mask (or probabilities) of each training image.

        Masks are made a few images at a time, so that nothing proportional
        to the pixels of all images is held at once.
        """
        X, y, region_proba, features = self._fit_regions(X, y)
        self._fit_refiner(X, y, region_proba, features)
        return self._iter_outputs(X, region_proba, proba=proba)

    def _fit_refiner(self, X, y, region_proba, features):
        """Fit the refiner; one that takes ``region_proba_cv`` gets a refit of regions.

        ``region_proba_cv(y_fold)`` gives the region probabilities of X from a
        fresh clone of the region estimator fitted on the labels ``y_fold``,
        so that a refiner can cross-validate over held-out scribbles.
        """
        if self.refiner_ is None:
            return
        params = {}
        if "region_proba_cv" in inspect.signature(self.refiner_.fit).parameters:

            def region_proba_cv(y_fold):
                targets = region_targets(X, y_fold, self.classes_)
                return self._fit_estimator(X, features, targets)[1]

            params["region_proba_cv"] = region_proba_cv
        self.refiner_.fit(X, y, region_proba=region_proba, **params)

    def _fit_regions(self, X, y):
        """Fit the region estimator; the checked X and y, and X's region proba.

        The region probabilities of the training images are the propagated
        (transductive) ones when the estimator has them.
        """
        if self.estimator is not None:
            check_classifier(self.estimator, "estimator", "RegionClassifier")
        X = check_regions(X, name="X", estimator="RegionClassifier")
        y = check_labels(
            y, [r.shape for r in X], name="y", require_labeled=True, ndim=X[0].ndim
        )
        features = self._features(X)
        self.n_features_in_ = features.shape[1]
        self.n_channels_ = n_channels(X[0]._image, X[0].ndim)
        self.classes_ = np.unique(np.concatenate([lab[lab >= 0] for lab in y]))
        targets = region_targets(X, y, self.classes_)
        self.region_labels_ = np.where(
            targets >= 0, self.classes_[np.maximum(targets, 0)], -1
        )
        self.fallback_class_ = None
        self.refiner_ = None
        region_classes = np.unique(targets[targets >= 0])
        if len(region_classes) == 1:
            self._warn_single_class(region_classes[0], y)
            self.fallback_class_ = int(region_classes[0])
            self.estimator_ = None
            return X, y, self._region_proba(X, features), features

        self.estimator_, region_proba = self._fit_estimator(X, features, targets)
        if self.refiner is not None:
            self.refiner_ = clone(self.refiner)
        return X, y, region_proba, features

    def _fit_estimator(self, X, features, targets):
        """A fitted clone of the region estimator, and X's region probabilities."""
        estimator = clone(
            default_region_estimator() if self.estimator is None else self.estimator
        )
        if self._is_semi_supervised(estimator):
            _fit_region_estimator(estimator, features, targets, X)
        else:
            labeled = targets >= 0
            estimator.fit(features[labeled], targets[labeled])
        final = _final_step(estimator)
        if isinstance(final, _TRANSDUCTIVE):
            proba = self._align(final.classes_, final.label_distributions_)
            return estimator, _split(proba, X)
        return estimator, self._region_proba(X, features, estimator)

    def _warn_single_class(self, index, y):
        only = self.classes_[index]
        if len(self.classes_) == 1:
            why = f"Only class {only} is labeled in y"
        else:
            why = (
                f"y labels classes {self.classes_.tolist()}, but after the "
                f"majority vote in each region only class {only} labels a "
                f"region (the classes share regions; use more or smaller "
                f"superpixels)"
            )
        hint = ""
        if not any((lab == -1).any() for lab in y):
            # Every pixel carries a label: perhaps annotation-tool masks.
            hint = (
                " No pixel of y is -1 (unlabeled): if these are annotation "
                "masks where 0 means 'not annotated', convert them with "
                "semiseg_sk.utils.mask_to_target first."
            )
        warnings.warn(
            f"{why}; every pixel will be predicted as class {only}. Label at "
            f"least two classes in different regions.{hint}",
            SingleClassWarning,
            stacklevel=3,
        )

    def _align(self, estimator_classes, proba):
        """Columns of ``proba`` (over encoded classes) in the order of classes_."""
        out = np.zeros((proba.shape[0], len(self.classes_)))
        cols = np.asarray(estimator_classes).astype(np.intp)
        keep = cols >= 0
        out[:, cols[keep]] = proba[:, keep]
        return out

    def __sklearn_is_fitted__(self):
        return hasattr(self, "estimator_")

    def _check_predict_input(self, X):
        check_is_fitted(self)
        X = check_regions(
            X,
            name="X",
            n_channels_expected=self.n_channels_,
            estimator="RegionClassifier",
        )
        return X, self._features(X, n_features=self.n_features_in_)

    def _region_proba(self, X, features, estimator=None):
        """Inductive class probabilities of every region, one array per image."""
        estimator = self.estimator_ if estimator is None else estimator
        if estimator is None:
            proba = np.zeros((len(features), len(self.classes_)))
            proba[:, self.fallback_class_] = 1.0
            return _split(proba, X)
        classes = estimator.classes_
        if hasattr(estimator, "predict_proba"):
            proba = estimator.predict_proba(features)
        else:
            pred = estimator.predict(features)
            proba = (pred[:, None] == classes).astype(float)
        return _split(self._align(classes, proba), X)

    def _iter_outputs(self, X, region_proba, *, proba):
        """Yield the pixel probabilities (``proba``) or the mask of each image."""
        for chunk in _chunks(X):
            regions = [X[i] for i in chunk]
            probas = [region_proba[i] for i in chunk]
            if self.refiner_ is not None:
                pixel = self.refiner_.predict_proba(regions, region_proba=probas)
                for p in pixel:
                    yield p if proba else self.classes_[p.argmax(axis=-1)]
            elif proba:
                yield from (r.paint(p) for r, p in zip(regions, probas))
            else:
                for r, p in zip(regions, probas):
                    yield r.paint(self.classes_[p.argmax(axis=1)])

    def _iter_predict(self, X, *, proba):
        """Yield the probabilities or the mask of each image, inductively."""
        X, features = self._check_predict_input(X)
        return self._iter_outputs(X, self._region_proba(X, features), proba=proba)

    def predict_proba(self, X):
        """Probability of each class at every pixel.

        Parameters
        ----------
        X : list of Regions
            Regions with the same features as at fit.

        Returns
        -------
        proba : list of ndarray of shape (H, W, n_classes)
            Class probabilities of each pixel, in the order of ``classes_``.
            Without a refiner all pixels of a region share its
            probabilities; with one they are blended with a pixel
            classifier's.
        """
        return list(self._iter_predict(X, proba=True))

    def predict(self, X):
        """Label every pixel of every image.

        Parameters
        ----------
        X : list of Regions
            Regions with the same features as at fit.

        Returns
        -------
        masks : list of ndarray of shape (H, W)
            The predicted class of each pixel, the argmax of
            :meth:`predict_proba`.
        """
        return list(self._iter_predict(X, proba=False))

    def score(self, X, y, sample_weight=None):
        """Mean intersection over union of the predictions.

        Parameters
        ----------
        X : list of Regions
            Regions with the same features as at fit.
        y : list of ndarray of shape (H, W) of int
            True labels; pixels labeled -1 are ignored.
        sample_weight : None
            Not supported; present for scikit-learn's signature.

        Returns
        -------
        score : float
            :func:`semiseg_sk.metrics.mean_iou` of ``y`` and the predictions.

        Warns
        -----
        UnseenClassWarning
            When ``y`` holds a class that was not labeled at fit. The
            classifier cannot predict it, so its pixels count as errors (that
            class scores an IoU of 0).
        """
        from ..metrics import mean_iou

        if sample_weight is not None:
            raise ValueError(
                "sample_weight is not supported by RegionClassifier.score."
            )
        check_is_fitted(self)
        X = check_regions(X, name="X", estimator="RegionClassifier")
        y = check_labels(y, [r.shape for r in X], name="y", ndim=X[0].ndim)
        unseen = unseen_classes(y, self.classes_)
        if unseen:
            warnings.warn(
                f"y contains classes {unseen} that were not labeled at fit (fit "
                f"saw {self.classes_.tolist()}); their pixels cannot be predicted "
                f"and count as errors in the score.",
                UnseenClassWarning,
                stacklevel=2,
            )
        return mean_iou(y, self.predict(X))


def _split(proba, X):
    """Rows of ``proba`` (all regions of all images) as one array per image."""
    return np.split(proba, np.cumsum([r.n_regions for r in X])[:-1])
