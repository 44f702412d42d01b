# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Bases shared by the image-level estimators of semiseg_sk."""

import warnings

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._regions import check_feature_width, check_regions
from .exceptions import InconsistentVersionWarning
from .utils._channels import (
    fill_channel_params,
    resolve_channels,
    select_channels,
    selected_regions,
)
from .utils._metadata import package_version
from .utils.validation import check_image, n_channels

__all__ = ["ImageEstimatorMixin", "RegionFeatureMixin"]

# What to do when a step that does not take volumes yet is given some.
_VOLUME_REMEDIES = {}


class ImageEstimatorMixin:
    """Tags, pickling and ``set_output`` shared by estimators whose samples are images.

    Such estimators take lists of images or :class:`~semiseg_sk.Regions`
    objects, not 2-D arrays, so scikit-learn's common checks skip them; their
    contract is tested by semiseg_sk's own clone / pickle / get_params tests.
    Pickles are stamped with the semiseg_sk version and loading one written
    by another version warns with
    :class:`~semiseg_sk.exceptions.InconsistentVersionWarning`.
    """

    def __init_subclass__(cls, **kwargs):
        # Outputs are lists of Regions objects or of label maps, not tables:
        # opt out of scikit-learn's set_output wrapping (see set_output).
        if issubclass(cls, TransformerMixin):
            kwargs.setdefault("auto_wrap_output_keys", None)
        super().__init_subclass__(**kwargs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        return tags

    def set_output(self, *, transform=None):
        """Accept only the default output: image-level steps return no table.

        Parameters
        ----------
        transform : {"default"} or None, default=None
            ``"default"`` and None change nothing; ``"pandas"`` and
            ``"polars"`` raise, since the outputs are lists of
            :class:`~semiseg_sk.Regions` objects (their features have names,
            ``Regions.feature_names``) or of label maps.

        Returns
        -------
        self : estimator instance
            The estimator itself.
        """
        if transform not in (None, "default"):
            raise ValueError(
                f"{type(self).__name__}.set_output(transform={transform!r}): this "
                f"step returns one Regions object or label map per image, not a "
                f"table, so its output cannot be a DataFrame. Region features "
                f"and their names are in Regions.features and "
                f"Regions.feature_names."
            )
        return self

    def __getstate__(self):
        # On Python >= 3.11 object.__getstate__ returns the live __dict__:
        # copy it so that pickling never changes the estimator.
        state = dict(super().__getstate__())
        state["_semiseg_sk_version"] = package_version()
        return state

    def __setstate__(self, state):
        saved = state.pop("_semiseg_sk_version", None)
        current = package_version()
        if saved is not None and saved != current:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    original_version=saved,
                    current_version=current,
                ),
                stacklevel=2,
            )
        super().__setstate__(fill_channel_params(type(self), state))


class RegionFeatureMixin(ImageEstimatorMixin, TransformerMixin):
    """Base for steps that append feature columns to every Regions object.

    Subclasses check their input with ``_check_fit_input`` and
    ``_check_transform_input``, set ``block_feature_names_`` (the names of
    the columns they append) during fit and append with ``_append_block``.
    A subclass that computes its features on volumes (Regions with a
    ``spacing``) sets ``_supports_volumes = True``; the others refuse them.
    Steps with ``channels`` and ``channel_names`` parameters get the fitted
    ``channels_`` and ``channel_names_`` from ``_check_fit_input`` and
    compute on ``_selected(X)``, the regions whose images hold only those
    channels.
    """

    _supports_volumes = False

    def _check_volumes(self, X):
        if self._supports_volumes or X[0].spacing is None:
            return
        name = type(self).__name__
        remedy = _VOLUME_REMEDIES.get(name, f"leave {name} out of the pipeline")
        raise ValueError(
            f"{name} does not work on volumes yet, and X[0] is a volume "
            f"(spacing={X[0].spacing}, shape {X[0].shape}); {remedy}."
        )

    def _check_fit_input(self, X):
        X = check_regions(X, name="X", estimator=type(self).__name__)
        self._check_volumes(X)
        first = X[0].features
        n_features = check_feature_width(X, name="X")
        if hasattr(self, "channels"):
            self.channels_, self.channel_names_ = resolve_channels(
                self.channels,
                self.channel_names,
                X[0]._image,
                estimator=type(self).__name__,
                ndim=X[0].ndim,
            )
        # Attributes are set only once the input is valid, so that a failed
        # fit does not leave an estimator that looks fitted.
        self.n_features_in_ = n_features
        self.n_channels_ = n_channels(X[0]._image, X[0].ndim)
        names = [] if first is None else list(X[0].feature_names)
        self.feature_names_in_ = np.asarray(names, dtype=object)
        return X

    def _check_transform_input(self, X):
        check_is_fitted(self)
        X = check_regions(
            X,
            name="X",
            n_channels_expected=self.n_channels_,
            estimator=type(self).__name__,
        )
        self._check_volumes(X)
        check_feature_width(
            X, self.n_features_in_, name="X", estimator=type(self).__name__
        )
        return X

    def get_feature_names_out(self, input_features=None):
        """Names of the features of the returned Regions objects.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Names of the incoming feature columns; the names seen at fit are
            used when omitted. Must have ``n_features_in_`` names.

        Returns
        -------
        feature_names_out : ndarray of str
            The incoming names followed by the names of the columns this step
            appends.
        """
        check_is_fitted(self)
        if input_features is None:
            input_features = self.feature_names_in_
        elif len(input_features) != self.n_features_in_:
            raise ValueError(
                f"input_features has {len(input_features)} names but "
                f"{type(self).__name__} was fitted on {self.n_features_in_} "
                f"features."
            )
        return np.asarray(
            list(input_features) + list(self.block_feature_names_), dtype=object
        )

    def _check_pixel_image(self, image):
        """The image given to ``pixel_features`` (an array or a Regions), checked.

        Learned steps offer ``pixel_features(image)``: their maps at pixel
        resolution, for one image with the channels seen at fit. Returns the
        channels the step computes from (``channels_``).
        """
        check_is_fitted(self)
        image = check_image(getattr(image, "image", image), name="image", index=None)
        if n_channels(image) != self.n_channels_:
            raise ValueError(
                f"image has {n_channels(image)} channel(s) but "
                f"{type(self).__name__} was fitted on images with "
                f"{self.n_channels_} channel(s); expected {self.n_channels_}, as "
                f"at fit."
            )
        return select_channels(image, getattr(self, "channels_", None))

    def _selected(self, X):
        """The Regions of ``X`` with only the channels the step computes from."""
        return selected_regions(X, getattr(self, "channels_", None))

    def _n_selected_channels(self):
        """Number of channels the step computes from (its networks' input width)."""
        return len(getattr(self, "channels_", range(self.n_channels_)))

    def _append_block(self, regions, block):
        return regions.with_features(block, self.block_feature_names_)
