# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Multiscale basic features of volumes, per-axis scales, by slabs of z.

The 3-D counterpart of :func:`skimage.feature.multiscale_basic_features` for
anisotropic voxels: at every scale, the Gaussian-smoothed intensity, its
gradient magnitude and the three eigenvalues of its Hessian (largest first),
with the Gaussian ``sigma / relative[axis]`` voxels wide along each axis and
derivatives per unit of the smallest voxel side. The smoothed volumes are
computed once; the derivatives and eigenvalues, a slab of z-slices at a time
(:meth:`VolumeFeatures.slab`), so that the features of a large volume never
sit in memory all at once.
"""

import numpy as np
from scipy import ndimage as ndi

from ._filters import symmetric_eigenvalues

__all__ = ["VOLUME_KINDS", "VolumeFeatures", "slabs"]

#: The features of each channel and scale, in order.
VOLUME_KINDS = ("intensity", "edges", "hessian0", "hessian1", "hessian2")
# Voxels of one slab of features: about 64 MB of float32 per 16 features.
_SLAB_VOXELS = 2**20
# np.gradient of np.gradient reads two slices on either side.
_HALO = 2


def slabs(shape, n_voxels=_SLAB_VOXELS):
    """Consecutive ``(z0, z1)`` ranges of about ``n_voxels`` voxels each."""
    step = max(1, n_voxels // max(1, shape[1] * shape[2]))
    return [(z, min(z + step, shape[0])) for z in range(0, shape[0], step)]


class VolumeFeatures:
    """The multiscale basic features of one volume, slab by slab.

    Parameters
    ----------
    image : ndarray of shape (Z, Y, X, C)
        A float volume, channels last.
    sigmas : sequence of float
        Scales, in units of the smallest voxel side.
    relative : sequence of 3 float
        The voxel size divided by its smallest side.

    Attributes
    ----------
    n_features : int
        ``C * len(sigmas) * 5``, ordered channel, then scale, then kind
        (:data:`VOLUME_KINDS`), as scikit-image orders its 2-D features.
    """

    def __init__(self, image, sigmas, relative):
        self.relative = tuple(float(r) for r in relative)
        self.shape = image.shape[:3]
        self.smoothed = [
            ndi.gaussian_filter(
                np.asarray(image[..., c], dtype=np.float32),
                [s / r for r in self.relative],
                mode="reflect",
            )
            for c in range(image.shape[3])
            for s in sigmas
        ]
        self.n_features = len(self.smoothed) * len(VOLUME_KINDS)

    def slab(self, z0, z1):
        """Features of slices ``z0:z1``, shape ``(z1 - z0, Y, X, n_features)``.

        Computed from the smoothed volume with a halo of two slices, so that
        they equal those of the whole volume.
        """
        lo, hi = max(0, z0 - _HALO), min(self.shape[0], z1 + _HALO)
        keep = slice(z0 - lo, z0 - lo + z1 - z0)
        out = np.empty((z1 - z0,) + self.shape[1:] + (self.n_features,), np.float32)
        for k, smooth in enumerate(self.smoothed):
            part = smooth[lo:hi]
            grad = self._gradient(part)
            base = k * len(VOLUME_KINDS)
            out[..., base] = part[keep]
            out[..., base + 1] = np.sqrt(sum(g[keep] ** 2 for g in grad))
            hess = [self._gradient(g) for g in grad]
            values = symmetric_eigenvalues(
                hess[0][0][keep],
                hess[1][1][keep],
                hess[2][2][keep],
                hess[0][1][keep],
                hess[0][2][keep],
                hess[1][2][keep],
            )
            for j, v in enumerate(values):
                out[..., base + 2 + j] = v
        return out

    def _gradient(self, volume):
        if min(volume.shape) < 2:
            # np.gradient needs two samples along every axis.
            return [
                np.gradient(volume, r, axis=a)
                if volume.shape[a] > 1
                else np.zeros_like(volume)
                for a, r in enumerate(self.relative)
            ]
        return np.gradient(volume, *self.relative)

    def rows(self, flat_index):
        """Feature rows of the given flat voxel indices, one slab at a time."""
        flat_index = np.asarray(flat_index)
        out = np.empty((flat_index.size, self.n_features), dtype=np.float32)
        plane = self.shape[1] * self.shape[2]
        z = flat_index // plane
        for z0, z1 in slabs(self.shape):
            where = np.flatnonzero((z >= z0) & (z < z1))
            if where.size:
                block = self.slab(z0, z1).reshape(-1, self.n_features)
                out[where] = block[flat_index[where] - z0 * plane]
        return out
