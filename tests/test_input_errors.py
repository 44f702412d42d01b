"""Bad inputs at every public entry point raise clear, documented errors.

Each case asserts the exception type and the key words of its message: the
argument, the image index where there is one, and what was expected. Every
array handed to the library is read-only, so an attempt to modify the
caller's data fails loudly.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from semiseg_sk import (
    AutoencoderFeatures,
    PixelRefiner,
    RegionClassifier,
    Regions,
    RegionStats,
    SparseLabelSpreading,
    Superpixels,
    make_segmenter,
)
from semiseg_sk.datasets import make_scribbles, make_texture_mosaics
from semiseg_sk.exceptions import SingleClassWarning
from semiseg_sk.utils import fixes

H = W = 24


def ro(array):
    """A read-only copy of ``array``."""
    array = np.array(array)
    array.flags.writeable = False
    return array


def _image(seed=0, channels=None):
    rng = np.random.RandomState(seed)
    image = np.zeros((H, W))
    image[:, W // 2 :] = 1.0
    image[H // 2 :] += 0.5
    image = image + 0.05 * rng.rand(H, W)
    if channels is not None:
        image = np.dstack([image * (c + 1) / channels for c in range(channels)])
    return ro(image)


def _labels():
    lab = np.full((H, W), -1)
    lab[2:6, 2:6] = 0
    lab[18:22, 18:22] = 1
    return ro(lab)


IMAGES = [_image(0), _image(1)]
LABELS = [_labels(), ro(np.full((H, W), -1))]


def _segmenter(**kwargs):
    seg = make_segmenter(n_segments=8, random_state=0, **kwargs)
    if "autoencoderfeatures" in seg.named_steps:
        seg.set_params(
            autoencoderfeatures__max_iter=1,
            autoencoderfeatures__latent_dim=2,
            autoencoderfeatures__n_filters=4,
            autoencoderfeatures__patch_size=8,
            autoencoderfeatures__validation_fraction=0.0,
        )
    return seg


@pytest.fixture(scope="module")
def fitted():
    return _segmenter().fit(IMAGES, LABELS)


@pytest.fixture(scope="module")
def regions():
    return RegionStats(filters=False).fit_transform(
        Superpixels(n_segments=8).fit_transform(IMAGES)
    )


def _with(images, index, value):
    out = list(images)
    out[index] = value
    return out


# -- images -----------------------------------------------------------------

IMAGE_CASES = [
    # id, X, exception, match
    ("stacked-ndarray", ro(np.stack(IMAGES)), TypeError, r"X must be a list.*ndarray"),
    ("int", 5, TypeError, r"X must be a list of arrays.*got int"),
    ("str", "image.png", TypeError, r"X must be a list of arrays.*got str"),
    ("generator", (im for im in IMAGES), TypeError, r"X must be a list.*generator"),
    ("empty-list", [], ValueError, r"X is empty"),
    ("1d", _with(IMAGES, 1, ro(np.ones(W))), ValueError, r"X\[1\] has 1 dim"),
    (
        "4d",
        _with(IMAGES, 1, ro(np.ones((H, W, 3, 1)))),
        ValueError,
        r"X\[1\] has 4 dimensions.*expected \(H, W\)",
    ),
    (
        "zero-rows",
        _with(IMAGES, 1, ro(np.ones((0, W)))),
        ValueError,
        r"X\[1\] is empty \(shape \(0, 24\)\); expected at least 2x2",
    ),
    ("zero-channels", [ro(np.ones((H, W, 0)))], ValueError, r"X\[0\] is empty"),
    (
        "mixed-channels",
        _with(IMAGES, 1, _image(1, channels=3)),
        ValueError,
        r"X\[1\] has 3 channel.*X\[0\] has 1.*same number of channels",
    ),
    (
        "nan",
        _with(IMAGES, 1, ro(np.where(_labels() == 0, np.nan, IMAGES[1]))),
        ValueError,
        r"X\[1\] contains NaN or infinity; expected finite",
    ),
    (
        "inf",
        _with(IMAGES, 0, ro(np.where(_labels() == 1, -np.inf, IMAGES[0]))),
        ValueError,
        r"X\[0\] contains NaN or infinity",
    ),
    (
        "object-dtype",
        _with(IMAGES, 1, ro(IMAGES[1].astype(object))),
        TypeError,
        r"X\[1\] has dtype object; expected a numeric image",
    ),
    (
        "str-dtype",
        [ro(np.full((H, W), "a"))],
        TypeError,
        r"X\[0\] has dtype <U1; expected a numeric image",
    ),
    (
        "complex",
        [ro(IMAGES[0].astype(complex))],
        TypeError,
        r"X\[0\] has dtype complex128",
    ),
    (
        "bool",
        _with(IMAGES, 1, ro(IMAGES[1] > 0.5)),
        TypeError,
        r"X\[1\] has dtype bool; expected a numeric image",
    ),
    ("1x1", _with(IMAGES, 1, ro(np.ones((1, 1)))), ValueError, r"X\[1\].*at least 2x2"),
    ("1xW", [ro(np.ones((1, W)))], ValueError, r"X\[0\] has shape \(1, 24\).*2x2"),
    ("ragged", [[[0.0, 1.0], [2.0]]], TypeError, r"X\[0\] must be an array.*numpy"),
    (
        "masked",
        _with(IMAGES, 1, np.ma.masked_array(IMAGES[1], mask=_labels() == 0)),
        TypeError,
        r"X\[1\] is a masked array with 16 masked.*image.filled",
    ),
    (
        "overflowing-values",
        _with(IMAGES, 1, ro(IMAGES[1] * 1e300)),
        ValueError,
        r"X\[1\] has pixel values as large as.*overflow.*rescale",
    ),
]


@pytest.mark.parametrize(
    "X, exc, match", [c[1:] for c in IMAGE_CASES], ids=[c[0] for c in IMAGE_CASES]
)
def test_bad_images_at_fit(X, exc, match):
    labels = LABELS if isinstance(X, list) and len(X) == 2 else [LABELS[0]]
    with pytest.raises(exc, match=match):
        _segmenter().fit(X, labels)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score"])
@pytest.mark.parametrize(
    "X, match",
    [
        ([_image(0, channels=3)], r"X\[0\] has 3 channel.*Superpixels was fitted on"),
        (
            [IMAGES[0], _image(0, channels=4)],
            r"X\[1\] has 4 channel.*fitted on images with 1 channel",
        ),
        (_with(IMAGES, 1, ro(np.full((H, W), np.nan))), r"X\[1\] contains NaN"),
        ([ro(np.ones((1, 5)))], r"X\[0\] has shape \(1, 5\)"),
        (ro(np.stack(IMAGES)), r"X must be a list"),
    ],
    ids=["rgb", "rgba-second", "nan", "too-small", "ndarray"],
)
def test_bad_images_after_fit(fitted, method, X, match):
    args = (X,)
    if method == "score":
        args = (X, [_labels()] * (len(X) if isinstance(X, list) else 2))
    with pytest.raises((ValueError, TypeError), match=match):
        getattr(fitted, method)(*args)


# -- labels -----------------------------------------------------------------

LABEL_CASES = [
    (
        "fewer-maps",
        [LABELS[0]],
        ValueError,
        r"y has 1 label maps but there are 2 images",
    ),
    (
        "wrong-shape",
        _with(LABELS, 1, ro(np.full((10, W), -1))),
        ValueError,
        r"y\[1\] has shape \(10, 24\) but its image has shape \(24, 24\)",
    ),
    (
        "3d-map",
        _with(LABELS, 0, ro(np.zeros((H, W, 1), dtype=int))),
        ValueError,
        r"y\[0\] has shape \(24, 24, 1\); expected an \(H, W\) label map",
    ),
    (
        "float",
        _with(LABELS, 0, ro(_labels().astype(float))),
        TypeError,
        r"y\[0\] has dtype float64; expected integer class labels",
    ),
    (
        "float-nan",
        _with(LABELS, 1, ro(np.full((H, W), np.nan))),
        TypeError,
        r"y\[1\] has dtype float64",
    ),
    (
        "bool",
        _with(LABELS, 0, ro(_labels() > 0)),
        TypeError,
        r"y\[0\] has dtype bool; expected integer",
    ),
    (
        "str",
        _with(LABELS, 0, ro(_labels().astype(str))),
        TypeError,
        r"y\[0\] has dtype <U",
    ),
    (
        "below-minus-one",
        _with(LABELS, 1, ro(np.full((H, W), -2))),
        ValueError,
        r"y\[1\] contains -2; labels must be >= 0 for classes and -1",
    ),
    (
        "none-labeled",
        [ro(np.full((H, W), -1))] * 2,
        ValueError,
        r"y has no labeled pixel in any of its 2 label maps",
    ),
    ("none", None, TypeError, r"y must be a list of arrays.*NoneType"),
    (
        "stacked-ndarray",
        ro(np.stack(LABELS)),
        TypeError,
        r"y must be a list.*single ndarray",
    ),
    ("empty", [], ValueError, r"y is empty"),
    (
        "ragged",
        _with(LABELS, 1, [[0, 1], [0]]),
        TypeError,
        r"y\[1\] must be an \(H, W\) array of int labels.*rows differ in length",
    ),
]


@pytest.mark.parametrize(
    "y, exc, match", [c[1:] for c in LABEL_CASES], ids=[c[0] for c in LABEL_CASES]
)
def test_bad_labels_at_fit(y, exc, match):
    with pytest.raises(exc, match=match):
        _segmenter().fit(IMAGES, y)


@pytest.mark.parametrize(
    "y, exc, match",
    [
        ([_labels()], ValueError, r"y has 1 label maps but there are 2 images"),
        (
            [_labels(), ro(np.full((5, 5), -1))],
            ValueError,
            r"y\[1\] has shape \(5, 5\) but its image has shape \(24, 24\)",
        ),
        ([ro(_labels() * 1.0)] * 2, TypeError, r"y\[0\] has dtype float64"),
        ([ro(np.full((H, W), -1))] * 2, ValueError, r"no labeled pixel"),
        ([ro(np.full((H, W), -3))] * 2, ValueError, r"y\[0\] contains -3"),
    ],
    ids=["fewer-maps", "wrong-shape", "float", "none-labeled", "below-minus-one"],
)
def test_bad_labels_at_score(fitted, y, exc, match):
    with pytest.raises(exc, match=match):
        fitted.score(IMAGES, y)


def test_fit_fails_on_labels_before_the_slow_steps(monkeypatch):
    # A shape error in y is reported by the first step, before the autoencoder.
    def boom(*args, **kwargs):  # pragma: no cover - must not run
        raise AssertionError("the autoencoder ran")

    monkeypatch.setattr(AutoencoderFeatures, "fit", boom)
    with pytest.raises(ValueError, match=r"y\[1\] has shape"):
        _segmenter().fit(IMAGES, [_labels(), ro(np.full((3, 3), -1))])


def test_one_class_warns_and_predicts_it():
    y = [ro(np.where(_labels() == 1, 0, _labels())), LABELS[1]]
    with pytest.warns(SingleClassWarning, match="Only class 0"):
        seg = _segmenter().fit(IMAGES, y)
    masks = seg.predict(IMAGES)
    assert all((m == 0).all() for m in masks)
    proba = seg.predict_proba(IMAGES)
    assert proba[0].shape == (H, W, 1)
    np.testing.assert_allclose(proba[0], 1.0)


def test_classes_sharing_every_region_warn():
    # Both classes fall in the same single region: the vote keeps one class.
    image = _image(0)
    one = [Regions(image, np.zeros((H, W), dtype=int)).with_features([[0.0]], ["f"])]
    lab = np.full((H, W), -1)
    lab[0, 0], lab[1, 1], lab[2, 2] = 4, 4, 9
    with pytest.warns(SingleClassWarning, match="majority vote.*class 4"):
        clf = RegionClassifier().fit(one, [ro(lab)])
    np.testing.assert_array_equal(clf.classes_, [4, 9])
    assert (clf.predict(one)[0] == 4).all()
    assert clf.predict_proba(one)[0].shape == (H, W, 2)


def test_class_unseen_at_fit_warns_and_counts_as_error(fitted):
    y = [ro(np.where(_labels() == 1, 7, _labels()))] * 2
    with pytest.warns(UserWarning, match=r"classes \[7\] that were not labeled at fit"):
        score = fitted.score(IMAGES, y)
    # Class 7 cannot be predicted: its IoU is 0, so the mean is at most 1/2.
    assert 0.0 <= score <= 0.5


def test_seen_classes_do_not_warn(fitted):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted.score(IMAGES, [_labels()] * 2)


# -- parameters -------------------------------------------------------------

MAKE_SEGMENTER_CASES = [
    ({"method": "kmeans"}, r"'method' parameter of make_segmenter.*'slic'"),
    ({"n_segments": 0}, r"'n_segments' parameter of make_segmenter.*\[1, inf\)"),
    ({"n_segments": "many"}, r"'n_segments' parameter"),
    ({"autoencoder": "yes"}, r"'autoencoder' parameter"),
    ({"estimator": "rf"}, r"'estimator' parameter.*'fit' and 'predict'"),
    ({"n_jobs": 0}, r"'n_jobs' parameter of make_segmenter"),
    ({"verbose": -1}, r"'verbose' parameter"),
    ({"random_state": "seed"}, r"'random_state' parameter"),
    ({"device": 0}, r"'device' parameter"),
]


@pytest.mark.parametrize(
    "kwargs, match",
    MAKE_SEGMENTER_CASES,
    ids=[next(iter(c[0])) for c in MAKE_SEGMENTER_CASES],
)
def test_make_segmenter_rejects_bad_arguments_at_construction(kwargs, match):
    # InvalidParameterError is both a ValueError and a TypeError.
    with pytest.raises(ValueError, match=match):
        make_segmenter(**kwargs)
    with pytest.raises(TypeError, match=match):
        make_segmenter(**kwargs)


STEP_PARAM_CASES = [
    ({"superpixels__method": "kmeans"}, r"'method' parameter of Superpixels"),
    ({"superpixels__n_segments": -3}, r"'n_segments' parameter of Superpixels"),
    ({"superpixels__compactness": 0}, r"'compactness' parameter of Superpixels"),
    ({"superpixels__n_jobs": 0}, r"'n_jobs' parameter of Superpixels"),
    (
        {"superpixels__n_segments": 1000},
        r"n_segments=1000 is larger than the 576 pixels of X\[0\]",
    ),
    (
        {"superpixels__method_params": {"n_segmnts": 4}},
        r"method_params has \['n_segmnts'\].*slic does not accept",
    ),
    (
        {"superpixels__method_params": {"sigma": "wide"}},
        r"Superpixels\(method='slic'\) failed on X\[0\].*method_params",
    ),
    ({"regionstats__quantiles": (0.5, 2.0)}, r"quantiles must be numbers in \[0, 1\]"),
    ({"regionstats__quantiles": ("median",)}, r"quantiles must be numbers"),
    ({"regionstats__sigma_min": 10.0}, r"sigma_min=10.0 is larger than sigma_max"),
    ({"regionstats__num_sigma": 0}, r"'num_sigma' parameter of RegionStats"),
    (
        {
            "regionstats__intensity": False,
            "regionstats__filters": False,
            "regionstats__area": False,
        },
        r"RegionStats computes nothing",
    ),
    ({"autoencoderfeatures__latent_dim": 0}, r"'latent_dim' parameter"),
    ({"autoencoderfeatures__kernel_size": 6}, r"kernel_size must be odd"),
    ({"autoencoderfeatures__device": "tpu"}, r"device='tpu'"),
    (
        {"autoencoderfeatures__rectify": "relu"},
        r"'rectify' parameter of AutoencoderFeatures",
    ),
    ({"regionclassifier__estimator": 5}, r"'estimator' parameter of RegionClassifier"),
    ({"regionclassifier__semi_supervised": "maybe"}, r"'semi_supervised' parameter"),
]


@pytest.mark.parametrize(
    "params, match",
    STEP_PARAM_CASES,
    ids=[f"{k}={v!r}" for k, v in (next(iter(c[0].items())) for c in STEP_PARAM_CASES)],
)
def test_bad_step_parameters_rejected_at_fit(params, match):
    seg = _segmenter(autoencoder=True).set_params(**params)
    with pytest.raises(ValueError, match=match):
        seg.fit(IMAGES, LABELS)


def _numeric_parameters():
    """(estimator class, parameter) for every parameter with an interval."""
    # fixes.Interval.__base__ is scikit-learn's Interval: a constraint made
    # with it directly would take booleans, and fail here.
    steps = [
        Superpixels,
        RegionStats,
        AutoencoderFeatures,
        SparseLabelSpreading,
        PixelRefiner,
    ]
    for step in steps:
        for name, constraints in step._parameter_constraints.items():
            if any(isinstance(c, fixes.Interval.__base__) for c in constraints):
                yield step, name


@pytest.mark.parametrize(
    "step, name",
    list(_numeric_parameters()),
    ids=[f"{s.__name__}.{n}" for s, n in _numeric_parameters()],
)
def test_numeric_parameters_refuse_booleans(step, name):
    # bool is an int subclass, so scikit-learn's Interval takes True as 1.
    estimator = step().set_params(**{name: True})
    with pytest.raises(ValueError, match=rf"'{name}' parameter of {step.__name__}"):
        estimator._validate_params()


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: make_segmenter(n_segments=True), "n_segments"),
        (lambda: make_segmenter(n_jobs=True), "n_jobs"),
        (lambda: make_segmenter(random_state=False), "random_state"),
        (lambda: make_texture_mosaics(True), "n_images"),
        (lambda: make_scribbles(_labels(), stroke_width=True), "stroke_width"),
    ],
    ids=["n_segments", "n_jobs", "random_state", "n_images", "stroke_width"],
)
def test_numeric_arguments_of_functions_refuse_booleans(call, name):
    with pytest.raises(ValueError, match=rf"'{name}' parameter.*Got (True|False)"):
        call()


# -- state and wiring -------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: _segmenter().predict(IMAGES),
        lambda: _segmenter().predict_proba(IMAGES),
        lambda: _segmenter().score(IMAGES, LABELS),
        lambda: Superpixels().transform(IMAGES),
        lambda: RegionStats().transform([Regions(IMAGES[0], np.zeros((H, W), int))]),
        lambda: RegionStats().get_feature_names_out(),
        lambda: AutoencoderFeatures().transform(
            [Regions(IMAGES[0], np.zeros((H, W), int))]
        ),
        lambda: AutoencoderFeatures().reconstruct(
            [Regions(IMAGES[0], np.zeros((H, W), int))]
        ),
        lambda: RegionClassifier().predict([]),
        lambda: RegionClassifier().predict_proba([]),
        lambda: RegionClassifier().score([], []),
    ],
    ids=[
        "pipeline.predict",
        "pipeline.predict_proba",
        "pipeline.score",
        "Superpixels.transform",
        "RegionStats.transform",
        "RegionStats.get_feature_names_out",
        "AutoencoderFeatures.transform",
        "AutoencoderFeatures.reconstruct",
        "RegionClassifier.predict",
        "RegionClassifier.predict_proba",
        "RegionClassifier.score",
    ],
)
def test_not_fitted(call):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        call()


def test_failed_fit_does_not_look_fitted():
    stats = RegionStats()
    bad = [
        Regions(IMAGES[0], np.zeros((H, W), int)).with_features([[0.0]], ["a"]),
        Regions(IMAGES[1], np.zeros((H, W), int)),
    ]
    with pytest.raises(ValueError, match=r"X\[1\] has 0 region features.*X\[0\] has 1"):
        stats.fit(bad)
    with pytest.raises(NotFittedError):
        stats.transform(bad[:1])


@pytest.mark.parametrize(
    "step, name",
    [
        (RegionStats(), "RegionStats"),
        (AutoencoderFeatures(), "AutoencoderFeatures"),
        (RegionClassifier(), "RegionClassifier"),
    ],
)
def test_raw_images_tell_to_put_superpixels_first(step, name):
    args = (IMAGES, LABELS) if name == "RegionClassifier" else (IMAGES,)
    match = (
        rf"X\[0\] is a ndarray; {name} expects a semiseg_sk.Regions.*Superpixels\(\)"
    )
    with pytest.raises(TypeError, match=match):
        step.fit(*args)


def test_region_step_channel_mismatch_names_the_step(regions):
    stats = RegionStats(filters=False).fit(regions)
    rgb = [Regions(_image(0, channels=3), r.segments) for r in regions]
    with pytest.raises(ValueError, match=r"X\[0\] has 3 channel.*RegionStats was"):
        stats.transform(rgb)


def test_classifier_errors(regions):
    bare = [Regions(r.image, r.segments) for r in regions]
    with pytest.raises(ValueError, match=r"X\[0\] has no region features.*RegionStats"):
        RegionClassifier().fit(bare, LABELS)
    clf = RegionClassifier().fit(regions, LABELS)
    wider = [r.with_features(np.zeros((r.n_regions, 1)), ["extra"]) for r in regions]
    with pytest.raises(ValueError, match=r"X\[0\] has \d+ region features but Region"):
        clf.predict(wider)
    mixed = [regions[0], wider[1]]
    with pytest.raises(ValueError, match=r"X\[1\] has \d+ region features but X\[0\]"):
        RegionClassifier().fit(mixed, LABELS)
    with pytest.raises(ValueError, match="sample_weight"):
        clf.score(regions, LABELS, sample_weight=[1, 1])


def test_regions_constructor_errors():
    with pytest.raises(TypeError, match=r"segments has dtype float64"):
        Regions(IMAGES[0], np.zeros((H, W)))
    with pytest.raises(TypeError, match=r"label_image has dtype float64"):
        Regions.from_label_image(IMAGES[0], np.zeros((H, W)) + 0.5)
    with pytest.raises(TypeError, match=r"^image has dtype object"):
        Regions(None, np.zeros((H, W), int))
    with pytest.raises(ValueError, match=r"segments has shape \(3, 3\)"):
        Regions(IMAGES[0], np.zeros((3, 3), int))


# -- nothing the caller owns is modified -----------------------------------


def test_inputs_are_not_modified():
    # Writeable arrays this time, compared with copies afterwards; the
    # read-only arrays elsewhere in this module catch in-place writes as
    # errors, this catches writes through copies made with np.asarray.
    images = [np.array(_image(0)), np.array(_image(1, channels=None))]
    labels = [np.array(_labels()), np.full((H, W), -1)]
    before = [a.copy() for a in images + labels]
    seg = _segmenter()
    params = seg.get_params(deep=True)
    seg.fit(images, labels)
    seg.predict(images)
    seg.predict_proba(images)
    seg.score(images, labels)
    for a, b in zip(images + labels, before):
        np.testing.assert_array_equal(a, b)
    after = seg.get_params(deep=True)
    assert set(params) == set(after)
    for key in params:
        if not hasattr(params[key], "get_params"):
            assert params[key] == after[key], key


def test_feature_steps_return_new_regions(regions):
    features = [r.features.copy() for r in regions]
    for r in regions:
        r.features.flags.writeable = False
    out = RegionStats(filters=False).fit_transform(regions)
    for r, f, o in zip(regions, features, out):
        np.testing.assert_array_equal(r.features, f)
        assert o is not r and o.features.shape[1] == 2 * f.shape[1]


def test_non_finite_features_name_their_columns():
    image = _image(0)
    segments = np.zeros((H, W), int)
    segments[:, W // 2 :] = 1
    features = [[0.0, np.nan], [1.0, np.inf]]
    bad = [Regions(image, segments).with_features(features, ["ok", "autoencoder0"])]
    with pytest.raises(ValueError, match=r"X\[0\] has NaN or infinite.*autoencoder0"):
        RegionClassifier().fit(bad, [_labels()])
