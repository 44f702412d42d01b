# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""ilastik's default pixel filter bank, as a pure function on scipy.ndimage.

ilastik's pixel classification describes every pixel with six filter
families at the scales 0.3, 0.7, 1.0, 1.6, 3.5, 5.0 and 10.0, computed by
``fastfilters`` (or vigra) in lazyflow's ``OpPixelFeaturesPresmoothed``. This
module computes the same features with :func:`scipy.ndimage.correlate1d`,
following those operators step by step (read from ilastik's
``lazyflow/operators/opPixelFeaturesPresmoothed.py`` and
``lazyflow/operators/filterOperators.py``, and fastfilters'
``fir_kernel.c`` / ``linalg.c``):

**Presmoothing.** For a scale ``σ > 1`` the image is first smoothed with a
Gaussian of ``sqrt(σ² - 1)`` (kernel radius 3.5 times that sigma) and the
filter then runs at scale 1.0, so that the two together act at ``σ``. For
``σ <= 1`` ilastik presmooths with ``σ`` itself and runs the filter at ``σ``
too, so its features at 0.3, 0.7 and 1.0 act at about ``σ√2``. Both are
kept as ilastik has them.

**The filters** run at the filter scale ``s = min(σ, 1)`` on the presmoothed
image ``I``, with kernels ``2 s`` in radius (lazyflow's
``window_size_feature``):

================================ ====================================== ====
ilastik name                     definition                             out
================================ ====================================== ====
Gaussian Smoothing               ``G_s * I``                            1
Laplacian of Gaussian            ``I_xx + I_yy`` at ``s``               1
Gaussian Gradient Magnitude      ``sqrt(I_x² + I_y²)`` at ``s``         1
Difference of Gaussians          ``G_s * I - G_0.66s * I``              1
Structure Tensor Eigenvalues     eigenvalues of ``G_0.5s * (∇I ∇Iᵀ)``,   2
                                 the gradient at the inner scale ``s``,
                                 smoothed at the outer scale ``0.5 s``
Hessian of Gaussian Eigenvalues  eigenvalues of the Hessian at ``s``    2
================================ ====================================== ====

Eigenvalues come largest first. Only Gaussian smoothing is computed at
scales below 0.7, ilastik's smallest scale for the other filters (its
feature dialog offers nothing else at 0.3): the default scales give
7 + 6 × 7 = 49 features per channel.

**Kernels** are vigra's sampled Gaussians, as fastfilters builds them: the
smoothing kernel sums to 1, the first-derivative kernel answers 1 to a unit
ramp, and the second-derivative kernel has its mean removed and answers 1
to ``x² / 2`` (they equal the original fastfilters kernels to float32
precision at every default scale). Borders are mirrored without repeating
the edge pixel (vigra's ``REFLECT``, scipy's ``"mirror"``). Channels are
filtered one by one. Feature order and names are ilastik's; values differ
from ilastik's only by float32 rounding and, near the borders of lazyflow's
blocks on large images, by its blockwise halos.

Every derivative image is computed once per channel and scale and shared:
the gradient feeds the gradient magnitude and the structure tensor, the
second derivatives the Laplacian and the Hessian.
"""

from numbers import Real

import numpy as np
from scipy import ndimage as ndi

from ..utils.validation import check_image

__all__ = ["filter_bank", "filter_bank_names"]

#: ilastik's default scales (``defaultScales`` of its feature selection).
ILASTIK_SIGMAS = (0.3, 0.7, 1.0, 1.6, 3.5, 5.0, 10.0)

# The six filter families in ilastik's order (``FeatureIds`` of
# OpPixelFeaturesPresmoothed), their display names and output channels.
_FILTERS = (
    ("GaussianSmoothing", "Gaussian Smoothing", 1),
    ("LaplacianOfGaussian", "Laplacian of Gaussian", 1),
    ("GaussianGradientMagnitude", "Gaussian Gradient Magnitude", 1),
    ("DifferenceOfGaussians", "Difference of Gaussians", 1),
    ("StructureTensorEigenvalues", "Structure Tensor Eigenvalues", 2),
    ("HessianOfGaussianEigenvalues", "Hessian of Gaussian Eigenvalues", 2),
)

# lazyflow's OpBaseFilter.minimum_scale: the smallest scale of every filter
# but Gaussian smoothing.
_MIN_SCALE = 0.7
# Kernel radii in units of sigma: lazyflow's window_size_feature (filters)
# and OpPixelFeaturesPresmoothed.WINDOW_SIZE (presmoothing).
_WINDOW_FILTER = 2.0
_WINDOW_PRESMOOTH = 3.5
# DifferenceOfGaussians: sigma1 = 0.66 sigma0; StructureTensorEigenvalues:
# outerScale = 0.5 innerScale (OpPixelFeaturesPresmoothed.setupOutputs).
_DOG_RATIO = 0.66
_OUTER_RATIO = 0.5


def _check_sigmas(sigmas):
    if isinstance(sigmas, (str, bytes)) or not hasattr(sigmas, "__iter__"):
        raise TypeError(
            f"sigmas must be a sequence of positive numbers; got "
            f"{type(sigmas).__name__}."
        )
    sigmas = list(sigmas)
    if not sigmas:
        raise ValueError("sigmas is empty: expected at least one scale.")
    for s in sigmas:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, Real):
            raise TypeError(f"sigmas must hold real numbers; got {s!r}.")
        if not (np.isfinite(s) and s > 0):
            raise ValueError(f"sigmas must be positive and finite; got {s!r}.")
    sigmas = [float(s) for s in sigmas]
    if len(set(sigmas)) != len(sigmas):
        raise ValueError(f"sigmas must be distinct; got {sigmas}.")
    return sigmas


def _check_dtype(dtype):
    try:
        dtype = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(
            f"dtype must be np.float32 or np.float64; got {dtype!r}."
        ) from exc
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be np.float32 or np.float64; got {dtype}.")
    return dtype


def _layout(n_channels, sigmas):
    """Column of every (filter, scale) block and the names of all columns.

    ilastik's order: filter family, then scale, then input channel, then the
    filter's output (eigenvalue) index.
    """
    start, names, offset = {}, [], 0
    for key, title, n_out in _FILTERS:
        for sigma in sigmas:
            if key != "GaussianSmoothing" and sigma < _MIN_SCALE:
                continue
            start[key, sigma] = offset
            width = n_out * n_channels
            name = f"{title} (σ={sigma}) in 2D"
            names += [name] if width == 1 else [f"{name} [{i}]" for i in range(width)]
            offset += width
    return start, names


def filter_bank_names(n_channels=1, *, sigmas=ILASTIK_SIGMAS):
    """Names of the columns of :func:`filter_bank`, as ilastik names them.

    Parameters
    ----------
    n_channels : int, default=1
        Channels of the image (1 for grey).
    sigmas : sequence of float, default=(0.3, 0.7, 1.0, 1.6, 3.5, 5.0, 10.0)
        The scales, as given to :func:`filter_bank`.

    Returns
    -------
    names : list of str
        One name per feature, e.g. ``"Gaussian Smoothing (σ=0.3) in 2D"`` or
        ``"Hessian of Gaussian Eigenvalues (σ=1.6) in 2D [1]"``: ilastik's
        channel names for a 2-D image. A filter with several outputs per
        pixel, or an image with several channels, numbers its columns
        ``[i]`` with ``i = channel * n_outputs + output`` (eigenvalues
        largest first), as ilastik does.

    Examples
    --------
    >>> from semiseg_sk.features import filter_bank_names
    >>> names = filter_bank_names()
    >>> len(names)
    49
    >>> names[0]
    'Gaussian Smoothing (σ=0.3) in 2D'
    >>> len(filter_bank_names(3))
    147
    """
    if (
        isinstance(n_channels, (bool, np.bool_))
        or not isinstance(n_channels, (int, np.integer))
        or n_channels < 1
    ):
        raise ValueError(f"n_channels must be a positive int; got {n_channels!r}.")
    return _layout(int(n_channels), _check_sigmas(sigmas))[1]


def _kernel(sigma, order, window):
    """vigra's sampled Gaussian kernel (or derivative) for correlate1d."""
    radius = int(np.floor(window * sigma + 0.5))
    if order:
        radius = max(radius, 1)  # a derivative needs a neighbour
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-0.5 * (x / sigma) ** 2)
    if order == 0:
        return g / g.sum()
    if order == 1:
        k = x * g
        return k / (x * k).sum()  # a unit ramp gives 1
    k = ((x / sigma) ** 2 - 1.0) * g
    k -= k.mean()  # a constant gives 0
    return k / (0.5 * x**2 * k).sum()  # x**2 / 2 gives 1


def _correlate(image, kernel, axis):
    return ndi.correlate1d(image, kernel, axis=axis, mode="mirror")


def _smooth(image, sigma, window):
    k = _kernel(sigma, 0, window)
    return _correlate(_correlate(image, k, 0), k, 1)


def _eigenvalues(a, b, c):
    """Eigenvalues of [[a, b], [b, c]] per pixel, largest first."""
    half_trace = a + c
    half_trace *= 0.5
    root = a - c
    root *= 0.5
    np.hypot(root, b, out=root)
    return half_trace + root, np.subtract(half_trace, root, out=half_trace)


def _scale_features(plane, sigma, start, c):
    """All features of one channel at one scale, as ``{column: plane}``."""
    s = min(sigma, 1.0)  # ilastik's filter scale ("newScales")
    pre = np.sqrt(sigma**2 - 1.0) if sigma > 1.0 else sigma
    p = _smooth(plane, pre, _WINDOW_PRESMOOTH)
    k0, k1, k2 = (_kernel(s, order, _WINDOW_FILTER) for order in (0, 1, 2))
    rows0 = _correlate(p, k0, 0)  # smoothed along y (axis 0) ...
    gauss = _correlate(rows0, k0, 1)  # ... and along x (axis 1)
    planes = {start["GaussianSmoothing", sigma] + c: gauss}
    if sigma < _MIN_SCALE:
        return planes

    dog = _smooth(p, _DOG_RATIO * s, _WINDOW_FILTER)
    planes[start["DifferenceOfGaussians", sigma] + c] = np.subtract(gauss, dog, dog)

    # Every first and second derivative once; x is axis 1, y is axis 0.
    dx = _correlate(rows0, k1, 1)
    dxx = _correlate(rows0, k2, 1)
    del rows0
    rows1 = _correlate(p, k1, 0)
    dy = _correlate(rows1, k0, 1)
    dxy = _correlate(rows1, k1, 1)
    del rows1
    dyy = _correlate(_correlate(p, k2, 0), k0, 1)
    del p

    planes[start["LaplacianOfGaussian", sigma] + c] = dxx + dyy
    planes[start["GaussianGradientMagnitude", sigma] + c] = np.hypot(dx, dy)
    col = start["HessianOfGaussianEigenvalues", sigma] + 2 * c
    planes[col], planes[col + 1] = _eigenvalues(dxx, dxy, dyy)
    del dxx, dxy, dyy

    # Structure tensor: products of the gradient at the inner scale s,
    # smoothed at the outer scale 0.5 s.
    outer = _OUTER_RATIO * s
    txx = _smooth(dx * dx, outer, _WINDOW_FILTER)
    txy = _smooth(dx * dy, outer, _WINDOW_FILTER)
    del dx
    tyy = _smooth(np.square(dy, out=dy), outer, _WINDOW_FILTER)
    col = start["StructureTensorEigenvalues", sigma] + 2 * c
    planes[col], planes[col + 1] = _eigenvalues(txx, txy, tyy)
    return planes


def _scatter(out, planes):
    """Write (H, W) planes into columns of ``out``, a band of rows at a time.

    Writing a whole column of a channels-last stack streams the entire stack
    through memory for one value per pixel; a band of rows a few megabytes
    large stays in cache while every plane is written into it.
    """
    row_bytes = out.shape[1] * out.shape[2] * out.itemsize
    step = max(1, (4 << 20) // row_bytes)
    for r in range(0, out.shape[0], step):
        band = out[r : r + step]
        for col, plane in planes.items():
            band[..., col] = plane[r : r + step]


def filter_bank(image, *, sigmas=ILASTIK_SIGMAS, dtype=np.float32):
    """ilastik's default pixel features of one image.

    Per channel: Gaussian Smoothing, Laplacian of Gaussian, Gaussian
    Gradient Magnitude, Difference of Gaussians, Structure Tensor
    Eigenvalues (2) and Hessian of Gaussian Eigenvalues (2), each at every
    scale, defined as in ilastik's lazyflow (presmoothing, a second DoG
    scale of 0.66 σ, a structure tensor with outer scale 0.5 σ, kernels
    2 σ in radius; see :mod:`semiseg_sk.features._filters`). Scales below
    0.7 get Gaussian smoothing only, as in ilastik, so the default scales
    give 49 features per channel.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
        Grey or channels-last image, integers or floats. Values are filtered
        as they are (ilastik does not rescale either; every feature is
        proportional to the intensities, so a classifier on them does not
        care about their range).
    sigmas : sequence of float, default=(0.3, 0.7, 1.0, 1.6, 3.5, 5.0, 10.0)
        Scales, ilastik's defaults. Each must be positive, and distinct.
    dtype : {np.float32, np.float64}, default=np.float32
        Type of the features and of every computation, float32 as in ilastik.

    Returns
    -------
    features : ndarray of shape (H, W, n_features)
        C-contiguous; ``n_features = C * (len(sigmas) + 6 * k)`` with ``k``
        the number of scales of at least 0.7 (49 per channel by default).
        Columns in ilastik's order (filter, then scale, then channel, then
        eigenvalue), named by :func:`filter_bank_names`.

    Notes
    -----
    Memory: the output (196 bytes per pixel and channel in float32 with the
    default scales) plus about a dozen temporary (H, W) planes, whatever
    the number of channels and scales. The input is never modified.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk.features import filter_bank, filter_bank_names
    >>> image = np.random.RandomState(0).rand(32, 40)
    >>> features = filter_bank(image)
    >>> features.shape, features.dtype
    ((32, 40, 49), dtype('float32'))
    >>> filter_bank(np.dstack([image] * 3)).shape
    (32, 40, 147)
    >>> names = filter_bank_names()
    >>> names[features.shape[-1] - 1]
    'Hessian of Gaussian Eigenvalues (σ=10.0) in 2D [1]'
    """
    image = check_image(image, name="image", index=None, min_size=1)
    sigmas = _check_sigmas(sigmas)
    dtype = _check_dtype(dtype)
    # Squared gradients must not overflow: about 1.8e15 in float32.
    limit = np.sqrt(np.finfo(dtype).max) / 1e4
    if not np.issubdtype(image.dtype, np.unsignedinteger) or image.itemsize > 4:
        peak = float(np.abs(image).max())
        if peak > limit:
            raise ValueError(
                f"image has pixel values as large as {peak:.3g}, which overflow "
                f"{dtype} filters when squared; expected magnitudes up to "
                f"{limit:.3g}, e.g. rescale the image to [0, 1]."
            )
    n_channels = 1 if image.ndim == 2 else image.shape[2]
    start, names = _layout(n_channels, sigmas)
    out = np.empty(image.shape[:2] + (len(names),), dtype=dtype)
    for c in range(n_channels):
        plane = image if image.ndim == 2 else image[..., c]
        plane = np.ascontiguousarray(plane, dtype=dtype)  # a copy or a view
        for sigma in sigmas:
            _scatter(out, _scale_features(plane, sigma, start, c))
    return out
