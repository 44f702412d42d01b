# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""How patches and images are scaled before the autoencoder sees them.

Pure functions of arrays and of a fitted ``(offset, scale)`` pair, one value
per network input channel, shaped ``(1, n_inputs, 1, 1)``.
"""

import numpy as np

__all__ = ["fit_input_scale", "scale_image", "scale_patches"]


def fit_input_scale(patches, n_channels, loss):
    """The global ``(offset, scale)`` of the network inputs.

    One statistic per image channel, shared by the patch scales stacked in
    ``patches``: the mean and standard deviation for ``loss="mse"``, the
    minimum and range for ``loss="bce"`` (which needs inputs in [0, 1]).

    Parameters
    ----------
    patches : ndarray of shape (n, n_channels * n_scales, P, P)
        The training patches.
    n_channels : int
        Channels of the image.
    loss : {"mse", "bce"}
        The reconstruction loss.

    Returns
    -------
    offset, scale : ndarray of shape (1, n_channels * n_scales, 1, 1), float32
    """
    flat = patches.reshape(len(patches), -1, n_channels, *patches.shape[2:])
    if loss == "bce":
        lo = flat.min(axis=(0, 1, 3, 4))
        hi = flat.max(axis=(0, 1, 3, 4)) - lo
        offset, scale = lo, np.where(hi > 0, hi, 1.0)
    else:
        mean = flat.mean(axis=(0, 1, 3, 4))
        std = flat.std(axis=(0, 1, 3, 4))
        offset, scale = mean, np.where(std > 0, std, 1.0)
    n_scales = patches.shape[1] // n_channels
    shape = (1, patches.shape[1], 1, 1)
    return (
        np.tile(offset, n_scales).reshape(shape).astype(np.float32),
        np.tile(scale, n_scales).reshape(shape).astype(np.float32),
    )


def scale_patches(patches, inside, input_scale, *, loss, per_patch):
    """Patches as the network sees them, and the ``(offset, scale)`` that undoes it.

    Parameters
    ----------
    patches : ndarray of shape (n, C, P, P)
        Raw patches.
    inside : ndarray of shape (n, C, P, P) of bool or None
        Which pixels belong to the region; pixels outside are blanked (set to
        the patch mean, 0 after scaling) when given.
    input_scale : tuple of ndarray
        From :func:`fit_input_scale`.
    loss : {"mse", "bce"}
        ``"bce"`` rescales to [0, 1] with the fitted minimum and range.
    per_patch : bool
        Standardise each patch by its own mean and standard deviation per
        channel (over the region's pixels when ``inside`` is given) instead of
        the global statistics.

    Returns
    -------
    scaled : ndarray of shape (n, C, P, P), float32
    undo : tuple of ndarray
        ``scaled * undo[1] + undo[0]`` gives the patches back (before
        clipping and blanking).
    """
    weight = None if inside is None else inside.astype(np.float32)
    if loss == "bce":
        lo, hi = input_scale
        out, undo = np.clip((patches - lo) / hi, 0.0, 1.0), (lo, hi)
    elif per_patch:
        if weight is None:
            mean = patches.mean(axis=(2, 3), keepdims=True)
            std = patches.std(axis=(2, 3), keepdims=True) + 1e-3
        else:
            count = weight.sum(axis=(2, 3), keepdims=True) + 1e-6
            mean = (patches * weight).sum(axis=(2, 3), keepdims=True) / count
            var = (((patches - mean) * weight) ** 2).sum(
                axis=(2, 3), keepdims=True
            ) / count
            std = np.sqrt(var) + 1e-3
        out, undo = (patches - mean) / std, (mean, std)
    else:
        mean, std = input_scale
        out, undo = (patches - mean) / std, (mean, std)
    if weight is not None:
        out = out * weight
    return out.astype(np.float32), undo


def scale_image(image, input_scale, loss):
    """A whole ``(1, C, H, W)`` image scaled like the training crops."""
    if loss == "bce":
        lo, hi = input_scale
        return np.clip((image - lo) / hi, 0.0, 1.0)
    mean, std = input_scale
    return (image - mean) / std
