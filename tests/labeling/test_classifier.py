import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.cluster import KMeans
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier

from semiseg_sk import (
    RegionClassifier,
    Regions,
    SparseLabelSpreading,
    make_segmenter,
)
from semiseg_sk.exceptions import SingleClassWarning


def _halves(n_images=3, labeled=(0,)):
    """Images dark on the left, bright on the right, cut into four strips."""
    regions, labels = [], []
    for i in range(n_images):
        image = np.zeros((8, 8))
        image[:, 4:] = 1.0
        segments = np.repeat([[0, 0, 1, 1, 2, 2, 3, 3]], 8, axis=0)
        r = Regions(image, segments)
        features = np.array([[0.0], [0.05], [1.0], [0.95]]) + 0.01 * i
        regions.append(r.with_features(features, ["brightness"]))
        lab = np.full((8, 8), -1)
        if i in labeled:
            lab[0, 0] = 3  # class values need not start at 0
            lab[0, 7] = 7
        labels.append(lab)
    return regions, labels


@pytest.mark.parametrize(
    "estimator",
    [
        None,
        RandomForestClassifier(n_estimators=10, random_state=0),
        make_pipeline(StandardScaler(), LogisticRegression()),
        LabelSpreading(kernel="knn", n_neighbors=5),
        SelfTrainingClassifier(LogisticRegression()),
        SparseLabelSpreading(n_neighbors=2),
        make_pipeline(StandardScaler(), SparseLabelSpreading(n_neighbors=2)),
    ],
)
def test_estimators_label_both_halves(estimator):
    regions, labels = _halves()
    clf = RegionClassifier(estimator).fit(regions, labels)
    np.testing.assert_array_equal(clf.classes_, [3, 7])
    for mask in clf.predict(regions):
        assert mask.shape == (8, 8)
        assert (mask[:, :4] == 3).all() and (mask[:, 4:] == 7).all()
    proba = clf.predict_proba(regions)
    assert proba[0].shape == (8, 8, 2)
    np.testing.assert_allclose(proba[0].sum(axis=-1), 1.0)
    assert clf.score(regions, labels) == 1.0


def test_region_label_is_majority_of_labeled_pixels():
    regions, labels = _halves()
    labels[0][:, 0] = 3
    labels[0][1, 1] = 7  # a minority vote in region 0
    clf = RegionClassifier(RandomForestClassifier(random_state=0)).fit(regions, labels)
    assert clf.region_labels_[0] == 3
    assert clf.region_labels_[3] == 7
    assert (clf.region_labels_[[1, 2]] == -1).all()
    assert (clf.region_labels_[4:] == -1).all()  # the unlabeled images


def test_semi_supervised_estimators_see_unlabeled_regions():
    seen = {}

    class Spy(LabelSpreading):
        def fit(self, X, y):
            seen["n"] = len(X)
            seen["unlabeled"] = int((y == -1).sum())
            return super().fit(X, y)

    regions, labels = _halves(n_images=3)
    RegionClassifier(Spy(kernel="knn", n_neighbors=2)).fit(regions, labels)
    assert seen == {"n": 12, "unlabeled": 10}


def test_supervised_estimators_see_labeled_regions_only():
    seen = {}

    class Spy(LogisticRegression):
        def fit(self, X, y):
            seen["y"] = sorted(y.tolist())
            return super().fit(X, y)

    regions, labels = _halves(n_images=3)
    RegionClassifier(Spy()).fit(regions, labels)
    assert seen["y"] == [0, 1]  # encoded class indices, only labeled regions


def test_semi_supervised_flag_overrides_auto():
    seen = {}

    class Spy(LogisticRegression):
        def fit(self, X, y):
            seen["n"] = len(X)
            return super().fit(X[y >= 0], y[y >= 0])

    regions, labels = _halves()
    RegionClassifier(Spy(), semi_supervised=True).fit(regions, labels)
    assert seen["n"] == 12


def test_adjacency_passed_to_estimators_that_take_it():
    seen = {}

    class Spy(SparseLabelSpreading):
        def fit(self, X, y, adjacency=None):
            seen["adjacency"] = adjacency
            return super().fit(X, y, adjacency=adjacency)

    regions, labels = _halves(n_images=2)
    RegionClassifier(make_pipeline(StandardScaler(), Spy(n_neighbors=2))).fit(
        regions, labels
    )
    adj = seen["adjacency"].toarray()
    assert adj.shape == (8, 8)
    assert adj[0, 1] == 8 and adj[0, 4] == 0  # no edges across images


def test_fit_predict_gives_the_transductive_labels():
    regions, labels = _halves(n_images=2)
    clf = RegionClassifier(SparseLabelSpreading(n_neighbors=2))
    masks = clf.fit_predict(regions, labels)
    final = clf.estimator_
    expected = final.classes_[final.label_distributions_.argmax(axis=1)]
    predicted = np.concatenate([m[0, ::2] for m in masks])
    np.testing.assert_array_equal(predicted, clf.classes_[expected])


def test_predict_is_inductive_and_keeps_no_memo_of_training_features():
    # predict labels training images like any other image: from the fitted
    # estimator's inductive rule, whatever else is predicted with them.
    regions, labels = _halves(n_images=3)
    clf = RegionClassifier(SparseLabelSpreading(n_neighbors=2)).fit(regions, labels)
    features = np.vstack([r.features for r in regions])
    inductive = clf.estimator_.predict(features)
    painted = np.concatenate([m[0, ::2] for m in clf.predict(regions)])
    np.testing.assert_array_equal(painted, clf.classes_[inductive])
    alone = clf.predict(regions[1:2])[0]
    np.testing.assert_array_equal(alone, clf.predict(regions)[1])
    assert not any(isinstance(v, dict) for v in vars(clf).values())


def test_single_class_warns_and_predicts_it():
    regions, labels = _halves()
    labels[0][0, 7] = -1
    with pytest.warns(SingleClassWarning, match="Only class 3"):
        clf = RegionClassifier().fit(regions, labels)
    assert all((m == 3).all() for m in clf.predict(regions))
    assert clf.predict_proba(regions)[0].shape == (8, 8, 1)


def test_class_absent_after_majority_vote_keeps_a_column():
    regions, labels = _halves()
    labels[0][1, 0] = 5  # outvoted by class 3 in region 0
    labels[0][2, 0] = 3
    clf = RegionClassifier(RandomForestClassifier(random_state=0)).fit(regions, labels)
    np.testing.assert_array_equal(clf.classes_, [3, 5, 7])
    proba = clf.predict_proba(regions)[0]
    assert proba.shape == (8, 8, 3)
    assert (proba[..., 1] == 0).all()


def test_errors():
    regions, labels = _halves()
    with pytest.raises(ValueError, match="no labeled pixel"):
        RegionClassifier().fit(regions, [np.full((8, 8), -1)] * 3)
    bare = [Regions(r.image, r.segments) for r in regions]
    with pytest.raises(ValueError, match="no region features"):
        RegionClassifier().fit(bare, labels)
    with pytest.raises(TypeError, match="Superpixels"):
        RegionClassifier().fit([r.image for r in regions], labels)
    clf = RegionClassifier().fit(regions, labels)
    wider = [r.with_features(np.zeros((4, 1)), ["extra"]) for r in regions]
    with pytest.raises(ValueError, match="2 region features"):
        clf.predict(wider)
    nan = [r.with_features(np.full((4, 1), np.nan), ["bad"]) for r in regions]
    with pytest.raises(ValueError, match="NaN"):
        RegionClassifier().fit(nan, labels)


def test_masks_do_not_depend_on_the_batch():
    regions, labels = _halves(n_images=3)
    clf = RegionClassifier(SparseLabelSpreading(n_neighbors=2)).fit(regions, labels)
    together = clf.predict(regions)
    one_by_one = [clf.predict([r])[0] for r in regions]
    shuffled = clf.predict(regions[::-1])[::-1]
    for a, b, c in zip(together, one_by_one, shuffled):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_annotation_masks_without_minus_one_get_a_hint():
    regions, _ = _halves(n_images=1)
    mask = np.zeros((8, 8), dtype=int)  # annotation-tool style: 0 = unlabeled
    mask[0, 0] = 1
    with pytest.warns(SingleClassWarning, match="mask_to_target"):
        RegionClassifier().fit(regions, [mask])


class _SpreadingThatRecords(SparseLabelSpreading):
    """SparseLabelSpreading that remembers the adjacency its fit was given."""

    def fit(self, X, y, adjacency=None):
        self.adjacency_seen_ = adjacency
        return super().fit(X, y, adjacency=adjacency)


@pytest.mark.parametrize("routing", [False, True])
@pytest.mark.parametrize("in_pipeline", [False, True])
def test_adjacency_is_routed_to_the_estimator_that_requests_it(routing, in_pipeline):
    regions, labels = _halves(n_images=2)
    spreading = _SpreadingThatRecords(n_neighbors=2)
    estimator = make_pipeline(StandardScaler(), spreading) if in_pipeline else spreading
    with sklearn.config_context(enable_metadata_routing=routing):
        clf = RegionClassifier(estimator).fit(regions, labels)
    final = clf.estimator_[-1] if in_pipeline else clf.estimator_
    expected = sp.block_diag([r.adjacency() for r in regions]).toarray()
    np.testing.assert_array_equal(final.adjacency_seen_.toarray(), expected)


def test_an_estimator_can_decline_the_adjacency():
    regions, labels = _halves(n_images=2)
    with sklearn.config_context(enable_metadata_routing=True):
        spreading = _SpreadingThatRecords(n_neighbors=2).set_fit_request(
            adjacency=False
        )
        clf = RegionClassifier(make_pipeline(StandardScaler(), spreading))
        clf.fit(regions, labels)
    assert clf.estimator_[-1].adjacency_seen_ is None


def test_estimators_that_take_no_adjacency_fit_under_routing():
    # scikit-learn's LabelSpreading requests no adjacency: routing on or off,
    # it is fitted on the features alone and gives the same masks.
    regions, labels = _halves(n_images=2)
    masks = {}
    for routing in (False, True):
        with sklearn.config_context(enable_metadata_routing=routing):
            clf = RegionClassifier(LabelSpreading(kernel="rbf", gamma=20))
            masks[routing] = clf.fit(regions, labels).predict(regions)
    for off, on in zip(masks[False], masks[True], strict=True):
        np.testing.assert_array_equal(off, on)
    # Dark regions get the dark scribble's class, bright ones the other.
    assert (masks[True][0][:, :4] == 3).all() and (masks[True][0][:, 4:] == 7).all()


@pytest.mark.parametrize(
    "estimator, kind",
    [
        (KMeans(n_clusters=2, n_init=1), "a clusterer"),
        (Ridge(), "a regressor"),
        (make_pipeline(StandardScaler(), Ridge()), "a regressor"),
    ],
    ids=["clusterer", "regressor", "pipeline-of-regressor"],
)
def test_estimator_must_be_a_classifier(estimator, kind):
    # Used to fail with "object has no attribute 'classes_'".
    regions, labels = _halves()
    clf = RegionClassifier(estimator)
    match = rf"estimator of RegionClassifier must be a classifier.*{kind}"
    with pytest.raises(TypeError, match=match):
        clf.fit(regions, labels)
    assert not hasattr(clf, "classes_")
    with pytest.raises(TypeError, match=r"estimator of make_segmenter.*" + kind):
        make_segmenter(estimator=estimator)
