# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
import pickle
import tracemalloc

import numpy as np
import pytest
from sklearn.metrics import f1_score, jaccard_score

from semiseg_sk.metrics import (
    confusion_matrix,
    dice_score,
    make_segmentation_scorer,
    mean_iou,
    pixel_accuracy,
)


def _ro(*arrays):
    """Read-only copies: a metric that writes into its inputs fails loudly."""
    out = []
    for a in arrays:
        a = np.array(a)
        a.flags.writeable = False
        out.append(a)
    return out


# y_true: 2 pixels of class 0, 3 of class 1, 1 unlabeled.
# y_pred: one class-0 pixel predicted 1; the unlabeled pixel is ignored.
T, P = _ro([[0, 0, 1], [1, 1, -1]], [[0, 1, 1], [1, 1, 0]])


def test_hand_computed_two_class_case():
    np.testing.assert_array_equal(confusion_matrix(T, P), [[1, 1], [0, 3]])
    # IoU: class 0 = 1 / (1 + 0 + 1), class 1 = 3 / (3 + 1 + 0).
    np.testing.assert_allclose(mean_iou(T, P, per_class=True), [0.5, 0.75])
    assert mean_iou(T, P) == pytest.approx(0.625)
    # Dice: class 0 = 2 / (2 + 1), class 1 = 6 / (6 + 1).
    np.testing.assert_allclose(dice_score(T, P, per_class=True), [2 / 3, 6 / 7])
    assert dice_score(T, P) == pytest.approx((2 / 3 + 6 / 7) / 2)
    assert pixel_accuracy(T, P) == pytest.approx(4 / 5)


@pytest.mark.parametrize("metric", [mean_iou, dice_score, pixel_accuracy])
def test_perfect_prediction_scores_one(metric):
    rng = np.random.RandomState(0)
    truths = [rng.randint(0, 4, size=(7, 9)) for _ in range(3)]
    truths[1][:3] = -1
    preds = [np.where(t == -1, rng.randint(0, 4, size=t.shape), t) for t in truths]
    assert metric(truths, preds) == 1.0


def test_unlabeled_pixels_are_ignored():
    t = np.array([[0, 1, -1, -1]])
    good = np.array([[0, 1, 1, 1]])
    other = np.array([[0, 1, 0, 5]])
    for metric in (mean_iou, dice_score, pixel_accuracy):
        assert metric(t, good) == metric(t, other) == 1.0
    np.testing.assert_array_equal(confusion_matrix(t, other), np.eye(2))


def test_predicted_minus_one_is_a_miss():
    t, p = np.array([[0, 0, 1, 1]]), np.array([[0, -1, 1, 1]])
    assert pixel_accuracy(t, p) == 0.75
    np.testing.assert_allclose(mean_iou(t, p, per_class=True), [0.5, 1.0])
    # confusion_matrix, like sklearn's, does not count values outside labels.
    np.testing.assert_array_equal(confusion_matrix(t, p), [[1, 0], [0, 2]])


def test_pooled_over_images_not_averaged():
    t = [np.array([[0, 0, 0, 0]]), np.array([[1, 1]])]
    p = [np.array([[0, 0, 0, 0]]), np.array([[1, 0]])]
    # Pooled: class 0 = 4 / 5, class 1 = 1 / 2; per-image averages differ.
    assert mean_iou(t, p) == pytest.approx((4 / 5 + 1 / 2) / 2)
    assert pixel_accuracy(t, p) == pytest.approx(5 / 6)


def test_matches_sklearn_on_flattened_pixels():
    rng = np.random.RandomState(0)
    truths = [rng.randint(-1, 4, size=(6, 5)) for _ in range(4)]
    preds = [rng.randint(0, 5, size=(6, 5)) for _ in range(4)]
    t = np.concatenate([a.ravel() for a in truths])
    p = np.concatenate([a.ravel() for a in preds])
    t, p = t[t != -1], p[t != -1]
    classes = np.union1d(t, p)
    np.testing.assert_allclose(
        mean_iou(truths, preds, per_class=True),
        jaccard_score(t, p, labels=classes, average=None),
    )
    assert mean_iou(truths, preds) == pytest.approx(
        jaccard_score(t, p, labels=classes, average="macro")
    )
    assert dice_score(truths, preds) == pytest.approx(
        f1_score(t, p, labels=classes, average="macro")
    )
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix

    np.testing.assert_array_equal(
        confusion_matrix(truths, preds), sk_confusion_matrix(t, p, labels=classes)
    )


def test_predicted_class_absent_from_truth_counts_by_default():
    t, p = np.array([[0, 0, 0, 0]]), np.array([[0, 0, 0, 3]])
    np.testing.assert_allclose(mean_iou(t, p, per_class=True), [0.75, 0.0])
    assert mean_iou(t, p) == pytest.approx(0.375)
    assert mean_iou(t, p, labels=[0]) == pytest.approx(0.75)


def test_labels_order_and_empty_class():
    np.testing.assert_array_equal(
        confusion_matrix(T, P, labels=[1, 0]), [[3, 0], [1, 1]]
    )
    np.testing.assert_allclose(
        mean_iou(T, P, labels=[1, 0], per_class=True), [0.75, 0.5]
    )
    scores = mean_iou(T, P, labels=[0, 1, 7], per_class=True)
    assert np.isnan(scores[2])
    # A class with an empty union is left out of the mean.
    assert mean_iou(T, P, labels=[0, 1, 7]) == pytest.approx(0.625)
    with pytest.raises(ValueError, match=r"None of labels=\[7\] occurs"):
        mean_iou(T, P, labels=[7])


def test_lists_and_tuples_and_mixed_sizes():
    t = [np.zeros((2, 3), dtype=int), np.ones((4, 1), dtype=np.int32)]
    p = (np.zeros((2, 3), dtype=np.int8), np.ones((4, 1), dtype=np.uint8))
    assert mean_iou(t, p) == 1.0


def test_inputs_not_modified():
    t, p = _ro([[0, 1], [-1, 1]], [[1, 1], [0, 0]])
    before = t.copy(), p.copy()
    for metric in (mean_iou, dice_score, pixel_accuracy, confusion_matrix):
        metric([t], [p])
    np.testing.assert_array_equal(t, before[0])
    np.testing.assert_array_equal(p, before[1])


@pytest.mark.parametrize("metric", [mean_iou, dice_score, pixel_accuracy])
def test_no_labeled_pixel(metric):
    with pytest.raises(ValueError, match=r"y_true has no labeled pixel \(all -1\)"):
        metric([np.full((2, 2), -1)], [np.zeros((2, 2), dtype=int)])


@pytest.mark.parametrize(
    "y_true, y_pred, error, match",
    [
        ([T, T], [P], ValueError, r"y_true has 2 label maps but y_pred has 1"),
        ([T, T], [P, P[:, :2]], ValueError, r"y_pred\[1\] has shape \(2, 2\)"),
        ([T, T[None]], [P, P[None]], ValueError, r"y_true\[1\] has shape"),
        ([T], [P.astype(float)], TypeError, r"y_pred\[0\] has dtype float64"),
        ([T - 2], [P], ValueError, r"y_true\[0\] contains -3"),
        (np.stack([T, T]), [P, P], TypeError, r"y_true must be a list"),
    ],
)
def test_input_errors(y_true, y_pred, error, match):
    for metric in (mean_iou, dice_score, pixel_accuracy, confusion_matrix):
        with pytest.raises(error, match=match):
            metric(y_true, y_pred)


@pytest.mark.parametrize(
    "labels, match",
    [
        ([], "non-empty"),
        ([0.5], "int class labels"),
        ([-1, 0], "contains -1"),
        ([0, 0], "duplicates"),
    ],
)
def test_labels_errors(labels, match):
    with pytest.raises(ValueError, match=match):
        mean_iou(T, P, labels=labels)


class _Constant:
    """Predicts one class everywhere."""

    def __init__(self, value):
        self.value = value

    def predict(self, X):
        return [np.full(np.shape(x)[:2], self.value) for x in X]


@pytest.mark.parametrize(
    "metric, expected",
    # 5 labeled pixels: 3 of class 0 and 2 of class 1, all predicted 0.
    # IoU: 3 / 5 and 0; Dice: 6 / 8 and 0; accuracy: 3 / 5.
    [("miou", 0.3), ("dice", 0.375), ("pixel_accuracy", 0.6)],
)
def test_scorer(metric, expected):
    X, y = _ro(np.zeros((2, 3)), [[0, 0, 1], [0, -1, 1]])
    scorer = make_segmentation_scorer(metric)
    assert scorer(_Constant(0), [X], [y]) == pytest.approx(expected)


def test_scorer_default_is_miou_and_picklable():
    scorer = make_segmentation_scorer()
    assert repr(scorer) == "make_segmentation_scorer(metric='miou')"
    scorer = pickle.loads(pickle.dumps(scorer))
    assert scorer(_Constant(0), [np.zeros((2, 3))], [T]) == mean_iou(
        T, np.zeros_like(T)
    )


def test_scorer_with_fixed_labels():
    scorer = make_segmentation_scorer("miou", labels=[0, 1])
    assert "labels=[0, 1]" in repr(scorer)
    # Only class 0 in this fold's truth; class 1 never predicted: empty union.
    y = [np.zeros((2, 2), dtype=int)]
    assert scorer(_Constant(0), [np.zeros((2, 2))], y) == 1.0


def test_scorer_errors():
    with pytest.raises(ValueError, match="'metric' parameter"):
        make_segmentation_scorer("accuracy")
    with pytest.raises(ValueError, match="labels is not used"):
        make_segmentation_scorer("pixel_accuracy", labels=[0, 1])


def test_ragged_label_map_names_its_index():
    for metric in (mean_iou, dice_score, pixel_accuracy, confusion_matrix):
        with pytest.raises(TypeError, match=r"y_pred\[1\] must be an \(H, W\) array"):
            metric([T, T], [P, [[0, 1, 1], [1]]])


def test_masked_true_pixels_are_ignored():
    masked = np.ma.masked_array(T.clip(0), mask=T == -1)
    assert mean_iou([masked], [P]) == mean_iou([T], [P])
    np.testing.assert_array_equal(masked.data, T.clip(0))


def test_pandas_series_with_any_index():
    pd = pytest.importorskip("pandas")
    y_true = pd.Series([T, T[:, :2]], index=[4, 9])
    y_pred = pd.Series([P, P[:, :2]], index=[4, 9])
    assert mean_iou(y_true, y_pred) == mean_iou([T, T[:, :2]], [P, P[:, :2]])


def test_instance_labels_count_only_the_pairs_that_occur():
    # Every pixel its own instance: 10,000 labels. A (K + 1)^2 matrix of
    # counts would take 800 MB; only the pairs that occur are counted.
    rng = np.random.RandomState(0)
    truth = np.arange(100 * 100).reshape(100, 100)
    pred = np.where(rng.rand(100, 100) < 0.1, 0, truth)
    tracemalloc.start()
    try:
        iou = mean_iou([truth], [pred], per_class=True)
        dice = dice_score([truth], [pred])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20
    t, p = truth.ravel(), pred.ravel()
    np.testing.assert_allclose(iou, jaccard_score(t, p, average=None))
    assert dice == pytest.approx(f1_score(t, p, average="macro"))


@pytest.mark.parametrize("n_codes", [5, 1000], ids=["bincount", "sort"])
def test_both_ways_of_counting_pairs_agree(n_codes):
    from semiseg_sk.metrics import _count_codes

    codes = np.random.RandomState(0).randint(0, 5, size=50)
    code, count = _count_codes(codes, n_codes)
    expected_code, expected_count = np.unique(codes, return_counts=True)
    np.testing.assert_array_equal(code, expected_code)
    np.testing.assert_array_equal(count, expected_count)


# -- calibration ----------------------------------------------------------------


def test_calibration_hand_computed_and_pooled_over_images():
    from semiseg_sk.metrics import expected_calibration_error, reliability_curve

    y = _ro([[0, 0, 1, -1]])[0]
    proba = _ro([[[0.9, 0.1], [0.6, 0.4], [0.6, 0.4], [0.5, 0.5]]])[0]
    acc, conf, counts = reliability_curve(y, proba, n_bins=10)
    np.testing.assert_allclose(acc, [0.5, 1.0])
    np.testing.assert_allclose(conf, [0.6, 0.9])
    np.testing.assert_array_equal(counts, [2, 1])
    assert expected_calibration_error(y, proba, n_bins=10) == pytest.approx(0.1)
    # Two images pool their pixels: the same as one image holding both.
    both = expected_calibration_error([y, y], [proba, proba], n_bins=10)
    assert both == pytest.approx(0.1)
    # Perfect and confident: 0; always sure and half wrong: 0.5.
    sure = np.stack([1 - y.clip(0), y.clip(0)], axis=-1).astype(float)
    assert expected_calibration_error(y, sure) == 0
    wrong = np.array([[[1.0, 0.0]] * 4])
    y2 = np.array([[0, 1, 0, 1]])
    assert expected_calibration_error(y2, wrong) == pytest.approx(0.5)


def test_calibration_classes_map_columns_and_unknown_labels_miss():
    from semiseg_sk.metrics import expected_calibration_error

    y = np.array([[3, 7]])
    proba = np.array([[[1.0, 0.0], [0.0, 1.0]]])
    assert expected_calibration_error(y, proba, classes=[3, 7]) == 0
    # Without classes, column k is class k: neither 3 nor 7 is predicted.
    assert expected_calibration_error(y, proba) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n_bins=0), ValueError, "n_bins"),
        (dict(n_bins=2.5), TypeError, "n_bins"),
        (dict(classes=[0]), ValueError, "classes"),
    ],
)
def test_calibration_bad_parameters(kwargs, error, match):
    from semiseg_sk.metrics import expected_calibration_error

    y = np.array([[0, 1]])
    proba = np.array([[[0.7, 0.3], [0.2, 0.8]]])
    with pytest.raises(error, match=match):
        expected_calibration_error(y, proba, **kwargs)


def test_calibration_bad_inputs():
    from semiseg_sk.metrics import expected_calibration_error, reliability_curve

    y = np.array([[0, 1]])
    proba = np.array([[[0.7, 0.3], [0.2, 0.8]]])
    with pytest.raises(ValueError, match="one probability array per image"):
        expected_calibration_error([y, y], [proba])
    with pytest.raises(ValueError, match=r"proba\[0\] has shape"):
        expected_calibration_error([y], [proba[..., 0]])
    with pytest.raises(ValueError, match="outside"):
        expected_calibration_error(y, proba * 2)
    with pytest.raises(ValueError, match="no labeled pixel"):
        reliability_curve(np.full((1, 2), -1), proba)
    with pytest.raises(TypeError, match="list of"):
        expected_calibration_error(y, np.zeros((2, 1, 2, 2)))
