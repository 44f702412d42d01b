# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""RegionClassifier: label regions with any scikit-learn classifier."""

import hashlib
import inspect
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import SelfTrainingClassifier
from sklearn.utils.validation import check_is_fitted

from ._label_spreading import SparseLabelSpreading
from .base import ImageEstimatorMixin
from .exceptions import SingleClassWarning, UnseenClassWarning
from .utils.fixes import BaseLabelPropagation, HasMethods, StrOptions, _fit_context
from .utils.validation import (
    check_feature_width,
    check_labels,
    check_regions,
    unseen_classes,
)

__all__ = ["RegionClassifier"]

_SEMI_SUPERVISED = (BaseLabelPropagation, SelfTrainingClassifier, SparseLabelSpreading)


def _final_step(estimator):
    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


def _fingerprint(features):
    return hashlib.sha1(np.ascontiguousarray(features).tobytes()).hexdigest()


def default_region_estimator():
    """The estimator RegionClassifier uses when none is given."""
    return make_pipeline(StandardScaler(), SparseLabelSpreading())


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
    are painted back onto the pixels of each region, or, with ``refine``,
    blended at every pixel with a pixel classifier's.

    Parameters
    ----------
    estimator : estimator object, default=None
        A scikit-learn classifier, or a Pipeline ending in one, fitted on the
        region feature matrix. None uses ``make_pipeline(StandardScaler(),
        SparseLabelSpreading())``. An estimator whose ``fit`` takes an
        ``adjacency`` argument (like :class:`SparseLabelSpreading`) also
        receives which regions touch inside each image.
    semi_supervised : {"auto", True, False}, default="auto"
        Whether ``estimator`` learns from unlabeled regions (marked -1).
        ``"auto"`` recognises scikit-learn's and semiseg_sk's semi-supervised
        estimators, also as the last step of a Pipeline.
    refine : estimator object, default=None
        Pixel-level refinement of the region probabilities, such as
        :class:`~semiseg_sk.PixelRefiner`: fitted after ``estimator`` on the
        training images, their encoded pixel labels and their region
        probabilities; ``predict_proba`` then returns its pixel
        probabilities. None paints the region probabilities unchanged.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted clone of ``estimator``; None when only one class was
        labeled.
    classes_ : ndarray of shape (n_classes,)
        The class labels seen in ``y``.
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
    (transduction). When ``predict`` meets a training image again -- recognised
    by its region features, alone or among other images -- it returns those
    propagated labels; other images are predicted inductively by the fitted
    estimator. A mask therefore never depends on which images are predicted
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
        "refine": [HasMethods(["fit", "predict_proba"]), None],
    }

    def __init__(self, estimator=None, *, semi_supervised="auto", refine=None):
        self.estimator = estimator
        self.semi_supervised = semi_supervised
        self.refine = refine

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
        self._fit(X, y)
        return self

    def _fit(self, X, y, predict=False):
        """Fit; with ``predict``, return the pixel probabilities of ``X``."""
        X = check_regions(X, name="X", estimator="RegionClassifier")
        y = check_labels(y, [r.shape for r in X], name="y", require_labeled=True)
        features = self._features(X)
        self.n_features_in_ = features.shape[1]
        self.n_channels_ = X[0].image.shape[2] if X[0].image.ndim == 3 else 1
        self.classes_ = np.unique(np.concatenate([lab[lab >= 0] for lab in y]))
        n_classes = len(self.classes_)

        region_labels = []
        for regions, lab in zip(X, y):
            encoded = np.where(lab >= 0, np.searchsorted(self.classes_, lab), -1)
            counts = regions.label_counts(encoded, n_classes)
            best = counts.argmax(axis=1)
            region_labels.append(np.where(counts.sum(axis=1) > 0, best, -1))
        region_labels = np.concatenate(region_labels)
        self.region_labels_ = np.where(
            region_labels >= 0, self.classes_[np.maximum(region_labels, 0)], -1
        )

        self._transductive = None
        self.refine_ = None
        region_classes = np.unique(region_labels[region_labels >= 0])
        if len(region_classes) == 1:
            only = self.classes_[region_classes[0]]
            if n_classes == 1:
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
                stacklevel=2,
            )
            self._only_class = int(region_classes[0])
            self.estimator_ = None
            return self.predict_proba(X) if predict else None

        estimator = clone(
            default_region_estimator() if self.estimator is None else self.estimator
        )
        labeled = region_labels >= 0
        if self._is_semi_supervised(estimator):
            fit_params = self._adjacency_params(estimator, X)
            estimator.fit(features, region_labels, **fit_params)
            final = _final_step(estimator)
            if hasattr(final, "label_distributions_"):
                # Remember each training image's propagated labels, keyed by
                # its features, so predicting it again (alone or with any other
                # images) returns them instead of an inductive estimate.
                proba = self._align(final.classes_, final.label_distributions_)
                bounds = np.cumsum([0] + [r.n_regions for r in X])
                self._transductive = {
                    _fingerprint(r.features): proba[lo:hi]
                    for r, lo, hi in zip(X, bounds[:-1], bounds[1:])
                }
        else:
            estimator.fit(features[labeled], region_labels[labeled])
        self.estimator_ = estimator
        if self.refine is not None:
            encoded = [
                np.where(lab >= 0, np.searchsorted(self.classes_, lab), -1) for lab in y
            ]
            _, per_image = self._region_proba(X)
            refiner = clone(self.refine)
            if predict and hasattr(refiner, "fit_predict_proba"):
                # One pass over the pixel features of the training images.
                proba = refiner.fit_predict_proba(X, encoded, per_image)
                self.refine_ = refiner
                return proba
            self.refine_ = refiner.fit(X, encoded, per_image)
        return self.predict_proba(X) if predict else None

    @staticmethod
    def _adjacency_params(estimator, X):
        final = _final_step(estimator)
        if "adjacency" not in inspect.signature(final.fit).parameters:
            return {}
        adjacency = sp.block_diag([r.adjacency() for r in X], format="csr")
        if isinstance(estimator, Pipeline):
            return {f"{estimator.steps[-1][0]}__adjacency": adjacency}
        return {"adjacency": adjacency}

    def _align(self, estimator_classes, proba):
        """Columns of ``proba`` (over encoded classes) in the order of classes_."""
        out = np.zeros((proba.shape[0], len(self.classes_)))
        cols = np.asarray(estimator_classes).astype(np.intp)
        keep = cols >= 0
        out[:, cols[keep]] = proba[:, keep]
        return out

    def __sklearn_is_fitted__(self):
        return hasattr(self, "estimator_")

    def _region_proba(self, X):
        check_is_fitted(self)
        X = check_regions(
            X,
            name="X",
            n_channels_expected=self.n_channels_,
            estimator="RegionClassifier",
        )
        features = self._features(X, n_features=self.n_features_in_)
        if self.estimator_ is None:
            proba = np.zeros((len(features), len(self.classes_)))
            proba[:, self._only_class] = 1.0
            counts = np.cumsum([r.n_regions for r in X])[:-1]
            return X, np.split(proba, counts)
        known = self._transductive or {}
        per_image = [known.get(_fingerprint(r.features)) for r in X]
        new = [i for i, p in enumerate(per_image) if p is None]
        if new:
            # Images not seen at fit: predict inductively, in one batch.
            batch = np.vstack([X[i].features for i in new])
            proba = self._inductive_proba(batch)
            bounds = np.cumsum([0] + [X[i].n_regions for i in new])
            for i, lo, hi in zip(new, bounds[:-1], bounds[1:]):
                per_image[i] = proba[lo:hi]
        return X, per_image

    def _inductive_proba(self, features):
        classes = self.estimator_.classes_
        if hasattr(self.estimator_, "predict_proba"):
            return self._align(classes, self.estimator_.predict_proba(features))
        pred = self.estimator_.predict(features)
        return self._align(classes, (pred[:, None] == classes).astype(float))

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
            Without ``refine`` all pixels of a region share its
            probabilities; with it they are blended with a pixel classifier's.
        """
        X, per_image = self._region_proba(X)
        if getattr(self, "refine_", None) is not None:
            return self.refine_.predict_proba(X, per_image)
        return [r.paint(p) for r, p in zip(X, per_image)]

    def predict(self, X):
        """Label every pixel of every image.

        Parameters
        ----------
        X : list of Regions
            Regions with the same features as at fit.

        Returns
        -------
        masks : list of ndarray of shape (H, W)
            The predicted class of each pixel.
        """
        X, per_image = self._region_proba(X)
        if getattr(self, "refine_", None) is not None:
            proba = self.refine_.predict_proba(X, per_image)
            return [self.classes_[p.argmax(axis=-1)] for p in proba]
        return [r.paint(self.classes_[p.argmax(axis=1)]) for r, p in zip(X, per_image)]

    @_fit_context(prefer_skip_nested_validation=False)
    def fit_predict(self, X, y):
        """Fit, then label every pixel of the training images themselves.

        The transductive use: segment the images that were scribbled on (and
        the unlabeled ones fitted with them). Through a Pipeline,
        ``pipeline.fit_predict(images, labels)`` computes every image's
        regions and features once, where ``fit`` followed by ``predict`` on
        the same images computes them twice.

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
        proba = self._fit(X, y, predict=True)
        return [self.classes_[p.argmax(axis=-1)] for p in proba]

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
        UserWarning
            When ``y`` holds a class that was not labeled at fit. The
            classifier cannot predict it, so its pixels count as errors (that
            class scores an IoU of 0).
        """
        from .metrics import mean_iou

        if sample_weight is not None:
            raise ValueError(
                "sample_weight is not supported by RegionClassifier.score."
            )
        check_is_fitted(self)
        X = check_regions(X, name="X", estimator="RegionClassifier")
        y = check_labels(y, [r.shape for r in X], name="y")
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
