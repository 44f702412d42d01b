# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Approximate k nearest neighbours: a random-projection forest plus NN-descent.

An exact neighbour search costs O(n^2 d) on features whose intrinsic
dimension is more than a few, which region features often are. Here a
forest of random-projection trees (as in Annoy) proposes candidates and one
round of "neighbours of neighbours" refinement (as in NN-descent) repairs
most of what the trees missed, in O(n (trees * leaf size + 5 k) d).
"""

import numpy as np
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

__all__ = ["EXACT_MAX_SAMPLES", "LEAF_SIZE", "approximate_kneighbors"]

# Above this many samples, algorithm="auto" switches from an exact search to
# the approximate one: an exact search is O(n^2 d) for features whose
# intrinsic dimension is more than a few, which region features often are.
EXACT_MAX_SAMPLES = 20_000
# Approximate search: number of random-projection trees, leaf size and rows
# handled at once in the refinement step.
_N_TREES = 4
LEAF_SIZE = 256
_FANOUT = 5
_CHUNK = 8192


def _merge_candidates(dist, ind, new_dist, new_ind, n_neighbors):
    """Keep the ``n_neighbors`` nearest distinct candidates of each row."""
    dist = np.concatenate([dist, new_dist], axis=1)
    ind = np.concatenate([ind, new_ind], axis=1)
    # Sort by index to find duplicates, push them to +inf, then select.
    order = np.argsort(ind, axis=1, kind="stable")
    ind = np.take_along_axis(ind, order, axis=1)
    dist = np.take_along_axis(dist, order, axis=1)
    dup = np.zeros(ind.shape, dtype=bool)
    dup[:, 1:] = ind[:, 1:] == ind[:, :-1]
    dist[dup] = np.inf
    best = np.argpartition(dist, n_neighbors - 1, axis=1)[:, :n_neighbors]
    dist = np.take_along_axis(dist, best, axis=1)
    ind = np.take_along_axis(ind, best, axis=1)
    order = np.argsort(dist, axis=1, kind="stable")
    return np.take_along_axis(dist, order, axis=1), np.take_along_axis(
        ind, order, axis=1
    )


def _rp_tree_candidates(X, n_neighbors, rng):
    """Exact kNN inside the leaves of one random-projection tree.

    Each node is split at the median of the projection onto the line through
    two random points of the node (as in Annoy), so leaves hold between
    ``LEAF_SIZE / 2`` and ``LEAF_SIZE`` samples.
    """
    n_samples = X.shape[0]
    sq_norms = np.einsum("ij,ij->i", X, X)
    dist = np.full((n_samples, n_neighbors), np.inf, dtype=X.dtype)
    ind = np.zeros((n_samples, n_neighbors), dtype=np.int64)
    stack = [np.arange(n_samples)]
    while stack:
        ids = stack.pop()
        size = ids.shape[0]
        if size <= LEAF_SIZE:
            # All pairwise squared distances inside the leaf.
            d2 = X[ids] @ X[ids].T
            d2 *= -2
            d2 += sq_norms[ids][:, None]
            d2 += sq_norms[ids][None, :]
            np.fill_diagonal(d2, np.inf)
            k = min(n_neighbors, size - 1)
            best = np.argpartition(d2, k - 1, axis=1)[:, :k]
            dist[ids, :k] = np.take_along_axis(d2, best, axis=1)
            ind[ids, :k] = ids[best]
            continue
        a, b = rng.choice(size, 2, replace=False)
        direction = X[ids[a]] - X[ids[b]]
        if not direction.any():
            direction = rng.standard_normal(X.shape[1]).astype(X.dtype)
        proj = X[ids] @ direction
        half = size // 2
        part = np.argpartition(proj, half)
        stack.append(ids[part[:half]])
        stack.append(ids[part[half:]])
    # Squared distances from the Gram trick can be slightly negative.
    np.maximum(dist, 0, out=dist)
    return dist, ind


def _exact_row_distances(X, rows, cand):
    """Squared distances between ``X[rows]`` and ``X[cand]`` (2-D), directly."""
    diff = X[cand] - X[rows][:, None, :]
    return np.einsum("ijk,ijk->ij", diff, diff)


def approximate_kneighbors(X, n_neighbors, random_state):
    """Approximate k nearest neighbours of every sample, itself excluded.

    A forest of random-projection trees proposes candidates and one round of
    "neighbours of neighbours" refinement (as in NN-descent) repairs most of
    what the trees missed. Time is O(n (trees * leaf size + 5 k) d).

    Returns
    -------
    dist : ndarray of shape (n_samples, n_neighbors)
        Euclidean distances, sorted in each row.
    ind : ndarray of shape (n_samples, n_neighbors)
        Indices of the neighbours.
    """
    # Many tiny matrix products: a multi-threaded BLAS only adds overhead
    # here (hundreds of times slower on a busy machine).
    with threadpool_limits(limits=1, user_api="blas"):
        return _approximate_kneighbors_single_thread(X, n_neighbors, random_state)


def _approximate_kneighbors_single_thread(X, n_neighbors, random_state):
    rng = check_random_state(random_state)
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    dist = ind = None
    for _ in range(_N_TREES):
        d, i = _rp_tree_candidates(X32, n_neighbors, rng)
        if dist is None:
            dist, ind = d, i
        else:
            dist, ind = _merge_candidates(dist, ind, d, i, n_neighbors)

    # Refinement: candidates are the current neighbours and their neighbours.
    # Distances are recomputed directly (not with the Gram trick) in float64.
    n_samples = X.shape[0]
    new_dist = np.empty((n_samples, n_neighbors))
    new_ind = np.empty((n_samples, n_neighbors), dtype=np.int64)
    for start in range(0, n_samples, _CHUNK):
        rows = np.arange(start, min(start + _CHUNK, n_samples))
        cand = np.concatenate(
            [ind[rows], ind[ind[rows, :_FANOUT]].reshape(rows.shape[0], -1)],
            axis=1,
        )
        d2 = _exact_row_distances(X32, rows, cand).astype(np.float64)
        d2[cand == rows[:, None]] = np.inf
        d, i = _merge_candidates(
            np.full((rows.shape[0], 0), np.inf),
            np.zeros((rows.shape[0], 0), dtype=np.int64),
            d2,
            cand,
            n_neighbors,
        )
        new_dist[rows], new_ind[rows] = d, i
    return np.sqrt(new_dist), new_ind
