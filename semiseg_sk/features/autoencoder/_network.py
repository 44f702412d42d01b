# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The autoencoder network: a small convolutional encoder and its decoder."""

import numpy as np

from .._torch import import_torch

__all__ = ["build_autoencoder"]


def build_autoencoder(n_inputs, patch_size, latent_dim, n_filters, encoding="patch"):
    """A small convolutional autoencoder as two ``nn.Sequential`` halves.

    ``patch_size`` is a power of two >= 8. The encoder halves the patch with
    strided 4x4 convolutions (``n_filters`` channels, doubled at each step)
    down to 4 x 4; the decoder mirrors it with transposed convolutions. With
    ``encoding="patch"`` a linear layer maps the 4 x 4 maps to
    ``latent_dim``; with ``encoding="image"`` a 1x1 convolution does, so the
    encoder is fully convolutional and turns a whole image into a
    ``latent_dim``-channel map. Small on purpose: it trains in seconds on a
    laptop CPU.

    Parameters
    ----------
    n_inputs : int
        Input channels.
    patch_size : int
        Side of the training patches.
    latent_dim : int
        Length of the code.
    n_filters : int
        Channels of the first convolution.
    encoding : {"patch", "image"}, default="patch"
        See above.

    Returns
    -------
    module : torch.nn.ModuleDict
        With an ``"encoder"`` and a ``"decoder"``.
    """
    torch = import_torch()
    nn = torch.nn
    n_down = int(np.log2(patch_size)) - 2
    chans = [n_inputs] + [n_filters * 2**i for i in range(n_down)]
    enc = []
    for i in range(n_down):
        enc += [nn.Conv2d(chans[i], chans[i + 1], 4, stride=2, padding=1), nn.ReLU()]
    if encoding == "image":
        enc += [nn.Conv2d(chans[-1], latent_dim, 1)]
        dec = [nn.Conv2d(latent_dim, chans[-1], 1), nn.ReLU()]
    else:
        enc += [nn.Flatten(), nn.Linear(chans[-1] * 16, latent_dim)]
        dec = [
            nn.Linear(latent_dim, chans[-1] * 16),
            nn.ReLU(),
            nn.Unflatten(1, (chans[-1], 4, 4)),
        ]
    for i in reversed(range(n_down)):
        dec += [nn.ConvTranspose2d(chans[i + 1], chans[i], 4, stride=2, padding=1)]
        if i:
            dec.append(nn.ReLU())
    return nn.ModuleDict(
        {"encoder": nn.Sequential(*enc), "decoder": nn.Sequential(*dec)}
    )
