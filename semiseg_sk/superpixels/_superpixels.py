# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Superpixels: split every image into regions with scikit-image."""

import inspect
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.parallel import delayed
from sklearn.utils.validation import check_is_fitted

from .._regions import Regions, pack_segments
from ..base import ImageEstimatorMixin
from ..io._collection import as_image_items, checked_handle
from ..utils._channels import CHANNEL_CONSTRAINTS, resolve_channels, select_channels
from ..utils._docstring import docstring
from ..utils._image import (
    as_float_image,
    channel_peaks,
    check_pixel_scale,
    pixel_scale,
)
from ..utils._parallel import N_JOBS, image_parallel
from ..utils.fixes import Interval, StrOptions, _fit_context, check_parameters
from ..utils.validation import (
    check_channels,
    check_image,
    check_images,
    check_labels,
    check_list,
    check_spacing,
    is_lazy,
    n_channels,
)
from ._methods import METHODS

__all__ = ["Superpixels"]

# Keyword arguments of the scikit-image functions that method_params may not set.
_RESERVED_PARAMS = {"image", "return_tree"}


def _check_method_params(method, params):
    """Reject method_params keys the scikit-image function does not take."""
    func = METHODS[method].skimage_function
    allowed = set(inspect.signature(func).parameters) - _RESERVED_PARAMS
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(
            f"method_params has {unknown} that skimage.segmentation.{method} does "
            f"not accept; expected keys among {sorted(allowed)}."
        )


def _segment_or_explain(
    index, image, method, n_segments, compactness, params, spacing=None
):
    """Packed region map (0..n-1) of one image and its number of regions.

    The map comes back packed (``pack_segments``), so that a parallel run
    over many images never holds all their maps at full size. Errors name
    the image index.
    """
    image = as_float_image(image)
    relative = None if spacing is None else tuple(np.divide(spacing, min(spacing)))
    try:
        labels = METHODS[method].segment(
            image, n_segments, compactness, params, relative
        )
    except (TypeError, ValueError) as exc:
        error = TypeError if isinstance(exc, TypeError) else ValueError
        raise error(
            f"Superpixels(method={method!r}) failed on X[{index}] (shape "
            f"{image.shape}) with method_params={params}: {exc}"
        ) from exc
    _, segments = np.unique(labels, return_inverse=True)
    n_regions = int(segments.max()) + 1
    return pack_segments(segments.reshape(labels.shape), n_regions), n_regions


def _load_and_segment(index, item, ndim, channels_, segment):
    """Read one image of a lazy collection, check it and split it, where it runs.

    Returns what the caller keeps: the image's handle (its shape and dtype
    recorded) or the checked array, the channel peaks of its selected
    channels (``channels_``, None for all), and with ``segment`` (a tuple of
    the arguments of ``_segment_or_explain`` after the image) its packed
    region map and number of regions. The pixels stay here.
    """
    loaded = item.load() if is_lazy(item) else item
    image = check_image(loaded, name="X", index=index, ndim=ndim)
    stored = checked_handle(item, image) if is_lazy(item) else image
    selected = select_channels(image, channels_, ndim)
    peaks = channel_peaks(selected, ndim)
    if segment is None:
        return stored, peaks, None, None
    packed, n_regions = _segment_or_explain(index, selected, *segment)
    return stored, peaks, packed, n_regions


def _any_lazy(X):
    return any(is_lazy(x._image if isinstance(x, Regions) else x) for x in X)


@docstring
class Superpixels(ImageEstimatorMixin, TransformerMixin, BaseEstimator):
    """Split each image into superpixels, returning one Regions per image.

    The first step of a semiseg_sk pipeline. Regions given as input (for
    example made by hand with :class:`~semiseg_sk.Regions`) pass through
    unchanged, so users can bring their own segmentation.

    With ``spacing``, every image is a volume and its regions are
    supervoxels (``"slic"`` and ``"watershed"`` only).

    Parameters
    ----------
    method : {"slic", "felzenszwalb", "quickshift", "watershed"}, default="slic"
        The scikit-image algorithm: :func:`skimage.segmentation.slic`,
        :func:`~skimage.segmentation.felzenszwalb`,
        :func:`~skimage.segmentation.quickshift` or a compact
        :func:`~skimage.segmentation.watershed` of the Sobel gradient.
    n_segments : int, default=400
        Approximate number of regions per image for ``"slic"`` and
        ``"watershed"``. For ``"felzenszwalb"`` it sets ``min_size`` to
        ``H * W // (2 * n_segments)`` so that there are at most about
        ``2 * n_segments`` regions; ``"quickshift"`` ignores it (use
        ``method_params={"kernel_size": ...}``).
    compactness : float, default=None
        Balance of colour and space for ``"slic"`` and ``"watershed"``. None
        runs SLICO (``slic_zero=True``), which adapts the compactness of each
        superpixel to its texture and needs no tuning; for watershed None
        means 1e-3.
    method_params : dict, default=None
        Further keyword arguments for the scikit-image function; they override
        the defaults above.
    spacing : tuple of 3 float, default=None
        None: images are 2-D, (H, W) grey or (H, W, C). Three positive numbers
        ``(dz, dy, dx)``: every image is a volume, (Z, Y, X) grey or
        (Z, Y, X, C), with voxels of that size (any unit, only the ratios
        matter). Supervoxels then have about the same physical size along
        every axis, as wide as the superpixels ``n_segments`` gives one
        (Y, X) slice: a volume gets about ``n_segments ** 1.5 * depth /
        sqrt(height * width)`` of them (physical extents). The Regions carry
        the spacing, so that the later steps read it.
        ``"felzenszwalb"`` and ``"quickshift"`` are 2-D only.
    {channels}
    {channel_names}
    {n_jobs}

    Attributes
    ----------
    n_channels_ : int
        Number of channels of the images seen at fit (1 for grey).
    {channels_attribute}
    {channel_names_attribute}
    pixel_scale_ : dict
        How the pixel values seen at fit were scaled: ``"dtypes"``, their
        dtype names, and ``"low"`` and ``"high"``, the smallest non-zero and
        the largest peak (largest absolute value once scaled, see Notes) of
        each selected channel over the images. ``transform`` compares new
        images with it; other steps may too, with
        ``semiseg_sk.utils._image.check_pixel_scale``.

    See Also
    --------
    Regions : The container returned for each image.
    RegionStats : Hand-crafted features of each region.

    Notes
    -----
    Every step computes on floats: unsigned integer images are divided by
    their dtype's maximum (uint8 by 255, uint16 by 65535), signed integer and
    float images keep their values, float16 becomes float32 and long double
    float64. A model therefore knows the scale of the images it was fitted
    on: the same pixels as uint8 at fit and as int32 or float 0..255 later
    are 255 times larger to it. ``fit`` warns with
    :class:`~semiseg_sk.exceptions.PixelScaleWarning` when the images of its
    list peak 10 times apart or more, ``transform`` (and so a pipeline's
    ``predict``) when an image peaks 10 times above the largest or below the
    smallest peak seen at fit.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk import Superpixels
    >>> rng = np.random.RandomState(0)
    >>> images = [rng.rand(32, 32), rng.rand(40, 30)]
    >>> regions = Superpixels(n_segments=16).fit_transform(images)
    >>> [r.shape for r in regions]
    [(32, 32), (40, 30)]
    """

    _parameter_constraints = {
        "method": [StrOptions(set(METHODS))],
        "n_segments": [Interval(Integral, 1, None, closed="left")],
        "compactness": [Interval(Real, 0, None, closed="neither"), None],
        "method_params": [dict, None],
        "spacing": ["array-like", None],
        **CHANNEL_CONSTRAINTS,
        "n_jobs": N_JOBS,
    }

    def __init__(
        self,
        method="slic",
        *,
        n_segments=400,
        compactness=None,
        method_params=None,
        spacing=None,
        channels=None,
        channel_names=None,
        n_jobs=None,
    ):
        self.method = method
        self.n_segments = n_segments
        self.compactness = compactness
        self.method_params = method_params
        self.spacing = spacing
        self.channels = channels
        self.channel_names = channel_names
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the images and remember their channel count and pixel scale.

        Superpixels learn nothing else from the data; ``fit`` exists so that
        the step can sit in a :class:`~sklearn.pipeline.Pipeline`.

        Parameters
        ----------
        X : list of ndarray of shape (H, W) or (H, W, C), or list of Regions
            Images, grey or channels last; or a lazy collection: an
            :class:`~semiseg_sk.io.ImageCollection`, a list of paths or
            :class:`~semiseg_sk.io.LazyImage`, a glob pattern, a zarr array,
            group or store, or a dask array (see
            :func:`~semiseg_sk.io.ImageCollection.from_zarr`). Lazy images are
            read one at a time, where each task runs, and dropped.
        y : list of ndarray of shape (H, W) of int, default=None
            Ignored, but when given (as a Pipeline does) it is checked against
            the images, so that a pipeline rejects bad labels before its slow
            steps run.

        Returns
        -------
        self : Superpixels
            The fitted step.

        Warns
        -----
        PixelScaleWarning
            When the images of ``X`` are scaled 10 times apart or more (see
            Notes), e.g. uint8 images mixed with float images of 0..255.
        """
        X = check_list(as_image_items(X), "X")
        if _any_lazy(X):
            self._fit_lazy(X, y, segment=False)
            return self
        spacing = self._spacing()
        images = self._images(X, n_channels_expected=None, spacing=spacing)
        channels = self._resolve_channels(images[0], spacing)
        ndim = 2 if spacing is None else 3
        selected = [select_channels(image, channels[0], ndim) for image in images]
        peaks = [channel_peaks(image, ndim) for image in selected]
        self._fit_checked(X, y, images, channels, peaks, spacing)
        return self

    def _resolve_channels(self, image, spacing):
        """``(channels_, channel_names_)`` of the images, from the first one."""
        return resolve_channels(
            self.channels,
            self.channel_names,
            image,
            estimator="Superpixels",
            ndim=2 if spacing is None else 3,
        )

    def _fit_checked(self, X, y, images, channels, peaks, spacing):
        """Fit on checked images (arrays or handles) and their channel peaks."""
        ndim = 2 if spacing is None else 3
        if y is not None:
            check_labels(y, [image.shape for image in images], name="y", ndim=ndim)
        _check_method_params(self.method, self.method_params or {})
        self._check_sizes(X, images)
        self.n_channels_ = n_channels(images[0], ndim)
        self.channels_, self.channel_names_ = channels
        self.pixel_scale_ = pixel_scale(images, name="X", ndim=ndim, peaks=peaks)

    def _segment_args(self, spacing):
        """The arguments of ``_segment_or_explain`` after the image."""
        params = dict(self.method_params or {})
        return (self.method, self.n_segments, self.compactness, params, spacing)

    def _lazy_pass(self, X, spacing, channels_, segment):
        """``_load_and_segment`` of every image, one task each (in parallel)."""
        ndim = 2 if spacing is None else 3
        args = self._segment_args(spacing) if segment else None
        results = image_parallel(self.n_jobs, len(X))(
            delayed(_load_and_segment)(
                i,
                x._image if isinstance(x, Regions) else x,
                ndim,
                channels_,
                None if isinstance(x, Regions) else args,
            )
            for i, x in enumerate(X)
        )
        return [list(part) for part in zip(*results)]

    def _fit_lazy(self, X, y, segment):
        """Fit on a collection with lazy images; with ``segment``, its Regions."""
        spacing = self._spacing()
        if segment:
            _check_method_params(self.method, self.method_params or {})
        first = X[0]._image if isinstance(X[0], Regions) else X[0]
        first = check_image(
            first.load() if is_lazy(first) else first,
            name="X",
            index=0,
            ndim=2 if spacing is None else 3,
        )
        channels = self._resolve_channels(first, spacing)
        del first
        images, peaks, packed, n_regions = self._lazy_pass(
            X, spacing, channels[0], segment
        )
        ndim = 2 if spacing is None else 3
        check_channels(images, "X", None, "Superpixels", ndim=ndim)
        self._fit_checked(X, y, images, channels, peaks, spacing)
        if segment:
            return self._checked_regions(X, spacing, images, peaks, packed, n_regions)
        return None

    def _checked_regions(self, X, spacing, images, peaks, packed, n_regions):
        """The transform checks of a lazy pass, then its Regions."""
        ndim = 2 if spacing is None else 3
        check_channels(images, "X", self.n_channels_, "Superpixels", ndim=ndim)
        self._check_sizes(X, images)
        if hasattr(self, "pixel_scale_"):
            check_pixel_scale(
                self.pixel_scale_,
                images,
                name="X",
                estimator="Superpixels",
                ndim=ndim,
                peaks=peaks,
            )
        return [
            x
            if isinstance(x, Regions)
            else Regions._from_trusted(image, p, None, None, n, spacing)
            for x, image, p, n in zip(X, images, packed, n_regions)
        ]

    def _spacing(self):
        """The checked spacing; a clear error for a 2-D-only method."""
        spacing = check_spacing(self.spacing)
        if spacing is not None and not METHODS[self.method].volumes:
            volume_methods = sorted(m for m in METHODS if METHODS[m].volumes)
            raise ValueError(
                f"Superpixels(method={self.method!r}) splits 2-D images only, "
                f"but spacing={self.spacing!r} makes every image a volume; "
                f"expected method in {volume_methods} for volumes."
            )
        return spacing

    @staticmethod
    def _images(X, n_channels_expected, spacing):
        """The images of a list of images or Regions, checked."""
        ndim = 2 if spacing is None else 3
        for i, x in enumerate(X):
            if isinstance(x, Regions) and x.ndim != ndim:
                raise ValueError(
                    f"X[{i}] is a Regions with spacing={x.spacing} but "
                    f"Superpixels has spacing={spacing}; expected the "
                    f"spacing of the Regions given, None for 2-D images."
                )
        return check_images(
            [x.image if isinstance(x, Regions) else x for x in X],
            name="X",
            n_channels_expected=n_channels_expected,
            estimator="Superpixels",
            ndim=ndim,
        )

    def _check_sizes(self, X, images):
        """n_segments must not exceed the pixels of an image (of a slice) to segment."""
        if not METHODS[self.method].uses_n_segments:
            return
        volume = self.spacing is not None
        for i, image in enumerate(images):
            n_pixels = image.shape[volume] * image.shape[volume + 1]
            if self.n_segments > n_pixels and not isinstance(X[i], Regions):
                what = "a slice (Y * X)" if volume else "height * width"
                raise ValueError(
                    f"n_segments={self.n_segments} is larger than the "
                    f"{n_pixels} pixels of {'a slice of ' if volume else ''}X[{i}] "
                    f"(shape {image.shape}); expected n_segments <= {what} of "
                    f"every image."
                )

    def transform(self, X):
        """Split each image into regions.

        Parameters
        ----------
        X : list of ndarray of shape (H, W) or (H, W, C), or list of Regions
            Images, grey or channels last, or a lazy collection (see
            :meth:`fit`): each lazy image is read, checked and split where
            its task runs, and its Regions keeps the handle, not the pixels.
            Regions pass through unchanged.

        Returns
        -------
        regions : list of Regions
            One Regions per image, without features.

        Warns
        -----
        PixelScaleWarning
            When an image is scaled 10 times larger or smaller than those
            seen at fit (see Notes), e.g. int32 or float 0..255 after a fit
            on uint8.
        """
        check_is_fitted(self)
        X = check_list(as_image_items(X), "X")
        spacing = self._spacing()
        channels_ = getattr(self, "channels_", None)
        if _any_lazy(X):
            parts = self._lazy_pass(X, spacing, channels_, segment=True)
            return self._checked_regions(X, spacing, *parts)
        ndim = 2 if spacing is None else 3
        images = self._images(X, n_channels_expected=self.n_channels_, spacing=spacing)
        selected = [select_channels(x, channels_, ndim) for x in images]
        self._check_sizes(X, images)
        # Models saved before pixel_scale_ existed have none to compare with.
        if hasattr(self, "pixel_scale_"):
            check_pixel_scale(
                self.pixel_scale_,
                selected,
                name="X",
                estimator="Superpixels",
                ndim=ndim,
            )
        todo = [
            (i, img) for i, img in enumerate(selected) if not isinstance(X[i], Regions)
        ]
        segments = image_parallel(self.n_jobs, len(todo))(
            delayed(_segment_or_explain)(i, img, *self._segment_args(spacing))
            for i, img in todo
        )
        out = list(X)
        for (i, _), (packed, n_regions) in zip(todo, segments):
            out[i] = Regions._from_trusted(
                images[i], packed, None, None, n_regions, spacing
            )
        return out

    def fit_transform(self, X, y=None):
        """Fit, then split each image into regions.

        Parameters
        ----------
        X : list of ndarray of shape (H, W) or (H, W, C), or list of Regions
            Images, grey or channels last.
        y : None
            Ignored.

        Returns
        -------
        regions : list of Regions
        """
        X = check_list(as_image_items(X), "X")
        if _any_lazy(X):
            # One pass: each lazy image is read once, checked and split.
            check_parameters(self)
            return self._fit_lazy(X, y, segment=True)
        return self.fit(X, y).transform(X)
