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

from ..utils.validation import check_image, check_spacing, n_channels

__all__ = ["filter_bank", "filter_bank_names", "symmetric_eigenvalues"]

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


def _layout(n_channels, sigmas, ndim=2):
    """Column of every (filter, scale) block and the names of all columns.

    ilastik's order: filter family, then scale, then input channel, then the
    filter's output (eigenvalue) index. A volume (``ndim=3``) has three
    eigenvalues per tensor.
    """
    start, names, offset = {}, [], 0
    for key, title, n_out in _FILTERS:
        n_out = ndim if n_out > 1 else 1
        for sigma in sigmas:
            if key != "GaussianSmoothing" and sigma < _MIN_SCALE:
                continue
            start[key, sigma] = offset
            width = n_out * n_channels
            name = f"{title} (σ={sigma}) in {ndim}D"
            names += [name] if width == 1 else [f"{name} [{i}]" for i in range(width)]
            offset += width
    return start, names


def filter_bank_names(n_channels=1, *, sigmas=ILASTIK_SIGMAS, ndim=2):
    """Names of the columns of :func:`filter_bank`, as ilastik names them.

    Parameters
    ----------
    n_channels : int, default=1
        Channels of the image (1 for grey).
    sigmas : sequence of float, default=(0.3, 0.7, 1.0, 1.6, 3.5, 5.0, 10.0)
        The scales, as given to :func:`filter_bank`.
    ndim : {2, 3}, default=2
        3 for the features of a volume (``filter_bank(..., spacing=...)``):
        names end in ``in 3D`` and tensors have three eigenvalues.

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
    if ndim not in (2, 3):
        raise ValueError(f"ndim must be 2 or 3; got {ndim!r}.")
    return _layout(int(n_channels), _check_sigmas(sigmas), ndim)[1]


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


def filter_bank(image, *, sigmas=ILASTIK_SIGMAS, dtype=np.float32, spacing=None):
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
    spacing : tuple of 3 float, default=None
        With a voxel size ``(dz, dy, dx)``, ``image`` is a volume of shape
        (Z, Y, X) or (Z, Y, X, C) and the features are ilastik's 3-D ones:
        the same filters along the three axes, the structure tensor and the
        Hessian with three eigenvalues each (61 features per channel with
        the default scales). Scales are in units of the smallest voxel side;
        along a coarser axis a filter spans proportionally fewer voxels, and
        derivatives are per unit of the smallest side.

    Returns
    -------
    features : ndarray of shape (H, W, n_features)
        C-contiguous; ``n_features = C * (len(sigmas) + 6 * k)`` with ``k``
        the number of scales of at least 0.7 (49 per channel by default).
        Columns in ilastik's order (filter, then scale, then channel, then
        eigenvalue), named by :func:`filter_bank_names`. (Z, Y, X,
        n_features) for a volume, ``n_features = C * (len(sigmas) + 9 * k)``.

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
    spacing = check_spacing(spacing)
    ndim = 2 if spacing is None else 3
    image = check_image(image, name="image", index=None, min_size=1, ndim=ndim)
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
    if spacing is not None:
        return _filter_bank_volume(image, sigmas, dtype, spacing)
    n_ch = 1 if image.ndim == 2 else image.shape[2]
    start, names = _layout(n_ch, sigmas)
    out = np.empty(image.shape[:2] + (len(names),), dtype=dtype)
    for c in range(n_ch):
        plane = image if image.ndim == 2 else image[..., c]
        plane = np.ascontiguousarray(plane, dtype=dtype)  # a copy or a view
        for sigma in sigmas:
            _scatter(out, _scale_features(plane, sigma, start, c))
    return out


# -- volumes -----------------------------------------------------------------

# Per-axis kernel scales below this (a fine scale along a coarse axis) are
# raised to it: the derivative kernels are then central differences, and
# their normalisation stays finite.
_MIN_AXIS_SIGMA = 0.1


def symmetric_eigenvalues(a, b, c, d, e, f):
    """Eigenvalues of [[a, d, e], [d, b, f], [e, f, c]] per voxel, largest first.

    The closed form of Smith (1961): no per-voxel matrix is built, so the
    memory is a few arrays the size of the inputs. Computed in float64.

    Returns
    -------
    l1, l2, l3 : ndarray of the inputs' shape
    """
    a, b, c, d, e, f = (np.asarray(x, dtype=np.float64) for x in (a, b, c, d, e, f))
    q = (a + b + c) / 3.0
    off = d * d + e * e + f * f
    p = np.sqrt(((a - q) ** 2 + (b - q) ** 2 + (c - q) ** 2 + 2.0 * off) / 6.0)
    safe = np.where(p > 0, p, 1.0)
    # det((A - qI) / p) / 2, the cosine of three times the angle.
    ba, bb, bc = (a - q) / safe, (b - q) / safe, (c - q) / safe
    bd, be, bf = d / safe, e / safe, f / safe
    r = 0.5 * (
        ba * (bb * bc - bf * bf) - bd * (bd * bc - bf * be) + be * (bd * bf - bb * be)
    )
    phi = np.arccos(np.clip(r, -1.0, 1.0)) / 3.0
    l1 = q + 2.0 * p * np.cos(phi)
    l3 = q + 2.0 * p * np.cos(phi + 2.0 * np.pi / 3.0)
    l2 = 3.0 * q - l1 - l3
    return l1, l2, l3


def _smooth_nd(image, sigmas, window):
    for axis, sigma in enumerate(sigmas):
        image = _correlate(image, _kernel(sigma, 0, window), axis)
    return image


def _volume_scale_features(volume, sigma, start, c, relative):
    """All 3-D features of one channel at one scale, as ``{column: volume}``.

    ilastik's definitions (module docstring) with every axis at its own
    scale: ``sigma / relative[axis]`` voxels, derivatives divided by the
    relative voxel side so that they are per unit of the smallest side.
    """
    axis_sigma = [max(sigma / r, _MIN_AXIS_SIGMA) for r in relative]
    pre = [np.sqrt(s**2 - 1.0) if s > 1.0 else s for s in axis_sigma]
    p = _smooth_nd(volume, pre, _WINDOW_PRESMOOTH)
    s = [min(x, 1.0) for x in axis_sigma]
    gauss = _smooth_nd(p, s, _WINDOW_FILTER)
    planes = {start["GaussianSmoothing", sigma] + c: gauss}
    if sigma < _MIN_SCALE:
        return planes
    dog = _smooth_nd(p, [_DOG_RATIO * x for x in s], _WINDOW_FILTER)
    planes[start["DifferenceOfGaussians", sigma] + c] = np.subtract(gauss, dog, dog)

    def deriv(out, orders):
        for axis, order in enumerate(orders):
            k = _kernel(s[axis], order, _WINDOW_FILTER) / relative[axis] ** order
            out = _correlate(out, k.astype(np.float64), axis)
        return out

    grad = [deriv(p, o) for o in ((1, 0, 0), (0, 1, 0), (0, 0, 1))]
    hess = {
        (i, j): deriv(p, tuple((i == k) + (j == k) for k in range(3)))
        for i in range(3)
        for j in range(i, 3)
    }
    del p
    planes[start["LaplacianOfGaussian", sigma] + c] = (
        hess[0, 0] + hess[1, 1] + hess[2, 2]
    )
    planes[start["GaussianGradientMagnitude", sigma] + c] = np.sqrt(
        sum(g * g for g in grad)
    )
    col = start["HessianOfGaussianEigenvalues", sigma] + 3 * c
    values = symmetric_eigenvalues(
        hess[0, 0], hess[1, 1], hess[2, 2], hess[0, 1], hess[0, 2], hess[1, 2]
    )
    del hess
    for k, v in enumerate(values):
        planes[col + k] = v.astype(volume.dtype)
    outer = [_OUTER_RATIO * x for x in s]
    t = {
        (i, j): _smooth_nd(grad[i] * grad[j], outer, _WINDOW_FILTER)
        for i in range(3)
        for j in range(i, 3)
    }
    del grad
    col = start["StructureTensorEigenvalues", sigma] + 3 * c
    values = symmetric_eigenvalues(t[0, 0], t[1, 1], t[2, 2], t[0, 1], t[0, 2], t[1, 2])
    for k, v in enumerate(values):
        planes[col + k] = v.astype(volume.dtype)
    return planes


def _filter_bank_volume(image, sigmas, dtype, spacing):
    """filter_bank of a checked volume (Z, Y, X[, C])."""
    relative = np.asarray(spacing) / min(spacing)
    n_ch = n_channels(image, 3)
    start, names = _layout(n_ch, sigmas, 3)
    out = np.empty(image.shape[:3] + (len(names),), dtype=dtype)
    for c in range(n_ch):
        volume = image if image.ndim == 3 else image[..., c]
        volume = np.ascontiguousarray(volume, dtype=dtype)
        for sigma in sigmas:
            for col, plane in _volume_scale_features(
                volume, sigma, start, c, relative
            ).items():
                out[..., col] = plane
    return out
