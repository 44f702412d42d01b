# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Input scaling and the image pyramid the filter bank runs on.

Pure functions of arrays: images are standardised per channel with the
statistics of all images seen at fit, then block-averaged by each scale
factor and padded by half a filter, channels first, in float32.
"""

import numpy as np

from ...utils._image import as_float_image, channels_last

__all__ = ["fit_input_scale", "pyramid"]


def fit_input_scale(images):
    """Per-channel mean and standard deviation of all pixels of all images.

    Parameters
    ----------
    images : list of ndarray of shape (H, W) or (H, W, C)
        The images; summed one at a time, in float64.

    Returns
    -------
    offset, scale : ndarray of shape (C,), float32
    """
    total = square = count = 0.0
    for image in images:
        x = channels_last(as_float_image(image)).astype(np.float64, copy=False)
        x = x.reshape(-1, x.shape[-1])
        total = total + x.sum(axis=0)
        square = square + (x * x).sum(axis=0)
        count += len(x)
    mean = total / count
    std = np.sqrt(np.maximum(square / count - mean * mean, 0.0))
    scale = np.where(std > 1e-12, std, 1.0)
    return mean.astype(np.float32), scale.astype(np.float32)


def pyramid(image, input_scale, scales, pad, min_side=0):
    """The standardised image at every scale, padded, channels first.

    Level ``s`` averages ``s x s`` blocks (the last partial block repeats
    the edge pixels), so that its pixel ``j`` sits at image coordinate
    ``(j + 0.5) * s - 0.5``.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
        One image.
    input_scale : tuple of ndarray
        From :func:`fit_input_scale`.
    scales : sequence of int
        Downsampling factors.
    pad : int
        Pixels of symmetric padding on every side.
    min_side : int, default=0
        Pad further (symmetrically, on the bottom and right) so that every
        padded level is at least this many pixels in each direction.

    Returns
    -------
    levels : list of ndarray of shape (C, H_s + 2 pad, W_s + 2 pad), float32
    """
    offset, scale = input_scale
    x = channels_last(as_float_image(image)).astype(np.float32, copy=False)
    x = (x - offset) / scale
    height, width, n_ch = x.shape
    levels = []
    for s in scales:
        if s == 1:
            low = x
        else:
            h, w = -(-height // s) * s, -(-width // s) * s
            full = np.pad(x, ((0, h - height), (0, w - width), (0, 0)), mode="edge")
            low = full.reshape(h // s, s, w // s, s, n_ch).mean(axis=(1, 3))
        extra = [max(0, min_side - (n + 2 * pad)) for n in low.shape[:2]]
        widths = ((pad, pad + extra[0]), (pad, pad + extra[1]), (0, 0))
        padded = np.pad(low, widths, mode="symmetric")
        levels.append(np.ascontiguousarray(padded.transpose(2, 0, 1), np.float32))
    return levels
