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
import scipy.sparse as sp

from .._torch import import_torch
from ._network import rectified, responses

__all__ = ["RegionPooler", "response_strips", "rows_per_strip"]

# Budget of one strip: pixels times maps, about 32 MB of float64 when pooled.
_STRIP_VALUES = 2**22


def rows_per_strip(width, n_maps):
    """Rows of a strip of ``width`` pixels and ``n_maps`` maps within the budget."""
    return max(16, _STRIP_VALUES // max(1, width * n_maps))


def _bilinear(n_out, s, n_in, start):
    """Source indices (relative to ``start``) and weights of upsampling by ``s``."""
    y = (np.arange(n_out[0], n_out[1]) + 0.5) / s - 0.5
    y0 = np.floor(y)
    weight = (y - y0).astype(np.float32)
    y0 = y0.astype(np.intp)
    lo = np.clip(y0, 0, n_in - 1) - start
    hi = np.clip(y0 + 1, 0, n_in - 1) - start
    return lo, hi, weight


def _interpolate(maps, axis, lo, hi, weight):
    torch = import_torch()
    shape = [1] * maps.ndim
    shape[axis] = -1
    w = torch.from_numpy(weight).to(maps.device).view(shape)
    a = maps.index_select(axis, torch.from_numpy(lo).to(maps.device))
    b = maps.index_select(axis, torch.from_numpy(hi).to(maps.device))
    return a + (b - a) * w


def _encode(encoder, x, rectify, smooth):
    r = responses(encoder, x)
    r = r.abs() if rectify == "abs" else rectified(r)
    if smooth > 1:
        F = import_torch().nn.functional
        h = smooth // 2
        kwargs = dict(stride=1, count_include_pad=False)
        r = F.avg_pool2d(r, (2 * h + 1, 1), padding=(h, 0), **kwargs)
        r = F.avg_pool2d(r, (1, 2 * h + 1), padding=(0, h), **kwargs)
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
    maps : ndarray of shape (stop - start, W, n_maps), float32
        The rectified responses of every scale, scale-major.
    """
    torch = import_torch()
    height, width = shape
    pad = encoder.weight.shape[-1] // 2
    halo = smooth // 2 if smooth > 1 else 0
    for start in range(0, height, rows):
        stop = min(height, start + rows)
        parts = []
        for s, level in zip(scales, levels):
            n_rows = -(-height // s)
            if s == 1:
                a, b = start, stop
            else:
                lo, hi, wy = _bilinear((start, stop), s, n_rows, 0)
                a, b = int(lo.min()), int(hi.max()) + 1
            # The rows the box filter needs around the strip, within the level.
            top, bottom = max(0, a - halo), min(n_rows, b + halo)
            x = torch.from_numpy(level[None, :, top : bottom + 2 * pad]).to(device)
            maps = _encode(encoder, x, rectify, smooth)[:, :, a - top : b - top]
            if s == 1:
                maps = maps[..., :width]
            else:
                maps = _interpolate(maps, 2, lo - a, hi - a, wy)
                n_cols = -(-width // s)
                cols = _bilinear((0, width), s, n_cols, 0)
                maps = _interpolate(maps, 3, *cols)
            parts.append(maps)
        out = torch.cat(parts, dim=1)[0].permute(1, 2, 0)
        yield (
            start,
            stop,
            np.ascontiguousarray(out.detach().cpu().numpy(), dtype=np.float32),
        )


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
        self.segments = segments
        self.n_regions = n_regions
        self.pooling = pooling
        self.sums = np.zeros((n_regions, n_maps))
        self.squares = np.zeros((n_regions, n_maps))
        self.counts = np.zeros(n_regions)
        self.maxima = np.full((n_regions, n_maps), -np.inf)

    def add(self, start, stop, maps):
        seg = self.segments[start:stop].ravel()
        values = maps.reshape(len(seg), -1).astype(np.float64)
        indicator = sp.csr_matrix(
            (np.ones(len(seg)), (seg, np.arange(len(seg)))),
            shape=(self.n_regions, len(seg)),
        )
        self.sums += indicator @ values
        if "std" in self.pooling:
            self.squares += indicator @ (values * values)
        self.counts += np.bincount(seg, minlength=self.n_regions)
        if "max" in self.pooling:
            order = np.argsort(seg, kind="stable")
            present, first = np.unique(seg[order], return_index=True)
            peaks = np.maximum.reduceat(values[order], first, axis=0)
            self.maxima[present] = np.maximum(self.maxima[present], peaks)

    def result(self):
        """The pooled block, ``(n_regions, n_maps * len(pooling))``, statistic-major."""
        counts = np.maximum(self.counts, 1.0)[:, None]
        mean = self.sums / counts
        std = np.sqrt(np.maximum(self.squares / counts - mean * mean, 0.0))
        stats = {"mean": mean, "std": std, "max": self.maxima}
        return np.hstack([stats[p] for p in self.pooling])
