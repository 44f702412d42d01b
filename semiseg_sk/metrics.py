# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Segmentation metrics over lists of label maps, and a scorer for model selection.

Every metric pools the pixels of all images (one confusion matrix for the
whole list, as in the PASCAL VOC and Cityscapes benchmarks) and ignores the
pixels whose true label is ``-1``. A prediction of ``-1`` on a labeled pixel
counts as a miss.
"""

import numpy as np

from .utils.fixes import StrOptions, validate_params
from .utils.validation import as_array, check_labels

__all__ = [
    "confusion_matrix",
    "dice_score",
    "make_segmentation_scorer",
    "mean_iou",
    "pixel_accuracy",
    "uncertainty_map",
]


def _as_maps(maps):
    """A single 2-D array is one image; anything else goes through check_labels."""
    if isinstance(maps, np.ndarray) and maps.ndim == 2:
        return [maps]
    return maps


def _check_pair(y_true, y_pred):
    """Validate two lists of label maps of matching lengths and shapes."""
    y_true = _as_maps(y_true)
    y_pred = _as_maps(y_pred)
    if isinstance(y_true, np.ndarray) or isinstance(y_pred, np.ndarray):
        name, value = (
            ("y_true", y_true) if isinstance(y_true, np.ndarray) else ("y_pred", y_pred)
        )
        raise TypeError(
            f"{name} must be a list of (H, W) label maps or one (H, W) array; got "
            f"an ndarray of shape {value.shape}. Turn a stack of maps into a list "
            f"with list(stack)."
        )
    try:
        n_true, n_pred = len(y_true), len(y_pred)
    except TypeError as exc:
        raise TypeError(
            f"y_true and y_pred must be lists of (H, W) label maps; got "
            f"{type(y_true).__name__} and {type(y_pred).__name__}."
        ) from exc
    if n_true != n_pred:
        raise ValueError(
            f"y_true has {n_true} label maps but y_pred has {n_pred}; expected one "
            f"prediction per image."
        )
    shapes = []
    expected = "an (H, W) array of int labels"
    y_true = [as_array(t, f"y_true[{i}]", expected) for i, t in enumerate(y_true)]
    y_pred = [as_array(p, f"y_pred[{i}]", expected) for i, p in enumerate(y_pred)]
    for i, (t, p) in enumerate(zip(y_true, y_pred, strict=True)):
        t_shape, p_shape = t.shape, p.shape
        if len(t_shape) not in (2, 3):
            raise ValueError(
                f"y_true[{i}] has shape {t_shape}; expected an (H, W) label map "
                f"(or the (Z, Y, X) label map of a volume)."
            )
        if p_shape != t_shape:
            raise ValueError(
                f"y_pred[{i}] has shape {p_shape} but y_true[{i}] has shape "
                f"{t_shape}; expected the same."
            )
        shapes.append(t_shape)
    # Volumes' maps are (Z, Y, X); one call scores images or volumes.
    ndim = len(shapes[0]) if shapes else 2
    y_true = check_labels(y_true, shapes, name="y_true", ndim=ndim)
    y_pred = check_labels(y_pred, shapes, name="y_pred", ndim=ndim)
    return y_true, y_pred


def _labeled_pairs(y_true, y_pred):
    """Yield the (true, predicted) values of the labeled pixels of each image."""
    for t, p in zip(y_true, y_pred, strict=True):
        mask = t != -1
        yield t[mask], p[mask]


def _counts(y_true, y_pred, labels):
    """Validate and pool: the label set and the (true, predicted) pairs that occur.

    Returns ``labels`` (unique ints), and ``true``, ``pred`` and ``count``:
    for each distinct pair of values on the labeled pixels, the position in
    ``labels`` of the true and of the predicted value (``len(labels)`` for a
    value outside ``labels``, including predictions of -1) and the number of
    pixels with that pair. Only the pairs that occur are kept, so memory does
    not grow with the square of the number of labels: an instance-labelled
    truth has one label per object.
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    if not any((t != -1).any() for t in y_true):
        raise ValueError("y_true has no labeled pixel (all -1); nothing to score.")
    if labels is None:
        found = [np.union1d(t, p[p != -1]) for t, p in _labeled_pairs(y_true, y_pred)]
        labels = np.unique(np.concatenate(found))
    else:
        labels = np.asarray(labels)
        if (
            labels.ndim != 1
            or labels.size == 0
            or not np.issubdtype(labels.dtype, np.integer)
        ):
            raise ValueError(
                f"labels must be a non-empty 1-D list of int class labels; got "
                f"{labels!r}."
            )
        if labels.min() < 0:
            raise ValueError(
                f"labels contains {labels.min()}; class labels are >= 0 (-1 marks "
                f"unlabeled pixels and is never a class)."
            )
        if np.unique(labels).size != labels.size:
            raise ValueError(f"labels contains duplicates: {labels.tolist()}.")
    labels = np.asarray(labels, dtype=np.int64)
    order = np.argsort(labels)
    sorted_labels = labels[order]
    n_codes = labels.size + 1
    codes, counts = [], []
    for t, p in _labeled_pairs(y_true, y_pred):
        ti, pi = _index(t, sorted_labels, order), _index(p, sorted_labels, order)
        code, count = _count_codes(ti * n_codes + pi, n_codes**2)
        codes.append(code)
        counts.append(count)
    code, inverse = np.unique(np.concatenate(codes), return_inverse=True)
    count = np.bincount(inverse, weights=np.concatenate(counts)).astype(np.int64)
    return labels, code // n_codes, code % n_codes, count


def _count_codes(codes, n_codes):
    """The distinct values of ``codes`` (ints in ``[0, n_codes)``) and their counts.

    A bincount where its ``n_codes`` bins take no more memory than the codes
    themselves, a sort otherwise.
    """
    if n_codes <= codes.size:
        count = np.bincount(codes, minlength=n_codes)
        code = np.flatnonzero(count)
        return code, count[code]
    return np.unique(codes, return_counts=True)


def _index(values, sorted_labels, order):
    """Position of each value in the (unsorted) labels, or len(labels) if absent."""
    pos = np.searchsorted(sorted_labels, values)
    pos = np.minimum(pos, sorted_labels.size - 1)
    found = sorted_labels[pos] == values
    return np.where(found, order[pos], sorted_labels.size)


def _per_class(true, pred, count, n_classes):
    """True positives, false positives and false negatives of each label."""

    def total(index, keep=slice(None)):
        sums = np.bincount(index[keep], weights=count[keep], minlength=n_classes + 1)
        return sums[:n_classes].astype(np.int64)

    tp = total(true, true == pred)
    return tp, total(pred) - tp, total(true) - tp


def _overlap_score(y_true, y_pred, labels, per_class, *, dice):
    labels, true, pred, count = _counts(y_true, y_pred, labels)
    tp, fp, fn = _per_class(true, pred, count, labels.size)
    num = (2 * tp if dice else tp).astype(np.float64)
    den = (2 * tp if dice else tp) + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = np.where(den > 0, num / np.maximum(den, 1), np.nan)
    if per_class:
        return scores
    if np.isnan(scores).all():
        raise ValueError(
            f"None of labels={labels.tolist()} occurs in y_true or y_pred on the "
            f"labeled pixels; nothing to score."
        )
    return float(np.nanmean(scores))


_LABEL_PARAMS = {
    "y_true": ["array-like"],
    "y_pred": ["array-like"],
    "labels": ["array-like", None],
}


@validate_params(_LABEL_PARAMS, prefer_skip_nested_validation=True)
def confusion_matrix(y_true, y_pred, *, labels=None):
    """Pixel confusion matrix pooled over a list of label maps.

    Pixels whose true label is ``-1`` are ignored. Like
    :func:`sklearn.metrics.confusion_matrix`, pixels whose true or predicted
    value is not in ``labels`` are not counted (a prediction of ``-1`` shows
    in no column).

    Parameters
    ----------
    y_true : list of ndarray of shape (H, W) of int, or ndarray of shape (H, W)
        True label maps; ``-1`` marks unlabeled pixels. A single 2-D array is
        one image.
    y_pred : list of ndarray of shape (H, W) of int, or ndarray of shape (H, W)
        Predicted label maps, one per true map and of the same shape.
    labels : array-like of int, default=None
        Classes that index the matrix, in this order. By default, the sorted
        union of the classes in ``y_true`` and those predicted on its labeled
        pixels.

    Returns
    -------
    matrix : ndarray of shape (n_classes, n_classes) of int64
        ``matrix[i, j]`` counts pixels of true class ``labels[i]`` predicted
        as ``labels[j]``. Dense: for maps with thousands of labels (one per
        object instance) prefer :func:`mean_iou` or :func:`dice_score`,
        which count only the pairs of labels that occur.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk.metrics import confusion_matrix
    >>> y_true = np.array([[0, 0, 1], [1, 1, -1]])
    >>> y_pred = np.array([[0, 1, 1], [1, 1, 0]])
    >>> confusion_matrix(y_true, y_pred)
    array([[1, 1],
           [0, 3]])
    """
    labels, true, pred, count = _counts(y_true, y_pred, labels)
    k = labels.size
    keep = (true < k) & (pred < k)
    matrix = np.zeros((k, k), dtype=np.int64)
    matrix[true[keep], pred[keep]] = count[keep]
    return matrix


@validate_params(
    {**_LABEL_PARAMS, "per_class": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def mean_iou(y_true, y_pred, *, labels=None, per_class=False):
    """Mean intersection over union (Jaccard index) of label maps.

    The IoU of a class is ``TP / (TP + FP + FN)``, counted over the labeled
    pixels (``y_true != -1``) of all images together. The mean is taken over
    the classes whose union ``TP + FP + FN`` is not zero.

    Parameters
    ----------
    y_true : list of ndarray of shape (H, W) of int, or ndarray of shape (H, W)
        True label maps; ``-1`` marks unlabeled pixels, which are ignored. A
        single 2-D array is one image.
    y_pred : list of ndarray of shape (H, W) of int, or ndarray of shape (H, W)
        Predicted label maps, one per true map and of the same shape. A
        predicted ``-1`` on a labeled pixel counts as a miss.
    labels : array-like of int, default=None
        Classes to score. By default, the union of the classes in ``y_true``
        and those predicted on its labeled pixels, so a class predicted but
        absent from the truth scores 0.
    per_class : bool, default=False
        Return the IoU of each class in ``labels`` (sorted classes when
        ``labels`` is None) instead of their mean; a class with an empty
        union gets NaN.

    Returns
    -------
    score : float or ndarray of shape (n_classes,)
        Mean IoU in [0, 1] (1 is a perfect segmentation), or the per-class
        values.

    See Also
    --------
    dice_score : The Dice coefficient, ``2 TP / (2 TP + FP + FN)``.
    make_segmentation_scorer : A scorer for GridSearchCV.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk.metrics import mean_iou
    >>> y_true = np.array([[0, 0, 1], [1, 1, -1]])
    >>> y_pred = np.array([[0, 1, 1], [1, 1, 0]])
    >>> mean_iou(y_true, y_pred)  # (1/2 + 3/4) / 2
    0.625
    >>> mean_iou(y_true, y_pred, per_class=True)
    array([0.5 , 0.75])
    """
    return _overlap_score(y_true, y_pred, labels, per_class, dice=False)


@validate_params(
    {**_LABEL_PARAMS, "per_class": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def dice_score(y_true, y_pred, *, labels=None, per_class=False):
    """Mean Dice coefficient (F1 score) of label maps.

    The Dice coefficient of a class is ``2 TP / (2 TP + FP + FN)``, counted
    over the labeled pixels (``y_true != -1``) of all images together. The
    mean is taken over the classes whose ``TP + FP + FN`` is not zero.

    Parameters
    ----------
    y_true : list of ndarray of shape (H, W) of int, or ndarray of shape (H, W)
        True label maps; ``-1`` marks unlabeled pixels, which are ignored. A
        single 2-D array is one image.
    y_pred : list of ndarray of shape (H, W) of int, or ndarray of shape (H, W)
        Predicted label maps, one per true map and of the same shape. A
        predicted ``-1`` on a labeled pixel counts as a miss.
    labels : array-like of int, default=None
        Classes to score. By default, the union of the classes in ``y_true``
        and those predicted on its labeled pixels.
    per_class : bool, default=False
        Return the Dice coefficient of each class in ``labels`` (sorted
        classes when ``labels`` is None) instead of their mean; a class with
        nothing to count gets NaN.

    Returns
    -------
    score : float or ndarray of shape (n_classes,)
        Mean Dice coefficient in [0, 1], or the per-class values.

    See Also
    --------
    mean_iou : Intersection over union, ``TP / (TP + FP + FN)``.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk.metrics import dice_score
    >>> y_true = np.array([[0, 0, 1], [1, 1, -1]])
    >>> y_pred = np.array([[0, 1, 1], [1, 1, 0]])
    >>> dice_score(y_true, y_pred, per_class=True).round(3)  # 2/3 and 6/7
    array([0.667, 0.857])
    """
    return _overlap_score(y_true, y_pred, labels, per_class, dice=True)


@validate_params(
    {"y_true": ["array-like"], "y_pred": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def pixel_accuracy(y_true, y_pred):
    """Fraction of labeled pixels whose predicted label is right.

    Parameters
    ----------
    y_true : list of ndarray of shape (H, W) of int, or ndarray of shape (H, W)
        True label maps; ``-1`` marks unlabeled pixels, which are ignored. A
        single 2-D array is one image.
    y_pred : list of ndarray of shape (H, W) of int, or ndarray of shape (H, W)
        Predicted label maps, one per true map and of the same shape.

    Returns
    -------
    score : float
        Accuracy in [0, 1], pooled over the labeled pixels of all images.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk.metrics import pixel_accuracy
    >>> y_true = np.array([[0, 0, 1], [1, 1, -1]])
    >>> y_pred = np.array([[0, 1, 1], [1, 1, 0]])
    >>> pixel_accuracy(y_true, y_pred)
    0.8
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    correct = total = 0
    for t, p in _labeled_pairs(y_true, y_pred):
        correct += int(np.count_nonzero(t == p))
        total += t.size
    if total == 0:
        raise ValueError("y_true has no labeled pixel (all -1); nothing to score.")
    return correct / total


_METRICS = {"miou": mean_iou, "dice": dice_score, "pixel_accuracy": pixel_accuracy}


class _SegmentationScorer:
    """Callable ``scorer(estimator, X, y)``: predict ``X``, score against ``y``."""

    def __init__(self, metric, labels=None):
        self.metric = metric
        self.labels = labels

    def __call__(self, estimator, X, y):
        y_pred = estimator.predict(X)
        func = _METRICS[self.metric]
        if self.labels is not None:
            return func(y, y_pred, labels=self.labels)
        return func(y, y_pred)

    def __repr__(self):
        extra = "" if self.labels is None else f", labels={list(self.labels)!r}"
        return f"make_segmentation_scorer(metric={self.metric!r}{extra})"


@validate_params(
    {
        "metric": [StrOptions(set(_METRICS))],
        "labels": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def make_segmentation_scorer(metric="miou", *, labels=None):
    """Make a scorer for ``scoring=`` in GridSearchCV and cross_val_score.

    The scorer calls ``estimator.predict(X)``, which must return one (H, W)
    label map per image, and scores the maps against ``y`` with the chosen
    metric, ignoring pixels whose true label is ``-1``. Greater is better.

    Parameters
    ----------
    metric : {"miou", "dice", "pixel_accuracy"}, default="miou"
        :func:`mean_iou`, :func:`dice_score` or :func:`pixel_accuracy`.
    labels : array-like of int, default=None
        Classes to score, passed to :func:`mean_iou` or :func:`dice_score`.
        Fixing them makes the scores of folds that miss a class comparable.
        Not used by ``"pixel_accuracy"``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)`` returns a float. It can be pickled.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk.metrics import make_segmentation_scorer
    >>> class Zeros:
    ...     def predict(self, X):
    ...         return [np.zeros(x.shape[:2], dtype=int) for x in X]
    >>> scorer = make_segmentation_scorer("pixel_accuracy")
    >>> scorer(Zeros(), [np.ones((2, 2))], [np.array([[0, 0], [1, -1]])])
    0.666...
    """
    if labels is not None and metric == "pixel_accuracy":
        raise ValueError(
            "labels is not used by metric='pixel_accuracy'; leave it as None or "
            "pick metric='miou' or 'dice'."
        )
    return _SegmentationScorer(metric, labels)


def uncertainty_map(proba, *, kind="margin"):
    """Per-pixel uncertainty of class probabilities.

    Parameters
    ----------
    proba : ndarray of shape (H, W, n_classes)
        Class probabilities, e.g. one item of ``predict_proba``.
    kind : {"margin", "entropy"}, default="margin"
        ``"margin"`` is ``1 - max proba``, from 0 (certain) to
        ``1 - 1 / n_classes``; ``"entropy"`` is the Shannon entropy divided by
        ``log(n_classes)``, from 0 to 1.

    Returns
    -------
    uncertainty : ndarray of shape (H, W) of float
        Larger where the prediction is less certain.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk.metrics import uncertainty_map
    >>> proba = np.array([[[1.0, 0.0], [0.5, 0.5]]])
    >>> uncertainty_map(proba).tolist()
    [[0.0, 0.5]]
    >>> uncertainty_map(proba, kind="entropy").tolist()
    [[0.0, 1.0]]
    """
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 3:
        raise ValueError(f"proba has shape {proba.shape}; expected (H, W, n_classes).")
    if kind == "margin":
        return 1.0 - proba.max(axis=2)
    if kind == "entropy":
        n_classes = proba.shape[2]
        if n_classes < 2:
            return np.zeros(proba.shape[:2])
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.where(proba > 0, np.log(np.where(proba > 0, proba, 1.0)), 0.0)
        return np.clip(-(proba * logs).sum(axis=2) / np.log(n_classes), 0.0, 1.0)
    raise ValueError(f"kind must be 'margin' or 'entropy'; got {kind!r}.")


# -- instance metrics ----------------------------------------------------------
#
# Instance label images: 0 = no object, every other value one object (values
# need not be consecutive). Counts are pooled over the images of a list, as
# stardist's ``matching_dataset`` does by default.

__all__ += ["aggregated_jaccard_index", "average_precision"]

_INSTANCES = "an (H, W) integer instance label image (0 = no object)"


def _check_instances(maps, name):
    if isinstance(maps, np.ndarray) and maps.ndim == 2:
        maps = [maps]
    if isinstance(maps, np.ndarray):
        raise TypeError(
            f"{name} must be a list of (H, W) instance label images or one (H, W) "
            f"array; got an ndarray of shape {maps.shape}. Turn a stack into a "
            f"list with list(stack)."
        )
    try:
        maps = list(maps)
    except TypeError as exc:
        raise TypeError(
            f"{name} must be a list of (H, W) instance label images; got "
            f"{type(maps).__name__}."
        ) from exc
    out = []
    for i, m in enumerate(maps):
        m = as_array(m, f"{name}[{i}]", _INSTANCES)
        if m.ndim != 2:
            raise ValueError(f"{name}[{i}] has shape {m.shape}; expected {_INSTANCES}.")
        if m.dtype == bool:
            m = m.astype(np.int64)
        if not np.issubdtype(m.dtype, np.integer):
            raise TypeError(
                f"{name}[{i}] has dtype {m.dtype}; expected {_INSTANCES}. A class "
                f"mask becomes instances with semiseg_sk.instances.to_instances."
            )
        if m.size and m.min() < 0:
            raise ValueError(
                f"{name}[{i}] contains {m.min()}; instance labels are >= 0 "
                f"(0 = no object)."
            )
        out.append(m)
    return out


def _instance_pairs(true_instances, pred_instances):
    y_true = _check_instances(true_instances, "true_instances")
    y_pred = _check_instances(pred_instances, "pred_instances")
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"true_instances has {len(y_true)} images but pred_instances has "
            f"{len(y_pred)}; expected one prediction per image."
        )
    if not y_true:
        raise ValueError("true_instances is empty; nothing to score.")
    for i, (t, p) in enumerate(zip(y_true, y_pred)):
        if t.shape != p.shape:
            raise ValueError(
                f"pred_instances[{i}] has shape {p.shape} but true_instances[{i}] "
                f"has shape {t.shape}; expected the same."
            )
    return y_true, y_pred


def _overlaps(t, p):
    """Areas of the objects and their pairwise overlaps, for one image.

    Returns ``true_area`` (n_true,), ``pred_area`` (n_pred,) and the pairs
    that overlap as ``rows``, ``cols``, ``inter`` (only those pairs: a sparse
    overlap count, never an n_true x n_pred matrix).
    """
    t_ids, t_idx = np.unique(t.ravel(), return_inverse=True)
    p_ids, p_idx = np.unique(p.ravel(), return_inverse=True)
    # Index 0 is the background when the image has any; shift it out.
    t_off = 1 if t_ids.size and t_ids[0] == 0 else 0
    p_off = 1 if p_ids.size and p_ids[0] == 0 else 0
    t_idx, p_idx = t_idx.ravel() - t_off, p_idx.ravel() - p_off
    n_true, n_pred = t_ids.size - t_off, p_ids.size - p_off
    true_area = np.bincount(t_idx[t_idx >= 0], minlength=n_true)
    pred_area = np.bincount(p_idx[p_idx >= 0], minlength=n_pred)
    both = (t_idx >= 0) & (p_idx >= 0)
    codes, inter = np.unique(
        t_idx[both].astype(np.int64) * max(n_pred, 1) + p_idx[both], return_counts=True
    )
    rows, cols = np.divmod(codes, max(n_pred, 1))
    return true_area, pred_area, rows, cols, inter


def _n_matched(rows, cols, iou, threshold):
    """Most one-to-one pairs with IoU >= threshold (ties: larger IoU total)."""
    good = iou >= threshold
    rows, cols, iou = rows[good], cols[good], iou[good]
    if rows.size == 0:
        return 0
    if threshold > 0.5:
        # Above 0.5 an object overlaps at most one other object that much.
        return int(rows.size)
    from scipy.optimize import linear_sum_assignment

    r_ids, r = np.unique(rows, return_inverse=True)
    c_ids, c = np.unique(cols, return_inverse=True)
    weight = np.zeros((r_ids.size, c_ids.size))
    # One match is worth more than any sum of IoUs of fewer matches.
    weight[r, c] = (rows.size + 1) + iou
    chosen_r, chosen_c = linear_sum_assignment(weight, maximize=True)
    return int((weight[chosen_r, chosen_c] > 0).sum())


def _check_thresholds(iou_threshold):
    values = np.atleast_1d(np.asarray(iou_threshold, dtype=float))
    if (
        values.ndim != 1
        or values.size == 0
        or not np.isfinite(values).all()
        or values.min() <= 0
        or values.max() > 1
    ):
        raise ValueError(
            f"iou_threshold must be a float in (0, 1] or a non-empty list of "
            f"them; got {iou_threshold!r}."
        )
    return values


def average_precision(true_instances, pred_instances, *, iou_threshold=0.5):
    """Object detection score of instance masks: TP / (TP + FP + FN).

    The metric of the 2018 Data Science Bowl and of stardist's ``matching``.
    True and predicted objects are paired one to one, each pair with an
    intersection over union of at least ``iou_threshold`` (the most pairs
    possible; above 0.5 the pairs are unique anyway). Paired predictions
    are true positives (TP), unpaired predictions false positives (FP),
    unpaired true objects false negatives (FN). Counts are pooled over all
    images of the list.

    Parameters
    ----------
    true_instances : ndarray of shape (H, W) or list of them
        True objects: 0 = no object, every other value one object.
    pred_instances : ndarray of shape (H, W) or list of them
        Predicted objects, same convention, e.g. from
        :func:`semiseg_sk.instances.to_instances`.
    iou_threshold : float or sequence of float, default=0.5
        The IoU a pair needs, in (0, 1]. A sequence gives the mean score over
        its thresholds; the Data Science Bowl used
        ``np.arange(0.5, 1.0, 0.05)``.

    Returns
    -------
    score : float
        In [0, 1], 1 when every object is found exactly enough and nothing
        else is; 1.0 also when there is no object at all, neither true nor
        predicted.

    See Also
    --------
    aggregated_jaccard_index : A score that also weighs how well objects fit.
    semiseg_sk.instances.to_instances : Instances from a class mask.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk.metrics import average_precision
    >>> truth = np.array([[1, 1, 0, 2, 2],
    ...                   [1, 1, 0, 2, 2]])
    >>> pred = np.array([[5, 5, 0, 0, 0],
    ...                  [5, 0, 0, 0, 7]])
    >>> # object 1 found (IoU 3/4), object 2 missed (IoU 1/4): 1 TP, 1 FP, 1 FN
    >>> round(average_precision(truth, pred), 4)
    0.3333
    >>> average_precision(truth, pred, iou_threshold=0.2)
    1.0
    """
    y_true, y_pred = _instance_pairs(true_instances, pred_instances)
    thresholds = _check_thresholds(iou_threshold)
    scores = []
    per_image = [_overlaps(t, p) for t, p in zip(y_true, y_pred)]
    n_true = sum(o[0].size for o in per_image)
    n_pred = sum(o[1].size for o in per_image)
    for threshold in thresholds:
        tp = 0
        for true_area, pred_area, rows, cols, inter in per_image:
            union = true_area[rows] + pred_area[cols] - inter
            tp += _n_matched(rows, cols, inter / union, threshold)
        denominator = n_true + n_pred - tp  # TP + FP + FN
        scores.append(1.0 if denominator == 0 else tp / denominator)
    return float(np.mean(scores))


def aggregated_jaccard_index(true_instances, pred_instances):
    """Aggregated Jaccard index (AJI) of instance masks.

    Kumar et al. (2017): every true object is paired with the predicted
    object of largest IoU with it; the intersections of these pairs are
    summed, and divided by the sum of their unions plus the areas of the
    true objects that overlap no prediction and of the predictions never
    paired. Unlike :func:`average_precision` it weighs how well each object
    fits, and it penalises both merges and splits. Sums are pooled over all
    images of the list.

    Parameters
    ----------
    true_instances : ndarray of shape (H, W) or list of them
        True objects: 0 = no object, every other value one object.
    pred_instances : ndarray of shape (H, W) or list of them
        Predicted objects, same convention.

    Returns
    -------
    score : float
        In [0, 1]; 1.0 also when there is no object at all.

    References
    ----------
    N. Kumar et al., "A dataset and a technique for generalized nuclear
    segmentation for computational pathology", IEEE Transactions on Medical
    Imaging 36(7), 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk.metrics import aggregated_jaccard_index
    >>> truth = np.array([[1, 1, 0, 2, 2],
    ...                   [1, 1, 0, 2, 2]])
    >>> pred = np.array([[5, 5, 0, 0, 0],
    ...                  [5, 0, 0, 0, 7]])
    >>> # (3 + 1) / (4 + 4)
    >>> aggregated_jaccard_index(truth, pred)
    0.5
    """
    y_true, y_pred = _instance_pairs(true_instances, pred_instances)
    numerator = denominator = 0
    for t, p in zip(y_true, y_pred):
        true_area, pred_area, rows, cols, inter = _overlaps(t, p)
        used = np.zeros(pred_area.size, dtype=bool)
        if rows.size:
            iou = inter / (true_area[rows] + pred_area[cols] - inter)
            # Best prediction of each true object (first one on ties).
            order = np.lexsort((-iou, rows))
            first = np.ones(order.size, dtype=bool)
            first[1:] = rows[order][1:] != rows[order][:-1]
            best = order[first]
            b_rows, b_cols, b_inter = rows[best], cols[best], inter[best]
            numerator += int(b_inter.sum())
            denominator += int((true_area[b_rows] + pred_area[b_cols] - b_inter).sum())
            used[b_cols] = True
            unmatched = np.ones(true_area.size, dtype=bool)
            unmatched[b_rows] = False
        else:
            unmatched = np.ones(true_area.size, dtype=bool)
        denominator += int(true_area[unmatched].sum()) + int(pred_area[~used].sum())
    return 1.0 if denominator == 0 else numerator / denominator
