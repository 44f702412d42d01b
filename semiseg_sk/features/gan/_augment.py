# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Differentiable augmentation (DiffAugment, Zhao et al. 2020).

The same random transformations are applied to the real and to the
generated crops before the discriminator sees them, and gradients flow
through them to the generator; the discriminator then cannot memorise a few
images, and the generator is not taught to reproduce the augmentations.
"""

from .._torch import import_torch

__all__ = ["AUGMENTATIONS", "diff_augment"]

AUGMENTATIONS = ("translation", "cutout", "brightness")


def diff_augment(x, policy, generator):
    """Augment a batch ``x`` of shape (n, C, H, W) with each transform in ``policy``.

    ``"brightness"`` adds a uniform offset in [-0.5, 0.5) per image;
    ``"translation"`` shifts each image by up to 1/8 of its side, filling
    with zeros; ``"cutout"`` zeroes a random square of half the side. The
    random numbers come from ``generator`` (a CPU ``torch.Generator``).
    """
    torch = import_torch()
    n, _, h, w = x.shape
    dev = x.device

    def rand(*shape):
        return torch.rand(shape, generator=generator).to(dev)

    if "brightness" in policy:
        x = x + (rand(n, 1, 1, 1) - 0.5)
    if "translation" in policy:
        sy, sx = h // 8, w // 8
        dy = (rand(n) * (2 * sy + 1)).long() - sy
        dx = (rand(n) * (2 * sx + 1)).long() - sx
        x = _shift(x, dy, dx)
    if "cutout" in policy:
        ch, cw = h // 2, w // 2
        cy = (rand(n) * (h + 1 - ch % 2)).long()
        cx = (rand(n) * (w + 1 - cw % 2)).long()
        ys = torch.arange(h, device=dev)[None, :, None]
        xs = torch.arange(w, device=dev)[None, None, :]
        inside_y = (ys >= (cy - ch // 2)[:, None, None]) & (
            ys < (cy + ch - ch // 2)[:, None, None]
        )
        inside_x = (xs >= (cx - cw // 2)[:, None, None]) & (
            xs < (cx + cw - cw // 2)[:, None, None]
        )
        x = x * (~(inside_y & inside_x))[:, None].to(x.dtype)
    return x


def _shift(x, dy, dx):
    """Shift each image by (dy, dx) pixels with zero fill, by gathering."""
    torch = import_torch()
    n, c, h, w = x.shape
    dev = x.device
    ys = torch.arange(h, device=dev)[None, :] - dy[:, None]  # (n, h) source rows
    xs = torch.arange(w, device=dev)[None, :] - dx[:, None]
    valid = ((ys >= 0) & (ys < h))[:, :, None] & ((xs >= 0) & (xs < w))[:, None, :]
    ys, xs = ys.clamp(0, h - 1), xs.clamp(0, w - 1)
    flat = ys[:, :, None] * w + xs[:, None, :]  # (n, h, w)
    out = x.flatten(2).gather(2, flat.flatten(1)[:, None].expand(n, c, h * w))
    return out.view(n, c, h, w) * valid[:, None].to(x.dtype)
