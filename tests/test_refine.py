"""Tests of PixelRefiner and RegionClassifier(refine=...)."""

import numpy as np
import pytest
from sklearn.base import clone

from semiseg_sk import (
    PixelRefiner,
    RegionClassifier,
    RegionStats,
    Superpixels,
    make_segmenter,
)
from semiseg_sk.metrics import mean_iou


def _thin_lines(seed=0, size=64):
    """Dark image with 2-pixel bright lines: thinner than any superpixel."""
    rng = np.random.RandomState(seed)
    truth = np.zeros((size, size), dtype=np.int64)
    for row in (10, 30, 50):
        truth[row : row + 2, 4:-4] = 1
    image = np.where(truth == 1, 0.8, 0.3) + rng.normal(0, 0.03, truth.shape)
    labels = np.full(truth.shape, -1)
    labels[30, 10:30] = 1
    labels[20, 10:30] = 0
    labels[40, 30:50] = 0
    return [np.clip(image, 0, 1)], [labels], [truth]


def _regions(images, n_segments=16):
    return RegionStats(filters=False).fit_transform(
        Superpixels(n_segments=n_segments).fit_transform(images)
    )


def test_refine_keeps_structures_thinner_than_regions():
    images, labels, truths = _thin_lines()
    X = _regions(images)
    plain = RegionClassifier().fit(X, labels)
    refined = RegionClassifier(refine=PixelRefiner(random_state=0)).fit(X, labels)
    line_iou = [
        mean_iou(truths, clf.predict(X), per_class=True)[1] for clf in (plain, refined)
    ]
    assert line_iou[1] > 0.8
    assert line_iou[1] > line_iou[0] + 0.2


def test_predict_proba_shape_and_sum(tiny_data):
    images, labels, _ = tiny_data
    X = _regions(images, n_segments=30)
    clf = RegionClassifier(refine=PixelRefiner(random_state=0)).fit(X, labels)
    proba = clf.predict_proba(X)
    masks = clf.predict(X)
    for p, m, image in zip(proba, masks, images):
        assert p.shape == image.shape[:2] + (len(clf.classes_),)
        np.testing.assert_allclose(p.sum(axis=-1), 1.0)
        np.testing.assert_array_equal(m, clf.classes_[p.argmax(axis=-1)])


@pytest.mark.parametrize("blend", ["linear", "geometric"])
def test_weight_one_is_the_region_classifier(tiny_data, blend):
    images, labels, _ = tiny_data
    X = _regions(images, n_segments=30)
    plain = RegionClassifier().fit(X, labels)
    refined = RegionClassifier(
        refine=PixelRefiner(weight=1.0, blend=blend, random_state=0)
    ).fit(X, labels)
    for a, b in zip(plain.predict(X), refined.predict(X)):
        np.testing.assert_array_equal(a, b)


def test_pseudo_labels_are_capped(tiny_data):
    images, labels, _ = tiny_data
    X = _regions(images, n_segments=30)
    clf = RegionClassifier(
        refine=PixelRefiner(max_pseudo=50, threshold=0.0, random_state=0)
    ).fit(X, labels)
    n_classes = len(clf.classes_)
    assert 0 < clf.refine_.n_pseudo_ <= 50 * n_classes
    assert clf.refine_.n_scribbled_ == sum(int((lab >= 0).sum()) for lab in labels)
    without = RegionClassifier(refine=PixelRefiner(max_pseudo=0, random_state=0)).fit(
        X, labels
    )
    assert without.refine_.n_pseudo_ == 0


def test_class_labels_need_not_be_0_to_k(tiny_data):
    images, labels, _ = tiny_data
    shifted = [np.where(lab >= 0, lab * 10 + 5, -1) for lab in labels]
    X = _regions(images, n_segments=30)
    clf = RegionClassifier(refine=PixelRefiner(random_state=0)).fit(X, shifted)
    assert set(np.unique(np.concatenate([m.ravel() for m in clf.predict(X)]))) <= {
        5,
        15,
        25,
    }


def test_make_segmenter_refine_param_and_determinism(tiny_data):
    images, labels, _ = tiny_data
    seg = make_segmenter(n_segments=30, autoencoder=False, random_state=0)
    assert isinstance(seg.get_params()["regionclassifier__refine"], PixelRefiner)
    assert make_segmenter(refine=False).get_params()["regionclassifier__refine"] is None
    a = seg.fit(images, labels).predict(images)
    b = clone(seg).fit(images, labels).predict(images)
    for ma, mb in zip(a, b):
        np.testing.assert_array_equal(ma, mb)
    seg.set_params(regionclassifier__refine__weight=0.2)
    assert seg.named_steps["regionclassifier"].refine.weight == 0.2
