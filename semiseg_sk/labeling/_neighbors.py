# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Approximate k nearest neighbours of every sample, with pynndescent.

An exact neighbour search costs O(n^2 d) on features whose intrinsic
dimension is more than a few, which region features often are. NN-descent
(Dong, Charikar and Li 2011), started from a random-projection forest, finds
nearly all true neighbours in about O(n^1.14 d) empirically. The
implementation is pynndescent's, the one umap-learn uses; it was chosen over
hnswlib and faiss by ``benchmarks/bench_neighbors.py`` (time, memory and
recall against exact neighbours; see ``benchmarks/README.md``).

pynndescent is optional (``pip install semiseg_sk[scale]``); without it the
callers fall back to scikit-learn's exact search.
"""

import numpy as np
from joblib import effective_n_jobs
from sklearn.utils import check_random_state

__all__ = [
    "EXACT_MAX_SAMPLES",
    "MIN_APPROXIMATE_SAMPLES",
    "NN_DESCENT_PARAMS",
    "approximate_available",
    "approximate_kneighbors",
]

# Above this many samples, algorithm="auto" switches from an exact search to
# the approximate one. numba compiles pynndescent once per process (tens of
# seconds), so below this size the exact search is the faster of the two in a
# fresh process: at 100,000 regions benchmarks/bench_scale.py measured 71 s
# exact against 132 s for pynndescent with its compilation.
EXACT_MAX_SAMPLES = 100_000
# Below this many samples an exact search costs nothing: the approximate one
# is never used.
MIN_APPROXIMATE_SAMPLES = 256
# NN-descent's effort. pynndescent's defaults (a forest of 5 + n^0.25 / 2
# trees, candidates = neighbours + 1, up to log2(n) iterations until fewer
# than 0.1% of the edges change) aim at a search index. Label spreading needs
# far less: on the 16-D mixture of benchmarks/bench_scale.py (200,000
# samples) 12 trees and one NN-descent round find 53% of the true 10
# neighbours instead of 77% (with 8 candidates and 4 rounds), in half the
# CPU time, and the spread labels stay within 0.001 of those with exact
# neighbours (0.9158 against 0.9164; 0.8205 against 0.8231 without spatial
# edges). The measurements are in benchmarks/README.md.
NN_DESCENT_PARAMS = {"n_trees": 12, "max_candidates": 8, "n_iters": 1}


def approximate_available():
    """Whether the approximate search (pynndescent) can be imported."""
    try:
        import pynndescent  # noqa: F401
    except ImportError:
        return False
    return True


def _n_threads(n_jobs, random_state):
    """Threads for NN-descent: one when ``random_state`` is set.

    pynndescent's result is reproducible for a fixed seed *and* a fixed
    number of threads, but changes with the number of threads (the order in
    which threads apply their graph updates). With a seed, one thread keeps
    the result independent of ``n_jobs``, as umap-learn does; without one the
    result is not reproducible anyway and ``n_jobs`` threads are used.
    """
    if random_state is not None:
        return 1
    import numba

    return max(1, min(effective_n_jobs(n_jobs), numba.config.NUMBA_NUM_THREADS))


def approximate_kneighbors(X, n_neighbors, *, random_state=None, n_jobs=None):
    """Approximate k nearest neighbours of every sample, itself excluded.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The samples; searched in float32.
    n_neighbors : int
        Neighbours per sample, at most ``n_samples - 1``.
    random_state : int, RandomState instance or None
        Seed of the random-projection forest and of NN-descent.
    n_jobs : int or None
        Threads, used only when ``random_state`` is None (see
        :func:`_n_threads`).

    Returns
    -------
    dist : ndarray of shape (n_samples, n_neighbors), float32
        Euclidean distances, sorted in each row.
    ind : ndarray of shape (n_samples, n_neighbors), int32
        Indices of the neighbours; ``-1`` where pynndescent found too few
        (the caller repairs those rows with an exact search).
    """
    from pynndescent import NNDescent

    X32 = np.ascontiguousarray(X, dtype=np.float32)
    n_samples = X32.shape[0]
    index = NNDescent(
        X32,
        n_neighbors=n_neighbors + 1,
        random_state=check_random_state(random_state),
        n_jobs=_n_threads(n_jobs, random_state),
        low_memory=True,
        # Only the graph is needed: no search index is prepared.
        compressed=True,
        **NN_DESCENT_PARAMS,
    )
    ind, dist = index.neighbor_graph
    del index, X32
    # Drop each sample from its own row; where it is missing (duplicates at
    # distance 0 may displace it), drop the farthest candidate instead.
    is_self = ind == np.arange(n_samples, dtype=ind.dtype)[:, None]
    is_self[~is_self.any(axis=1), -1] = True
    keep = ~is_self
    del is_self
    ind = ind[keep].reshape(n_samples, n_neighbors).astype(np.int32, copy=False)
    dist = dist[keep].reshape(n_samples, n_neighbors).astype(np.float32, copy=False)
    return dist, ind
