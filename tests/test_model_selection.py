# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import GridSearchCV, cross_val_score, cross_validate

from semiseg_sk.metrics import make_segmentation_scorer, pixel_accuracy
from semiseg_sk.model_selection import SemiSupervisedKFold


class MajorityPixelClassifier(BaseEstimator):
    """Predicts, everywhere, the most (or least) frequent labeled class seen in fit.

    Works on lists of (H, W) arrays and needs nothing else from semiseg_sk.
    """

    def __init__(self, strategy="majority"):
        self.strategy = strategy

    def fit(self, X, y):
        assert isinstance(X, list) and isinstance(y, list) and len(X) == len(y)
        pixels = np.concatenate([np.asarray(lab).ravel() for lab in y])
        pixels = pixels[pixels != -1]
        self.classes_, counts = np.unique(pixels, return_counts=True)
        pick = np.argmax if self.strategy == "majority" else np.argmin
        self.value_ = self.classes_[pick(counts)]
        self.n_images_seen_ = len(X)
        return self

    def predict(self, X):
        return [np.full(np.shape(x)[:2], self.value_) for x in X]

    def score(self, X, y):
        return pixel_accuracy(y, self.predict(X))


def _data(n_labeled=6, n_unlabeled=3, shape=(4, 5), seed=0):
    """Images and label maps; labeled ones mostly class 1, in a shuffled order."""
    rng = np.random.RandomState(seed)
    n = n_labeled + n_unlabeled
    order = rng.permutation(n)
    images, labels = [None] * n, [None] * n
    for k, i in enumerate(order):
        images[i] = rng.uniform(size=shape)
        if k < n_labeled:
            lab = np.where(rng.uniform(size=shape) < 0.8, 1, 0)
            lab[0, 0] = -1  # partially labeled
        else:
            lab = np.full(shape, -1)
        labels[i] = lab
    for a in images + labels:
        a.flags.writeable = False
    return images, labels


def _is_labeled(labels):
    return np.array([(lab != -1).any() for lab in labels])


@pytest.mark.parametrize("n_splits", [2, 3, 6])
@pytest.mark.parametrize("shuffle, random_state", [(False, None), (True, 0)])
def test_split_properties(n_splits, shuffle, random_state):
    images, labels = _data()
    labeled = _is_labeled(labels)
    cv = SemiSupervisedKFold(n_splits, shuffle=shuffle, random_state=random_state)
    splits = list(cv.split(images, labels))
    assert len(splits) == cv.get_n_splits() == n_splits
    tested = np.concatenate([test for _, test in splits])
    # Every labeled image is tested exactly once; unlabeled ones never.
    np.testing.assert_array_equal(np.sort(tested), np.flatnonzero(labeled))
    sizes = sorted(len(test) for _, test in splits)
    assert sizes[-1] - sizes[0] <= 1
    for train, test in splits:
        assert np.intersect1d(train, test).size == 0
        np.testing.assert_array_equal(np.union1d(train, test), np.arange(len(labels)))
        # Unlabeled images are always in the training set.
        assert set(np.flatnonzero(~labeled)) <= set(train)
        assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)


def test_split_without_shuffle_is_consecutive_over_labeled_images():
    images, labels = _data()
    labeled_idx = np.flatnonzero(_is_labeled(labels))
    tests = [test for _, test in SemiSupervisedKFold(3).split(images, labels)]
    np.testing.assert_array_equal(np.concatenate(tests), labeled_idx)


def test_shuffle_is_deterministic_given_random_state():
    images, labels = _data(n_labeled=10, n_unlabeled=2)

    def folds(cv):
        return [test.tolist() for _, test in cv.split(images, labels)]

    a = folds(SemiSupervisedKFold(5, shuffle=True, random_state=0))
    b = folds(SemiSupervisedKFold(5, shuffle=True, random_state=0))
    c = folds(SemiSupervisedKFold(5, shuffle=True, random_state=1))
    plain = folds(SemiSupervisedKFold(5))
    assert a == b and a != c and a != plain


def test_accepts_stacked_label_maps_and_x_none_like_sklearn_get_n_splits():
    images, labels = _data()
    cv = SemiSupervisedKFold(2)
    stacked = [t.tolist() for _, t in cv.split(images, np.stack(labels))]
    listed = [t.tolist() for _, t in cv.split(images, labels)]
    assert stacked == listed
    assert cv.get_n_splits(images, labels) == 2


def test_repr_clone_and_pickle():
    cv = SemiSupervisedKFold(3, shuffle=True, random_state=2)
    assert repr(cv) == "SemiSupervisedKFold(n_splits=3, random_state=2, shuffle=True)"
    images, labels = _data()
    again = pickle.loads(pickle.dumps(cv))
    assert [t.tolist() for _, t in again.split(images, labels)] == [
        t.tolist() for _, t in cv.split(images, labels)
    ]


def test_split_errors():
    images, labels = _data(n_labeled=2, n_unlabeled=5)
    cv = SemiSupervisedKFold(3)
    with pytest.raises(ValueError, match="needs y.*got y=None"):
        next(cv.split(images))
    with pytest.raises(ValueError, match=r"Cannot split 2 labeled image\(s\).*7"):
        next(cv.split(images, labels))
    with pytest.raises(ValueError, match="X has 6 images but y has 7"):
        next(cv.split(images[:-1], labels))
    with pytest.raises(TypeError, match=r"y\[0\] has dtype float64"):
        next(cv.split(images, [lab.astype(float) for lab in labels]))
    with pytest.warns(UserWarning, match="groups parameter is ignored"):
        next(SemiSupervisedKFold(2).split(images, labels, groups=range(7)))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_splits": 1}, ValueError, "at least 2 folds"),
        ({"n_splits": 2.0}, ValueError, "n_splits must be an int"),
        ({"shuffle": 1}, TypeError, "shuffle must be True or False"),
        ({"random_state": 0}, ValueError, "random_state has no effect"),
    ],
)
def test_init_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        SemiSupervisedKFold(**kwargs)


def test_unlabeled_images_reach_fit():
    images, labels = _data(n_labeled=4, n_unlabeled=3)
    est = MajorityPixelClassifier()
    result = cross_validate(
        est, images, labels, cv=SemiSupervisedKFold(4), return_estimator=True
    )
    # 3 labeled + 3 unlabeled images in every training set.
    assert [e.n_images_seen_ for e in result["estimator"]] == [6] * 4


def test_cross_val_score_integration():
    images, labels = _data()
    scores = cross_val_score(
        MajorityPixelClassifier(),
        images,
        labels,
        cv=SemiSupervisedKFold(3),
        scoring=make_segmentation_scorer("pixel_accuracy"),
    )
    assert scores.shape == (3,)
    assert np.all((scores > 0.5) & (scores <= 1.0))
    # The estimator's own score gives the same numbers.
    default = cross_val_score(
        MajorityPixelClassifier(), images, labels, cv=SemiSupervisedKFold(3)
    )
    np.testing.assert_allclose(scores, default)


@pytest.mark.parametrize("metric", ["miou", "dice", "pixel_accuracy"])
def test_grid_search_integration(metric):
    images, labels = _data()
    search = GridSearchCV(
        MajorityPixelClassifier(),
        {"strategy": ["minority", "majority"]},
        cv=SemiSupervisedKFold(3, shuffle=True, random_state=0),
        scoring=make_segmentation_scorer(metric),
        error_score="raise",
    )
    search.fit(images, labels)
    assert search.best_params_ == {"strategy": "majority"}
    assert search.best_estimator_.value_ == 1
    assert search.best_estimator_.n_images_seen_ == len(images)
    assert search.cv_results_["split2_test_score"].shape == (2,)
    assert len(search.predict(images[:2])) == 2
    clone(search)  # the splitter survives clone


def test_inputs_not_modified():
    images, labels = _data()
    before = [lab.copy() for lab in labels]
    list(SemiSupervisedKFold(2).split(images, labels))
    for lab, old in zip(labels, before, strict=True):
        np.testing.assert_array_equal(lab, old)


def test_split_reads_any_label_sequence_and_names_a_ragged_map():
    images, labels = _data(n_labeled=4, n_unlabeled=2)
    cv = SemiSupervisedKFold(2)
    expected = [test.tolist() for _, test in cv.split(images, labels)]
    ragged = labels[:1] + [[[0, 1], [0]]] + labels[2:]
    with pytest.raises(TypeError, match=r"y\[1\] must be an \(H, W\) array.*rows"):
        next(cv.split(images, ragged))
    pd = pytest.importorskip("pandas")
    y = pd.Series(labels, index=range(10, 16))
    assert [test.tolist() for _, test in cv.split(images, y)] == expected


@pytest.mark.parametrize("random_state", [True, False])
def test_random_state_refuses_booleans(random_state):
    with pytest.raises(TypeError, match="random_state must be an int.*bool"):
        SemiSupervisedKFold(2, shuffle=True, random_state=random_state)
