# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The GAN: a DCGAN-style generator and a spectrally normalised discriminator.

The discriminator's convolutions are fully convolutional, so once trained on
small crops it runs on a whole image (or a tile of it) and its intermediate
maps become per-pixel features; only its head, a linear layer on the last
map, needs the crop size.
"""

import numpy as np

from .._torch import import_torch

__all__ = ["LAYER_STRIDES", "build_gan", "discriminator_maps", "receptive_margin"]

# Stride, relative to the input, of the map of each discriminator layer:
# 3x3 convolution, 4x4 strided, 3x3, 4x4 strided, 3x3.
LAYER_STRIDES = (1, 2, 2, 4, 4)
_KERNELS = (3, 4, 3, 4, 3)


def layer_channels(n_filters):
    """Channels of the map of each discriminator layer."""
    f = n_filters
    return (f, 2 * f, 2 * f, 4 * f, 4 * f)


def receptive_margin():
    """Input pixels a layer's map depends on beyond its own, plus interpolation.

    Tiles computed with this margin on every side give the maps of the whole
    image inside the tile.
    """
    rf, jump = 1, 1
    for k, s in zip(_KERNELS, (1, 2, 1, 2, 1)):
        rf += (k - 1) * jump
        jump *= s
    # Half the receptive field, one step of the coarsest map for the
    # bilinear interpolation, rounded up to a multiple of the largest stride.
    margin = rf // 2 + 2 * LAYER_STRIDES[-1]
    return int(np.ceil(margin / LAYER_STRIDES[-1]) * LAYER_STRIDES[-1])


def build_gan(n_channels, crop_size, n_filters, latent_dim):
    """The generator and the discriminator, as one ``nn.ModuleDict``.

    Parameters
    ----------
    n_channels : int
        Image channels.
    crop_size : int
        Side of the training crops; a power of two >= 16.
    n_filters : int
        Channels of the discriminator's first layer (doubled twice) and of
        the generator's last hidden layer.
    latent_dim : int
        Length of the generator's noise vector.

    Returns
    -------
    module : torch.nn.ModuleDict
        ``"generator"`` (noise ``(n, latent_dim)`` to images
        ``(n, n_channels, crop_size, crop_size)`` in [-1, 1]) and
        ``"discriminator"`` (:class:`Discriminator`).
    """
    torch = import_torch()
    nn = torch.nn
    n_up = int(np.log2(crop_size)) - 2
    width = [n_filters * 2 ** min(i, 2) for i in range(n_up)][::-1]
    gen = [
        nn.Linear(latent_dim, width[0] * 16),
        nn.Unflatten(1, (width[0], 4, 4)),
        nn.BatchNorm2d(width[0]),
        nn.ReLU(),
    ]
    for i in range(n_up):
        last = i == n_up - 1
        out = n_channels if last else width[i + 1]
        gen.append(nn.ConvTranspose2d(width[i], out, 4, stride=2, padding=1))
        gen += [nn.Tanh()] if last else [nn.BatchNorm2d(out), nn.ReLU()]
    return nn.ModuleDict(
        {
            "generator": nn.Sequential(*gen),
            "discriminator": _discriminator(n_channels, crop_size, n_filters),
        }
    )


def _discriminator(n_channels, crop_size, n_filters):
    torch = import_torch()
    nn = torch.nn
    sn = torch.nn.utils.parametrizations.spectral_norm
    chans = (n_channels,) + layer_channels(n_filters)
    convs = nn.ModuleList(
        sn(nn.Conv2d(chans[i], chans[i + 1], k, stride=2 if k == 4 else 1, padding=1))
        for i, k in enumerate(_KERNELS)
    )
    side = crop_size // LAYER_STRIDES[-1]
    head = sn(nn.Linear(chans[-1] * side * side, 1))
    return nn.ModuleDict({"convs": convs, "head": head})


def discriminator_maps(disc, x, layers=None):
    """Pre-activations of the discriminator's layers, and its score.

    Parameters
    ----------
    disc : torch.nn.ModuleDict
        The ``"discriminator"`` of :func:`build_gan`.
    x : torch.Tensor of shape (n, C, H, W)
        Images scaled to about [-1, 1].
    layers : sequence of int, default=None
        Indices of the layers whose maps to return; None returns the score
        only (which needs crop-sized inputs).

    Returns
    -------
    maps : list of torch.Tensor
        The pre-activation of each asked layer (before the leaky ReLU), or
        the score, of shape (n,), when ``layers`` is None.
    """
    torch = import_torch()
    act = torch.nn.functional.leaky_relu
    maps = []
    last = -1 if layers is None else max(layers)
    for i, conv in enumerate(disc["convs"]):
        pre = conv(x)
        if layers is not None and i in layers:
            maps.append(pre)
        if i == last:
            return maps
        x = act(pre, 0.1)
    return disc["head"](x.flatten(1))[:, 0]
