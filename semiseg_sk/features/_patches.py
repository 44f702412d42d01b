# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Fixed-size image patches around regions, for the autoencoder."""

import numpy as np
from scipy import ndimage

from ..utils._image import as_float_image, channels_last

__all__ = ["region_patches"]


def region_patches(
    regions,
    patch_size,
    *,
    context=1.5,
    min_side=8.0,
    side=None,
    jitter=0.0,
    rng=None,
    return_inside=True,
):
    """Sample a square patch around every region of one image.

    The patch is centred on the region's bounding box, its side is the larger
    side of the box times ``context`` (at least ``min_side`` pixels), and it is
    resampled bilinearly to ``patch_size`` x ``patch_size``; pixels beyond the
    image border are mirrored.

    Parameters
    ----------
    regions : Regions
        One image and its regions.
    patch_size : int
        Side of the returned patches in pixels.
    context : float, default=1.5
        Side of the sampled square relative to the bounding box.
    min_side : float, default=8.0
        Smallest side of the sampled square in image pixels.
    side : float, default=None
        Fixed side of the sampled square in image pixels, whatever the size
        of the region (``context`` and ``min_side`` are then ignored);
        ``side=patch_size`` gives crops at the image's own resolution.
    jitter : float, default=0.0
        Random shift of the centre (and, without ``side``, of the scale), as
        a fraction of the side; for training-time augmentation: random crops
        around each region rather than one centred patch (needs ``rng``).
    rng : numpy.random.RandomState, default=None
        Random numbers for ``jitter``.
    return_inside : bool, default=True
        Compute ``inside``; False returns None in its place (half the work).

    Returns
    -------
    patches : ndarray of shape (n_regions, C, patch_size, patch_size), float32
        The patches, channels first.
    inside : ndarray of shape (n_regions, patch_size, patch_size), bool, or None
        Whether each patch pixel belongs to the region.
    """
    image = channels_last(as_float_image(regions.image))
    boxes = ndimage.find_objects(regions.segments + 1)
    lo = np.array([[b[0].start, b[1].start] for b in boxes], dtype=np.float64)
    hi = np.array([[b[0].stop, b[1].stop] for b in boxes], dtype=np.float64)
    centre = (lo + hi) / 2.0
    n = len(boxes)
    if side is None:
        side = np.maximum((hi - lo).max(axis=1) * context, min_side)
        fixed = False
    else:
        side = np.full(n, float(side))
        fixed = True
    if jitter:
        if rng is None:
            raise ValueError("region_patches: jitter > 0 needs rng.")
        centre = centre + rng.uniform(-jitter, jitter, size=(n, 2)) * side[:, None]
        if not fixed:
            side = side * np.exp(rng.uniform(-jitter, jitter, size=n))
    steps = (np.arange(patch_size) + 0.5) / patch_size - 0.5  # in (-0.5, 0.5)
    offsets = steps[None, :] * side[:, None]  # (n, P)
    rows = centre[:, 0, None, None] - 0.5 + offsets[:, :, None]  # (n, P, 1)
    cols = centre[:, 1, None, None] - 0.5 + offsets[:, None, :]  # (n, 1, P)
    rows, cols = np.broadcast_arrays(rows, cols)
    coords = np.stack([rows, cols])
    patches = np.stack(
        [
            ndimage.map_coordinates(image[..., c], coords, order=1, mode="mirror")
            for c in range(image.shape[2])
        ],
        axis=1,
    ).astype(np.float32)
    if not return_inside:
        return patches, None
    labels = ndimage.map_coordinates(regions.segments, coords, order=0, mode="mirror")
    inside = labels == np.arange(n)[:, None, None]
    return patches, inside
