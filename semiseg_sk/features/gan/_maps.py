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

from ...utils._image import as_float_image, channels_last
from .._torch import import_torch
from ._network import LAYER_STRIDES, discriminator_maps, receptive_margin

__all__ = ["MapExtractor", "fit_input_scale", "sample_crops", "to_network_units"]

# Side, in image pixels, of the tiles whose maps are computed at once.
TILE = 256
# Pixels per image used to fit the input scale.
_SCALE_SAMPLE = 4096


def fit_input_scale(images):
    """Per-channel offset and scale mapping the 1st-99th percentiles to [-1, 1]."""
    samples = []
    for image in images:
        image = channels_last(image)
        step = max(1, int(np.sqrt(image.shape[0] * image.shape[1] / _SCALE_SAMPLE)))
        sub = as_float_image(image[::step, ::step])
        samples.append(sub.reshape(-1, sub.shape[-1]))
    values = np.concatenate(samples).astype(np.float64)
    low, high = np.percentile(values, [1, 99], axis=0)
    offset = (low + high) / 2
    scale = np.maximum((high - low) / 2, 1e-6)
    return offset.astype(np.float32), scale.astype(np.float32)


def to_network_units(pixels, input_scale):
    """(..., C) pixels of any dtype to float32 in [-1, 1]."""
    offset, scale = input_scale
    out = (as_float_image(pixels).astype(np.float32, copy=False) - offset) / scale
    return np.clip(out, -1.0, 1.0, out=out)


def _block_mean(x, s):
    """Mean over s x s blocks of an (h, w, C) array, edge-padded to multiples of s."""
    if s == 1:
        return x
    h, w, c = x.shape
    if h % s or w % s:
        x = np.pad(x, ((0, (-h) % s), (0, (-w) % s), (0, 0)), mode="edge")
    h, w = x.shape[:2]
    return x.reshape(h // s, s, w // s, s, c).mean(axis=(1, 3))


def sample_crops(images, n, rng, *, crop_size, scales, input_scale):
    """``n`` random crops, (n, C, crop_size, crop_size) float32 in network units.

    Each crop picks an image with a probability proportional to its area, a
    scale ``s`` among ``scales`` and a square of side ``crop_size * s``
    (mirrored beyond the border of images smaller than that), averaged over
    ``s x s`` blocks.
    """
    areas = np.array([im.shape[0] * im.shape[1] for im in images], dtype=np.float64)
    which = rng.choice(len(images), size=n, p=areas / areas.sum())
    scale_of = rng.choice(np.asarray(scales), size=n)
    crops = []
    for i, s in zip(which, scale_of):
        image = channels_last(images[i])
        side = crop_size * int(s)
        h, w = image.shape[:2]
        y = rng.randint(max(h - side, 0) + 1)
        x = rng.randint(max(w - side, 0) + 1)
        crop = image[y : y + side, x : x + side]
        if crop.shape[0] < side or crop.shape[1] < side:
            pad = ((0, side - crop.shape[0]), (0, side - crop.shape[1]), (0, 0))
            crop = np.pad(crop, pad, mode="symmetric")
        crop = _block_mean(to_network_units(crop, input_scale), int(s))
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
    device : torch.device
        Where the discriminator runs.
    """

    def __init__(self, discriminator, layers, scales, input_scale, device):
        self.discriminator = discriminator
        self.layers = tuple(layers)
        self.scales = tuple(scales)
        self.input_scale = input_scale
        self.device = device
        self.margin = receptive_margin()

    def coarse_images(self, image):
        """The image in network units at every scale, each (h_s, w_s, C) float32."""
        image = to_network_units(channels_last(image), self.input_scale)
        return [_block_mean(image, s) for s in self.scales]

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
                out.append(wy @ torch.relu(fmap[0]) @ wx.T)
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
