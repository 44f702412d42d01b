# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Crops for training, and the discriminator's maps of whole images, by tiles.

Images are turned into the network's units (each channel centred and scaled
so that its 1st and 99th percentiles over the training images fall on -1 and
1, then clipped to [-1, 1]) one crop or one tile at a time, so a megapixel
image is never copied whole in float64 and its maps are never held whole:
the region statistics are accumulated tile by tile.
"""

import numpy as np
import scipy.sparse as sp
from scipy import ndimage

from ...utils._image import as_float_image, channels_last
from .._torch import import_torch
from ._network import LAYER_STRIDES, discriminator_maps, receptive_margin

__all__ = ["MapExtractor", "fit_input_scale", "sample_crops"]

# Side, in image pixels, of the tiles whose maps are computed at once.
TILE = 256
# Random crops whose pixels fit the input scale.
_SCALE_CROPS = 256
# Gaussian filters read this many sigmas on each side (scipy's default).
_TRUNCATE = 4.0


def fit_input_scale(images, rng, *, crop_size, scales, highpass):
    """Per-channel offset and scale mapping the 1st-99th percentiles to [-1, 1].

    Percentiles of the pixels of random crops, as :func:`sample_crops` cuts
    them (averaged, high-passed), before scaling.
    """
    crops = sample_crops(
        images,
        _SCALE_CROPS,
        rng,
        crop_size=crop_size,
        scales=scales,
        input_scale=None,
        highpass=highpass,
    )
    values = crops.transpose(0, 2, 3, 1).reshape(-1, crops.shape[1])
    low, high = np.percentile(values.astype(np.float64), [1, 99], axis=0)
    offset = (low + high) / 2
    scale = np.maximum((high - low) / 2, 1e-6)
    return offset.astype(np.float32), scale.astype(np.float32)


def _scale(x, input_scale):
    """Float32 (..., C) values to network units, clipped to [-1, 1]."""
    if input_scale is None:
        return x
    offset, scale = input_scale
    x = (x - offset) / scale
    return np.clip(x, -1.0, 1.0, out=x)


def _float32(pixels):
    return as_float_image(pixels).astype(np.float32, copy=False)


def _block_mean(x, s):
    """Mean over s x s blocks of an (h, w, C) array, edge-padded to multiples of s."""
    if s == 1:
        return x
    h, w, c = x.shape
    if h % s or w % s:
        x = np.pad(x, ((0, (-h) % s), (0, (-w) % s), (0, 0)), mode="edge")
    h, w = x.shape[:2]
    return x.reshape(h // s, s, w // s, s, c).mean(axis=(1, 3))


def _highpass(x, sigma):
    """Subtract a Gaussian blur of ``sigma`` pixels from each channel (mirrored)."""
    if not sigma:
        return x
    return x - ndimage.gaussian_filter(x, (sigma, sigma, 0), mode="reflect")


def _margin(sigma):
    """Pixels beyond a crop that its high-pass filter reads."""
    return 0 if not sigma else int(np.ceil(_TRUNCATE * sigma))


def sample_crops(images, n, rng, *, crop_size, scales, input_scale, highpass=None):
    """``n`` random crops, (n, C, crop_size, crop_size) float32 in network units.

    Each crop picks an image with a probability proportional to its area, a
    scale ``s`` among ``scales`` and a square of side ``crop_size * s``
    (mirrored beyond the border of images smaller than that), averaged over
    ``s x s`` blocks and high-passed (``highpass``, in averaged pixels) as the
    whole image is in ``transform``: from a window wide enough for the
    filter. ``input_scale=None`` skips the scaling.
    """
    areas = np.array([im.shape[0] * im.shape[1] for im in images], dtype=np.float64)
    which = rng.choice(len(images), size=n, p=areas / areas.sum())
    scale_of = rng.choice(np.asarray(scales), size=n)
    crops = []
    for i, s in zip(which, scale_of):
        s = int(s)
        image = channels_last(images[i])
        side, margin = crop_size * s, _margin(highpass) * s
        h, w = image.shape[:2]
        # Corners on the grid of the s x s blocks, as in transform.
        y = rng.randint(max(h - side, 0) + 1) // s * s
        x = rng.randint(max(w - side, 0) + 1) // s * s
        wy, wx = max(y - margin, 0), max(x - margin, 0)
        window = _float32(image[wy : y + side + margin, wx : x + side + margin])
        short = side - (h - y), side - (w - x)
        if max(short) > 0:
            pad = ((0, max(short[0], 0)), (0, max(short[1], 0)), (0, 0))
            window = np.pad(window, pad, mode="symmetric")
        window = _highpass(_block_mean(window, s), highpass)
        oy, ox = (y - wy) // s, (x - wx) // s
        crop = _scale(window[oy : oy + crop_size, ox : ox + crop_size], input_scale)
        crops.append(crop.transpose(2, 0, 1))
    return np.ascontiguousarray(np.stack(crops), dtype=np.float32)


def _interpolation_matrix(start, stop, step, origin, length, full_length):
    """Bilinear weights (stop - start, length) from a map window to image pixels.

    Image pixel ``p`` sits at map coordinate ``(p + 0.5) / step - 0.5`` (the
    convention of ``align_corners=False``), clamped to the map; ``origin`` is
    the window's first map index and ``full_length`` the length of the map
    of the whole image.
    """
    pos = np.maximum((np.arange(start, stop) + 0.5) / step - 0.5, 0.0)
    i0 = np.floor(pos).astype(np.int64)
    lam = pos - i0
    i1 = np.minimum(i0 + 1, full_length - 1)
    i0 = np.minimum(i0, full_length - 1)
    weights = np.zeros((stop - start, length), dtype=np.float32)
    rows = np.arange(stop - start)
    np.add.at(weights, (rows, i0 - origin), 1 - lam)
    np.add.at(weights, (rows, i1 - origin), lam)
    return weights


def _map_length(n, layer):
    """Length of a layer's map along an axis of ``n`` input pixels."""
    # Each strided layer (4x4, stride 2, padding 1) halves it, rounding down.
    for _ in range(int(np.log2(LAYER_STRIDES[layer]))):
        n //= 2
    return n


class MapExtractor:
    """Rectified discriminator maps of images at pixel resolution, tile by tile.

    Parameters
    ----------
    discriminator : torch.nn.Module
        The trained discriminator, in eval mode.
    layers, scales : tuple of int
        Layers whose maps are used, and image scales they are computed at.
    input_scale : tuple of ndarray
        Offset and scale of the network's inputs.
    highpass : float or None
        Sigma of the high-pass filter, in pixels of each scale.
    rectify : {"relu", "abs"}
        How the maps are rectified.
    device : torch.device
        Where the discriminator runs.
    """

    def __init__(
        self, discriminator, layers, scales, input_scale, highpass, rectify, device
    ):
        self.discriminator = discriminator
        self.layers = tuple(layers)
        self.scales = tuple(scales)
        self.input_scale = input_scale
        self.highpass = highpass
        self.rectify = rectify
        self.device = device
        self.margin = receptive_margin()

    def coarse_images(self, image):
        """The image in network units at every scale, each (h_s, w_s, C) float32."""
        image = _float32(channels_last(image))
        return [
            _scale(_highpass(_block_mean(image, s), self.highpass), self.input_scale)
            for s in self.scales
        ]

    def tiles(self, shape):
        """Yield the (y0, y1, x0, x1) bounds of the tiles of an image."""
        for y0 in range(0, shape[0], TILE):
            for x0 in range(0, shape[1], TILE):
                yield y0, min(y0 + TILE, shape[0]), x0, min(x0 + TILE, shape[1])

    def tile_maps(self, coarse, bounds):
        """Maps of one tile, (n_maps, y1 - y0, x1 - x0) float32 torch tensor."""
        torch = import_torch()
        y0, y1, x0, x1 = bounds
        unit, margin = LAYER_STRIDES[-1], self.margin
        out = []
        for s, image in zip(self.scales, coarse):
            hs, ws = image.shape[:2]
            wy0 = max(0, (y0 // s - margin) // unit * unit)
            wx0 = max(0, (x0 // s - margin) // unit * unit)
            wy1 = min(hs, -(-y1 // s) + margin)
            wx1 = min(ws, -(-x1 // s) + margin)
            window = image[wy0:wy1, wx0:wx1].transpose(2, 0, 1)[None]
            x = torch.from_numpy(np.ascontiguousarray(window)).to(self.device)
            maps = discriminator_maps(self.discriminator, x, self.layers)
            for layer, fmap in zip(self.layers, maps):
                step = LAYER_STRIDES[layer]
                wy = _interpolation_matrix(
                    y0, y1, s * step, wy0 // step, fmap.shape[2], _map_length(hs, layer)
                )
                wx = _interpolation_matrix(
                    x0, x1, s * step, wx0 // step, fmap.shape[3], _map_length(ws, layer)
                )
                wy = torch.from_numpy(wy).to(self.device)
                wx = torch.from_numpy(wx).to(self.device)
                fmap = fmap[0].abs() if self.rectify == "abs" else torch.relu(fmap[0])
                out.append(wy @ fmap @ wx.T)
        return torch.cat(out)

    def pixel_maps(self, image):
        """(H, W, n_maps) float32 maps of a whole image."""
        coarse = self.coarse_images(image)
        n_maps = None
        result = None
        for bounds in self.tiles(image.shape[:2]):
            maps = self.tile_maps(coarse, bounds).cpu().numpy()
            if result is None:
                n_maps = maps.shape[0]
                result = np.empty(image.shape[:2] + (n_maps,), dtype=np.float32)
            y0, y1, x0, x1 = bounds
            result[y0:y1, x0:x1] = maps.transpose(1, 2, 0)
        return result

    def region_mean_std(self, regions):
        """Mean and standard deviation of every map over each region's pixels."""
        coarse = self.coarse_images(regions.image)
        n = regions.n_regions
        sums = sq = None
        for bounds in self.tiles(regions.shape):
            y0, y1, x0, x1 = bounds
            maps = self.tile_maps(coarse, bounds).cpu().numpy()
            values = maps.reshape(len(maps), -1).T.astype(np.float64)
            seg = regions.segments[y0:y1, x0:x1].ravel()
            indicator = sp.csr_matrix(
                (np.ones(seg.size), (seg, np.arange(seg.size))), shape=(n, seg.size)
            )
            if sums is None:
                sums = np.zeros((n, values.shape[1]))
                sq = np.zeros_like(sums)
            sums += indicator @ values
            sq += indicator @ (values * values)
        counts = regions.sizes()[:, None]
        mean = sums / counts
        std = np.sqrt(np.maximum(sq / counts - mean * mean, 0.0))
        return mean, std
