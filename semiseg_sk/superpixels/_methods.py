# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The superpixel methods: one small function per scikit-image algorithm.

Each function takes a float image ``(H, W)`` or ``(H, W, C)``, the target
number of regions, the compactness (None for the method's own default) and
further keyword arguments for the scikit-image function, and returns any
integer label image; :class:`~semiseg_sk.Superpixels` renumbers it 0..n-1.
:data:`METHODS` maps each name to its function and to the scikit-image
function whose keyword arguments ``method_params`` may set.
"""

import warnings
from typing import NamedTuple

import numpy as np
from skimage import filters, segmentation

from ..utils.validation import n_channels

__all__ = ["METHODS", "Method"]


def _channel_axis(image):
    return None if image.ndim == 2 else -1


def _slic(image, n_segments, compactness, params):
    kwargs = {
        "n_segments": n_segments,
        "start_label": 0,
        "channel_axis": _channel_axis(image),
        "convert2lab": n_channels(image) == 3,
    }
    if compactness is None:
        # SLICO adapts the compactness of each superpixel to its texture:
        # no tuning per image type, and noisy images do not collapse.
        colour = n_channels(image) == 3
        kwargs.update(compactness=10.0 if colour else 0.1, slic_zero=True)
    else:
        kwargs["compactness"] = compactness
    kwargs.update(params)
    return segmentation.slic(image, **kwargs)


def _felzenszwalb(image, n_segments, compactness, params):
    n_pixels = image.shape[0] * image.shape[1]
    kwargs = {
        "scale": 100.0,
        "sigma": 0.8,
        "min_size": max(5, n_pixels // (2 * n_segments)),
        "channel_axis": _channel_axis(image),
    }
    kwargs.update(params)
    # felzenszwalb's scale is calibrated for 0..255 intensities; it warns
    # about images with more than 3 channels, which we mean to pass.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Got image with third dimension")
        return segmentation.felzenszwalb(image * 255.0, **kwargs)


def _quickshift(image, n_segments, compactness, params):
    if n_channels(image) == 3:
        work, convert = image, True
    else:
        # quickshift needs a colour-like (H, W, C) image; scale to Lab-like
        # magnitudes so that its max_dist means the same for grey images.
        work = image if image.ndim == 3 else image[..., None]
        work = np.repeat(work, 3, axis=2) if work.shape[2] == 1 else work
        work, convert = work * 100.0, False
    kwargs = {
        "kernel_size": 3,
        "max_dist": 6,
        "ratio": 0.5,
        "convert2lab": convert,
        "rng": 0,
    }
    kwargs.update(params)
    return segmentation.quickshift(work, **kwargs)


def _watershed(image, n_segments, compactness, params):
    grey = image if image.ndim == 2 else image.mean(axis=2)
    kwargs = {
        "markers": n_segments,
        "compactness": compactness if compactness is not None else 1e-3,
    }
    kwargs.update(params)
    return segmentation.watershed(filters.sobel(grey), **kwargs)


class Method(NamedTuple):
    """A superpixel method: the function that runs it and what it wraps."""

    segment: object
    """``segment(image, n_segments, compactness, params) -> label image``."""
    skimage_function: object
    """The scikit-image function whose keyword arguments ``params`` may set."""
    uses_n_segments: bool
    """Whether ``n_segments`` is a number of regions (checked against pixels)."""


METHODS = {
    "slic": Method(_slic, segmentation.slic, True),
    "felzenszwalb": Method(_felzenszwalb, segmentation.felzenszwalb, False),
    "quickshift": Method(_quickshift, segmentation.quickshift, False),
    "watershed": Method(_watershed, segmentation.watershed, True),
}
