# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The network: one convolutional filter bank, its decoder, and the encoding.

The encoder is Coates & Ng's one-layer encoder written as convolutions: each
``k x k`` window is normalised by its own mean and standard deviation (over
the window and the channels), filtered by ``n_filters`` filters, and the
responses are rectified into their positive and negative parts. The decoder
is one linear convolution that redraws the normalised image from the
rectified responses.
"""

from .._torch import import_torch

__all__ = [
    "box_mean",
    "build_autoencoder",
    "decode",
    "rectified",
    "responses",
    "target",
    "window_stats",
]

# Added to the variance of each window before dividing by its standard
# deviation, in units of the global pixel variance (1 after input scaling):
# flat windows are not blown up into noise.
WINDOW_EPS = 0.01
# Side of the decoder's filters.
DECODER_KERNEL = 7


def build_autoencoder(n_channels, n_filters, kernel_size):
    """The encoder (a filter bank) and decoder as a ``torch.nn.ModuleDict``.

    Parameters
    ----------
    n_channels : int
        Image channels.
    n_filters : int
        Filters of the bank.
    kernel_size : int
        Side of the filters (odd).

    Returns
    -------
    module : torch.nn.ModuleDict
        ``"encoder"``: a ``Conv2d(n_channels, n_filters, kernel_size)``
        applied without padding to inputs padded by ``kernel_size // 2``;
        ``"decoder"``: a ``Conv2d(2 * n_filters, n_channels, kernel_size)``
        with padding, from the rectified responses to the normalised image.
    """
    nn = import_torch().nn
    return nn.ModuleDict(
        {
            "encoder": nn.Conv2d(n_channels, n_filters, kernel_size),
            "decoder": nn.Conv2d(
                2 * n_filters, n_channels, DECODER_KERNEL, padding=DECODER_KERNEL // 2
            ),
        }
    )


def box_mean(x, k, padding=0):
    """Mean of every ``k x k`` window of every channel (a depthwise convolution).

    With ``padding``, the windows that cross the border are averaged over
    their pixels inside the image only.
    """
    torch = import_torch()
    F = torch.nn.functional
    n = x.shape[1]
    ones = torch.ones((n, 1, k, k), dtype=x.dtype, device=x.device)
    out = F.conv2d(x, ones / (k * k), padding=padding, groups=n)
    if padding:
        inside = torch.ones((1, 1) + x.shape[2:], dtype=x.dtype, device=x.device)
        out = out / F.conv2d(inside, ones[:1] / (k * k), padding=padding)
    return out


def window_stats(x, kernel_size):
    """Mean and standard deviation of every ``k x k`` window, over the channels too.

    ``x`` is ``(N, C, H + k - 1, W + k - 1)``; both results are
    ``(N, 1, H, W)``, the deviation including ``WINDOW_EPS``.
    """
    torch = import_torch()
    both = torch.cat([x.mean(1, keepdim=True), (x * x).mean(1, keepdim=True)], 1)
    mean, square = box_mean(both, kernel_size).split(1, dim=1)
    return mean, ((square - mean * mean).clamp_min(0.0) + WINDOW_EPS).sqrt()


def responses(encoder, x, stats=None):
    """Filter responses of the contrast-normalised windows of ``x``.

    ``x`` is ``(N, C, H + k - 1, W + k - 1)`` (padded by ``k // 2``); the
    result is ``(N, n_filters, H, W)``: for each window ``v`` and filter
    ``w``, ``w . (v - mean(v)) / sqrt(var(v) + eps) + b``, computed as one
    convolution and box filters. ``stats`` are the windows' ``(mean, std)``
    from :func:`window_stats`, computed when None.
    """
    torch = import_torch()
    weight, bias = encoder.weight, encoder.bias
    mean, std = window_stats(x, weight.shape[-1]) if stats is None else stats
    total = weight.sum(dim=(1, 2, 3)).view(1, -1, 1, 1)
    out = (torch.nn.functional.conv2d(x, weight) - total * mean) / std
    return out + bias.view(1, -1, 1, 1)


def target(x, kernel_size, stats=None):
    """The normalised image the decoder redraws: each pixel by its window's stats."""
    mean, std = window_stats(x, kernel_size) if stats is None else stats
    p = kernel_size // 2
    centre = x[..., p : x.shape[-2] - p, p : x.shape[-1] - p]
    return (centre - mean) / std


def rectified(r):
    """Positive and negative parts of the responses, stacked on the channels."""
    torch = import_torch()
    return torch.cat([torch.relu(r), torch.relu(-r)], dim=1)


def decode(decoder, codes):
    """The decoder's redrawing of the normalised image from rectified codes."""
    return decoder(codes)
