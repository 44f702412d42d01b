# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""First-layer filters from k-means on whitened patches (Coates & Ng, 2011).

Patches are normalised by their own mean and standard deviation (as the
encoder does, see ``_network.responses``), ZCA-whitened, and clustered by
spherical k-means; each centroid ``d`` gives the filter ``W d`` (``W`` the
symmetric whitening matrix) and the bias ``-W d . m`` (``m`` the mean
normalised patch), so that the encoder's response to a window is the dot
product of its whitened version with the centroid.
"""

import numpy as np
import scipy.sparse as sp

from ._network import WINDOW_EPS

__all__ = ["kmeans_filters", "sample_windows"]

# Added to the eigenvalues of the patch covariance before whitening
# (Coates & Ng use 0.1 on normalised patches): keeps the noise directions tame.
ZCA_EPS = 0.1


def sample_windows(crops, kernel_size, n, rng):
    """``n`` random ``k x k`` windows of a stack of crops, as flat vectors.

    Parameters
    ----------
    crops : ndarray of shape (N, C, S, S)
        Training crops.
    kernel_size : int
        Side of the windows.
    n : int
        Number of windows.
    rng : numpy.random.RandomState
        Where they are taken.

    Returns
    -------
    windows : ndarray of shape (n, C * k * k), float64
    """
    k = kernel_size
    side = crops.shape[-1]
    idx = rng.randint(len(crops), size=n)
    rows = rng.randint(side - k + 1, size=n)
    cols = rng.randint(side - k + 1, size=n)
    offsets = np.arange(k)
    r = rows[:, None, None] + offsets[None, :, None]
    c = cols[:, None, None] + offsets[None, None, :]
    windows = crops[idx[:, None, None], :, r, c]  # (n, k, k, C)
    return windows.transpose(0, 3, 1, 2).reshape(n, -1).astype(np.float64)


def _normalise(windows):
    mean = windows.mean(axis=1, keepdims=True)
    var = windows.var(axis=1, keepdims=True)
    return (windows - mean) / np.sqrt(var + WINDOW_EPS)


def _spherical_kmeans(z, n_clusters, n_iter, rng):
    """Unit-norm centroids maximising the absolute dot products (Coates 2012)."""
    centres = rng.standard_normal((n_clusters, z.shape[1]))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    for _ in range(n_iter):
        scores = z @ centres.T
        best = np.abs(scores).argmax(axis=1)
        weight = scores[np.arange(len(z)), best]
        assign = sp.csr_matrix(
            (weight, (best, np.arange(len(z)))), shape=(n_clusters, len(z))
        )
        update = assign @ z
        empty = np.bincount(best, minlength=n_clusters) == 0
        if empty.any():
            update[empty] = z[rng.randint(len(z), size=int(empty.sum()))]
        centres = update + centres
        centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    return centres


def kmeans_filters(windows, n_filters, n_channels, kernel_size, rng, n_iter=10):
    """Filters and biases of the encoder from k-means on whitened windows.

    Parameters
    ----------
    windows : ndarray of shape (n, C * k * k)
        From :func:`sample_windows`.
    n_filters : int
        Number of filters.
    n_channels : int
        Channels ``C``.
    kernel_size : int
        Side ``k``.
    rng : numpy.random.RandomState
        Initial centroids.
    n_iter : int, default=10
        Iterations of spherical k-means.

    Returns
    -------
    weight : ndarray of shape (n_filters, C, k, k), float32
    bias : ndarray of shape (n_filters,), float32
    """
    x = _normalise(windows)
    mean = x.mean(axis=0)
    x = x - mean
    cov = x.T @ x / len(x)
    eigval, eigvec = np.linalg.eigh(cov)
    zca = (eigvec / np.sqrt(np.maximum(eigval, 0.0) + ZCA_EPS)) @ eigvec.T
    centres = _spherical_kmeans(x @ zca, n_filters, n_iter, rng)
    weight = centres @ zca  # zca is symmetric
    bias = -weight @ mean
    shape = (n_filters, n_channels, kernel_size, kernel_size)
    return weight.reshape(shape).astype(np.float32), bias.astype(np.float32)
