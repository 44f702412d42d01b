# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Label spreading over a sparse, weighted k-nearest-neighbour graph.

scikit-learn's :class:`~sklearn.semi_supervised.LabelSpreading` builds either a
dense RBF affinity (O(n^2) memory, scikit-learn issue #6555) or an unweighted
kNN graph with self-loops (#11784). :class:`SparseLabelSpreading` builds a
symmetric kNN graph with adaptive Gaussian weights, optionally adds spatial
edges between regions that touch, and keeps everything sparse, so that a
million regions fit in a few GB.
"""

import copy
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral, Real

import numpy as np
from joblib import effective_n_jobs
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._docstring import Substitution
from ..utils._parallel import N_JOBS, capped_n_jobs
from ..utils._random import RANDOM_STATE
from ..utils.fixes import Interval, StrOptions, _fit_context
from ._neighbors import (
    EXACT_MAX_SAMPLES,
    MIN_APPROXIMATE_SAMPLES,
    approximate_available,
    approximate_kneighbors,
)

__all__ = ["SparseLabelSpreading"]


def _guard_bandwidths(sigma):
    """Replace zero bandwidths (duplicated samples) by the smallest positive one."""
    sigma = np.asarray(sigma, dtype=np.float64).copy()
    positive = sigma > 0
    floor = sigma[positive].min() if positive.any() else 1.0
    sigma[~positive] = floor
    return sigma


def _gaussian_exponent(dist, sigma_a, sigma_b):
    """``d^2 / (sigma_a sigma_b)``, +inf where that overflows or is undefined.

    Features so large that their distances overflow (inf / inf) get the limit
    of the weight ``exp(-exponent)``, 0, instead of NaN.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        exponent = dist**2 / (sigma_a * sigma_b)
    exponent[np.isnan(exponent)] = np.inf
    return exponent


def _index_dtype(n_samples, nnz):
    """int32 for the indices of a sparse matrix when they fit, else int64."""
    return np.int32 if max(n_samples, nnz) < np.iinfo(np.int32).max else np.int64


def _row_indices(M):
    """The row of every stored entry of the CSR matrix ``M``, in its index dtype."""
    rows = np.arange(M.shape[0], dtype=M.indices.dtype)
    return np.repeat(rows, np.diff(M.indptr))


def _knn_affinity(dist, ind, sigma, *, chunk_size=65536):
    """Symmetric sparse kNN affinity with local-scaling Gaussian weights.

    Exponents are computed in float64 (distances of 1e20 would overflow in
    float32), ``chunk_size`` rows at a time so that no float64 array of
    ``n_samples * n_neighbors`` entries is made; the weights in ``(0, 1]``
    are stored in float32 and the indices in int32 where they fit.
    """
    n_samples, n_neighbors = ind.shape
    nnz = n_samples * n_neighbors
    index_dtype = _index_dtype(n_samples, 2 * nnz)
    weights = np.empty((n_samples, n_neighbors), dtype=np.float32)
    for start in range(0, n_samples, chunk_size):
        rows = slice(start, start + chunk_size)
        exponent = _gaussian_exponent(
            np.asarray(dist[rows], dtype=np.float64),
            sigma[rows, None],
            sigma[ind[rows]],
        )
        weights[rows] = np.exp(-exponent)
    # Every row holds n_neighbors entries: the CSR arrays are the kNN arrays.
    W = sparse.csr_matrix(
        (
            weights.ravel(),
            ind.astype(index_dtype).ravel(),
            np.arange(0, nnz + 1, n_neighbors, dtype=index_dtype),
        ),
        shape=(n_samples, n_samples),
    )
    del weights
    # Canonical (sorted) rows make the element-wise maximum below a merge.
    W.sum_duplicates()
    # w_ij is symmetric in (i, j), so the union of both directions is the
    # element-wise maximum.
    W = W.maximum(W.T).tocsr()
    W.eliminate_zeros()
    return W


def _check_adjacency(adjacency, n_samples):
    """Validate spatial edges and scale them to (0, 1] like the kNN weights."""
    if sparse.issparse(adjacency):
        A = sparse.csr_matrix(adjacency, dtype=np.float64, copy=True)
    else:
        A = np.asarray(adjacency)
        if A.dtype.kind not in "biuf":
            raise TypeError(
                "adjacency must be a numeric sparse matrix or array; got dtype "
                f"{A.dtype}."
            )
        if A.ndim != 2:
            raise ValueError(
                f"adjacency must be a 2-D (n_samples, n_samples) matrix; got an "
                f"array with {A.ndim} dimension(s)."
            )
        A = sparse.csr_matrix(A, dtype=np.float64)
    if A.shape != (n_samples, n_samples):
        raise ValueError(
            f"adjacency must have shape (n_samples, n_samples) = "
            f"({n_samples}, {n_samples}); got {A.shape}."
        )
    if not np.isfinite(A.data).all():
        raise ValueError("adjacency contains NaN or infinity.")
    if (A.data < 0).any():
        raise ValueError("adjacency must be nonnegative; got negative weights.")
    # Self-loops are dropped (scipy's setdiag(0) would store the diagonal).
    A.sum_duplicates()
    A.data[_row_indices(A) == A.indices] = 0
    A.eliminate_zeros()
    A = A.maximum(A.T).tocsr()
    # Symmetric scaling by the strongest edge of each node:
    # a_ij / sqrt(m_i m_j) <= 1, and equals 1 for mutual strongest edges.
    row_max = A.max(axis=1).toarray().ravel()
    scale = np.zeros(n_samples)
    np.divide(1.0, np.sqrt(row_max), out=scale, where=row_max > 0)
    _scale_symmetric(A, scale)
    return A.astype(np.float32)


def _scale_symmetric(M, scale):
    """``M <- diag(scale) M diag(scale)`` in place, for a CSR matrix ``M``."""
    scale = scale.astype(M.dtype, copy=False)
    M.data *= scale[_row_indices(M)]
    M.data *= scale[M.indices]


def _normalized_affinity(W):
    """S = D^-1/2 W D^-1/2; rows and columns of isolated nodes stay zero.

    ``W`` (CSR) is scaled in place and returned. Degrees are summed in
    float64; ``S`` keeps the dtype of ``W``.
    """
    degree = np.asarray(W.sum(axis=1, dtype=np.float64)).ravel()
    inv_sqrt = np.zeros_like(degree)
    np.divide(1.0, np.sqrt(degree), out=inv_sqrt, where=degree > 0)
    _scale_symmetric(W, inv_sqrt)
    return W


# Columns of one tile of the spreading matrix: the scores a tile reads
# (2**21 float32, 8 MB) stay in the processor's cache. A kNN graph joins
# samples far apart in the order of the rows, so an untiled product reads
# the scores at random; at 10 million samples (40 MB of scores per column)
# that is a cache miss per stored edge. Tiles make such a product 1.5x as
# fast in one thread, and the row bands of two threads another 3x (the
# misses of two cores overlap): 1.63 s against 0.35 s per product on the
# 10-million-region graph of benchmarks/bench_scale.py.
_TILE_COLUMNS = 2**21


class _TiledMatrix:
    """A CSR matrix split into row bands, one per thread, and column tiles.

    ``matvec(x, out)`` writes ``S @ x`` to ``out``. Each row of the result
    sums its tiles' products in the order of the tiles, whatever the number
    of threads, so the result does not depend on ``n_threads``; with a
    single tile it is ``S @ x`` exactly.

    Parameters
    ----------
    S : scipy.sparse.csr_matrix of shape (n, n)
        The matrix. With one band and one tile it is kept as is; otherwise
        the tiles are copies, and the caller should drop ``S``.
    n_threads : int
        Row bands, multiplied in parallel (scipy releases the GIL).
    """

    def __init__(self, S, n_threads):
        n_rows, n_cols = S.shape
        n_threads = max(1, min(n_threads, n_rows))
        if n_threads == 1 and n_cols <= _TILE_COLUMNS:
            self.bands = [(0, n_rows, [(0, S)])]
        else:
            # Bands of about equal numbers of stored entries.
            cuts = np.searchsorted(S.indptr, np.linspace(0, S.nnz, n_threads + 1))
            cuts[0], cuts[-1] = 0, n_rows
            columns = range(0, n_cols, _TILE_COLUMNS)
            self.bands = [
                (r0, r1, [(c0, S[r0:r1, c0 : c0 + _TILE_COLUMNS]) for c0 in columns])
                for r0, r1 in zip(cuts[:-1], cuts[1:])
                if r1 > r0
            ]
        self.dtype = S.dtype
        self._pool = None
        if len(self.bands) > 1:
            self._pool = ThreadPoolExecutor(len(self.bands))

    @staticmethod
    def _band(band, x, out):
        r0, r1, tiles = band
        (c0, first), *rest = tiles
        out[r0:r1] = first @ x[c0 : c0 + first.shape[1]]
        for c0, tile in rest:
            out[r0:r1] += tile @ x[c0 : c0 + tile.shape[1]]

    def matvec(self, x, out):
        """``out[:] = S @ x``."""
        if self._pool is None:
            self._band(self.bands[0], x, out)
            return
        for done in [self._pool.submit(self._band, b, x, out) for b in self.bands]:
            done.result()

    def close(self):
        """Stop the threads."""
        if self._pool is not None:
            self._pool.shutdown()


def _spread(S, Y, alpha, max_iter, tol):
    """Iterate ``F <- alpha S F + (1 - alpha) Y`` from ``F = Y``.

    Stops when the largest change of a score is at most ``tol`` times the
    largest score. ``S`` is a :class:`_TiledMatrix`; ``Y`` has shape
    (n_samples, n_columns) and the dtype of the iteration. The scores are
    kept one column per row, so that each iteration is one sparse
    matrix-vector product per column: scipy multiplies a single vector about
    twice as fast as a block of a few.

    Returns
    -------
    F : ndarray of shape (n_samples, n_columns)
        The scores, a transposed view.
    n_iter : int
        Iterations run.
    converged : bool
        Whether the stopping rule was met within ``max_iter`` iterations.
    """
    F = np.ascontiguousarray(Y.T)
    clamp = (1 - alpha) * F
    F_new = np.empty_like(F)
    change = np.empty_like(F)
    for n_iter in range(1, max_iter + 1):  # noqa: B007
        for column, scores in zip(F_new, F):
            S.matvec(scores, column)
        F_new *= alpha
        F_new += clamp
        np.subtract(F_new, F, out=change)
        largest_change = np.abs(change, out=change).max()
        F, F_new = F_new, F
        if largest_change <= tol * F.max():
            return F.T, n_iter, True
    return F.T, n_iter, False


_n_jobs_doc = """n_jobs : int, default=None
        Number of parallel jobs for the exact neighbour searches (the graph
        for small data and the neighbours of new samples in ``predict``).
        Never more jobs than samples searched for. ``None`` means 1 unless in
        a :obj:`joblib.parallel_backend` context. ``-1`` means using all
        processors. The spreading iterations multiply the graph in
        ``n_jobs`` threads (at most one per processor), with the same
        result. Results do not depend on ``n_jobs``: the approximate
        search uses ``n_jobs`` threads only when ``random_state`` is None
        (its result depends on the number of threads) and one thread
        otherwise."""


@Substitution(n_jobs=_n_jobs_doc)
class SparseLabelSpreading(ClassifierMixin, BaseEstimator):
    """Label spreading over a sparse, locally scaled k-nearest-neighbour graph.

    Labels spread from the labeled samples (``y != -1``) to all others over a
    symmetric kNN graph of the features, optionally combined with spatial
    edges between regions that touch. Memory and time grow linearly with the
    number of samples, so the graph may join all regions of many images.

    Parameters
    ----------
    n_neighbors : int, default=10
        Number of nearest neighbours of each sample in the feature graph.
        The graph is the union of the kNN relations (an edge when either
        sample is among the other's neighbours), without self-loops.

    alpha : float, default=0.9
        Spreading strength in ``(0, 1)``: the share of a node's score that
        comes from its neighbours; ``1 - alpha`` comes from its own initial
        label (soft clamping). Higher values carry labels further through
        the graph, which is needed when few samples are labeled.
        :class:`~sklearn.semi_supervised.LabelSpreading` defaults to 0.2,
        Zhou et al. use 0.99.

    spatial_weight : float, default=0.5
        Share of the spatial edges in the graph,
        ``W = (1 - spatial_weight) * W_knn + spatial_weight * W_adj``.
        Ignored when ``fit`` gets no ``adjacency``.

    class_balance : bool, default=True
        Apply class mass normalisation (Zhu et al. 2003) to the propagated
        scores: the scores of each class are rescaled so that the classes
        share the total mass in the proportions of the labeled samples. It
        keeps a class whose labeled samples sit in a dense, well-connected
        part of the graph from absorbing everything.

    max_iter : int, default=100
        Maximum number of spreading iterations.

    tol : float, default=1e-4
        Stop when the largest change of a score in one iteration is below
        ``tol`` times the largest score.

    algorithm : {"auto", "approximate", "kd_tree", "ball_tree", "brute"}, \
            default="auto"
        Neighbour search for the graph. ``"kd_tree"``, ``"ball_tree"`` and
        ``"brute"`` are exact searches with
        :class:`~sklearn.neighbors.NearestNeighbors`. ``"approximate"`` uses
        NN-descent started from a random-projection forest, from the optional
        package pynndescent (``pip install semiseg_sk[scale]``): about
        O(n^1.14) time instead of the O(n^2) that an exact search costs on
        features of more than a few (intrinsic) dimensions, at the price of
        missing a few true neighbours. ``"auto"`` is exact (scikit-learn's
        own choice of tree or brute force) up to 100,000 samples and
        approximate above. Without pynndescent, ``"approximate"`` and
        ``"auto"`` fall back to the exact search with a warning.

    {n_jobs}

    {random_state}
        Used only by the approximate neighbour search; an int gives the same
        graph on every run (NN-descent then runs in one thread).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, without the ``-1`` of unlabeled samples.

    label_distributions_ : ndarray of shape (n_samples, n_classes)
        Class distribution of each training sample after spreading; rows sum
        to one. A sample that no label reaches (a node without edges) gets
        the uniform distribution.

    transduction_ : ndarray of shape (n_samples,)
        Label of each training sample after spreading (transductive labels).
        Prefer it to ``predict(X_train)``, which is the inductive rule below.

    n_iter_ : int
        Number of spreading iterations run.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X`
        has feature names that are all strings.

    n_neighbors_ : int
        Number of neighbours used, ``min(n_neighbors, n_samples - 1)``.

    bandwidths_ : ndarray of shape (n_samples,)
        Local bandwidth ``sigma_i`` of each training sample.

    nn_ : :class:`~sklearn.neighbors.NearestNeighbors`
        Exact neighbour index over the training samples, used by
        ``predict`` and ``predict_proba``.

    See Also
    --------
    sklearn.semi_supervised.LabelSpreading : Dense RBF or unweighted kNN
        label spreading.
    sklearn.semi_supervised.SelfTrainingClassifier : Self-training around any
        probabilistic classifier.

    Notes
    -----
    With ``d_ij`` the distance between samples ``i`` and ``j`` and
    ``sigma_i`` the distance from ``i`` to its ``n_neighbors``-th neighbour
    (local scaling, Zelnik-Manor and Perona 2004; zero bandwidths from
    duplicated samples are replaced by the smallest positive one), the kNN
    weights are ``w_ij = exp(-d_ij^2 / (sigma_i sigma_j))`` in ``(0, 1]``.

    Spatial edges ``a_ij`` (for instance the length of the border two
    regions share) are symmetrised, stripped of self-loops and scaled to
    ``a_ij / sqrt(m_i m_j)``, with ``m_i`` the largest weight of node
    ``i``. This is also in ``(0, 1]``, equal to 1 for two regions that are
    each other's strongest contact, and independent of the units of the
    adjacency.

    With ``W`` the combined graph, ``D`` its degrees,
    ``S = D^-1/2 W D^-1/2`` and ``Y`` the one-hot labels (zero rows for
    unlabeled samples), spreading iterates (Zhou et al. 2004)::

        F <- alpha S F + (1 - alpha) Y

    from ``F = Y``. Isolated nodes keep their own label, or get the uniform
    distribution when unlabeled. Class mass normalisation then multiplies
    column ``c`` of ``F`` by ``q_c / sum_i F_ic``, with ``q`` the class
    proportions of the labeled samples, and rows are normalised to sum to
    one.

    ``predict_proba`` for new samples averages ``label_distributions_`` of
    their ``n_neighbors`` nearest training samples with the same weights,
    the query's bandwidth being the distance to its ``n_neighbors``-th
    training neighbour. Where a weight's exponent overflows (features of
    1e154 and more) it is taken as 0, its limit; a query for which all of
    them overflow gets the distribution of its nearest neighbour.

    The graph and the iteration are in float32 (the exponents of the
    weights in float64); ``label_distributions_`` is float64. Memory is
    O(n k) for the graph (about ``2 n k`` stored edges, 8 bytes each) and
    O(n c) for the scores. Each iteration costs O(n k c). The approximate
    search (pynndescent's NN-descent [4]_) costs about O(n^1.14 d) time
    (measured by [4]_) and O(n k) memory. Its effort is set for label
    spreading rather than for a search index (a forest of 12 trees, then one
    NN-descent round with 8 candidates): it finds nearly all true neighbours
    of clustered data, about half on the overlapping 16-D mixture of
    ``benchmarks/bench_scale.py`` (where the labels it spreads are within
    0.003 of those spread with exact neighbours) and fewer on data without
    structure.
    pynndescent compiles its functions with numba on first use in a process:
    30 to 100 seconds and a few hundred MB, once per process.

    References
    ----------
    .. [1] D. Zhou, O. Bousquet, T. N. Lal, J. Weston and B. Schölkopf,
       "Learning with local and global consistency", NeurIPS 2004.
    .. [2] L. Zelnik-Manor and P. Perona, "Self-tuning spectral clustering",
       NeurIPS 2004.
    .. [3] X. Zhu, Z. Ghahramani and J. Lafferty, "Semi-supervised learning
       using Gaussian fields and harmonic functions", ICML 2003.
    .. [4] W. Dong, M. Charikar and K. Li, "Efficient k-nearest neighbor graph
       construction for generic similarity measures", WWW 2011;
       L. McInnes, pynndescent, https://github.com/lmcinnes/pynndescent.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk import SparseLabelSpreading
    >>> t = np.linspace(0, np.pi, 50)
    >>> X = np.concatenate([np.c_[np.cos(t), np.sin(t)],
    ...                     np.c_[1 - np.cos(t), 0.5 - np.sin(t)]])
    >>> y = np.full(100, -1)
    >>> y[0], y[99] = 0, 1
    >>> model = SparseLabelSpreading(n_neighbors=5).fit(X, y)
    >>> model.transduction_[:50].tolist() == [0] * 50
    True
    >>> model.transduction_[50:].tolist() == [1] * 50
    True
    >>> model.predict([[0.0, 1.0], [1.0, -0.5]])
    array([0, 1])
    """

    # Spatial edges are requested by default: a RegionClassifier routes the
    # adjacency of its regions to an estimator that requests it, also inside a
    # Pipeline (see RegionClassifier).
    __metadata_request__fit = {"adjacency": True}

    _parameter_constraints: dict = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "spatial_weight": [Interval(Real, 0, 1, closed="both")],
        "class_balance": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "algorithm": [
            StrOptions({"auto", "approximate", "kd_tree", "ball_tree", "brute"})
        ],
        "n_jobs": N_JOBS,
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        n_neighbors=10,
        *,
        alpha=0.9,
        spatial_weight=0.5,
        class_balance=True,
        max_iter=100,
        tol=1e-4,
        algorithm="auto",
        n_jobs=None,
        random_state=None,
    ):
        self.n_neighbors = n_neighbors
        self.alpha = alpha
        self.spatial_weight = spatial_weight
        self.class_balance = class_balance
        self.max_iter = max_iter
        self.tol = tol
        self.algorithm = algorithm
        self.n_jobs = n_jobs
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, adjacency=None):
        """Build the graph and spread the labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features of all samples, labeled and unlabeled.

        y : array-like of shape (n_samples,)
            Labels; ``-1`` marks unlabeled samples. At least one sample must
            be labeled.

        adjacency : {array-like, sparse matrix} of shape (n_samples, \
                n_samples), default=None
            Nonnegative spatial edges between samples, for instance the
            shared border length of regions that touch (block-diagonal over
            images). Scaled as described in the Notes and mixed in with
            weight ``spatial_weight``. Not modified.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X, y = validate_data(
            self,
            X,
            y,
            dtype=np.float64,
            ensure_all_finite=True,
            ensure_min_samples=2,
        )
        check_classification_targets(y)
        n_samples = X.shape[0]
        labeled = y != -1
        if not labeled.any():
            raise ValueError(
                "y has no labeled sample: every entry is -1 (unlabeled). "
                "Label at least one sample."
            )
        self.classes_, y_encoded = np.unique(y[labeled], return_inverse=True)
        n_classes = self.classes_.shape[0]
        n_threads = min(effective_n_jobs(self.n_jobs), os.cpu_count() or 1)
        # The tiles replace the graph (no second copy is kept).
        S = _TiledMatrix(self._build_graph(X, adjacency), n_threads)

        # Spreading, in the dtype of S (float32): scores are in [0, 1] and
        # tol is far above float32's resolution.
        Y = np.zeros((n_samples, n_classes), dtype=S.dtype)
        Y[np.flatnonzero(labeled), y_encoded] = 1.0
        try:
            F, n_iter, converged = _spread(S, Y, self.alpha, self.max_iter, self.tol)
        finally:
            S.close()
        del S, Y
        if not converged:
            warnings.warn(
                f"max_iter={self.max_iter} was reached without convergence.",
                category=ConvergenceWarning,
            )

        F = np.ascontiguousarray(F, dtype=np.float64)
        if self.class_balance and n_classes > 1:
            mass = F.sum(axis=0)
            prior = np.bincount(y_encoded, minlength=n_classes) / y_encoded.size
            np.divide(prior, mass, out=mass, where=mass > 0)
            F *= mass
        totals = F.sum(axis=1, keepdims=True)
        unreached = totals.ravel() <= 0
        F[unreached] = 1.0
        totals[unreached] = n_classes
        F /= totals
        self.n_iter_ = n_iter
        self.label_distributions_ = F
        self.transduction_ = self.classes_[np.argmax(F, axis=1)]
        return self

    def _build_graph(self, X, adjacency):
        """The normalised affinity ``S = D^-1/2 W D^-1/2`` of the training samples.

        ``W`` mixes the locally scaled kNN graph of ``X`` with the scaled
        spatial edges (see Notes). Sets ``nn_``, ``n_neighbors_`` and
        ``bandwidths_``. Subclasses may build another graph here, as
        scikit-learn's label propagation estimators do in ``_build_graph``.
        """
        n_samples = X.shape[0]
        A = None if adjacency is None else _check_adjacency(adjacency, n_samples)
        k = min(self.n_neighbors, n_samples - 1)
        self.n_neighbors_ = k
        if self.algorithm == "auto":
            approximate = n_samples > EXACT_MAX_SAMPLES
            exact_algorithm = "auto"
        else:
            approximate = self.algorithm == "approximate"
            exact_algorithm = "auto" if approximate else self.algorithm
        self.nn_ = NearestNeighbors(
            n_neighbors=k, algorithm=exact_algorithm, n_jobs=self.n_jobs
        ).fit(X)
        if approximate and not approximate_available():
            warnings.warn(
                f"The approximate neighbour search needs pynndescent, which is "
                f"not installed: searching the {n_samples} samples exactly "
                f"instead, which is much slower on large data. Install it with "
                f"`pip install semiseg_sk[scale]`.",
                UserWarning,
            )
            approximate = False
        if approximate and n_samples > MIN_APPROXIMATE_SAMPLES:
            dist, ind = approximate_kneighbors(
                X, k, random_state=self.random_state, n_jobs=self.n_jobs
            )
            missing = np.flatnonzero((ind < 0).any(axis=1))
            if missing.size:
                # Rows where NN-descent found too few neighbours: exactly.
                d, i = self._kneighbors(X[missing], n_neighbors=k + 1)
                is_self = i == missing[:, None]
                is_self[~is_self.any(axis=1), -1] = True
                dist[missing] = d[~is_self].reshape(-1, k)
                ind[missing] = i[~is_self].reshape(-1, k)
        else:
            dist, ind = self._kneighbors()
        self.bandwidths_ = _guard_bandwidths(dist[:, -1])
        W = _knn_affinity(dist, ind, self.bandwidths_)
        del dist, ind
        if A is not None and self.spatial_weight > 0:
            # In place on the matrices made here: one sum, no scaled copies.
            W.data *= 1 - self.spatial_weight
            A.data *= self.spatial_weight
            W = W + A
            del A
            W.eliminate_zeros()
        return _normalized_affinity(W)

    def _kneighbors(self, X=None, n_neighbors=None):
        """``nn_.kneighbors`` with no more jobs than rows to search for.

        The search splits its queries into ``n_jobs`` chunks: ``n_jobs=1000``
        on five queries would start a thousand threads. A shallow copy of
        ``nn_`` gets the capped ``n_jobs``, so the fitted index is unchanged.
        """
        nn = copy.copy(self.nn_)
        n_queries = nn.n_samples_fit_ if X is None else X.shape[0]
        nn.n_jobs = capped_n_jobs(self.n_jobs, n_queries)
        return nn.kneighbors(X, n_neighbors=n_neighbors or self.n_neighbors_)

    def predict_proba(self, X):
        """Class probabilities of new samples from their training neighbours.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Gaussian-weighted average of ``label_distributions_`` over the
            ``n_neighbors`` nearest training samples; columns follow
            ``classes_``.
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, dtype=np.float64, ensure_all_finite=True
        )
        dist, ind = self._kneighbors(X)
        sigma = dist[:, -1].copy()
        sigma[sigma <= 0] = self.bandwidths_.min()
        exponent = _gaussian_exponent(dist, sigma[:, None], self.bandwidths_[ind])
        # Shift by the row minimum so that far-away queries do not underflow;
        # the shift cancels in the normalisation. A query so far away that
        # every exponent overflows takes its nearest neighbour's distribution,
        # the limit of the weights.
        lowest = exponent.min(axis=1, keepdims=True)
        far = np.isinf(lowest).ravel()
        lowest[far] = 0.0
        exponent[far, 0] = 0.0
        weights = np.exp(-(exponent - lowest))
        proba = np.zeros((X.shape[0], self.classes_.shape[0]))
        for j in range(ind.shape[1]):
            proba += weights[:, j, None] * self.label_distributions_[ind[:, j]]
        proba /= weights.sum(axis=1, keepdims=True)
        return proba

    def predict(self, X):
        """Labels of new samples; see :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels. For the training samples use
            ``transduction_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
