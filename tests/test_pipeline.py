"""End-to-end tests of make_segmenter: fit, predict, clone, pickle, grid search."""

import pickle
import warnings

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline

from semiseg_sk import (
    Regions,
    RegionStats,
    SparseLabelSpreading,
    Superpixels,
    make_segmenter,
)
from semiseg_sk.exceptions import PixelScaleWarning, UnseenClassWarning
from semiseg_sk.metrics import mean_iou
from semiseg_sk.model_selection import SemiSupervisedKFold
from semiseg_sk.pipeline import (
    iter_fit_predict,
    iter_predict,
    predict_outputs,
    to_device,
)


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
@pytest.mark.slow
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
    y = truths[:2] + labels[2:]
    cv = SemiSupervisedKFold(2)
    scores = cross_val_score(seg, images, y, cv=cv)
    # Each fold's score is the mean IoU of a clone fitted on the other images.
    expected = []
    for train, test in cv.split(images, y):
        fitted = clone(seg).fit([images[i] for i in train], [y[i] for i in train])
        truth = [y[i] for i in test]
        expected.append(mean_iou(truth, fitted.predict([images[i] for i in test])))
    np.testing.assert_allclose(scores, expected)


def test_unlabeled_images_change_the_fit(tiny_data, fast_segmenter):
    # The unlabeled images sit in the graph: the labels propagated to the
    # regions of the labeled images themselves change with them.
    images, labels, _ = tiny_data
    with_unlabeled = fast_segmenter(autoencoder=False).fit(images, labels)
    only_labeled = fast_segmenter(autoencoder=False).fit(images[:2], labels[:2])
    final_a = with_unlabeled.named_steps["regionclassifier"].estimator_[-1]
    final_b = only_labeled.named_steps["regionclassifier"].estimator_[-1]
    n_labeled_regions = final_b.label_distributions_.shape[0]
    a = final_a.label_distributions_[:n_labeled_regions]
    assert a.shape == final_b.label_distributions_.shape
    assert not np.allclose(a, final_b.label_distributions_, atol=1e-3)


def test_pickling_does_not_change_the_estimator(tiny_data):
    images, labels, _ = tiny_data
    seg = make_segmenter(n_segments=30, autoencoder=False, random_state=0)
    seg.fit(images, labels)
    before = {name: joblib.hash(vars(step)) for name, step in seg.steps}
    pickle.dumps(seg)
    after = {name: joblib.hash(vars(step)) for name, step in seg.steps}
    assert before == after


# -- the scikit-learn mechanisms the pipeline relies on -----------------------


def test_default_pipeline_under_metadata_routing(tiny_data, fast_segmenter):
    # Spatial edges reach label spreading through metadata routing, so the
    # default pipeline fits, predicts and grid-searches with routing on, and
    # gives the masks it gives with routing off.
    images, labels, truths = tiny_data
    expected = fast_segmenter(autoencoder=False).fit(images, labels).predict(images)
    with sklearn.config_context(enable_metadata_routing=True):
        seg = fast_segmenter(autoencoder=False).fit(images, labels)
        for got, want in zip(seg.predict(images), expected, strict=True):
            np.testing.assert_array_equal(got, want)
        grid = GridSearchCV(
            fast_segmenter(autoencoder=False, refine=False),
            {"superpixels__n_segments": [20, 30]},
            cv=SemiSupervisedKFold(2),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnseenClassWarning)
            grid.fit(images, truths[:2] + labels[2:])
        assert np.isfinite(grid.cv_results_["mean_test_score"]).all()


def test_set_output_opts_out_cleanly(tiny_data):
    images, _, _ = tiny_data
    seg = make_segmenter(autoencoder=False)
    assert seg.set_output(transform="default") is seg
    with pytest.raises(ValueError, match="Superpixels.set_output.*not a table"):
        seg.set_output(transform="pandas")
    stats = RegionStats(filters=False)
    with pytest.raises(ValueError, match="RegionStats.*Regions.feature_names"):
        stats.set_output(transform="pandas")
    # Nothing was wrapped: transform still returns Regions objects.
    regions = Superpixels(n_segments=9).fit_transform(images[:1])
    assert isinstance(stats.fit_transform(regions)[0], Regions)


def test_n_jobs_reaches_every_step():
    seg = make_segmenter(n_jobs=1, random_state=0)
    jobs = {k: v for k, v in seg.get_params().items() if k.endswith("n_jobs")}
    assert jobs == {
        "superpixels__n_jobs": 1,
        "regionstats__n_jobs": 1,
        "autoencoderfeatures__n_jobs": 1,
        "regionclassifier__estimator__sparselabelspreading__n_jobs": 1,
        "regionclassifier__refiner__n_jobs": 1,
    }
    forest = seg[-1].refiner._new_estimator(np.random.RandomState(0))
    assert forest.n_jobs == 1


def test_default_estimator_is_built_with_its_settings():
    seg = make_segmenter(random_state=3)
    spreading = seg[-1].estimator[-1]
    assert isinstance(spreading, SparseLabelSpreading)
    assert (spreading.spatial_weight, spreading.random_state) == (0.2, 3)
    assert seg[-1].refiner.random_state == 3


def test_predict_outputs_computes_features_once(tiny_data, fast_segmenter, monkeypatch):
    images, labels, _ = tiny_data
    seg = fast_segmenter(autoencoder=False).fit(images, labels)
    calls = []
    transform = Superpixels.transform
    monkeypatch.setattr(
        Superpixels, "transform", lambda self, X: calls.append(1) or transform(self, X)
    )
    out = predict_outputs(seg, images, proba=True, regions=True)
    assert len(calls) == 1
    masks = seg.predict(images)
    probas = seg.predict_proba(images)
    for mask, proba, got_mask, got_proba, regions in zip(
        masks, probas, out.masks, out.proba, out.regions, strict=True
    ):
        np.testing.assert_array_equal(got_mask, mask)
        np.testing.assert_allclose(got_proba, proba)
        assert regions.segments.shape == mask.shape
    plain = predict_outputs(seg, images[:1])
    assert plain.proba is None and plain.regions is None
    with pytest.raises(TypeError, match="Pipeline ending in a RegionClassifier"):
        predict_outputs(seg[-1], images)


def test_iter_predict_streams_the_masks_of_predict(tiny_data, fast_segmenter):
    images, labels, _ = tiny_data
    seg = fast_segmenter(autoencoder=False).fit(images, labels)
    masks = seg.predict(images)
    probas = seg.predict_proba(images)
    taken = []

    def lazily():
        for image in images:
            taken.append(1)
            yield image

    stream = iter_predict(seg, lazily(), proba=True, batch_size=3)
    assert taken == []  # nothing is read before the first mask is asked for
    first = next(stream)
    assert len(taken) == 3  # one batch
    outs = [first, *stream]
    for out, mask, proba in zip(outs, masks, probas, strict=True):
        np.testing.assert_array_equal(out.mask, mask)
        np.testing.assert_allclose(out.proba, proba)
        assert out.regions.shape == mask.shape
    plain = next(iter_predict(seg, images))
    assert plain.proba is None
    with pytest.raises(ValueError, match="batch_size must be a positive int; got 0"):
        iter_predict(seg, images, batch_size=0)
    with pytest.raises(TypeError, match="Pipeline ending in a RegionClassifier"):
        iter_predict(seg[-1], images)


def test_iter_fit_predict_streams_the_masks_of_fit_predict(tiny_data, fast_segmenter):
    images, labels, _ = tiny_data
    expected = fast_segmenter(autoencoder=False).fit_predict(images, labels)
    seg = fast_segmenter(autoencoder=False)
    outs = list(iter_fit_predict(seg, images, labels, proba=True))
    for out, mask in zip(outs, expected, strict=True):
        np.testing.assert_array_equal(out.mask, mask)
        assert out.proba.shape == mask.shape + (len(seg[-1].classes_),)
    # The pipeline is fitted in place, as by seg.fit.
    assert hasattr(seg[-1], "refiner_")


def test_iter_functions_show_progress(tiny_data, fast_segmenter, capsys):
    images, labels, _ = tiny_data
    seg = fast_segmenter(autoencoder=False, refine=False)
    masks = [out.mask for out in iter_fit_predict(seg, images, labels, verbose=1)]
    err = capsys.readouterr().err
    assert "fitting" in err and "segmenting" in err and f"{len(images)}/" in err
    assert len(masks) == len(images)
    list(iter_predict(seg, images, verbose=1))
    assert "predicting" in capsys.readouterr().err
    list(iter_predict(seg, images, verbose=0))
    assert capsys.readouterr().err == ""


def test_to_device_moves_the_networks(tiny_data, fast_segmenter):
    pytest.importorskip("torch")
    images, labels, _ = tiny_data
    seg = fast_segmenter(refine=False).fit(images, labels)
    before = seg.predict(images)
    assert to_device(seg, "cpu") is seg
    assert str(seg.named_steps["autoencoderfeatures"].device_) == "cpu"
    for a, b in zip(seg.predict(images), before, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="device='mps'.*'cpu', 'cuda'"):
        to_device(seg, "mps")


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


# -- volumes ----------------------------------------------------------------


def _blob_task():
    from semiseg_sk.datasets import make_blob_volumes, make_scribbles

    data = make_blob_volumes(2, shape=(12, 32, 32), spacing=(2, 1, 1), random_state=1)
    truth = data.truths[0]
    labels = [np.full(t.shape, -1) for t in data.truths]
    # Scribbles on the two slices of the first volume that show most of
    # the smaller blob class.
    for z in np.argsort([-(t == 2).sum() for t in truth])[:2]:
        labels[0][z] = make_scribbles(truth[z], stroke_length=10, random_state=int(z))
    return data, labels


def test_volume_pipeline_fit_predict():
    data, labels = _blob_task()
    seg = make_segmenter(spacing=data.spacing, n_segments=20, random_state=0)
    assert "autoencoderfeatures" not in seg.named_steps
    masks = seg.fit(data.images, labels).predict(data.images)
    assert [m.shape for m in masks] == [t.shape for t in data.truths]
    assert seg.score(data.images, data.truths) > 0.6
    proba = seg.predict_proba(data.images[:1])[0]
    assert proba.shape == data.truths[0].shape + (3,)
    again = seg.fit_predict(data.images, labels)
    assert again[1].shape == data.truths[1].shape
    # Pickled and cloned, the pipeline gives the same masks.
    loaded = pickle.loads(pickle.dumps(seg))
    np.testing.assert_array_equal(loaded.predict(data.images[:1])[0], masks[0])
    cloned = clone(seg).fit(data.images, labels)
    np.testing.assert_array_equal(cloned.predict(data.images[:1])[0], masks[0])
    assert cloned.get_params()["superpixels__spacing"] == data.spacing


def test_volume_pipeline_errors():
    data, labels = _blob_task()
    seg = make_segmenter(spacing=data.spacing, n_segments=20, refine=False)
    with pytest.raises(ValueError, match=r"X\[0\] has 2 dimensions"):
        seg.fit([im[0] for im in data.images], [lab[0] for lab in labels])
    with pytest.raises(ValueError, match=r"y\[0\] has shape"):
        seg.fit(data.images, [lab[0] for lab in labels])
    with pytest.raises(ValueError, match="three positive numbers"):
        make_segmenter(spacing=(1, 1)).fit(data.images, labels)
    with pytest.raises(ValueError, match="splits 2-D images only"):
        make_segmenter(spacing=(1, 1, 1), method="quickshift").fit(data.images, labels)


def test_volume_pipeline_with_the_autoencoder():
    pytest.importorskip("torch")
    data, labels = _blob_task()
    seg = make_segmenter(
        spacing=data.spacing, n_segments=20, autoencoder=True, refine=False
    ).set_params(
        autoencoderfeatures__max_iter=1, autoencoderfeatures__patches_per_epoch=64
    )
    masks = seg.fit(data.images, labels).predict(data.images)
    assert [m.shape for m in masks] == [im.shape for im in data.images]
    ae = seg.named_steps["autoencoderfeatures"]
    with pytest.raises(ValueError, match="is a volume"):
        ae.reconstruct(seg[:2].transform(data.images[:1]))
