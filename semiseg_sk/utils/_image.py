# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Pixel-value conversions shared by the image steps, and checks of their scale."""

import warnings

import numpy as np
from skimage.color import rgb2lab
from skimage.util import img_as_float

from ..exceptions import PixelScaleWarning

__all__ = [
    "as_float_image",
    "as_feature_image",
    "channel_peaks",
    "channels_last",
    "check_pixel_scale",
    "pixel_scale",
    "scale_rule",
]

# Images whose scaled pixel values peak this many times apart are "scaled
# apart": an order of magnitude, far from the spread of real exposures and
# far below the 255x of uint8 against int or float 0..255.
_SCALE_FACTOR = 10
_SCALE_HINT = (
    "Pass images of one dtype and range, e.g. all uint8 or all floats in "
    "[0, 1] (skimage.util.img_as_float); see 'Pixel values and scaling' in "
    "the user guide."
)


def as_float_image(image):
    """Return the image as floats; never the input array itself.

    Unsigned integer images are scaled to [0, 1] by their dtype's maximum (as
    :func:`skimage.util.img_as_float` does), signed integers are cast, and
    float images keep their values. float16 becomes float32 and long double
    (float96, float128) becomes float64, the float types scikit-image and
    scipy filter.
    """
    if np.issubdtype(image.dtype, np.floating):
        dtype = np.result_type(image.dtype, np.float32)
        if dtype.itemsize > 8:
            dtype = np.float64
        return image.astype(dtype, copy=True)
    if np.issubdtype(image.dtype, np.signedinteger):
        return image.astype(np.float64)
    return img_as_float(image)


def as_feature_image(image, convert2lab, ndim=2):
    """The float image that features are computed on.

    With ``convert2lab``, a 3-channel image is taken as RGB and converted to
    CIE Lab, each channel scaled to about [0, 1] (L / 100, (a + 128) / 255,
    (b + 128) / 255): luminance and colour then vary along separate axes, as
    in scikit-image's SLIC. Other images are returned as floats. ``ndim`` is
    the number of spatial axes (3 for a volume).
    """
    image = as_float_image(image)
    if not convert2lab or image.ndim != ndim + 1 or image.shape[ndim] != 3:
        return image
    lab = rgb2lab(image)
    lab[..., 0] /= 100.0
    lab[..., 1:] = (lab[..., 1:] + 128.0) / 255.0
    return lab.astype(image.dtype, copy=False)


def channels_last(image, ndim=2):
    """View an (H, W[, C]) image as (H, W, C), a (Z, Y, X[, C]) volume as (Z, Y, X, C).

    ``ndim`` is the number of spatial axes: 3 for a volume.
    """
    return image[..., None] if image.ndim == ndim else image


def scale_rule(dtype):
    """How :func:`as_float_image` turns values of ``dtype`` into floats, in words.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk.utils._image import scale_rule
    >>> scale_rule(np.dtype(np.uint8)), scale_rule(np.dtype(np.int32))
    ('uint8, divided by 255', 'int32, values as they are')
    """
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.unsignedinteger):
        return f"{dtype}, divided by {np.iinfo(dtype).max}"
    return f"{dtype}, values as they are"


def channel_peaks(image, ndim=2):
    """Largest absolute value of each channel, scaled as :func:`as_float_image` does.

    Computed on the stored values (two passes, no float copy of the image).

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
        A checked image.
    ndim : {2, 3}, default=2
        Number of spatial axes (3 for a volume).

    Returns
    -------
    peaks : ndarray of shape (C,)
        1 channel for a grey image.
    """
    image = channels_last(image, ndim)
    axes = tuple(range(ndim))
    low = image.min(axis=axes).astype(np.float64)
    high = image.max(axis=axes).astype(np.float64)
    peaks = np.maximum(np.abs(low), np.abs(high))
    if np.issubdtype(image.dtype, np.unsignedinteger):
        peaks /= np.iinfo(image.dtype).max
    return peaks


def _in_channel(c, n_channels):
    return "" if n_channels == 1 else f" in channel {c}"


def pixel_scale(images, name="X", ndim=2):
    """The scaling of the pixel values of ``images``, to compare others with.

    What :class:`~semiseg_sk.Superpixels` records at fit as ``pixel_scale_``.
    Warns with :class:`~semiseg_sk.exceptions.PixelScaleWarning` when the
    images of the list peak (largest absolute value of a channel, once
    scaled) an order of magnitude apart, e.g. uint8 images mixed with int or
    float images of values 0..255.

    Parameters
    ----------
    images : list of ndarray of shape (H, W) or (H, W, C)
        Checked images, all with the same number of channels.
    name : str, default="X"
        Name of the argument, used in the warning.
    ndim : {2, 3}, default=2
        Number of spatial axes (3 for volumes).

    Returns
    -------
    scale : dict
        ``"dtypes"``: the sorted dtype names; ``"low"`` and ``"high"``:
        ndarrays of shape (C,), the smallest non-zero and the largest peak
        of each channel over the images (``low`` is inf for a channel that
        is zero in every image).
    """
    peaks = np.array([channel_peaks(image, ndim) for image in images])
    nonzero = np.where(peaks > 0, peaks, np.inf)
    low, high = nonzero.min(axis=0), peaks.max(axis=0)
    with np.errstate(invalid="ignore"):
        ratio = np.where(np.isfinite(low), high / low, 1.0)
    c = int(np.argmax(ratio))
    if ratio[c] >= _SCALE_FACTOR:
        i, j = int(nonzero[:, c].argmin()), int(peaks[:, c].argmax())
        warnings.warn(
            f"{name}[{j}] ({scale_rule(images[j].dtype)}) has pixel values up "
            f"to {high[c]:.3g}{_in_channel(c, peaks.shape[1])} but {name}[{i}] "
            f"({scale_rule(images[i].dtype)}) only up to {low[c]:.3g}: the "
            f"images of {name} are scaled {ratio[c]:.3g}x apart, so the same "
            f"content looks different to the model. {_SCALE_HINT}",
            PixelScaleWarning,
            stacklevel=3,
        )
    dtypes = sorted({image.dtype.name for image in images})
    return {"dtypes": dtypes, "low": low, "high": high}


def check_pixel_scale(scale, images, *, name="X", estimator="the estimator", ndim=2):
    """Warn when ``images`` are scaled 10x larger or smaller than at fit.

    Parameters
    ----------
    scale : dict
        What :func:`pixel_scale` returned for the images seen at fit.
    images : list of ndarray of shape (H, W) or (H, W, C)
        Checked images, with the channels seen at fit.
    name : str, default="X"
        Name of the argument, used in the warning.
    estimator : str, default="the estimator"
        Name of the fitted estimator, used in the warning.
    ndim : {2, 3}, default=2
        Number of spatial axes (3 for volumes).

    Warns
    -----
    PixelScaleWarning
        Once per call, naming the first image scaled apart and how many
        others are. Channels that are zero here or at fit are not compared.
    """
    found = []
    for i, image in enumerate(images):
        peaks = channel_peaks(image, ndim)
        with np.errstate(divide="ignore", invalid="ignore"):
            larger, smaller = peaks / scale["high"], scale["low"] / peaks
        ratio = np.fmax(larger, smaller)
        ratio[~np.isfinite(ratio)] = 0.0
        c = int(np.argmax(ratio))
        if ratio[c] >= _SCALE_FACTOR:
            found.append((i, c, peaks, larger[c] > 1))
    if not found:
        return
    i, c, peaks, is_larger = found[0]
    if is_larger:
        how = f"{peaks[c] / scale['high'][c]:.3g}x the largest"
        seen = scale["high"][c]
    else:
        how = f"{scale['low'][c] / peaks[c]:.3g}x below the smallest"
        seen = scale["low"][c]
    more = ""
    if len(found) > 1:
        more = f" So are {len(found) - 1} more image(s) of {name}."
    fitted = "; ".join(scale_rule(d) for d in scale["dtypes"])
    warnings.warn(
        f"{name}[{i}] ({scale_rule(images[i].dtype)}) has pixel values up to "
        f"{peaks[c]:.3g}{_in_channel(c, peaks.size)}, {how} peak seen at fit "
        f"({seen:.3g}; {estimator} was fitted on images of {fitted}): the "
        f"model sees values it was not fitted on and the masks may be wrong, "
        f"often one class everywhere.{more} {_SCALE_HINT}",
        PixelScaleWarning,
        stacklevel=3,
    )
