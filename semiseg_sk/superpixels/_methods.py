# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The superpixel methods: one small function per scikit-image algorithm.

Each function takes a float image ``(H, W)`` or ``(H, W, C)``, the target
number of regions, the compactness (None for the method's own default),
further keyword arguments for the scikit-image function and, for a volume
``(Z, Y, X[, C])``, its voxel size relative to the smallest side (None for a
2-D image); it returns any integer label image, which
:class:`~semiseg_sk.Superpixels` renumbers 0..n-1.
:data:`METHODS` maps each name to its function and to the scikit-image
function whose keyword arguments ``method_params`` may set.
"""

import warnings
from typing import NamedTuple

import numpy as np
from skimage import filters, segmentation

from ..utils.validation import n_channels

__all__ = ["METHODS", "Method", "volume_grid_step", "volume_n_segments"]


def _channel_axis(image, ndim=2):
    return None if image.ndim == ndim else -1


def volume_grid_step(shape, spacing, n_segments):
    """Side of a supervoxel, in units of the smallest voxel side.

    The side of the superpixels that ``n_segments`` gives one (Y, X) slice:
    ``sqrt(height * width / n_segments)`` in physical units.
    """
    _, height, width = (n * s for n, s in zip(shape, spacing))
    return float(np.sqrt(height * width / n_segments))


def volume_n_segments(shape, spacing, n_segments):
    """Number of supervoxels of a volume for ``n_segments`` per slice.

    As many cubes of :func:`volume_grid_step` as the volume holds,
    physically; at least 1 and at most one per voxel.
    """
    step = volume_grid_step(shape, spacing, n_segments)
    extent = np.prod([n * s for n, s in zip(shape, spacing)])
    return int(np.clip(round(extent / step**3), 1, np.prod(shape)))


def _slic(image, n_segments, compactness, params, spacing=None):
    ndim = 2 if spacing is None else 3
    kwargs = {
        "n_segments": n_segments,
        "start_label": 0,
        "channel_axis": _channel_axis(image, ndim),
        "convert2lab": n_channels(image, ndim) == 3,
    }
    if spacing is not None:
        kwargs["n_segments"] = volume_n_segments(image.shape[:3], spacing, n_segments)
        kwargs["spacing"] = np.asarray(spacing)
    if compactness is None:
        # SLICO adapts the compactness of each superpixel to its texture:
        # no tuning per image type, and noisy images do not collapse.
        colour = n_channels(image, ndim) == 3
        kwargs.update(compactness=10.0 if colour else 0.1, slic_zero=True)
    else:
        kwargs["compactness"] = compactness
    kwargs.update(params)
    return segmentation.slic(image, **kwargs)


def _felzenszwalb(image, n_segments, compactness, params, spacing=None):
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


def _quickshift(image, n_segments, compactness, params, spacing=None):
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


def _watershed(image, n_segments, compactness, params, spacing=None):
    if spacing is not None:
        return _watershed_volume(image, n_segments, compactness, params, spacing)
    grey = image if image.ndim == 2 else image.mean(axis=2)
    kwargs = {
        "markers": n_segments,
        "compactness": compactness if compactness is not None else 1e-3,
    }
    kwargs.update(params)
    return segmentation.watershed(filters.sobel(grey), **kwargs)


def _watershed_volume(image, n_segments, compactness, params, spacing):
    """Compact watershed of a volume's gradient, seeded on a physical grid.

    Markers sit every :func:`volume_grid_step` along each axis, in physical
    units (fewer voxels apart along the coarse axes); the gradient of each
    axis is divided by its relative voxel side.
    """
    grey = image if image.ndim == 3 else image.mean(axis=3)
    step = volume_grid_step(grey.shape, spacing, n_segments)
    grid = np.ix_(
        *(
            np.unique(np.arange(step / s / 2, n, step / s).astype(np.intp))
            for n, s in zip(grey.shape, spacing)
        )
    )
    markers = np.zeros(grey.shape, dtype=np.intp)
    markers[grid] = np.arange(1, markers[grid].size + 1).reshape(markers[grid].shape)
    gradient = np.sqrt(
        sum((filters.sobel(grey, axis=a) / s) ** 2 for a, s in enumerate(spacing))
    )
    kwargs = {
        "markers": markers,
        "compactness": compactness if compactness is not None else 1e-3,
    }
    kwargs.update(params)
    return segmentation.watershed(gradient, **kwargs)


class Method(NamedTuple):
    """A superpixel method: the function that runs it and what it wraps."""

    segment: object
    """``segment(image, n_segments, compactness, params) -> label image``."""
    skimage_function: object
    """The scikit-image function whose keyword arguments ``params`` may set."""
    uses_n_segments: bool
    """Whether ``n_segments`` is a number of regions (checked against pixels)."""
    volumes: bool
    """Whether it splits volumes (Z, Y, X[, C]) into supervoxels."""


METHODS = {
    "slic": Method(_slic, segmentation.slic, True, True),
    "felzenszwalb": Method(_felzenszwalb, segmentation.felzenszwalb, False, False),
    "quickshift": Method(_quickshift, segmentation.quickshift, False, False),
    "watershed": Method(_watershed, segmentation.watershed, True, True),
}
