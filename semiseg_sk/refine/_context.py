# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Auto-context: the first pass's probabilities, smoothed, as features of a second.

ilastik's trick: a second pixel classifier sees, besides the filter features,
the class probabilities of the first pass at every pixel and smoothed at
several scales, so that it learns what the neighbourhood of a pixel looks
like to the first pass: a thin structure next to a confident background, the
shape of a nucleus. The refiner passes the pixel forest's probabilities only:
the regions' probabilities of the scribbled pixels were fitted on those very
scribbles, and a second pass that learns to trust them erases thin
structures.
"""

import numpy as np
from scipy import ndimage as ndi

__all__ = ["CONTEXT_SIGMAS", "context_features"]

# Gaussian scales (pixels) of the smoothed probability maps.
CONTEXT_SIGMAS = (1.0, 3.0, 9.0)


def context_features(shape, *probas):
    """(n_pixels, n_features) float32: each map, raw and smoothed at each scale.

    Parameters
    ----------
    shape : tuple of int
        The image's (H, W).
    *probas : ndarray of shape (H * W, n_classes)
        Probability maps, flat (the first pass's).
    """
    columns = []
    for proba in probas:
        maps = proba.reshape(*shape, -1).astype(np.float32)
        for k in range(maps.shape[-1]):
            columns.append(maps[..., k])
            columns += [ndi.gaussian_filter(maps[..., k], s) for s in CONTEXT_SIGMAS]
    return np.stack(columns, axis=-1).reshape(-1, len(columns))
