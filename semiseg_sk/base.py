# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Bases shared by the image-level estimators of semiseg_sk."""

import warnings

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .utils.validation import check_feature_width, check_regions

__all__ = ["ImageEstimatorMixin", "RegionFeatureMixin"]


def _package_version():
    from . import __version__

    return __version__


class ImageEstimatorMixin:
    """Tags and pickling shared by estimators whose samples are images.

    Such estimators take lists of images or :class:`~semiseg_sk.Regions`, not
    2-D arrays, so scikit-learn's common checks skip them; their contract is
    tested by semiseg_sk's own clone / pickle / get_params tests. Pickles are
    stamped with the semiseg_sk version and loading one written by another
    version warns.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.requires_fit = True
        return tags

    def __getstate__(self):
        # On Python >= 3.11 object.__getstate__ returns the live __dict__:
        # copy it so that pickling never changes the estimator.
        state = dict(super().__getstate__())
        state["_semiseg_sk_version"] = _package_version()
        return state

    def __setstate__(self, state):
        saved = state.pop("_semiseg_sk_version", None)
        current = _package_version()
        if saved is not None and saved != current:
            warnings.warn(
                f"This {type(self).__name__} was saved with semiseg_sk {saved} and is "
                f"loaded with {current}; results may differ or loading may break.",
                UserWarning,
                stacklevel=2,
            )
        super().__setstate__(state)


class RegionFeatureMixin(ImageEstimatorMixin, TransformerMixin):
    """Base for steps that append feature columns to every Regions.

    Subclasses implement ``_fit_regions(X, rng)`` (optional) and
    ``_region_features(regions)`` returning an ``(n_regions, k)`` block, and
    set ``_block_names`` (list of k names) during fit.
    """

    def _check_fit_input(self, X):
        X = check_regions(X, name="X", estimator=type(self).__name__)
        first = X[0].features
        n_features = check_feature_width(X, name="X")
        # Attributes are set only once the input is valid, so that a failed
        # fit does not leave an estimator that looks fitted.
        self.n_features_in_ = n_features
        self.n_channels_ = X[0].image.shape[2] if X[0].image.ndim == 3 else 1
        self._input_feature_names = [] if first is None else list(X[0].feature_names)
        return X

    def _check_transform_input(self, X):
        check_is_fitted(self)
        X = check_regions(
            X,
            name="X",
            n_channels_expected=self.n_channels_,
            estimator=type(self).__name__,
        )
        check_feature_width(
            X, self.n_features_in_, name="X", estimator=type(self).__name__
        )
        return X

    def get_feature_names_out(self, input_features=None):
        """Names of the features of the returned Regions.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Names of the incoming feature columns; the names seen at fit are
            used when omitted.

        Returns
        -------
        feature_names_out : ndarray of str
            The incoming names followed by the names of the columns this step
            appends.
        """
        check_is_fitted(self)
        if input_features is None:
            input_features = self._input_feature_names
        return np.asarray(list(input_features) + list(self._block_names), dtype=object)

    def _append_block(self, regions, block):
        return regions.with_features(block, self._block_names)
