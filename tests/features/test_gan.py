"""Tests of GANFeatures (fast settings; accuracy lives in benchmarks/bench_gan.py)."""

import io
import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

torch = pytest.importorskip("torch")

from semiseg_sk import (  # noqa: E402
    GANFeatures,
    RegionClassifier,
    Regions,
    RegionStats,
    Superpixels,
)
from semiseg_sk.exceptions import DeviceWarning  # noqa: E402
from semiseg_sk.features import Callback  # noqa: E402

FAST = dict(
    n_filters=4,
    crop_size=16,
    latent_dim=8,
    max_iter=2,
    crops_per_epoch=32,
    batch_size=16,
    random_state=0,
)
# Maps per scale with n_filters=4 and the default layers (1, 3): 8 + 16.
N_MAPS = 2 * 24


def _gan(**kwargs):
    return GANFeatures(**{**FAST, **kwargs})


@pytest.fixture(scope="module")
def fitted(tiny_regions):
    return _gan().fit(tiny_regions)


def test_transform_appends_named_region_statistics(tiny_regions, fitted):
    out = fitted.transform(tiny_regions)
    width = tiny_regions[0].features.shape[1]
    assert fitted.n_features_out_ == 2 * N_MAPS
    for before, after in zip(tiny_regions, out):
        assert after.features.shape == (before.n_regions, width + 2 * N_MAPS)
        np.testing.assert_array_equal(after.features[:, :width], before.features)
        block = after.features[:, width:]
        assert np.isfinite(block).all() and (block >= 0).all()
    names = list(fitted.get_feature_names_out())
    assert names == list(out[0].feature_names)
    assert names[width] == "gan_s1_l1_0_mean"
    assert names[-1] == "gan_s2_l3_15_std"
    assert len(set(names)) == len(names)


def test_history_and_attributes(fitted):
    assert len(fitted.history_) == fitted.n_iter_ == 2
    assert set(fitted.history_[0]) == {
        "epoch",
        "d_loss",
        "g_loss",
        "d_real",
        "d_fake",
        "duration",
    }
    assert [h["epoch"] for h in fitted.history_] == [1, 2]
    assert set(fitted.module_) == {"generator", "discriminator"}
    assert str(fitted.device_) == "cpu"
    assert fitted.n_channels_ == 1


def test_pixel_features(tiny_data, fitted):
    images, _, _ = tiny_data
    maps = fitted.pixel_features(images[0])
    assert maps.shape == images[0].shape + (N_MAPS,) and maps.dtype == np.float32
    assert list(fitted.get_pixel_feature_names_out()) == [
        n[: -len("_mean")] for n in fitted.block_feature_names_[:N_MAPS]
    ]
    # The region means are the pixel maps averaged over each region.
    regions = Superpixels(n_segments=30).fit_transform(images[:1])[0]
    mean, _ = regions.mean_std(maps)
    block = fitted.transform([RegionStats().fit_transform([regions])[0]])[0]
    np.testing.assert_allclose(
        block.features[:, -2 * N_MAPS : -N_MAPS], mean, rtol=1e-5, atol=1e-6
    )
    # Any image size, also smaller than a crop and not a multiple of the strides.
    small = np.random.RandomState(0).rand(13, 7)
    assert fitted.pixel_features(small).shape == (13, 7, N_MAPS)


def test_tiles_give_the_whole_image_maps(fitted, monkeypatch):
    from semiseg_sk.features.gan import _maps

    image = np.random.RandomState(1).rand(70, 90)
    whole = fitted.pixel_features(image)
    monkeypatch.setattr(_maps, "TILE", 24)
    np.testing.assert_allclose(fitted.pixel_features(image), whole, atol=1e-5)


def test_y_is_ignored_and_same_seed_same_features(tiny_data, tiny_regions, fitted):
    _, labels, _ = tiny_data
    other = _gan().fit(tiny_regions, labels)
    a = fitted.transform(tiny_regions)
    b = other.transform(tiny_regions)
    for ra, rb in zip(a, b):
        np.testing.assert_array_equal(ra.features, rb.features)
    assert other.history_ == [
        {**h, "duration": o["duration"]}
        for h, o in zip(fitted.history_, other.history_)
    ]
    third = _gan(random_state=1).fit(tiny_regions)
    assert not np.array_equal(third.transform(tiny_regions)[0].features, a[0].features)


def test_options_colour_and_augmentation():
    rng = np.random.RandomState(0)
    images = [rng.rand(40, 36, 3) for _ in range(2)]
    segments = np.repeat(np.arange(4), 360).reshape(40, 36)
    regions = [Regions(im, segments) for im in images]
    gan = _gan(
        layers=(0, 4),
        scales=(1, 3),
        augment=None,
        crop_size=32,
        highpass=None,
        rectify="abs",
    ).fit(regions)
    out = gan.transform(regions)
    # Layers 0 and 4 have 4 and 16 channels, at two scales, mean and std.
    assert out[0].features.shape == (4, 2 * 2 * 20)
    assert gan.pixel_features(images[0]).shape == (40, 36, 40)
    fake = gan.generate(3, random_state=0)
    assert fake.shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(fake, gan.generate(3, random_state=0))


def test_warm_start_callbacks_and_verbose(tiny_regions, capsys):
    calls = []

    class Recorder(Callback):
        def on_train_begin(self, est, **kw):
            calls.append("begin")

        def on_batch_end(self, est, loss, batch_size, **kw):
            calls.append(batch_size)

        def on_epoch_end(self, est, record, **kw):
            calls.append(record["epoch"])

        def on_train_end(self, est, **kw):
            calls.append("end")

    gan = _gan(warm_start=True, max_iter=1, callbacks=[Recorder()], verbose=1)
    gan.fit(tiny_regions).fit(tiny_regions)
    assert [h["epoch"] for h in gan.history_] == [1, 2]
    assert calls == ["begin", 16, 16, 1, "end", "begin", 16, 16, 2, "end"]
    assert "gan" in capsys.readouterr().err
    with pytest.raises(ValueError, match="warm_start"):
        gan.set_params(n_filters=5).fit(tiny_regions)


def test_pickle_joblib_clone_and_params(tiny_regions, fitted):
    expected = fitted.transform(tiny_regions)[0].features
    state = fitted.__getstate__()
    assert "module_" not in state and isinstance(state["_module_bytes"], bytes)
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.transform(tiny_regions)[0].features, expected)
    buffer = io.BytesIO()
    joblib.dump(fitted, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    np.testing.assert_array_equal(loaded.transform(tiny_regions)[0].features, expected)
    np.testing.assert_array_equal(
        loaded.generate(2, random_state=0), fitted.generate(2, random_state=0)
    )
    assert loaded.history_ == fitted.history_
    assert isinstance(fitted.module_, torch.nn.Module)
    fresh = clone(fitted)
    assert not hasattr(fresh, "module_")
    assert fresh.get_params() == fitted.get_params()
    assert GANFeatures().get_params()["augment"] == (
        "translation",
        "cutout",
        "brightness",
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_pickle_loads_on_cpu_and_cuda_fit_raises(tiny_regions, fitted):
    state = fitted.__getstate__()
    state["device_"] = "cuda"
    crafted = GANFeatures.__new__(GANFeatures)
    with pytest.warns(DeviceWarning, match="CUDA is not available"):
        crafted.__setstate__(dict(state))
    assert str(crafted.device_) == "cpu"
    np.testing.assert_array_equal(
        crafted.transform(tiny_regions)[0].features,
        fitted.transform(tiny_regions)[0].features,
    )
    with pytest.raises(ValueError, match="CUDA is not available"):
        _gan(device="cuda").fit(tiny_regions)


def test_in_a_pipeline(tiny_data):
    images, labels, truths = tiny_data
    pipe = make_pipeline(
        Superpixels(n_segments=30),
        RegionStats(),
        _gan(),
        RegionClassifier(),
    )
    pipe.fit(images, labels)
    masks = pipe.predict(images)
    assert [m.shape for m in masks] == [t.shape for t in truths]
    assert 0.0 <= pipe.score(images, truths) <= 1.0
    pipe.set_params(ganfeatures__max_iter=1)
    assert clone(pipe).get_params()["ganfeatures__max_iter"] == 1


@pytest.mark.parametrize(
    "params, match",
    [
        ({"layers": ()}, "layers"),
        ({"layers": (1, 1)}, "layers"),
        ({"layers": (5,)}, "layers"),
        ({"layers": (True,)}, "layers"),
        ({"scales": (0,)}, "scales"),
        ({"scales": (1.5,)}, "scales"),
        ({"crop_size": 24}, "power of two"),
        ({"highpass": 0}, "highpass"),
        ({"rectify": "tanh"}, "rectify"),
        ({"crop_size": 8}, "crop_size"),
        ({"augment": ("flip",)}, "augment"),
        ({"augment": "cutout"}, "augment"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"device": "mps"}, "device"),
        ({"n_jobs": 0}, "n_jobs"),
    ],
)
def test_bad_parameters_are_named(tiny_regions, params, match):
    with pytest.raises(ValueError, match=match):
        _gan(**params).fit(tiny_regions)


def test_bad_inputs(tiny_regions, fitted):
    with pytest.raises(TypeError, match="callbacks"):
        _gan(callbacks=[object()]).fit(tiny_regions)
    with pytest.raises(NotFittedError):
        _gan().transform(tiny_regions)
    with pytest.raises(NotFittedError):
        _gan().pixel_features(np.zeros((8, 8)))
    with pytest.raises((TypeError, ValueError)):
        fitted.fit([np.zeros((8, 8))])
    with pytest.raises(ValueError, match="at least 2x2"):
        fitted.pixel_features([[0.0, 1.0]])
    with pytest.raises(ValueError, match="1 channel"):
        fitted.pixel_features(np.zeros((8, 8, 3)))
    with pytest.raises(ValueError, match="NaN"):
        fitted.pixel_features(np.full((8, 8), np.nan))
    rgb = [Regions(np.zeros((8, 8, 3)), np.zeros((8, 8), dtype=int))]
    with pytest.raises(ValueError):
        fitted.transform(rgb)


def test_training_crops_are_cut_from_the_maps_input():
    # The crops the GAN trains on are pieces of the (averaged, high-passed,
    # scaled) images that transform runs the discriminator on.
    from numpy.lib.stride_tricks import sliding_window_view

    from semiseg_sk.features.gan._maps import MapExtractor, sample_crops

    image = np.random.RandomState(0).rand(80, 72)
    scale = (np.float32(0.0), np.float32(0.3))
    extractor = MapExtractor(None, (1,), (1, 2), scale, 2.0, "relu", "cpu")
    coarse = [c[..., 0] for c in extractor.coarse_images(image)]
    crops = sample_crops(
        [image],
        6,
        np.random.RandomState(0),
        crop_size=16,
        scales=(1, 2),
        input_scale=scale,
        highpass=2.0,
    )
    for crop in crops[:, 0]:
        best = min(
            np.abs(sliding_window_view(c, (16, 16)) - crop).max(axis=(2, 3)).min()
            for c in coarse
        )
        assert best < 1e-5


def test_transform_follows_the_fit_not_later_set_params(tiny_regions):
    gan = _gan(max_iter=1).fit(tiny_regions)
    expected = gan.transform(tiny_regions)[0].features
    gan.set_params(layers=(0,), scales=(1,), highpass=None, rectify="abs")
    np.testing.assert_array_equal(gan.transform(tiny_regions)[0].features, expected)
    assert len(gan.get_pixel_feature_names_out()) == N_MAPS


def test_the_autoencoders_progress_bar_shows_the_gan_losses(tiny_regions, capsys):
    from semiseg_sk.features import ProgressBar

    _gan(max_iter=1, callbacks=[ProgressBar("gan")]).fit(tiny_regions)
    err = capsys.readouterr().err
    assert "d_loss=" in err and "g_loss=" in err


@pytest.mark.parametrize("name", ["GANFeatures", "PretrainedFeatures"])
def test_volumes_are_refused_with_a_clear_error(name):
    import semiseg_sk.features as features
    from semiseg_sk import Superpixels
    from semiseg_sk.datasets import make_blob_volumes

    data = make_blob_volumes(1, shape=(4, 12, 12), random_state=0)
    regions = Superpixels(spacing=data.spacing, n_segments=4).fit_transform(data.images)
    with pytest.raises(ValueError, match=f"{name} does not work on volumes yet"):
        getattr(features, name)().fit(regions)
