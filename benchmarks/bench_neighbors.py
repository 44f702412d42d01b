# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""k nearest neighbours of every sample: approximate libraries side by side.

What ``SparseLabelSpreading`` needs from a neighbour search is the k = 10
nearest neighbours of every training sample (an all-points kNN graph), so the
time measured is build + query of all samples. Candidates:

- ``handwritten``: the random-projection forest + one NN-descent round that
  semiseg_sk shipped until issue 18 (a frozen copy at the end of the
  helpers below);
- ``pynndescent``: ``NNDescent(...).neighbor_graph`` (what umap-learn uses);
- ``hnswlib``: an HNSW index (M=16, ef_construction=100), queried with ef=50;
- ``faiss``: ``IndexHNSWFlat`` (M=32, efConstruction=40), queried with
  efSearch=64.

Data, float32, deterministic per seed:

- ``clustered``: 32-D region-like features, 100 clusters, each spread in its
  own random 8-D subspace plus small isotropic noise (low intrinsic dimension);
- ``hard``: 64-D, 10 broad isotropic clusters (intrinsic dimension ~64).

Every measurement runs in a fresh subprocess (same data, same seed) that first
warms the library up on 2,000 samples (numba compilation, thread pools; the
"warm-up s" column), then times the search. Recall@10 is measured against
exact neighbours (float64 brute force) of 1,000 random samples. Peak MB is the
peak RSS during the search (``VmHWM``, reset after the warm-up; data
included); "over data" subtracts the RSS just before the search. Run::

    python benchmarks/bench_neighbors.py --sizes 100000 1000000 --threads 2
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

N_NEIGHBORS = 10
N_QUERIES = 1000
METHODS = ["handwritten", "pynndescent", "hnswlib", "faiss"]
DATASETS = {"clustered": 32, "hard": 64}


def make_data(kind, n_samples, seed=0):
    """Float32 features, generated in chunks so that the peak stays near n d 4."""
    rng = np.random.RandomState(seed)
    n_features = DATASETS[kind]
    X = np.empty((n_samples, n_features), dtype=np.float32)
    if kind == "clustered":
        n_clusters, sub_dim = 100, 8
        centers = rng.normal(scale=3.0, size=(n_clusters, n_features))
        bases = rng.normal(size=(n_clusters, sub_dim, n_features)) / np.sqrt(sub_dim)
    else:
        n_clusters = 10
        centers = rng.normal(scale=1.0, size=(n_clusters, n_features))
    chunk = 10_000
    for start in range(0, n_samples, chunk):
        stop = min(start + chunk, n_samples)
        c = rng.randint(n_clusters, size=stop - start)
        if kind == "clustered":
            z = rng.normal(size=(stop - start, sub_dim))
            block = centers[c] + np.einsum("ij,ijk->ik", z, bases[c])
            block += 0.05 * rng.normal(size=block.shape)
        else:
            block = centers[c] + rng.normal(size=(stop - start, n_features))
        X[start:stop] = block
    return X


# --- The hand-written search semiseg_sk used before issue 18 (a frozen copy of
# semiseg_sk/labeling/_neighbors.py at commit 9aacdbf), for comparison. ---

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


def exact_neighbors(X, queries, k):
    """Exact k nearest neighbours of ``X[queries]`` (self excluded), float64."""
    Q = X[queries].astype(np.float64)
    q_sq = np.einsum("ij,ij->i", Q, Q)
    best_d = np.full((len(queries), k), np.inf)
    best_i = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, X.shape[0], 8192):
        B = X[start : start + 8192].astype(np.float64)
        d2 = q_sq[:, None] - 2 * Q @ B.T + np.einsum("ij,ij->i", B, B)[None, :]
        ids = np.arange(start, start + B.shape[0])
        d2[queries[:, None] == ids[None, :]] = np.inf
        d = np.concatenate([best_d, d2], axis=1)
        i = np.concatenate([best_i, np.broadcast_to(ids, d2.shape)], axis=1)
        top = np.argpartition(d, k - 1, axis=1)[:, :k]
        best_d = np.take_along_axis(d, top, axis=1)
        best_i = np.take_along_axis(i, top, axis=1)
    return best_i


def drop_self(ind, k):
    """Rows of k + 1 neighbours -> k neighbours without the sample itself."""
    n = ind.shape[0]
    is_self = ind == np.arange(n)[:, None]
    # Where the sample is missing from its own row, drop the last column.
    is_self[~is_self.any(axis=1), -1] = True
    return ind[~is_self].reshape(n, k)


def search(method, X, k, threads, seed):
    """All-points kNN graph (n, k) of ``X`` without self-matches."""
    if method == "handwritten":
        return approximate_kneighbors(X, k, seed)[1]
    if method == "pynndescent":
        from pynndescent import NNDescent

        index = NNDescent(
            X, n_neighbors=k + 1, random_state=seed, n_jobs=threads, compressed=True
        )
        return drop_self(index.neighbor_graph[0], k)
    if method == "hnswlib":
        import hnswlib

        index = hnswlib.Index(space="l2", dim=X.shape[1])
        index.init_index(
            max_elements=X.shape[0], ef_construction=100, M=16, random_seed=seed
        )
        index.add_items(X, num_threads=threads)
        index.set_ef(50)
        return drop_self(index.knn_query(X, k=k + 1, num_threads=threads)[0], k)
    if method == "faiss":
        import faiss

        faiss.omp_set_num_threads(threads)
        index = faiss.IndexHNSWFlat(X.shape[1], 32)
        index.hnsw.efConstruction = 40
        index.add(X)
        index.hnsw.efSearch = 64
        return drop_self(index.search(X, k + 1)[1], k)
    raise ValueError(method)


def rss_mb(field="VmRSS"):
    """Current (``VmRSS``) or peak (``VmHWM``) resident memory in MB (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss():
    """Reset ``VmHWM`` so that warm-up and data generation do not count."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:  # not Linux, or not allowed: the peak includes them
        pass


def run_one(method, kind, n_samples, threads, seed):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    X = make_data(kind, n_samples, seed)
    rng = np.random.RandomState(seed + 1)
    queries = rng.choice(n_samples, size=min(N_QUERIES, n_samples), replace=False)
    start = time.perf_counter()
    search(method, make_data(kind, 2000, seed + 2), N_NEIGHBORS, threads, seed)
    warmup_s = time.perf_counter() - start
    reset_peak_rss()
    before = rss_mb()
    start = time.perf_counter()
    ind = search(method, X, N_NEIGHBORS, threads, seed)
    search_s = time.perf_counter() - start
    peak = rss_mb("VmHWM")
    truth = exact_neighbors(X, queries, N_NEIGHBORS)
    hits = [np.intersect1d(ind[q], t).size for q, t in zip(queries, truth)]
    return {
        "search_s": search_s,
        "warmup_s": warmup_s,
        "peak_mb": peak,
        "over_data_mb": peak - before,
        "recall": float(np.mean(hits)) / N_NEIGHBORS,
    }


def version(method):
    if method == "handwritten":
        return "semiseg_sk 2026-11"
    module = {"faiss": "faiss"}.get(method, method)
    try:
        mod = __import__(module)
    except ImportError:
        return "not installed"
    if method == "hnswlib":
        from importlib.metadata import version as v

        return v("hnswlib")
    return getattr(mod, "__version__", "?")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--methods", nargs="+", default=METHODS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        method, kind, n, threads = args.worker
        print(json.dumps(run_one(method, kind, int(n), int(threads), args.seed)))
        return

    print(
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; Python "
        f"{platform.python_version()}, numpy {np.__version__}; "
        + ", ".join(f"{m} {version(m)}" for m in args.methods)
        + f"; {args.threads} threads, k={N_NEIGHBORS}, recall@{N_NEIGHBORS} on "
        f"{N_QUERIES} random samples, seed {args.seed}.\n"
    )
    print(
        "| data | n | method | search s | warm-up s | peak MB | over data MB "
        "| recall@10 |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for kind in args.datasets:
        for n in args.sizes:
            for method in args.methods:
                cmd = [
                    sys.executable,
                    os.path.abspath(__file__),
                    "--seed",
                    str(args.seed),
                    "--worker",
                    method,
                    kind,
                    str(n),
                    str(args.threads),
                ]
                try:
                    out = subprocess.run(
                        cmd,
                        capture_output=True,
                        text=True,
                        timeout=args.timeout,
                        check=True,
                    )
                    r = json.loads(out.stdout.strip().splitlines()[-1])
                except subprocess.TimeoutExpired:
                    print(
                        f"| {kind} | {n:,} | {method} | timeout "
                        f"(> {args.timeout:.0f} s) | | | | |",
                        flush=True,
                    )
                    continue
                except subprocess.CalledProcessError as exc:
                    tail = (exc.stderr.strip().splitlines() or ["?"])[-1][:60]
                    print(
                        f"| {kind} | {n:,} | {method} | failed: {tail} | | | | |",
                        flush=True,
                    )
                    continue
                print(
                    f"| {kind} | {n:,} | {method} | {r['search_s']:.1f} "
                    f"| {r['warmup_s']:.1f} | {r['peak_mb']:.0f} "
                    f"| {r['over_data_mb']:.0f} | {r['recall']:.3f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
