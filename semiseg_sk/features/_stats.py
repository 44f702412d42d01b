# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""RegionStats: hand-crafted statistics of every region."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.parallel import delayed

from ..base import RegionFeatureMixin
from ..utils._channels import CHANNEL_CONSTRAINTS, channel_labels
from ..utils._docstring import docstring
from ..utils._image import as_feature_image, channels_last
from ..utils._parallel import N_JOBS, image_parallel, thread_budget
from ..utils.fixes import Interval, _fit_context, multiscale_basic_features
from ._volume_features import VOLUME_KINDS, VolumeFeatures, slabs

__all__ = ["RegionStats"]


def _sigmas(sigma_min, sigma_max, num_sigma):
    if num_sigma is None:
        num_sigma = int(np.floor(np.log2(sigma_max) - np.log2(sigma_min) + 1))
    return np.logspace(np.log2(sigma_min), np.log2(sigma_max), num=num_sigma, base=2)


def _volume_filter_stats(regions, image, params):
    """Region mean and std of the multiscale features of a volume, slab by slab.

    Sums and sums of squares are accumulated per region, so that the
    features of the whole volume are never held at once.
    """
    sigmas = _sigmas(params["sigma_min"], params["sigma_max"], params["num_sigma"])
    features = VolumeFeatures(image, sigmas, regions.relative_spacing)
    seg = regions.segments
    n = regions.n_regions
    total = np.zeros((n, features.n_features))
    squares = np.zeros_like(total)
    for z0, z1 in slabs(regions.shape):
        block = features.slab(z0, z1).reshape(-1, features.n_features)
        labels = seg[z0:z1].ravel()
        for d in range(features.n_features):
            column = block[:, d].astype(np.float64)
            total[:, d] += np.bincount(labels, column, minlength=n)
            squares[:, d] += np.bincount(labels, column * column, minlength=n)
    counts = np.bincount(seg.ravel(), minlength=n)[:, None]
    mean, sq = total / counts, squares / counts
    return [mean, np.sqrt(np.maximum(sq - mean * mean, 0.0))]


def _stats_block(regions, params):
    """Feature block of one Regions; a pure function so joblib can run it."""
    ndim = regions.ndim
    image = channels_last(
        as_feature_image(regions.image, params["convert2lab"], ndim), ndim
    )
    n_ch = image.shape[-1]
    blocks = []
    if params["intensity"]:
        mean, std = regions.mean_std(image)
        blocks += [mean, std]
        if params["quantiles"]:
            blocks += [
                regions.quantiles(image[..., c], params["quantiles"])
                for c in range(n_ch)
            ]
    if params["filters"] and ndim == 3:
        blocks += _volume_filter_stats(regions, image, params)
    elif params["filters"]:
        responses = multiscale_basic_features(
            image,
            sigma_min=params["sigma_min"],
            sigma_max=params["sigma_max"],
            num_sigma=params["num_sigma"],
            n_threads=thread_budget(),
            channel_axis=-1,
        )
        mean, std = regions.mean_std(responses)
        blocks += [mean, std]
    if params["position"]:
        blocks.append(regions.centroids() / np.asarray(regions.shape, dtype=float))
    if params["area"]:
        blocks.append((regions.sizes() / regions.n_pixels)[:, None])
    return np.hstack(blocks).astype(np.float64)


# Larger pixel values overflow the float32 filters of scikit-image once squared
# (Hessian eigenvalues); no real image comes close.
_MAX_ABS_PIXEL = 1e15


def _check_magnitude(X):
    for i, regions in enumerate(X):
        # The dtype first: a lazy image is read only when it must be scanned.
        if np.issubdtype(regions._image.dtype, np.unsignedinteger):
            continue  # scaled to [0, 1] by its dtype's maximum
        image = regions.image
        peak = float(np.abs(image).max())
        if peak > _MAX_ABS_PIXEL:
            raise ValueError(
                f"X[{i}] has pixel values as large as {peak:.3g}, which overflow "
                f"the float32 filters when squared; expected magnitudes up to "
                f"{_MAX_ABS_PIXEL:g}, e.g. rescale the image to [0, 1]."
            )


def _stats_names(n_ch, params, labels=None, ndim=2):
    names = []
    if params["convert2lab"] and n_ch == 3:
        ch = ["L", "a", "b"]
    else:
        ch = labels or [f"ch{c}" for c in range(n_ch)]
    if params["intensity"]:
        names += [f"{c}_mean" for c in ch] + [f"{c}_std" for c in ch]
        if params["quantiles"]:
            names += [
                f"{c}_q{round(100 * q):d}" for c in ch for q in params["quantiles"]
            ]
    if params["filters"]:
        kinds = ["intensity", "edges", "hessian0", "hessian1"]
        if ndim == 3:
            kinds = list(VOLUME_KINDS)
        sigmas = _sigmas(params["sigma_min"], params["sigma_max"], params["num_sigma"])
        # multiscale_basic_features orders channel-major, then scale, then kind.
        per_channel = [f"{k}_s{s:g}" for s in sigmas for k in kinds]
        filt = [f"{c}_{f}" for c in ch for f in per_channel]
        names += [f"{f}_mean" for f in filt] + [f"{f}_std" for f in filt]
    if params["position"]:
        names += ["centroid_row", "centroid_col"]
        if ndim == 3:
            names.insert(len(names) - 2, "centroid_z")
    if params["area"]:
        names += ["area_fraction" if ndim == 2 else "volume_fraction"]
    return names


@docstring
class RegionStats(RegionFeatureMixin, BaseEstimator):
    """Append hand-crafted statistics of each region to its features.

    For every channel: mean, standard deviation and quantiles of the pixel
    values in the region; the region mean and standard deviation of
    multiscale filter responses (Gaussian-smoothed intensity, gradient
    magnitude and Hessian eigenvalues, as in
    :func:`skimage.feature.multiscale_basic_features`); the region's centroid
    relative to the image size; and its area as a fraction of the image.

    On volumes (Regions with a ``spacing``, see :class:`Superpixels`) the
    filters are their 3-D counterparts: Gaussian-smoothed intensity,
    gradient magnitude and the three Hessian eigenvalues, every Gaussian
    ``sigma`` wide in units of the smallest voxel side (fewer voxels along a
    coarser axis), computed a slab of slices at a time; the position is the
    (z, row, col) centroid relative to the volume's shape, and the size the
    region's fraction of the volume.

    Parameters
    ----------
    intensity : bool, default=True
        Add the mean, standard deviation and quantiles of each channel.
    quantiles : tuple of float, default=(0.1, 0.5, 0.9)
        Quantiles of each channel to add when ``intensity`` is True; empty for
        none.
    filters : bool, default=True
        Add region mean and standard deviation of multiscale filter responses.
    sigma_min : float, default=0.5
        Smallest Gaussian scale of the filters, in pixels.
    sigma_max : float, default=8.0
        Largest Gaussian scale of the filters, in pixels.
    num_sigma : int, default=None
        Number of scales between ``sigma_min`` and ``sigma_max``; None spaces
        them an octave apart.
    position : bool, default=False
        Add the centroid (row, col) divided by the image height and width.
        Useful when classes sit at fixed places (the same scene photographed
        again); misleading when they do not.
    area : bool, default=True
        Add the region's area as a fraction of the image.
    convert2lab : bool, default=True
        Compute the statistics of 3-channel (RGB) images in CIE Lab, each
        channel scaled to about [0, 1], so that brightness and colour vary
        along separate features (feature names ``L_...``, ``a_...``,
        ``b_...``). Other images are not affected; with ``channels``, it
        applies when three channels are selected.
    {channels}
    {channel_names}
    {n_jobs}

    Attributes
    ----------
    n_features_in_ : int
        Number of feature columns of the Regions seen at fit.
    n_channels_ : int
        Number of image channels seen at fit.
    {channels_attribute}
    {channel_names_attribute}
    feature_names_in_ : ndarray of str
        Names of the feature columns of the Regions seen at fit.
    block_feature_names_ : list of str
        Names of the columns this step appends.
    n_features_out_ : int
        Number of columns appended.

    See Also
    --------
    AutoencoderFeatures : Region features learned from all images.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk import Superpixels, RegionStats
    >>> images = [np.random.RandomState(0).rand(32, 32)]
    >>> regions = Superpixels(n_segments=9).fit_transform(images)
    >>> out = RegionStats(filters=False).fit_transform(regions)
    >>> out[0].features.shape[0] == regions[0].n_regions
    True
    >>> list(RegionStats(filters=False).fit(regions).get_feature_names_out())[:3]
    ['ch0_mean', 'ch0_std', 'ch0_q10']
    """

    _supports_volumes = True

    _parameter_constraints = {
        "intensity": ["boolean"],
        "quantiles": [tuple, list],
        "filters": ["boolean"],
        "sigma_min": [Interval(Real, 0, None, closed="neither")],
        "sigma_max": [Interval(Real, 0, None, closed="neither")],
        "num_sigma": [Interval(Integral, 1, None, closed="left"), None],
        "position": ["boolean"],
        "area": ["boolean"],
        "convert2lab": ["boolean"],
        **CHANNEL_CONSTRAINTS,
        "n_jobs": N_JOBS,
    }

    def __init__(
        self,
        *,
        intensity=True,
        quantiles=(0.1, 0.5, 0.9),
        filters=True,
        sigma_min=0.5,
        sigma_max=8.0,
        num_sigma=None,
        position=False,
        area=True,
        convert2lab=True,
        channels=None,
        channel_names=None,
        n_jobs=None,
    ):
        self.intensity = intensity
        self.quantiles = quantiles
        self.filters = filters
        self.sigma_min = sigma_min
        self.sigma_max = sigma_max
        self.num_sigma = num_sigma
        self.position = position
        self.area = area
        self.convert2lab = convert2lab
        self.channels = channels
        self.channel_names = channel_names
        self.n_jobs = n_jobs

    def _params(self):
        return {
            "intensity": self.intensity,
            "quantiles": tuple(self.quantiles),
            "filters": self.filters,
            "sigma_min": self.sigma_min,
            "sigma_max": self.sigma_max,
            "num_sigma": self.num_sigma,
            "position": self.position,
            "area": self.area,
            "convert2lab": self.convert2lab,
        }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the regions and fix the names of the statistics.

        Parameters
        ----------
        {regions}
        y : None
            Ignored.

        Returns
        -------
        self : RegionStats
            The fitted step.
        """
        if any(
            not isinstance(q, Real) or isinstance(q, bool) or not 0.0 <= q <= 1.0
            for q in self.quantiles
        ):
            raise ValueError(
                f"quantiles must be numbers in [0, 1]; got {tuple(self.quantiles)}."
            )
        if self.sigma_min > self.sigma_max:
            raise ValueError(
                f"sigma_min={self.sigma_min} is larger than "
                f"sigma_max={self.sigma_max}; expected sigma_min <= sigma_max."
            )
        if not (self.intensity or self.filters or self.position or self.area):
            raise ValueError(
                "RegionStats computes nothing: intensity, filters, position and "
                "area are all False."
            )
        X = self._check_fit_input(X)
        labels = channel_labels(self.channels_, self.channel_names_)
        self.block_feature_names_ = _stats_names(
            len(labels), self._params(), labels, X[0].ndim
        )
        self.n_features_out_ = len(self.block_feature_names_)
        return self

    def transform(self, X):
        """Append the statistics to the features of each Regions.

        Parameters
        ----------
        {regions}

        Returns
        -------
        regions : list of Regions
            New Regions whose features end with the statistics.
        """
        X = self._check_transform_input(X)
        selected = self._selected(X)
        _check_magnitude(selected)
        params = self._params()
        blocks = image_parallel(self.n_jobs, len(X))(
            delayed(_stats_block)(regions, params) for regions in selected
        )
        return [self._append_block(r, b) for r, b in zip(X, blocks)]
