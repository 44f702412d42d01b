# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Pixel-value conversions shared by the image steps."""

import numpy as np
from skimage.color import rgb2lab
from skimage.util import img_as_float

__all__ = ["as_float_image", "as_feature_image", "channels_last"]


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


def as_feature_image(image, convert2lab):
    """The float image that features are computed on.

    With ``convert2lab``, a 3-channel image is taken as RGB and converted to
    CIE Lab, each channel scaled to about [0, 1] (L / 100, (a + 128) / 255,
    (b + 128) / 255): luminance and colour then vary along separate axes, as
    in scikit-image's SLIC. Other images are returned as floats.
    """
    image = as_float_image(image)
    if not convert2lab or image.ndim != 3 or image.shape[2] != 3:
        return image
    lab = rgb2lab(image)
    lab[..., 0] /= 100.0
    lab[..., 1:] = (lab[..., 1:] + 128.0) / 255.0
    return lab.astype(image.dtype, copy=False)


def channels_last(image):
    """View an (H, W) or (H, W, C) image as (H, W, C)."""
    return image[..., None] if image.ndim == 2 else image
