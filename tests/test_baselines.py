"""Tests of the anchors (scikit-image, ilastik-style) that the benchmarks run.

The behaviour both anchors share is tested once, over both; what only the
ilastik-style one does (class values, colour, prediction batches) after that.
"""

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier

import semiseg_sk.baselines as baselines
from semiseg_sk.baselines import (
    ilastik_pixel_classification,
    skimage_trainable_segmentation,
)
from semiseg_sk.metrics import mean_iou

# Each anchor, with the module function that computes its feature stack.
ANCHORS = {
    "skimage": (skimage_trainable_segmentation, "_features"),
    "ilastik": (ilastik_pixel_classification, "_ilastik_features"),
}


def _halves(seed=0, size=48):
    """Dark left half, bright right half, noise; one stroke per class."""
    rng = np.random.RandomState(seed)
    truth = np.zeros((size, size), dtype=np.int64)
    truth[:, size // 2 :] = 1
    image = np.where(truth == 1, 0.7, 0.3) + rng.normal(0, 0.05, truth.shape)
    labels = np.full(truth.shape, -1)
    labels[10, 4:16] = 0
    labels[30, 32:44] = 1
    return np.clip(image, 0, 1), labels, truth


@pytest.fixture(params=list(ANCHORS))
def anchor(request, monkeypatch):
    """(anchor function, list of the images whose features it computed)."""
    function, features_name = ANCHORS[request.param]
    calls = []
    original = getattr(baselines, features_name)

    def counted(image, *args, **kwargs):
        calls.append(image)
        return original(image, *args, **kwargs)

    monkeypatch.setattr(baselines, features_name, counted)
    return function, calls


def test_segments_held_out_image_with_minus_one_convention(anchor):
    segment, _ = anchor
    image, labels, _ = _halves(0)
    test_image, _, test_truth = _halves(1)
    unlabeled = np.full(labels.shape, -1)
    (mask,) = segment(
        [image, image.copy()], [labels, unlabeled], [test_image], random_state=0
    )
    assert mask.shape == test_truth.shape
    assert set(np.unique(mask)) <= {0, 1}  # classes back in our -1 convention
    assert mean_iou([test_truth], [mask]) > 0.8


def test_reuses_features_of_the_scribbled_image(anchor):
    # Segmenting the scribbled image itself computes its features once, as in
    # scikit-image's gallery; a copy of it is another image.
    segment, calls = anchor
    image, labels, _ = _halves(0)
    same = segment([image], [labels], [image], random_state=0)
    assert len(calls) == 1
    copy = segment([image], [labels], [image.copy()], random_state=0)
    assert len(calls) == 3
    np.testing.assert_array_equal(same[0], copy[0])
    twice = segment([image], [labels], [image, image], random_state=0)
    assert len(calls) == 4  # reused for both places
    np.testing.assert_array_equal(twice[0], twice[1])


def test_unlabeled_training_images_are_not_described(anchor):
    segment, calls = anchor
    image, labels, _ = _halves(0)
    unlabeled = np.full(labels.shape, -1)
    segment([image, image.copy()], [labels, unlabeled], [image.copy()], random_state=0)
    assert len(calls) == 2  # the scribbled image and the test image


def test_uses_the_given_classifier_and_does_not_modify_inputs(anchor):
    segment, _ = anchor
    image, labels, _ = _halves(0)
    before = image.copy(), labels.copy()
    clf = RandomForestClassifier(n_estimators=3, random_state=0)
    segment([image], [labels], [image], clf=clf)
    assert len(clf.estimators_) == 3
    np.testing.assert_array_equal(image, before[0])
    np.testing.assert_array_equal(labels, before[1])


def test_labels_without_labeled_pixels_are_rejected(anchor):
    segment, _ = anchor
    image, labels, _ = _halves(0)
    with pytest.raises(ValueError, match="labeled"):
        segment([image], [np.full(labels.shape, -1)], [image], random_state=0)


# What only the ilastik-style anchor does.


def test_ilastik_describes_pixels_with_the_49_filters():
    image, labels, _ = _halves(0)
    clf = RandomForestClassifier(n_estimators=3, random_state=0)
    ilastik_pixel_classification([image], [labels], [image], clf=clf)
    assert clf.n_features_in_ == 49


def test_ilastik_keeps_the_class_values_and_reads_colour():
    image, labels, truth = _halves(0)
    colour = np.dstack([image, 1 - image, np.full(image.shape, 0.5)])
    labels = np.where(labels == 1, 7, labels)  # classes 0 and 7
    (mask,) = ilastik_pixel_classification([colour], [labels], [colour], n_jobs=1)
    assert set(np.unique(mask)) <= {0, 7}
    assert mean_iou([np.where(truth == 1, 7, 0)], [mask]) > 0.8


def test_ilastik_predicts_in_batches(monkeypatch):
    image, labels, _ = _halves(0)
    whole = ilastik_pixel_classification([image], [labels], [image], random_state=0)
    monkeypatch.setattr(baselines, "_PREDICT_BATCH", 100)  # 48 * 48 = 23 batches
    clf = RandomForestClassifier(n_estimators=100, random_state=0)
    calls = []
    original = clf.predict
    monkeypatch.setattr(clf, "predict", lambda X: calls.append(len(X)) or original(X))
    batched = ilastik_pixel_classification([image], [labels], [image], clf=clf)
    assert max(calls) == 100 and sum(calls) == image.size
    np.testing.assert_array_equal(whole[0], batched[0])


def test_ilastik_anchor_on_volumes():
    from semiseg_sk.datasets import make_blob_volumes

    data = make_blob_volumes(1, shape=(6, 16, 16), spacing=(2, 1, 1), random_state=0)
    truth = data.truths[0]
    labels = np.full(truth.shape, -1)
    labels[3] = truth[3]  # one slice fully labeled
    (mask,) = ilastik_pixel_classification(
        data.images,
        [labels],
        data.images,
        spacing=data.spacing,
        random_state=0,
        n_jobs=1,
        clf=RandomForestClassifier(n_estimators=10, random_state=0),
    )
    assert mask.shape == truth.shape
    assert mean_iou([truth], [mask]) > 0.5
