# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Response maps of the filter bank at pixel resolution, strip by strip.

An image is processed in strips of rows, so that memory stays proportional
to one strip's maps, never to the whole image times the number of maps:
each pyramid level is filtered on the rows the strip needs (plus half a
filter of halo), rectified, and interpolated bilinearly back to the image's
pixels. The maps are the same as those of the whole image at once.
"""

import numpy as np

from .._torch import import_torch
from ._network import box_mean, rectified, responses

__all__ = ["RegionPooler", "response_strips", "rows_per_strip"]

# Budget of one strip: pixels times maps, about 32 MB of float64 when pooled.
_STRIP_VALUES = 2**22


def rows_per_strip(width, n_maps):
    """Rows of a strip of ``width`` pixels and ``n_maps`` maps within the budget."""
    return max(16, _STRIP_VALUES // max(1, width * n_maps))


def _low_rows(start, stop, s, n_rows):
    """Rows ``[a, b)`` of a level read to upsample image rows ``[start, stop)``."""
    first = np.floor((start + 0.5) / s - 0.5)
    last = np.floor((stop - 0.5) / s - 0.5)
    return int(max(0, first)), int(min(n_rows, last + 2))


def _encode(encoder, x, rectify, smooth):
    r = responses(encoder, x)
    r = r.abs() if rectify == "abs" else rectified(r)
    if smooth > 1:
        h = smooth // 2
        r = box_mean(r, 2 * h + 1, padding=h)
    return r


def response_strips(encoder, levels, shape, scales, *, rectify, smooth, rows, device):
    """Yield ``(start, stop, maps)`` for consecutive strips of image rows.

    Parameters
    ----------
    encoder : torch.nn.Conv2d
        The filter bank.
    levels : list of ndarray
        From :func:`~._scaling.pyramid`, padded by ``kernel_size // 2``.
    shape : tuple of int
        ``(H, W)`` of the image.
    scales : sequence of int
        The factor of each level.
    rectify : {"split", "abs"}
        How responses are rectified.
    smooth : int
        Side of the box filter over which the rectified responses are
        averaged at each level (an energy map); 0 or 1 for none.
    rows : int
        Rows per strip.
    device : torch.device
        Where the filters run.

    Yields
    ------
    start, stop : int
        The strip's rows.
    maps : torch.Tensor of shape (n_maps, stop - start, W), float32, on the CPU
        The rectified responses of every scale, scale-major.
    """
    torch = import_torch()
    F = torch.nn.functional
    height, width = shape
    pad = encoder.weight.shape[-1] // 2
    halo = smooth // 2 if smooth > 1 else 0
    for start in range(0, height, rows):
        stop = min(height, start + rows)
        parts = []
        for s, level in zip(scales, levels):
            n_rows = -(-height // s)
            a, b = _low_rows(start, stop, s, n_rows)
            # The rows the box filter needs around the strip, within the level.
            top, bottom = max(0, a - halo), min(n_rows, b + halo)
            x = torch.from_numpy(level[None, :, top : bottom + 2 * pad]).to(device)
            maps = _encode(encoder, x, rectify, smooth)[:, :, a - top : b - top]
            if s > 1:
                # Row i of the upsampled strip is image row a * s + i: the same
                # interpolation as that of the whole level.
                maps = F.interpolate(
                    maps, scale_factor=s, mode="bilinear", align_corners=False
                )
            parts.append(maps[0, :, start - a * s : stop - a * s, :width])
        yield start, stop, torch.cat(parts, dim=0).detach().cpu()


class RegionPooler:
    """Accumulate per-region mean, standard deviation and maximum over strips.

    Parameters
    ----------
    segments : ndarray of shape (H, W) of int
        The region of each pixel, ``0 .. n_regions - 1``.
    n_regions : int
        Number of regions.
    n_maps : int
        Maps per pixel.
    pooling : tuple of str
        Among ``"mean"``, ``"std"`` and ``"max"``: the statistics returned.
    """

    def __init__(self, segments, n_regions, n_maps, pooling):
        torch = import_torch()
        self.segments = segments
        self.n_regions = n_regions
        self.pooling = pooling
        zeros = dict(dtype=torch.float64)
        self.sums = torch.zeros((n_maps, n_regions), **zeros)
        self.squares = torch.zeros((n_maps, n_regions), **zeros)
        self.maxima = torch.full((n_maps, n_regions), -np.inf, dtype=torch.float32)
        self.counts = np.zeros(n_regions)

    def add(self, start, stop, maps):
        """Add the maps ``(n_maps, stop - start, W)`` of rows ``[start, stop)``."""
        torch = import_torch()
        seg = np.ascontiguousarray(self.segments[start:stop]).ravel()
        index = torch.from_numpy(seg.astype(np.int64))
        values = maps.reshape(maps.shape[0], -1)
        if "max" in self.pooling:
            peaks = torch.full_like(self.maxima, -np.inf)
            peaks.scatter_reduce_(1, index.expand_as(values), values, "amax")
            self.maxima = torch.maximum(self.maxima, peaks)
        values = values.double()
        self.sums.index_add_(1, index, values)
        if "std" in self.pooling:
            self.squares.index_add_(1, index, values * values)
        self.counts += np.bincount(seg, minlength=self.n_regions)

    def result(self):
        """The pooled block, ``(n_regions, n_maps * len(pooling))``, statistic-major."""
        counts = np.maximum(self.counts, 1.0)[:, None]
        mean = self.sums.numpy().T / counts
        square = self.squares.numpy().T / counts
        std = np.sqrt(np.maximum(square - mean * mean, 0.0))
        maxima = self.maxima.numpy().T.astype(np.float64)
        stats = {"mean": mean, "std": std, "max": maxima}
        return np.hstack([stats[p] for p in self.pooling])
