"""End-to-end tests of make_segmenter: fit, predict, clone, pickle, grid search."""

import pickle
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline

from semiseg_sk import make_segmenter
from semiseg_sk.exceptions import PixelScaleWarning
from semiseg_sk.metrics import mean_iou
from semiseg_sk.model_selection import SemiSupervisedKFold


def test_step_names_and_type():
    seg = make_segmenter(random_state=0)
    assert isinstance(seg, Pipeline)
    assert [n for n, _ in seg.steps] == [
        "superpixels",
        "regionstats",
        "autoencoderfeatures",
        "regionclassifier",
    ]
    assert [n for n, _ in make_segmenter(autoencoder=False).steps] == [
        "superpixels",
        "regionstats",
        "regionclassifier",
    ]


def test_fit_predict_end_to_end(tiny_data, fast_segmenter):
    images, labels, truths = tiny_data
    seg = fast_segmenter().fit(images, labels)
    masks = seg.predict(images)
    assert len(masks) == len(images)
    for mask, image in zip(masks, images):
        assert mask.shape == image.shape[:2]
        assert set(np.unique(mask)) <= set(seg.classes_)
    proba = seg.predict_proba(images)
    assert proba[0].shape == images[0].shape[:2] + (len(seg.classes_),)
    np.testing.assert_allclose(proba[0].sum(axis=-1), 1.0)
    score = seg.score(images, truths)
    assert score == pytest.approx(mean_iou(truths, masks))
    # A constant mask scores about 0.15 here; accuracy proper is measured in
    # benchmarks/, this only guards against a broken pipeline.
    assert score > 0.3


def test_same_random_state_same_masks(tiny_data, fast_segmenter):
    images, labels, _ = tiny_data
    a = fast_segmenter().fit(images, labels).predict(images)
    b = fast_segmenter().fit(images, labels).predict(images)
    for ma, mb in zip(a, b):
        np.testing.assert_array_equal(ma, mb)


def test_pipeline_fit_predict_paints_the_propagated_labels(tiny_data, fast_segmenter):
    # fit_predict is the transductive path: the training images get the
    # labels that label spreading propagated to their regions.
    images, labels, _ = tiny_data
    seg = fast_segmenter(refine=False)
    masks = seg.fit_predict(images, labels)
    final = seg[-1]
    regions = seg[:-1].transform(images)
    propagated = final.classes_[final.estimator_[-1].transduction_]
    per_image = np.split(propagated, np.cumsum([r.n_regions for r in regions])[:-1])
    assert len(masks) == len(images)
    for got, r, p in zip(masks, regions, per_image):
        np.testing.assert_array_equal(got, r.paint(p))


def test_pipeline_fit_predict_equals_fit_then_predict_when_inductive(
    tiny_data, fast_segmenter
):
    # With a supervised region classifier there is no transduction: the
    # one-pass call gives the masks of fit followed by predict.
    images, labels, _ = tiny_data
    forest = RandomForestClassifier(n_estimators=20, random_state=0)
    expected = fast_segmenter(estimator=forest).fit(images, labels).predict(images)
    masks = fast_segmenter(estimator=forest).fit_predict(images, labels)
    for got, want in zip(masks, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_clone_and_params():
    seg = make_segmenter(autoencoder=True, random_state=0)
    params = seg.get_params()
    assert params["superpixels__n_segments"] == 400
    assert params["autoencoderfeatures__random_state"] == 0
    seg.set_params(superpixels__n_segments=50, autoencoderfeatures__latent_dim=3)
    copy = clone(seg)
    assert copy.get_params()["superpixels__n_segments"] == 50
    assert copy.get_params()["autoencoderfeatures__latent_dim"] == 3
    assert copy.named_steps["superpixels"] is not seg.named_steps["superpixels"]


def test_clone_of_fitted_is_unfitted(tiny_data, fast_segmenter):
    images, labels, _ = tiny_data
    seg = fast_segmenter(autoencoder=False).fit(images, labels)
    copy = clone(seg)
    assert not hasattr(copy.named_steps["regionclassifier"], "classes_")


@pytest.mark.parametrize("dumper", ["pickle", "joblib"])
def test_pickle_round_trip_gives_identical_predictions(
    tiny_data, fast_segmenter, tmp_path, dumper
):
    images, labels, _ = tiny_data
    seg = fast_segmenter().fit(images, labels)
    expected = seg.predict(images)
    if dumper == "pickle":
        loaded = pickle.loads(pickle.dumps(seg))
    else:
        path = tmp_path / "model.joblib"
        joblib.dump(seg, path)
        loaded = joblib.load(path)
    for a, b in zip(expected, loaded.predict(images)):
        np.testing.assert_array_equal(a, b)


# Scribbled folds can miss a class; that is expected here.
@pytest.mark.filterwarnings("ignore::semiseg_sk.exceptions.UnseenClassWarning")
def test_grid_search_two_parameters(tiny_data, fast_segmenter):
    images, labels, truths = tiny_data
    # Dense truth on the two labeled images so every fold is scored.
    cv_labels = truths[:2] + labels[2:]
    seg = fast_segmenter(autoencoder=False)
    grid = GridSearchCV(
        seg,
        {
            "superpixels__n_segments": [20, 40],
            "regionstats__filters": [True, False],
        },
        cv=SemiSupervisedKFold(2),
    )
    grid.fit(images, cv_labels)
    assert set(grid.best_params_) == {"superpixels__n_segments", "regionstats__filters"}
    assert len(grid.cv_results_["mean_test_score"]) == 4
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    assert len(grid.predict(images[:1])) == 1


# Scribbled folds can miss a class; that is expected here.
@pytest.mark.filterwarnings("ignore::semiseg_sk.exceptions.UnseenClassWarning")
def test_grid_search_over_superpixels_autoencoder_and_classifier(
    tiny_data, fast_segmenter
):
    images, labels, truths = tiny_data
    cv_labels = truths[:2] + labels[2:]
    seg = fast_segmenter(autoencoder=True, refine=False)
    seg.set_params(autoencoderfeatures__max_iter=1)
    spreading = "regionclassifier__estimator__sparselabelspreading__alpha"
    param_grid = {
        "superpixels__n_segments": [20, 40],
        "autoencoderfeatures__latent_dim": [2, 4],
        spreading: [0.5, 0.9],
    }
    grid = GridSearchCV(seg, param_grid, cv=SemiSupervisedKFold(2)).fit(
        images, cv_labels
    )
    assert set(grid.best_params_) == set(param_grid)
    results = grid.cv_results_
    assert len(results["params"]) == 8
    assert np.isfinite(results["mean_test_score"]).all()
    best = results["params"][int(np.argmin(results["rank_test_score"]))]
    assert best == grid.best_params_
    assert grid.best_estimator_.get_params()[spreading] == grid.best_params_[spreading]
    latent = grid.best_params_["autoencoderfeatures__latent_dim"]
    codes = grid.best_estimator_[:-1].transform(images[:1])[0].feature_names
    assert sum(name.startswith("autoencoder") for name in codes) == latent


# Scribbled folds can miss a class; that is expected here.
@pytest.mark.filterwarnings("ignore::semiseg_sk.exceptions.UnseenClassWarning")
def test_cross_val_score_with_any_classifier(tiny_data):
    images, labels, truths = tiny_data
    seg = make_segmenter(
        n_segments=30,
        autoencoder=False,
        estimator=RandomForestClassifier(n_estimators=10, random_state=0),
    )
    scores = cross_val_score(
        seg, images, truths[:2] + labels[2:], cv=SemiSupervisedKFold(2)
    )
    assert scores.shape == (2,)
    assert np.all((scores >= 0) & (scores <= 1))


def test_unlabeled_images_change_the_fit(tiny_data, fast_segmenter):
    images, labels, _ = tiny_data
    with_unlabeled = fast_segmenter(autoencoder=False).fit(images, labels)
    only_labeled = fast_segmenter(autoencoder=False).fit(images[:2], labels[:2])
    final_a = with_unlabeled.named_steps["regionclassifier"].estimator_[-1]
    final_b = only_labeled.named_steps["regionclassifier"].estimator_[-1]
    assert final_a.label_distributions_.shape[0] > final_b.label_distributions_.shape[0]


def test_pickling_does_not_change_the_estimator(tiny_data):
    images, labels, _ = tiny_data
    seg = make_segmenter(n_segments=30, autoencoder=False, random_state=0)
    seg.fit(images, labels)
    before = {name: dict(vars(step)) for name, step in seg.steps}
    pickle.dumps(seg)
    after = {name: dict(vars(step)) for name, step in seg.steps}
    assert before.keys() == after.keys()
    for name in before:
        assert before[name].keys() == after[name].keys(), name


def test_n_jobs_is_capped_by_the_work(tiny_data, fast_segmenter, parallel_calls):
    # n_jobs=1000 on four images must not ask joblib for a thousand workers:
    # no Parallel call of any step (nor of the forests or neighbour searches
    # inside them) gets more jobs than it has tasks.
    images, labels, _ = tiny_data
    seg = fast_segmenter(n_jobs=1000).fit(images, labels)
    seg.predict(images[:1])
    assert parallel_calls
    too_many = [(n, tasks) for n, tasks in parallel_calls if n and n > tasks]
    assert not too_many


def _masks_equal(got, expected):
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def reference(tiny_data):
    """A small segmenter, its data and its masks, fitted on plain lists."""
    images, labels, _ = tiny_data
    seg = make_segmenter(n_segments=30, autoencoder=False, random_state=0)
    return seg, images, labels, seg.fit(images, labels).predict(images)


def test_pandas_series_with_any_index_are_lists(reference):
    # Used to raise KeyError: 0 (X[0] looked up by label, not position).
    pd = pytest.importorskip("pandas")
    seg, images, labels, expected = reference
    X = pd.Series(images, index=[7, 3, 5, 1])
    y = pd.Series(labels, index=[7, 3, 5, 1])
    _masks_equal(clone(seg).fit(X, y).predict(X), expected)
    _masks_equal(clone(seg).fit_predict(X, y), clone(seg).fit_predict(images, labels))
    assert seg.score(X, y) == seg.score(images, labels)


def test_masked_label_maps_are_unlabeled_where_masked(reference):
    # The mask of a masked label map used to be dropped: its hidden values
    # (here a made-up class 9) trained the model.
    seg, images, labels, expected = reference
    masked = []
    for lab in labels:
        hidden = lab == -1
        masked.append(np.ma.masked_array(np.where(hidden, 9, lab), mask=hidden))
    before = [(m.data.copy(), m.mask.copy()) for m in masked]
    fitted = clone(seg).fit(images, masked)
    assert 9 not in fitted.classes_
    _masks_equal(fitted.predict(images), expected)
    for m, (data, mask) in zip(masked, before, strict=True):
        np.testing.assert_array_equal(m.data, data)
        np.testing.assert_array_equal(m.mask, mask)


def test_long_double_images_give_the_float64_masks(reference):
    # float128 images used to fail inside scikit-image.
    seg, images, labels, expected = reference
    wide = [image.astype(np.longdouble) for image in images]
    _masks_equal(clone(seg).fit(wide, labels).predict(wide), expected)


def test_other_pixel_scale_at_predict_warns(tiny_data):
    # Fit on uint8, predict the same pixels as int32: 255x larger values,
    # which used to give one class everywhere without a word.
    images, labels, _ = tiny_data
    u8 = [(image * 255).astype(np.uint8) for image in images]
    seg = make_segmenter(n_segments=30, autoencoder=False, refine=False)
    seg.fit(u8, labels)
    with pytest.warns(PixelScaleWarning, match=r"X\[0\] \(int32.*x the largest"):
        seg.predict([image.astype(np.int32) for image in u8[:1]])


def test_ordinary_data_gives_no_pixel_scale_warning(reference):
    seg, images, labels, _ = reference
    with warnings.catch_warnings():
        warnings.simplefilter("error", PixelScaleWarning)
        clone(seg).fit(images, labels).predict(images[:2])
