# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
import tracemalloc
import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.datasets import make_blobs, make_moons
from sklearn.exceptions import ConvergenceWarning

from semiseg_sk import SparseLabelSpreading


def _few_labels(y, per_class, seed):
    rng = np.random.RandomState(seed)
    y_partial = np.full_like(y, -1)
    for c in np.unique(y):
        idx = rng.choice(np.flatnonzero(y == c), per_class, replace=False)
        y_partial[idx] = c
    return y_partial


def _chain_adjacency(groups):
    """Spatial edges along a chain inside each group of consecutive samples."""
    rows, cols = [], []
    start = 0
    for size in groups:
        i = np.arange(start, start + size - 1)
        rows.append(i)
        cols.append(i + 1)
        start += size
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    n = start
    A = sparse.coo_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n))
    return (A + A.T).tocsr()


def _grid_images(n_images, height, width, seed):
    """Regions on a grid per image, left half class 0 and right half class 1.

    Returns the classes and the block-diagonal 4-neighbour adjacency, with
    edges across the class border too.
    """
    idx = np.arange(height * width).reshape(height, width)
    rows = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    cols = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    one = sparse.coo_matrix(
        (np.ones(rows.size), (rows, cols)), shape=(idx.size, idx.size)
    )
    one = one + one.T
    A = sparse.block_diag([one] * n_images, format="csr")
    y = np.tile((np.arange(width) >= width // 2).astype(int), height)
    return np.tile(y, n_images), A


@pytest.mark.parametrize("per_class", [1, 2])
def test_two_moons_recovered(global_random_seed, per_class):
    X, y = make_moons(400, noise=0.05, random_state=global_random_seed)
    y_partial = _few_labels(y, per_class, global_random_seed)
    model = SparseLabelSpreading().fit(X, y_partial)
    unlabeled = y_partial == -1
    assert np.mean(model.transduction_[unlabeled] == y[unlabeled]) > 0.95
    assert set(model.classes_) == {0, 1}


def test_two_clusters_and_inductive_predict(global_random_seed):
    X, y = make_blobs(300, centers=[[-5, 0], [5, 0]], random_state=global_random_seed)
    y_partial = _few_labels(y, 2, global_random_seed)
    model = SparseLabelSpreading().fit(X, y_partial)
    np.testing.assert_array_equal(model.transduction_, y)
    assert model.n_features_in_ == 2
    assert model.n_iter_ >= 1
    np.testing.assert_array_equal(model.predict([[-5, 0.5], [5, -0.5]]), [0, 1])
    # A query far from everything still gets a proper distribution.
    proba = model.predict_proba([[1e6, 1e6]])
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1)


def test_distributions_are_normalised(global_random_seed):
    X, y = make_blobs(500, centers=4, cluster_std=3.0, random_state=global_random_seed)
    y_partial = _few_labels(y, 3, global_random_seed)
    for class_balance in [False, True]:
        model = SparseLabelSpreading(class_balance=class_balance).fit(X, y_partial)
        dist = model.label_distributions_
        assert dist.shape == (500, 4)
        assert np.all(dist >= 0)
        np.testing.assert_allclose(dist.sum(axis=1), 1)
        np.testing.assert_array_equal(
            model.transduction_, model.classes_[dist.argmax(axis=1)]
        )
        np.testing.assert_allclose(model.predict_proba(X[:50]).sum(axis=1), 1)


def test_string_and_shifted_labels():
    X, y = make_blobs(200, centers=[[-5, 0], [5, 0]], random_state=0)
    y_partial = _few_labels(y, 2, 0)
    y_shifted = np.where(y_partial == -1, -1, y_partial + 3)
    model = SparseLabelSpreading().fit(X, y_shifted)
    np.testing.assert_array_equal(model.classes_, [3, 4])
    np.testing.assert_array_equal(model.transduction_, y + 3)


def test_single_class():
    X, _ = make_blobs(50, random_state=0)
    y = np.full(50, -1)
    y[0] = 7
    model = SparseLabelSpreading().fit(X, y)
    np.testing.assert_array_equal(model.transduction_, 7)
    np.testing.assert_array_equal(model.predict(X[:3]), 7)


def test_adjacency_resolves_ambiguous_features(global_random_seed):
    # The two classes overlap a lot in feature space; the spatial edges
    # between touching regions carry the rest of the information.
    y, A = _grid_images(4, 10, 20, global_random_seed)
    rng = np.random.RandomState(global_random_seed)
    X = rng.normal(size=(y.size, 2)) + 1.0 * y[:, None]
    y_partial = _few_labels(y, 8, global_random_seed)
    unlabeled = y_partial == -1

    def accuracy(model):
        return np.mean(model.transduction_[unlabeled] == y[unlabeled])

    without = SparseLabelSpreading().fit(X, y_partial)
    acc_without = accuracy(without)
    acc_half = accuracy(SparseLabelSpreading().fit(X, y_partial, adjacency=A))
    acc_most = accuracy(
        SparseLabelSpreading(spatial_weight=0.9).fit(X, y_partial, adjacency=A)
    )
    assert acc_without < 0.8
    assert acc_half > acc_without + 0.05
    assert acc_most > 0.85

    # spatial_weight=0 ignores the adjacency.
    ignored = SparseLabelSpreading(spatial_weight=0).fit(X, y_partial, adjacency=A)
    np.testing.assert_allclose(
        ignored.label_distributions_, without.label_distributions_
    )


def test_adjacency_scale_and_format_do_not_matter():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 3))
    y = _few_labels(np.repeat([0, 1], 60), 2, 0)
    A = _chain_adjacency([60, 60])
    ref = SparseLabelSpreading().fit(X, y, adjacency=A)
    for other in [1000.0 * A, A.toarray(), sparse.coo_matrix(A), sparse.triu(A)]:
        model = SparseLabelSpreading().fit(X, y, adjacency=other)
        np.testing.assert_allclose(
            model.label_distributions_, ref.label_distributions_, rtol=1e-10
        )


def test_isolated_nodes():
    # spatial_weight=1: the graph is the adjacency only, where nodes 4 and 5
    # have no edges; 4 is labeled and keeps its label, 5 gets uniform scores.
    X = np.arange(12, dtype=float).reshape(6, 2)
    y = np.array([0, -1, -1, 1, 1, -1])
    A = sparse.csr_matrix((np.ones(4), ([0, 1, 1, 2], [1, 0, 2, 1])), shape=(6, 6))
    A = A + sparse.csr_matrix(([1.0, 1.0], ([2, 3], [3, 2])), shape=(6, 6))
    model = SparseLabelSpreading(spatial_weight=1.0).fit(X, y, adjacency=A)
    np.testing.assert_allclose(model.label_distributions_.sum(axis=1), 1)
    assert model.transduction_[4] == 1
    np.testing.assert_allclose(model.label_distributions_[5], [0.5, 0.5])


@pytest.mark.parametrize("algorithm", ["auto", "approximate", "kd_tree", "brute"])
def test_deterministic(algorithm):
    X, y = make_blobs(2000, centers=3, n_features=5, random_state=0)
    y_partial = _few_labels(y, 5, 0)
    params = dict(algorithm=algorithm, random_state=0)
    a = SparseLabelSpreading(**params).fit(X, y_partial)
    b = SparseLabelSpreading(**params).fit(X, y_partial)
    np.testing.assert_array_equal(a.label_distributions_, b.label_distributions_)
    np.testing.assert_array_equal(a.predict_proba(X[:20]), b.predict_proba(X[:20]))


def test_approximate_graph_agrees_with_exact():
    X, y = make_blobs(3000, centers=5, n_features=8, cluster_std=2.5, random_state=0)
    y_partial = _few_labels(y, 10, 0)
    exact = SparseLabelSpreading(algorithm="brute").fit(X, y_partial)
    approx = SparseLabelSpreading(algorithm="approximate", random_state=0).fit(
        X, y_partial
    )
    assert np.mean(exact.transduction_ == approx.transduction_) > 0.97
    np.testing.assert_allclose(approx.bandwidths_, exact.bandwidths_, rtol=0.3)


@pytest.mark.slow
def test_scales_linearly_without_densifying():
    # 200k samples: a dense n x n matrix would need 320 GB. Two features, so
    # that the exact kd-tree search is fast; the approximate search has the
    # same O(n k) graph and is timed at scale in benchmarks/bench_scale.py.
    rng = np.random.RandomState(0)
    n = 200_000
    X = rng.normal(size=(n, 2))
    y = np.full(n, -1)
    y[:2000] = (X[:2000, 0] > 0).astype(int)
    tracemalloc.start()
    model = SparseLabelSpreading(max_iter=30, algorithm="kd_tree", n_jobs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 600e6, f"peak traced memory {peak / 1e6:.0f} MB"
    assert model.label_distributions_.shape == (n, 2)
    # The label is the sign of the first feature: mostly recovered.
    assert np.mean(model.transduction_ == (X[:, 0] > 0)) > 0.85


def test_inputs_not_modified():
    X, y = make_blobs(100, centers=2, random_state=0)
    y = _few_labels(y, 2, 0)
    A = _chain_adjacency([50, 50]) * 3.0
    A.setdiag(1.0)  # a self-loop, dropped internally
    X_copy, y_copy, A_copy = X.copy(), y.copy(), A.copy()
    model = SparseLabelSpreading().fit(X, y, adjacency=A)
    model.predict_proba(X)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)
    assert (A != A_copy).nnz == 0


def test_no_labeled_sample():
    X, _ = make_blobs(20, random_state=0)
    with pytest.raises(ValueError, match="no labeled sample"):
        SparseLabelSpreading().fit(X, np.full(20, -1))


@pytest.mark.parametrize(
    "adjacency, err, match",
    [
        (sparse.eye(19, format="csr"), ValueError, r"shape \(n_samples, n_samples\)"),
        (np.ones(20), ValueError, "2-D"),
        (-sparse.eye(20, k=1, format="csr"), ValueError, "nonnegative"),
        (sparse.csr_matrix(np.full((20, 20), np.nan)), ValueError, "NaN"),
        (np.full((20, 20), "a"), TypeError, "numeric"),
    ],
)
def test_bad_adjacency(adjacency, err, match):
    X, y = make_blobs(20, centers=2, random_state=0)
    with pytest.raises(err, match=match):
        SparseLabelSpreading().fit(X, y, adjacency=adjacency)


def test_convergence_warning():
    X, y = make_moons(200, noise=0.05, random_state=0)
    y = _few_labels(y, 1, 0)
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        SparseLabelSpreading(max_iter=2).fit(X, y)


@pytest.mark.parametrize("algorithm", ["kd_tree", "ball_tree", "brute"])
def test_neighbour_search_n_jobs_is_capped_by_the_queries(algorithm, parallel_calls):
    # A tree search splits its queries into n_jobs chunks: n_jobs=1000 must
    # not start a thousand threads for 60 training samples or 3 new ones.
    X, y = make_blobs(60, centers=2, random_state=0)
    y[2:] = -1
    model = SparseLabelSpreading(n_neighbors=5, algorithm=algorithm, n_jobs=1000)
    model.fit(X, y).predict(X[:3])
    assert not [(n, tasks) for n, tasks in parallel_calls if n and n > tasks]
    assert model.nn_.n_jobs == 1000  # the fitted index keeps the parameter


@pytest.mark.parametrize("algorithm", ["kd_tree", "brute"])
def test_very_distant_samples_give_finite_probabilities(algorithm):
    # Distances of 1e200 overflow when squared: the weights used to be NaN.
    X, y = make_blobs(60, centers=2, random_state=0)
    y[2:] = -1
    model = SparseLabelSpreading(n_neighbors=5, algorithm=algorithm).fit(X, y)
    queries = np.array([[1e200, 1e200], [-1e300, 0.0], X[0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proba = model.predict_proba(queries)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # The ordinary query keeps its weighted average.
    np.testing.assert_array_equal(proba[2], model.predict_proba(X[:1])[0])
    # A far query takes the distribution of one training sample.
    assert any(np.allclose(proba[0], d) for d in model.label_distributions_)


def test_a_training_sample_too_far_to_measure_is_isolated():
    X, y = make_blobs(60, centers=2, random_state=0)
    y[2:] = -1
    X[10] = [1e200, 1e200]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = SparseLabelSpreading(n_neighbors=5).fit(X, y)
    assert np.isfinite(model.label_distributions_).all()
    # No edge reaches it: an unlabeled isolated node is uniform.
    np.testing.assert_allclose(model.label_distributions_[10], 0.5)


def _clustered(n_samples=2000, seed=0):
    X, _ = make_blobs(n_samples, centers=10, n_features=16, random_state=seed)
    return X


def _exact_neighbors(X, k):
    from sklearn.neighbors import NearestNeighbors

    return NearestNeighbors(n_neighbors=k).fit(X).kneighbors()


def test_approximate_search_recall_against_exact():
    pytest.importorskip("pynndescent")
    from semiseg_sk.labeling._neighbors import approximate_kneighbors

    X = _clustered()
    dist, ind = approximate_kneighbors(X, 10, random_state=0)
    exact_dist, exact_ind = _exact_neighbors(X, 10)
    assert ind.shape == exact_ind.shape == (2000, 10)
    assert dist.dtype == np.float32 and ind.dtype == np.int32
    assert not (ind == np.arange(2000)[:, None]).any()  # itself excluded
    assert (np.diff(dist, axis=1) >= 0).all()  # sorted
    recall = np.mean([np.intersect1d(a, b).size for a, b in zip(ind, exact_ind)])
    assert recall / 10 > 0.98
    # The bandwidths (k-th distances): nearly all exact, none far off.
    assert np.mean(np.isclose(dist[:, -1], exact_dist[:, -1], rtol=0.01)) > 0.98
    np.testing.assert_allclose(dist[:, -1], exact_dist[:, -1], rtol=0.1)


def test_approximate_search_is_deterministic_and_independent_of_n_jobs():
    pytest.importorskip("pynndescent")
    from semiseg_sk.labeling._neighbors import approximate_kneighbors

    X = _clustered()
    a = approximate_kneighbors(X, 10, random_state=0, n_jobs=1)
    b = approximate_kneighbors(X, 10, random_state=0, n_jobs=2)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    c = approximate_kneighbors(X, 10, random_state=np.random.RandomState(0))
    np.testing.assert_array_equal(a[1], c[1])


def _hide_pynndescent(monkeypatch):
    import sys

    # A None entry makes `import pynndescent` raise ImportError.
    monkeypatch.setitem(sys.modules, "pynndescent", None)


def test_library_and_fallback_graphs_agree(monkeypatch):
    pytest.importorskip("pynndescent")
    X = _clustered()
    model = SparseLabelSpreading(algorithm="approximate", random_state=0)
    S = model._build_graph(X, None)
    bandwidths = model.bandwidths_
    _hide_pynndescent(monkeypatch)
    fallback = SparseLabelSpreading(algorithm="approximate", random_state=0)
    with pytest.warns(UserWarning, match="needs pynndescent"):
        S_exact = fallback._build_graph(X, None)
    assert S.shape == S_exact.shape == (2000, 2000)
    assert S.dtype == S_exact.dtype == np.float32
    # Nearly the same edges and bandwidths.
    same = S.multiply(S_exact) > 0
    assert same.nnz > 0.97 * S_exact.nnz
    close = np.isclose(bandwidths, fallback.bandwidths_, rtol=0.01)
    assert close.mean() > 0.98
    np.testing.assert_allclose(bandwidths, fallback.bandwidths_, rtol=0.1)


@pytest.mark.parametrize("algorithm", ["approximate", "auto"])
def test_missing_library_falls_back_to_exact(monkeypatch, algorithm):
    from semiseg_sk.labeling import _label_spreading

    X, y = make_blobs(600, centers=3, n_features=5, random_state=0)
    y_partial = _few_labels(y, 5, 0)
    exact = SparseLabelSpreading(algorithm="brute").fit(X, y_partial)
    _hide_pynndescent(monkeypatch)
    # "auto" goes approximate above EXACT_MAX_SAMPLES: lower it for the test.
    monkeypatch.setattr(_label_spreading, "EXACT_MAX_SAMPLES", 500)
    model = SparseLabelSpreading(algorithm=algorithm, random_state=0)
    with pytest.warns(UserWarning, match="semiseg_sk\\[scale\\]"):
        model.fit(X, y_partial)
    np.testing.assert_allclose(
        model.label_distributions_, exact.label_distributions_, rtol=1e-5, atol=1e-6
    )


def test_rows_the_approximate_search_leaves_short_are_searched_exactly(monkeypatch):
    pytest.importorskip("pynndescent")
    from semiseg_sk.labeling import _label_spreading

    real = _label_spreading.approximate_kneighbors

    def short_rows(X, k, **kwargs):
        dist, ind = real(X, k, **kwargs)
        ind[[3, 7], -2:] = -1
        dist[[3, 7], -2:] = np.inf
        return dist, ind

    monkeypatch.setattr(_label_spreading, "approximate_kneighbors", short_rows)
    X = _clustered(1000)
    model = SparseLabelSpreading(algorithm="approximate", random_state=0)
    model._build_graph(X, None)
    exact_dist, _ = _exact_neighbors(X, 10)
    np.testing.assert_allclose(model.bandwidths_[[3, 7]], exact_dist[[3, 7], -1])
    assert np.isfinite(model.bandwidths_).all()


def _reference_knn_affinity(dist, ind, sigma):
    """The graph as built before it was assembled in place (COO, float64)."""
    from semiseg_sk.labeling._label_spreading import _gaussian_exponent

    n_samples, n_neighbors = ind.shape
    rows = np.repeat(np.arange(n_samples), n_neighbors)
    cols = ind.ravel()
    exponent = _gaussian_exponent(
        dist.ravel().astype(np.float64), sigma[rows], sigma[cols]
    )
    W = sparse.csr_matrix(
        (np.exp(-exponent).astype(np.float32), (rows, cols)),
        shape=(n_samples, n_samples),
    )
    return W.maximum(W.T).tocsr()


@pytest.mark.parametrize("chunk_size", [7, 65536])
def test_knn_affinity_is_float32_int32_symmetric_and_exact(chunk_size):
    from semiseg_sk.labeling._label_spreading import _guard_bandwidths, _knn_affinity

    X = _clustered(500)
    dist, ind = _exact_neighbors(X, 10)
    sigma = _guard_bandwidths(dist[:, -1])
    W = _knn_affinity(dist, ind, sigma, chunk_size=chunk_size)
    assert W.format == "csr" and W.dtype == np.float32
    assert W.indices.dtype == W.indptr.dtype == np.int32
    assert W.has_canonical_format
    assert (W != W.T).nnz == 0
    assert not W.diagonal().any()
    reference = _reference_knn_affinity(dist, ind, sigma)
    assert (W != reference).nnz == 0  # the same weights, bit for bit


def test_knn_affinity_makes_no_int64_or_float64_copy_of_the_edges():
    from semiseg_sk.labeling._label_spreading import _guard_bandwidths, _knn_affinity

    rng = np.random.RandomState(0)
    n, k = 50_000, 10
    ind = rng.randint(n, size=(n, k)).astype(np.int32)
    dist = np.sort(rng.rand(n, k).astype(np.float32), axis=1)
    sigma = _guard_bandwidths(dist[:, -1])
    tracemalloc.start()
    W = _knn_affinity(dist, ind, sigma)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Output: at most 2 n k edges of 8 bytes. The former COO assembly held
    # int64 rows and columns and float64 exponents of all n k edges as well,
    # more than 5 times the output.
    out = W.data.nbytes + W.indices.nbytes + W.indptr.nbytes
    assert W.indices.dtype == np.int32
    assert peak < 4 * out, f"peak {peak / 1e6:.0f} MB for a {out / 1e6:.0f} MB graph"


@pytest.mark.parametrize("algorithm", ["brute", "approximate"])
def test_graph_is_float32_symmetric_without_self_loops(algorithm):
    X, y = make_blobs(3000, centers=3, n_features=6, random_state=0)
    A = _chain_adjacency([1500, 1500])
    A.setdiag(2.0)
    model = SparseLabelSpreading(algorithm=algorithm, random_state=0)
    S = model._build_graph(X, A)
    assert S.format == "csr" and S.dtype == np.float32
    assert S.indices.dtype == S.indptr.dtype == np.int32
    assert not S.diagonal().any()
    assert abs(S - S.T).max() < 1e-6
    assert (S.data > 0).all() and S.data.max() <= 1


def test_check_adjacency_drops_self_loops_and_sums_duplicates():
    from semiseg_sk.labeling._label_spreading import _check_adjacency

    rows, cols = [0, 0, 1, 1, 2, 0], [1, 1, 1, 2, 2, 2]
    A = sparse.csr_matrix((np.ones(6), (rows, cols)), shape=(3, 3))
    # A non-canonical matrix: the duplicated (0, 1) entries are summed.
    A = sparse.csr_matrix((A.data, A.indices, A.indptr), shape=(3, 3))
    A.data[:] = 1.0
    A.indices[A.indptr[0] : A.indptr[1]] = [1, 1]
    A.has_canonical_format = False
    scaled = _check_adjacency(A, 3)
    assert scaled.dtype == np.float32
    assert not scaled.diagonal().any()
    dense = scaled.toarray()
    np.testing.assert_allclose(dense, dense.T)
    # Strongest edges: (0, 1) of weight 2 for 0 and 1, (1, 2) of weight 1
    # for 2; a_12 / sqrt(m_1 m_2) = 1 / sqrt(2).
    np.testing.assert_allclose(dense[0, 1], 1.0)
    np.testing.assert_allclose(dense[1, 2], 1 / np.sqrt(2), rtol=1e-6)


def test_spread_matches_the_block_iteration():
    from semiseg_sk.labeling._label_spreading import (
        _guard_bandwidths,
        _knn_affinity,
        _normalized_affinity,
        _spread,
        _TiledMatrix,
    )

    X = _clustered(800)
    dist, ind = _exact_neighbors(X, 10)
    S = _normalized_affinity(_knn_affinity(dist, ind, _guard_bandwidths(dist[:, -1])))
    Y = np.zeros((800, 3), dtype=np.float32)
    Y[np.arange(0, 800, 40), np.arange(20) % 3] = 1.0
    F, n_iter, converged = _spread(_TiledMatrix(S, 1), Y, 0.9, 100, 1e-4)
    assert converged and F.shape == (800, 3) and F.dtype == np.float32
    # The iteration written with one product of S by the score block.
    G = Y.copy()
    for _ in range(n_iter):
        G = 0.9 * (S @ G) + (1 - 0.9) * Y
    np.testing.assert_allclose(F, G, rtol=1e-5, atol=1e-7)
    F_short, n_short, converged_short = _spread(_TiledMatrix(S, 1), Y, 0.9, 2, 1e-4)
    assert (n_short, converged_short) == (2, False)


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_tiled_product_does_not_depend_on_the_threads(monkeypatch, n_threads):
    from semiseg_sk.labeling import _label_spreading as ls

    rng = np.random.RandomState(0)
    S = sparse.random(500, 500, density=0.05, format="csr", random_state=rng)
    S = S.astype(np.float32)
    x = rng.rand(500).astype(np.float32)
    untiled = ls._TiledMatrix(S, 1)
    assert untiled.bands == [(0, 500, [(0, S)])]  # kept as is: no copy
    out = np.empty(500, np.float32)
    untiled.matvec(x, out)
    assert np.array_equal(out, S @ x)

    # Tiles of 128 columns: 4 of them per band, summed in order.
    monkeypatch.setattr(ls, "_TILE_COLUMNS", 128)
    reference = np.empty(500, np.float32)
    ls._TiledMatrix(S, 1).matvec(x, reference)
    tiled = ls._TiledMatrix(S, n_threads)
    assert len(tiled.bands) == n_threads
    assert all(len(tiles) == 4 for _, _, tiles in tiled.bands)
    tiled.matvec(x, out)
    tiled.close()
    assert np.array_equal(out, reference)
    np.testing.assert_allclose(out, S @ x, rtol=1e-5)


def test_approximate_fit_is_deterministic_with_a_random_state():
    pytest.importorskip("pynndescent")
    X = _clustered(3000)
    y = np.full(3000, -1)
    y[:30] = np.arange(30) % 3
    fits = [
        SparseLabelSpreading(algorithm="approximate", random_state=0, n_jobs=n_jobs)
        for n_jobs in (1, 2, 1)
    ]
    graphs = [model._build_graph(X, None) for model in fits]
    for S in graphs[1:]:
        assert (S != graphs[0]).nnz == 0
