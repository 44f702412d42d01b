# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Fit time, peak memory and accuracy of label spreading as n grows.

Synthetic region features: a 16-D Gaussian mixture with 5 classes, 1% of the
samples labeled, and a sparse spatial adjacency that mimics superpixels (each
region touches ~6 others of its image, mostly of the same class, weighted by a
random border length). Compared:

- ``SparseLabelSpreading`` with and without the spatial adjacency, and with
  exact neighbours (``semiseg_sk (exact)``, ``algorithm="brute"``) to check
  what the approximate search costs in accuracy;
- ``sklearn LabelSpreading(kernel="knn", n_neighbors=10)``, skipped once its
  time, extrapolated quadratically from the previous size, exceeds a cap;
- ``sklearn LabelSpreading(kernel="rbf")``, skipped once its dense n x n
  matrices (about 3 n^2 8 bytes) would exceed a memory cap.

Every measurement runs in a fresh subprocess and reports its peak RSS
(``ru_maxrss``, data included) and, besides the fit's wall time, its CPU time
(all threads of the process; the one to compare on a shared, loaded
machine). The fit time of a fresh process includes numba's compilation of
pynndescent (tens of seconds, once per process); ``--warm-up`` first fits
5,000 samples in the same process, outside the timing, to measure the fit
alone. Run::

    python benchmarks/bench_scale.py --sizes 10000 30000 100000 300000 1000000
    python benchmarks/bench_scale.py --quick

``--nn-params '{"max_candidates": 8, "n_iters": 4}'`` replaces the NN-descent
settings of ``semiseg_sk.labeling._neighbors.NN_DESCENT_PARAMS`` to compare
others.

The asv-style class at the end times one mid-sized fit for regression
tracking.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

N_FEATURES = 16
N_CLASSES = 5
LABELED_FRACTION = 0.01
REGIONS_PER_IMAGE = 500


def make_data(n_samples, seed=0):
    """Region features, partial labels and a block-diagonal adjacency."""
    from scipy import sparse

    rng = np.random.RandomState(seed)
    centers = rng.normal(scale=0.6, size=(N_CLASSES, N_FEATURES))
    y = rng.randint(N_CLASSES, size=n_samples)
    # Regions of one image are stored together, sorted by class, so that
    # the lattice below joins mostly regions of the same class (as touching
    # superpixels mostly are).
    for start in range(0, n_samples, REGIONS_PER_IMAGE):
        y[start : start + REGIONS_PER_IMAGE].sort()
    X = centers[y] + rng.normal(size=(n_samples, N_FEATURES))
    y_partial = np.full(n_samples, -1)
    labeled = rng.rand(n_samples) < LABELED_FRACTION
    labeled[rng.randint(n_samples)] = True
    y_partial[labeled] = y[labeled]

    # Ring lattice inside each image: region i touches i+1, i+2, i+3 (and
    # back), so about 6 neighbours; weights are border lengths.
    rows, cols = [], []
    idx = np.arange(n_samples)
    image = idx // REGIONS_PER_IMAGE
    for offset in (1, 2, 3):
        j = idx + offset
        ok = (j < n_samples) & (image == j // REGIONS_PER_IMAGE)
        rows.append(idx[ok])
        cols.append(j[ok])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    weights = rng.uniform(1, 10, size=rows.size)
    A = sparse.coo_matrix((weights, (rows, cols)), shape=(n_samples,) * 2)
    A = (A + A.T).tocsr()
    return X, y, y_partial, A


def run_one(method, n_samples, seed, warm_up=False, nn_params=None):
    """Fit one method in this process; return a dict of measurements."""
    if nn_params:
        # Other NN-descent settings than the shipped ones, to compare them.
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
        from semiseg_sk.labeling import _neighbors

        _neighbors.NN_DESCENT_PARAMS = json.loads(nn_params)
    if warm_up and method.startswith("semiseg_sk"):
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
        from semiseg_sk import SparseLabelSpreading

        X, _, y_partial, A = make_data(5000, seed + 1)
        SparseLabelSpreading(algorithm="approximate", random_state=seed).fit(
            X, y_partial, adjacency=A
        )
    X, y, y_partial, A = make_data(n_samples, seed)
    if method.startswith("semiseg_sk"):
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
        from semiseg_sk import SparseLabelSpreading

        algorithm = "brute" if method == "semiseg_sk (exact)" else "auto"
        model = SparseLabelSpreading(n_jobs=2, random_state=seed, algorithm=algorithm)
        no_adjacency = method == "semiseg_sk (no adjacency)"
        fit_kwargs = {} if no_adjacency else {"adjacency": A}
    elif method == "sklearn knn":
        from sklearn.semi_supervised import LabelSpreading

        model = LabelSpreading(kernel="knn", n_neighbors=10, n_jobs=2)
        fit_kwargs = {}
    elif method == "sklearn rbf":
        from sklearn.semi_supervised import LabelSpreading

        # sklearn's gamma=20 gives exp(-20 d^2) = 0 for 16-D unit-variance
        # features; use the "scale" heuristic of SVC instead.
        gamma = 1.0 / (N_FEATURES * X.var())
        model = LabelSpreading(kernel="rbf", gamma=gamma)
        fit_kwargs = {}
    else:
        raise ValueError(method)
    import warnings

    graphs = []
    if method.startswith("semiseg_sk"):
        # Keep the approximate neighbours of the fit to measure their recall.
        from semiseg_sk.labeling import _label_spreading

        search = _label_spreading.approximate_kneighbors

        def recording_search(*args, **kwargs):
            graphs.append(search(*args, **kwargs))
            return graphs[-1]

        _label_spreading.approximate_kneighbors = recording_search
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start, start_cpu = time.perf_counter(), time.process_time()
        model.fit(X, y_partial, **fit_kwargs)
        fit_s = time.perf_counter() - start
        cpu_s = time.process_time() - start_cpu
    unlabeled = y_partial == -1
    accuracy = float(np.mean(model.transduction_[unlabeled] == y[unlabeled]))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    recall = _recall(X, graphs[-1][1], seed) if graphs else float("nan")
    return {
        "fit_s": fit_s,
        "cpu_s": cpu_s,
        "peak_mb": peak_mb,
        "accuracy": accuracy,
        "recall": recall,
    }


def _recall(X, ind, seed, n_queries=1000):
    """Recall@k of the neighbours ``ind`` against exact ones, on a sample."""
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.RandomState(seed)
    queries = rng.choice(X.shape[0], min(n_queries, X.shape[0]), replace=False)
    k = ind.shape[1]
    exact = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(X)
    true = exact.kneighbors(X[queries], return_distance=False)
    found = [
        np.intersect1d(row[row != q], approx).size
        for q, row, approx in zip(queries, true, ind[queries])
    ]
    return float(np.sum(found) / (k * queries.size))


def measure(method, n_samples, repeats, timeout, warm_up=False, nn_params=None):
    """Median fit time, largest peak RSS, median accuracy over subprocesses."""
    results = []
    for seed in range(repeats):
        cmd = [sys.executable, __file__, "--worker", method, str(n_samples)]
        cmd.append(str(seed))
        if warm_up:
            cmd.append("--warm-up")
        if nn_params:
            cmd += ["--nn-params", nn_params]
        try:
            out = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, check=True
            )
        except subprocess.TimeoutExpired:
            return {"skip": f"timeout (> {timeout:.0f} s)"}
        except subprocess.CalledProcessError as exc:
            tail = exc.stderr.strip().splitlines()[-1:] or ["?"]
            return {"skip": f"failed: {tail[0][:60]}"}
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {
        "fit_s": statistics.median(r["fit_s"] for r in results),
        "cpu_s": statistics.median(r["cpu_s"] for r in results),
        "peak_mb": max(r["peak_mb"] for r in results),
        "accuracy": statistics.median(r["accuracy"] for r in results),
        "recall": statistics.median(r["recall"] for r in results),
    }


def machine_info():
    import scipy
    import sklearn

    try:
        import psutil

        ram = f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM"
    except ImportError:  # pragma: no cover
        ram = "RAM unknown"
    return (
        f"{platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, {ram}, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; Python "
        f"{platform.python_version()}, numpy {np.__version__}, scipy "
        f"{scipy.__version__}, scikit-learn {sklearn.__version__}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[10_000, 30_000, 100_000, 300_000, 1_000_000],
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--quick", action="store_true", help="sizes 2000 and 5000, one repeat"
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        default=[
            "semiseg_sk",
            "semiseg_sk (no adjacency)",
            "sklearn knn",
            "sklearn rbf",
        ],
    )
    parser.add_argument(
        "--time-cap",
        type=float,
        default=300,
        help="skip sklearn knn once its extrapolated fit time exceeds this (s)",
    )
    parser.add_argument(
        "--mem-cap-gb",
        type=float,
        default=16,
        help="skip sklearn rbf once 3 n^2 8 bytes exceeds this (GB)",
    )
    parser.add_argument(
        "--warm-up",
        action="store_true",
        help="fit 5,000 samples first in each process, outside the timing",
    )
    parser.add_argument(
        "--nn-params",
        help="NN-descent settings instead of NN_DESCENT_PARAMS, as JSON, e.g. "
        '\'{"max_candidates": 8, "n_iters": 4}\'',
    )
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        method, n_samples, seed = args.worker
        result = run_one(
            method, int(n_samples), int(seed), args.warm_up, args.nn_params
        )
        print(json.dumps(result))
        return
    if args.quick:
        args.sizes, args.repeats = [2000, 5000], 1

    print(f"Machine: {machine_info()}\n")
    print(
        f"Data: {N_FEATURES}-D mixture of {N_CLASSES} Gaussians, "
        f"{LABELED_FRACTION:.0%} labeled, ~6 spatial neighbours per region; "
        f"{'warmed up; ' if args.warm_up else 'fresh processes; '}"
        f"median of {args.repeats} repeat(s); peak = max RSS of the fitting "
        "process (data included); accuracy on unlabeled samples.\n"
    )
    print(
        "| n | method | fit s | CPU s | peak MB | accuracy | recall@10 "
        "| time / sklearn knn | peak / sklearn knn |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    knn_last = None  # (n, fit_s) of the last sklearn knn run
    for n in args.sizes:
        rows = {}
        for method in args.methods:
            if method == "sklearn rbf" and 3 * n**2 * 8 / 1e9 > args.mem_cap_gb:
                rows[method] = {"skip": f"OOM (est. {3 * n**2 * 8 / 1e9:.0f} GB)"}
                continue
            if method == "sklearn knn" and knn_last is not None:
                n0, t0 = knn_last
                estimate = t0 * (n / n0) ** 2
                if estimate > args.time_cap:
                    rows[method] = {"skip": f"skipped (est. {estimate:.0f} s)"}
                    continue
            timeout = 3 * args.time_cap if method == "sklearn knn" else 1800
            rows[method] = measure(
                method, n, args.repeats, timeout, args.warm_up, args.nn_params
            )
            if method == "sklearn knn" and "fit_s" in rows[method]:
                knn_last = (n, rows[method]["fit_s"])
        ref = rows.get("sklearn knn", {})
        for method, r in rows.items():
            if "skip" in r:
                print(f"| {n:,} | {method} | {r['skip']} | | | | | | |", flush=True)
                continue
            t_ratio = m_ratio = ""
            recall = "" if np.isnan(r["recall"]) else f"{r['recall']:.3f}"
            if "fit_s" in ref:
                t_ratio = f"{r['fit_s'] / ref['fit_s']:.2f}"
                m_ratio = f"{r['peak_mb'] / ref['peak_mb']:.2f}"
            print(
                f"| {n:,} | {method} | {r['fit_s']:.2f} | {r['cpu_s']:.2f} "
                f"| {r['peak_mb']:.0f} "
                f"| {r['accuracy']:.4f} | {recall} | {t_ratio} | {m_ratio} |",
                flush=True,
            )


class TimeSparseLabelSpreading:
    """asv-style benchmark: one fit on 30,000 synthetic regions."""

    params = [30_000]
    param_names = ["n_samples"]

    def setup(self, n_samples):
        from semiseg_sk import SparseLabelSpreading

        self.X, _, self.y, self.A = make_data(n_samples)
        self.model = SparseLabelSpreading(random_state=0)

    def time_fit(self, n_samples):
        self.model.fit(self.X, self.y, adjacency=self.A)

    def peakmem_fit(self, n_samples):
        self.model.fit(self.X, self.y, adjacency=self.A)


if __name__ == "__main__":
    main()
