# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""FeatureGate: the feature blocks that enter, chosen from the scribbles."""

import re
import warnings
from numbers import Integral, Real

import numpy as np
from scipy import ndimage as ndi
from scipy import sparse
from sklearn.base import BaseEstimator, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._regions import check_regions
from ..base import RegionFeatureMixin
from ..exceptions import SingleClassWarning
from ..labeling._classifier import region_targets
from ..labeling._label_spreading import (
    _guard_bandwidths,
    _knn_affinity,
    _normalized_affinity,
    _spread,
    _TiledMatrix,
)
from ..utils._docstring import docstring
from ..utils._random import RANDOM_STATE
from ..utils.fixes import HasMethods, Interval, StrOptions, _fit_context
from ..utils.validation import check_labels

__all__ = ["FeatureGate", "feature_blocks"]

# The names RegionStats gives its columns (see ``_stats_names``): a channel
# (``ch0``.., or ``L``/``a``/``b`` in CIE Lab) and a statistic, or the
# position and area columns. Every other column belongs to the block named by
# the letters its name starts with (``autoencoder3`` -> ``autoencoder``).
_STATS_NAME = re.compile(
    r"^(?:(?:ch\d+|L|a|b)_.+|centroid_row|centroid_col|area_fraction)$"
)
_LEADING_LETTERS = re.compile(r"^[A-Za-z]+")
STATS_BLOCK = "stats"
_OTHER_BLOCK = "other"
# Label spreading of the cross-validation: SparseLabelSpreading's defaults.
_ALPHA = 0.9
_MAX_ITER = 100
_TOL = 1e-4


def feature_blocks(feature_names, blocks=None):
    """Group feature columns into blocks, by the step that made them.

    Parameters
    ----------
    feature_names : sequence of str
        Names of the feature columns, as in ``Regions.feature_names``.
    blocks : dict of str to str or tuple of str, default=None
        Block name to the prefix (or prefixes) of its column names; a column
        goes to the block with its longest matching prefix and columns that
        match none to ``"stats"``. None groups automatically: the columns
        :class:`RegionStats` names (``ch0_mean``, ``L_std``,
        ``area_fraction``, ...) form ``"stats"``, every other column belongs
        to the block named by the letters its name starts with
        (``autoencoder3`` and ``autoencoder_std3`` to ``"autoencoder"``).

    Returns
    -------
    blocks : dict of str to ndarray of int
        Column indices of each block, blocks in the order of their first
        column.

    Examples
    --------
    >>> from semiseg_sk.features import feature_blocks
    >>> names = ["ch0_mean", "area_fraction", "autoencoder0", "autoencoder1"]
    >>> {k: v.tolist() for k, v in feature_blocks(names).items()}
    {'stats': [0, 1], 'autoencoder': [2, 3]}
    """
    names = [str(n) for n in feature_names]
    if blocks is None:
        keys = [_auto_block(n) for n in names]
    else:
        prefixes = []
        for block, given in blocks.items():
            given = (given,) if isinstance(given, str) else tuple(given)
            if not given or not all(isinstance(p, str) and p for p in given):
                raise ValueError(
                    f"blocks[{block!r}] must be a non-empty prefix or tuple of "
                    f"prefixes of feature names; got {given!r}."
                )
            prefixes += [(p, str(block)) for p in given]
        prefixes.sort(key=lambda item: -len(item[0]))
        keys = [
            next((b for p, b in prefixes if n.startswith(p)), STATS_BLOCK)
            for n in names
        ]
        for block in blocks:
            if str(block) not in keys:
                raise ValueError(
                    f"blocks[{block!r}] matches no feature column; the columns "
                    f"start {sorted({_auto_block(n) for n in names})} (grouped "
                    f"automatically)."
                )
    out = {}
    for i, key in enumerate(keys):
        out.setdefault(key, []).append(i)
    return {k: np.asarray(v, dtype=np.intp) for k, v in out.items()}


def _auto_block(name):
    if _STATS_NAME.match(name):
        return STATS_BLOCK
    letters = _LEADING_LETTERS.match(name)
    return letters.group(0) if letters else _OTHER_BLOCK


def _strokes(X, y, targets, classes):
    """A group (stroke) for every labeled region; -1 for the others.

    A stroke is a connected component (8-connected) of the pixels of one
    class in one image; a region belongs to the stroke of its class with the
    most pixels in it. A class drawn as one stroke only is split in two
    halves of its regions, so that every class can be held out and trained
    on at once.
    """
    groups = np.full(targets.shape, -1, dtype=np.intp)
    offset = 0
    n_groups = 0
    for regions, lab in zip(X, y):
        n = regions.n_regions
        t = targets[offset : offset + n]
        for c in np.unique(t[t >= 0]):
            structure = np.ones((3,) * lab.ndim)
            comp, n_comp = ndi.label(lab == classes[c], structure=structure)
            on = comp > 0
            counts = sparse.coo_matrix(
                (np.ones(int(on.sum())), (regions.segments[on], comp[on] - 1)),
                shape=(n, n_comp),
            ).tocsr()
            mine = np.flatnonzero(t == c)
            best = np.asarray(counts[mine].argmax(axis=1)).ravel()
            groups[offset + mine] = n_groups + best
            n_groups += n_comp
        offset += n
    # Renumber, then split the classes that have a single stroke.
    labeled = groups >= 0
    groups[labeled] = np.unique(groups[labeled], return_inverse=True)[1]
    n_groups = int(groups.max()) + 1 if labeled.any() else 0
    for c in np.unique(targets[labeled]):
        mine = np.flatnonzero(targets == c)
        if np.unique(groups[mine]).size == 1 and mine.size > 1:
            groups[mine[mine.size // 2 :]] = n_groups
            n_groups += 1
    return groups


def _folds(targets, groups, n_splits, rng):
    """Deal the strokes of each class to folds; the fold of each region (-1: none)."""
    labeled = groups >= 0
    per_class = {
        c: np.unique(groups[labeled & (targets == c)])
        for c in np.unique(targets[labeled])
    }
    n_folds = min(n_splits, max(len(g) for g in per_class.values()))
    fold_of_group = {}
    for class_groups in per_class.values():
        start = rng.randint(n_folds)
        for j, g in enumerate(rng.permutation(class_groups)):
            fold_of_group[int(g)] = (start + j) % n_folds
    folds = np.full(groups.shape, -1, dtype=np.intp)
    folds[labeled] = [fold_of_group[int(g)] for g in groups[labeled]]
    return folds, n_folds


def _macro_iou(truth, pred, n_classes):
    confusion = np.bincount(
        truth * n_classes + pred, minlength=n_classes * n_classes
    ).reshape(n_classes, n_classes)
    tp = np.diag(confusion).astype(float)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - tp
    present = confusion.sum(axis=1) > 0
    return float(np.mean(tp[present] / union[present]))


def _block_distances(Z, blocks):
    """Squared Euclidean distances between the rows of ``Z``, block by block."""
    out = {}
    for b, cols in blocks.items():
        Zb = Z[:, cols].astype(np.float32)
        sq = np.einsum("ij,ij->i", Zb, Zb)
        D = sq[:, None] + sq[None, :] - 2 * (Zb @ Zb.T)
        np.maximum(D, 0, out=D)
        out[b] = D
    return out


def _neighbors(distances, blocks, config, n_neighbors):
    """The kNN (distance, index) of every row under the weighted block metric."""
    D = sum(
        distances[b] * np.float32(w * w / blocks[b].size) for b, w in config.items()
    )
    np.fill_diagonal(D, np.inf)
    k = min(n_neighbors, D.shape[0] - 1)
    ind = np.argpartition(D, k - 1, axis=1)[:, :k]
    dist = np.take_along_axis(D, ind, axis=1)
    order = np.argsort(dist, axis=1, kind="stable")
    ind = np.take_along_axis(ind, order, axis=1)
    dist = np.sqrt(np.take_along_axis(dist, order, axis=1).astype(np.float64))
    return dist, ind


def _spread_proba(dist, ind, targets, folds, n_folds, n_classes):
    """Held-out class probabilities of label spreading, every fold in one pass.

    The graph and the iteration are SparseLabelSpreading's; the labels of
    each fold's training regions spread in their own columns.
    """
    n = ind.shape[0]
    S = _normalized_affinity(_knn_affinity(dist, ind, _guard_bandwidths(dist[:, -1])))
    labeled = np.flatnonzero(targets >= 0)
    Y = np.zeros((n, n_folds, n_classes), dtype=S.dtype)
    for f in range(n_folds):
        train = labeled[folds[labeled] != f]
        Y[train, f, targets[train]] = 1.0
    prior = Y.sum(axis=0, dtype=np.float64)
    F, _, _ = _spread(_TiledMatrix(S, 1), Y.reshape(n, -1), _ALPHA, _MAX_ITER, _TOL)
    F = F.reshape(n, n_folds, n_classes).astype(np.float64)
    # Class mass normalisation per fold, as SparseLabelSpreading does.
    mass = F.sum(axis=0)
    scale = np.divide(prior, mass, out=np.zeros_like(mass), where=mass > 0)
    F *= scale[None]
    held = F[labeled, folds[labeled]]
    total = held.sum(axis=1, keepdims=True)
    unreached = total.ravel() <= 0
    held[unreached] = 1.0
    total[unreached] = n_classes
    return held / total


def _estimator_predictions(estimator, M, targets, folds, n_folds):
    """Held-out predicted classes of ``estimator``, fitted on each fold's labels."""
    labeled = np.flatnonzero(targets >= 0)
    pred = np.empty(labeled.size, dtype=np.intp)
    for f in range(n_folds):
        test = folds[labeled] == f
        train = labeled[~test]
        if np.unique(targets[train]).size < 2:
            # A classifier cannot be fitted on one class: it predicts it.
            pred[test] = targets[train][0] if train.size else 0
            continue
        model = clone(estimator).fit(M[train], targets[train])
        pred[test] = model.predict(M[labeled[test]])
    return pred


def _label(config):
    return " + ".join(b if w == 1 else f"{b}*{w:g}" for b, w in config.items())


@docstring
class FeatureGate(RegionFeatureMixin, BaseEstimator):
    """Keep and weight the feature blocks that the scribbles say help.

    Feature steps append blocks of columns (region statistics, autoencoder
    codes, pretrained responses, ...). A block that separates textures on
    one data set dilutes the neighbour graph on another, where regions
    differ by intensity and shape. Placed just before
    :class:`RegionClassifier`, this step decides per data set, from the
    scribbles alone, which blocks enter and with what weight.

    Design:

    1. **Blocks.** Columns are grouped by the step that made them (see
       :func:`feature_blocks`): the columns :class:`RegionStats` names form
       ``"stats"``, every other column the block named by the letters its
       name starts with, or ``blocks`` names the prefixes.
    2. **Scale.** Every column is standardised over the regions of all fitted
       images, and each block is multiplied by ``weight / sqrt(n_columns)``,
       so that a block of 200 columns weighs no more in a distance than one
       of 20 at the same weight.
    3. **Cross-validation by stroke.** Each labeled region (the majority of
       its labeled pixels, as :class:`RegionClassifier` labels it) belongs to
       the stroke, the connected component of its class's scribbled pixels,
       that covers it most. Strokes, never single regions, are held out:
       neighbouring regions of one stroke look alike in any feature, so
       leaving out a region would reward every block. The strokes of each
       class are dealt to at most ``n_splits`` folds; a class drawn as one
       stroke is split into two halves of its regions. The held-out score is
       by default the mean over classes of the probability that the
       held-out labeled regions get for their true class (``scoring``).
    4. **Classifier.** By default label spreading over the labeled regions
       and up to ``max_regions`` regions in all (the unlabeled ones drawn at
       random), with the graph of :class:`SparseLabelSpreading` (no spatial
       edges): the graph is built once per candidate and the labels of all
       folds spread together, so a candidate costs one neighbour search.
       ``estimator`` replaces it by any classifier, fitted on the labeled
       training regions of each fold.
    5. **Greedy forward selection.** Starting from ``base`` (weight 1), each
       round tries every remaining block at every weight of ``weights`` and
       adds the best if it raises the score by more than ``margin``; it stops
       when no block does. Without a ``base`` block the best single block
       starts.

    When the scribbled regions show fewer than two classes nothing can be
    decided: every block is kept at weight 1 with a warning.

    The weights act on distances: follow this step by an estimator that does
    not standardise its input again, such as
    ``RegionClassifier(SparseLabelSpreading())`` (whose locally scaled graph
    does not depend on a common scale of all features). A StandardScaler
    after it undoes the weights, though not the choice of blocks; a random
    forest ignores them.

    Parameters
    ----------
    blocks : dict of str to str or tuple of str, default=None
        Block name to the prefix (or prefixes) of its column names; columns
        that match none form ``"stats"``. None groups the columns
        automatically (see :func:`feature_blocks`).
    base : str or None, default="stats"
        The block that always enters, at weight 1; None, or a name that is
        not among the blocks, starts from the best single block.
    weights : tuple of float, default=(0.5, 1.0)
        Weights tried for each added block, relative to ``base``.
    margin : float, default=0.01
        Gain in cross-validated score a block must bring to be added.
    n_splits : int, default=5
        Largest number of folds; fewer when no class has that many strokes.
    max_regions : int, default=1000
        Regions in the cross-validation graph: every labeled region, and
        unlabeled ones drawn at random up to this number.
    n_neighbors : int, default=10
        Neighbours of each region in the cross-validation graph.
    estimator : estimator object, default=None
        A classifier to cross-validate with instead of label spreading,
        fitted on the labeled regions of the training folds only.
    scoring : {"proba", "iou"}, default="proba"
        Score of the held-out labeled regions: ``"proba"`` the mean over
        classes of the probability given to their true class, which still
        tells candidates apart when a few dozen regions are labeled;
        ``"iou"`` the mean over classes of the IoU of their predicted class.
        With ``estimator`` the predicted class has probability 1.
    {random_state}

    Attributes
    ----------
    n_features_in_ : int
        Number of feature columns seen at fit.
    n_channels_ : int
        Number of image channels seen at fit.
    feature_names_in_ : ndarray of str
        Names of the feature columns seen at fit.
    blocks_ : dict of str to list of str
        The column names of every block found.
    selected_blocks_ : list of str
        The blocks that enter, in the order they were chosen.
    block_weights_ : dict of str to float
        Weight of every block found; 0 for the dropped ones.
    cv_scores_ : dict of str to float
        Cross-validated score of every candidate tried, keyed by a label such
        as ``"stats + autoencoder*0.5"``.
    decided_ : bool
        False when the scribbles could not decide and every block was kept.
    n_folds_ : int
        Number of folds (0 when undecided).
    n_labeled_regions_ : int
        Number of labeled regions.
    n_strokes_ : int
        Number of strokes (groups) the labeled regions fall into.
    mean_, scale_ : ndarray of shape ``(n_features_in_,)``
        Mean and standard deviation (1 where zero) of each column over the
        regions of all fitted images.
    selected_columns_ : ndarray of int
        Indices of the columns kept, in their input order.
    column_weights_ : ndarray of shape ``(len(selected_columns_),)``
        Factor of each kept column after standardisation.

    See Also
    --------
    feature_blocks : How columns are grouped into blocks.
    RegionClassifier : The step that labels the regions next.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk import Superpixels, RegionStats
    >>> from semiseg_sk import FeatureGate
    >>> rng = np.random.RandomState(0)
    >>> image = np.zeros((48, 48)); image[:, 24:] = 1.0
    >>> labels = np.full((48, 48), -1)
    >>> labels[4:44:2, 8] = 0; labels[4:44:2, 40] = 1
    >>> regions = RegionStats(filters=False).fit_transform(
    ...     Superpixels(n_segments=36).fit_transform([image]))
    >>> noisy = [r.with_features(rng.rand(r.n_regions, 20),
    ...                          [f"noise{i}" for i in range(20)]) for r in regions]
    >>> gate = FeatureGate(random_state=0).fit(noisy, [labels])
    >>> gate.selected_blocks_
    ['stats']
    >>> gate.transform(noisy)[0].features.shape[1] == len(gate.blocks_["stats"])
    True
    """

    _supports_volumes = True

    _parameter_constraints = {
        "blocks": [dict, None],
        "base": [str, None],
        "weights": [tuple, list],
        "margin": [Interval(Real, 0, None, closed="left")],
        "n_splits": [Interval(Integral, 2, None, closed="left")],
        "max_regions": [Interval(Integral, 2, None, closed="left")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "estimator": [HasMethods(["fit", "predict"]), None],
        "scoring": [StrOptions({"iou", "proba"})],
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        blocks=None,
        base=STATS_BLOCK,
        weights=(0.5, 1.0),
        margin=0.01,
        n_splits=5,
        max_regions=1000,
        n_neighbors=10,
        estimator=None,
        scoring="proba",
        random_state=None,
    ):
        self.blocks = blocks
        self.base = base
        self.weights = weights
        self.margin = margin
        self.n_splits = n_splits
        self.max_regions = max_regions
        self.n_neighbors = n_neighbors
        self.estimator = estimator
        self.scoring = scoring
        self.random_state = random_state

    def _check_weights(self):
        weights = tuple(self.weights)
        if not weights or any(
            not isinstance(w, Real) or isinstance(w, bool) or not w > 0 for w in weights
        ):
            raise ValueError(
                f"weights must be a non-empty tuple of positive numbers; got "
                f"{weights!r}."
            )
        return weights

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Choose the blocks and their weights by cross-validation on the scribbles.

        Parameters
        ----------
        {regions}
            Every Regions must have features.
        {labels}

        Returns
        -------
        self : FeatureGate
            The fitted step.
        """
        weights = self._check_weights()
        X = self._check_regions_with_features(X)
        if y is None:
            raise ValueError(
                "FeatureGate.fit needs y, the pixel labels of every image (-1 for "
                "unlabeled pixels): it chooses the feature blocks from the "
                "scribbles."
            )
        y = check_labels(
            y, [r.shape for r in X], name="y", require_labeled=True, ndim=X[0].ndim
        )
        X = self._check_fit_input(X)
        names = list(X[0].feature_names)
        blocks = feature_blocks(names, self.blocks)
        features = np.vstack([r.features for r in X])
        if not np.isfinite(features).all():
            bad = next(i for i, r in enumerate(X) if not np.isfinite(r.features).all())
            raise ValueError(
                f"X[{bad}] has NaN or infinite region features; expected finite "
                f"features. Check the step that made them."
            )
        mean = features.mean(axis=0)
        scale = features.std(axis=0)
        scale[scale <= 0] = 1.0
        classes = np.unique(np.concatenate([lab[lab >= 0] for lab in y]))
        targets = region_targets(X, y, classes)
        rng = check_random_state(self.random_state)

        self.blocks_ = {b: [names[i] for i in cols] for b, cols in blocks.items()}
        self.mean_, self.scale_ = mean, scale
        self.cv_scores_ = {}
        self.n_labeled_regions_ = int((targets >= 0).sum())
        region_classes = np.unique(targets[targets >= 0])
        if region_classes.size < 2:
            warnings.warn(
                f"FeatureGate: the labeled regions show {region_classes.size} "
                f"class(es), so the scribbles cannot tell which feature blocks "
                f"help; keeping every block ({', '.join(blocks)}) at weight 1.",
                SingleClassWarning,
                stacklevel=2,
            )
            config = {b: 1.0 for b in blocks}
            self.decided_ = False
            self.n_folds_ = 0
            self.n_strokes_ = 0
        else:
            groups = _strokes(X, y, targets, classes)
            self.n_strokes_ = int(groups.max()) + 1
            folds, self.n_folds_ = _folds(targets, groups, self.n_splits, rng)
            keep = self._cv_sample(targets, rng)
            Z = (features[keep] - mean) / scale
            cv = {
                "Z": Z,
                "blocks": blocks,
                "targets": targets[keep],
                "folds": folds[keep],
                "n_classes": len(classes),
            }
            if self.estimator is None:
                cv["distances"] = _block_distances(Z, blocks)
            config = self._select(cv, weights)
            self.decided_ = True
        self.selected_blocks_ = list(config)
        self.block_weights_ = {b: float(config.get(b, 0.0)) for b in blocks}
        columns, factors = [], []
        for b, w in config.items():
            columns.append(blocks[b])
            factors.append(np.full(blocks[b].size, w / np.sqrt(blocks[b].size)))
        order = np.argsort(np.concatenate(columns), kind="stable")
        self.selected_columns_ = np.concatenate(columns)[order]
        self.column_weights_ = np.concatenate(factors)[order]
        return self

    def _check_regions_with_features(self, X):
        X = check_regions(X, name="X", estimator=type(self).__name__)
        for i, regions in enumerate(X):
            if regions.features is None:
                raise ValueError(
                    f"X[{i}] has no region features; put feature steps such as "
                    f"RegionStats() before FeatureGate."
                )
        return X

    def _cv_sample(self, targets, rng):
        """All labeled regions and random unlabeled ones, up to max_regions."""
        labeled = np.flatnonzero(targets >= 0)
        unlabeled = np.flatnonzero(targets < 0)
        room = max(self.max_regions - labeled.size, 0)
        if unlabeled.size > room:
            unlabeled = np.sort(rng.choice(unlabeled, room, replace=False))
        return np.sort(np.concatenate([labeled, unlabeled]))

    def _score(self, cv, config):
        """Cross-validated score of one candidate ``{block: weight}``."""
        targets, n_classes = cv["targets"], cv["n_classes"]
        truth = targets[targets >= 0]
        if self.estimator is None:
            dist, ind = _neighbors(
                cv["distances"], cv["blocks"], config, self.n_neighbors
            )
            proba = _spread_proba(
                dist, ind, targets, cv["folds"], self.n_folds_, n_classes
            )
            pred = proba.argmax(axis=1)
        else:
            blocks, Z = cv["blocks"], cv["Z"]
            M = np.hstack(
                [
                    Z[:, blocks[b]] * (w / np.sqrt(blocks[b].size))
                    for b, w in config.items()
                ]
            )
            pred = _estimator_predictions(
                self.estimator, M, targets, cv["folds"], self.n_folds_
            )
            proba = np.eye(n_classes)[pred]
        if self.scoring == "iou":
            score = _macro_iou(truth, pred, n_classes)
        else:
            # Class-balanced mean probability of the true class.
            p_true = proba[np.arange(truth.size), truth]
            score = float(
                np.mean([p_true[truth == c].mean() for c in np.unique(truth)])
            )
        self.cv_scores_[_label(config)] = score
        return score

    def _select(self, cv, weights):
        """Greedy forward selection of (block, weight) pairs."""
        blocks = cv["blocks"]
        if self.base in blocks:
            config = {self.base: 1.0}
            best = self._score(cv, config)
        else:
            config, best = {}, -np.inf
        remaining = [b for b in blocks if b not in config]
        while remaining:
            trial = None
            for b in remaining:
                for w in weights:
                    candidate = {**config, b: float(w)}
                    score = self._score(cv, candidate)
                    if trial is None or score > trial[0]:
                        trial = (score, b, float(w))
            score, b, w = trial
            if config and score <= best + self.margin:
                break
            config[b] = w
            best = score
            remaining.remove(b)
        return config

    def transform(self, X):
        """Keep the chosen blocks, standardised and weighted.

        Parameters
        ----------
        {regions}

        Returns
        -------
        regions : list of Regions
            New Regions whose features are the kept columns, standardised
            with the fitted ``mean_`` and ``scale_`` and multiplied by
            ``column_weights_``; names follow :meth:`get_feature_names_out`.
        """
        X = self._check_transform_input(X)
        cols = self.selected_columns_
        factor = self.column_weights_ / self.scale_[cols]
        names = self.get_feature_names_out()
        return [
            r._with_features_replaced(
                (r.features[:, cols] - self.mean_[cols]) * factor, names
            )
            for r in X
        ]

    def get_feature_names_out(self, input_features=None):
        """Names of the kept columns.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Names of the incoming feature columns; the names seen at fit are
            used when omitted. Must have ``n_features_in_`` names.

        Returns
        -------
        feature_names_out : ndarray of str
            The names of the kept columns, in their input order.
        """
        check_is_fitted(self)
        if input_features is None:
            input_features = self.feature_names_in_
        elif len(input_features) != self.n_features_in_:
            raise ValueError(
                f"input_features has {len(input_features)} names but "
                f"FeatureGate was fitted on {self.n_features_in_} features."
            )
        return np.asarray(input_features, dtype=object)[self.selected_columns_]

    def summary(self):
        """The choice of blocks as plain text, for ``semiseg info``.

        Returns
        -------
        text : str
            One line per block (columns, weight, whether it entered) and the
            cross-validated score of every candidate tried.
        """
        check_is_fitted(self)
        if self.decided_:
            head = (
                f"feature gate: {self.n_labeled_regions_} labeled regions in "
                f"{self.n_strokes_} strokes, {self.n_folds_}-fold cross-validation "
                f"by stroke, scoring={self.scoring!r}"
            )
        else:
            head = (
                "feature gate: undecided (fewer than two classes in the labeled "
                "regions), every block kept"
            )
        width = max(len(b) for b in self.blocks_)
        lines = [head]
        for b, cols in self.blocks_.items():
            w = self.block_weights_[b]
            state = f"weight {w:g}" if w > 0 else "dropped"
            lines.append(f"  {b:<{width}}  {len(cols):4d} columns  {state}")
        for label, score in self.cv_scores_.items():
            lines.append(f"  cv {score:.3f}  {label}")
        return "\n".join(lines)
