"""Tests of AutoencoderFeatures (fast settings; accuracy lives in benchmarks/)."""

import io
import pickle
import subprocess
import sys
import textwrap
import tracemalloc

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

torch = pytest.importorskip("torch")

from semiseg_sk import AutoencoderFeatures, Regions, Superpixels  # noqa: E402
from semiseg_sk.exceptions import DeviceWarning  # noqa: E402
from semiseg_sk.features import Callback  # noqa: E402

FAST = dict(
    n_filters=4,
    patch_size=8,
    max_iter=2,
    patches_per_epoch=64,
    batch_size=32,
    pooling=("mean", "std"),
    random_state=0,
)
# n_filters * len(scales) maps, each pooled by mean and std.
N_MAPS = 4 * 3
N_OUT = 2 * N_MAPS


def _ae(**kwargs):
    return AutoencoderFeatures(**{**FAST, **kwargs})


@pytest.fixture(scope="module")
def fitted(tiny_regions):
    return _ae().fit(tiny_regions)


def test_fit_transform_appends_pooled_maps(tiny_regions, fitted):
    out = fitted.transform(tiny_regions)
    width = tiny_regions[0].features.shape[1]
    for before, after in zip(tiny_regions, out):
        assert after.features.shape == (before.n_regions, width + N_OUT)
        np.testing.assert_array_equal(after.features[:, :width], before.features)
        assert np.isfinite(after.features).all()
    names = fitted.get_feature_names_out()
    assert names[width] == "autoencoder_s1_f0_mean"
    assert names[-1] == "autoencoder_s4_f3_std"
    assert list(names) == list(out[0].feature_names)
    assert fitted.n_features_out_ == N_OUT and fitted.n_maps_ == N_MAPS
    assert fitted.n_features_in_ == width
    assert len(fitted.history_) == fitted.n_iter_ == 2
    assert set(fitted.history_[0]) == {"epoch", "train_loss", "valid_loss", "duration"}
    assert isinstance(fitted.module_, torch.nn.Module)
    assert fitted.filters().shape == (4, 7, 7, 1)
    # The rectified magnitudes are non-negative: so are their region means.
    assert (out[0].features[:, width : width + N_MAPS] >= 0).all()
    again = _ae().fit_transform(tiny_regions)
    for a, b in zip(again, out):
        np.testing.assert_array_equal(a.features, b.features)


def test_y_is_ignored(tiny_data, tiny_regions, fitted):
    _, labels, _ = tiny_data
    other = _ae().fit(tiny_regions, labels)
    a = fitted.transform(tiny_regions)[0].features
    np.testing.assert_array_equal(a, other.transform(tiny_regions)[0].features)


def test_pixel_features_are_what_regions_pool(tiny_regions, fitted):
    regions = tiny_regions[1]
    maps = fitted.pixel_features(regions.image)
    assert maps.shape == regions.image.shape[:2] + (N_MAPS,)
    assert maps.dtype == np.float32 and (maps >= 0).all()
    names = fitted.get_pixel_feature_names_out()
    assert len(names) == N_MAPS and names[0] == "autoencoder_s1_f0"
    mean, std = regions.mean_std(maps)
    pooled = fitted.transform([regions])[0].features[:, -N_OUT:]
    np.testing.assert_allclose(pooled, np.hstack([mean, std]), rtol=1e-5, atol=1e-5)
    # A Regions object gives its image.
    np.testing.assert_array_equal(fitted.pixel_features(regions), maps)


def test_pixel_features_checks_its_image(fitted):
    with pytest.raises(ValueError, match="3 channel"):
        fitted.pixel_features(np.zeros((20, 20, 3)))
    with pytest.raises(NotFittedError):
        _ae().pixel_features(np.zeros((20, 20)))


def test_strips_give_the_whole_image_maps(monkeypatch):
    from semiseg_sk.features.autoencoder import _maps

    image = np.random.RandomState(0).rand(70, 45)
    regions = [Regions(image, np.arange(70 * 45).reshape(70, 45) // 300)]
    ae = _ae().fit(regions)
    whole = ae.pixel_features(image)
    features = ae.transform(regions)[0].features
    monkeypatch.setattr(_maps, "_STRIP_VALUES", 1)  # strips of 16 rows
    assert _maps.rows_per_strip(45, N_MAPS) == 16
    np.testing.assert_allclose(ae.pixel_features(image), whole, atol=1e-5)
    np.testing.assert_allclose(ae.transform(regions)[0].features, features, atol=1e-5)


def test_large_image_memory_is_bounded_by_strips(monkeypatch):
    from semiseg_sk.features.autoencoder import _maps

    rng = np.random.RandomState(0)
    image = rng.rand(1024, 768).astype(np.float32)
    segments = (np.arange(1024)[:, None] // 64) * 12 + np.arange(768)[None] // 64
    regions = [Regions(image, segments)]
    ae = _ae(n_filters=8, scales=(1, 2), max_iter=0).fit(regions)
    monkeypatch.setattr(_maps, "_STRIP_VALUES", 2**18)
    tracemalloc.start()
    out = ae.transform(regions)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert out[0].features.shape == (segments.max() + 1, 32)
    # All maps of the image in float64 would take 128 bytes a pixel (50 MB);
    # what is held is a few image-sized arrays (the region map, the pyramid).
    assert image.size * ae.n_maps_ * 8 == 128 * image.size
    assert peak < 48 * image.size, peak


def test_max_iter_zero_keeps_the_kmeans_filters(tiny_regions):
    plain = _ae(max_iter=0).fit(tiny_regions)
    assert plain.history_ == [] and plain.n_iter_ == 0
    random = _ae(max_iter=0, init="random").fit(tiny_regions)
    assert not np.allclose(plain.filters(), random.filters())
    out = plain.transform(tiny_regions)
    assert all(np.isfinite(r.features).all() for r in out)

    start = []

    class Start(Callback):
        def on_train_begin(self, est, **kw):
            start.append(est.filters())

    tuned = _ae(max_iter=3, callbacks=[Start()]).fit(tiny_regions)
    # Fine-tuning starts from k-means filters and moves them a little.
    change = np.abs(tuned.filters() - start[0]).max()
    assert 0 < change < 0.1 * np.abs(start[0]).max()


def test_kmeans_filters_are_zero_mean_on_flat_windows():
    from semiseg_sk.features.autoencoder._kmeans import kmeans_filters, sample_windows

    rng = np.random.RandomState(0)
    crops = rng.rand(50, 2, 12, 12).astype(np.float32)
    windows = sample_windows(crops, 5, 500, rng)
    assert windows.shape == (500, 2 * 25)
    weight, bias = kmeans_filters(windows, 6, 2, 5, rng)
    assert weight.shape == (6, 2, 5, 5) and bias.shape == (6,)
    assert weight.dtype == np.float32 and np.isfinite(weight).all()


@pytest.mark.parametrize(
    "params, n_maps, n_out",
    [
        ({"rectify": "split"}, 24, 48),
        ({"pooling": ("mean", "std", "max")}, 12, 36),
        ({"pooling": ("max",)}, 12, 12),
        ({"scales": (1,), "kernel_size": 5}, 4, 8),
        ({"init": "random", "optimizer": "sgd", "noise": 0.0, "sparsity": 0.0}, 12, 24),
        ({"latent_dim": 3}, 12, 3),
        ({"patches_per_epoch": None}, 12, 24),
    ],
)
def test_options(tiny_regions, params, n_maps, n_out):
    ae = _ae(**params).fit(tiny_regions)
    assert ae.n_maps_ == n_maps and ae.n_features_out_ == n_out
    out = ae.transform(tiny_regions)
    assert out[0].features.shape[1] == tiny_regions[0].features.shape[1] + n_out
    assert all(np.isfinite(r.features).all() for r in out)
    assert ae.pixel_features(tiny_regions[0].image).shape[-1] == n_maps
    assert len(ae.get_pixel_feature_names_out()) == n_maps
    again = _ae(**params).fit_transform(tiny_regions)
    for a, b in zip(again, out):
        np.testing.assert_allclose(a.features, b.features, rtol=1e-6, atol=1e-8)


def test_latent_dim_projects_the_pooled_block(tiny_regions):
    ae = _ae(latent_dim=5).fit(tiny_regions)
    assert ae.block_feature_names_ == [f"autoencoder{i}" for i in range(5)]
    block = np.vstack([r.features[:, -5:] for r in ae.transform(tiny_regions)])
    # Principal components of the standardised pooled maps: centred, uncorrelated.
    np.testing.assert_allclose(block.mean(axis=0), 0, atol=1e-8)
    cov = np.cov(block.T)
    np.testing.assert_allclose(cov - np.diag(np.diag(cov)), 0, atol=1e-6)
    # At most the number of pooled maps.
    assert _ae(latent_dim=100).fit(tiny_regions).n_features_out_ == N_OUT


def test_reconstruct(tiny_regions, fitted):
    patches, recon = fitted.reconstruct(tiny_regions[:2])
    assert len(patches) == len(recon) == 2
    assert patches[0].shape == recon[0].shape == (tiny_regions[0].n_regions, 8, 8, 1)
    assert np.isfinite(recon[0]).all()


def test_multichannel_images():
    rng = np.random.RandomState(0)
    images = [rng.rand(24, 24, 3) for _ in range(2)]
    segments = np.repeat(np.arange(4), 144).reshape(24, 24)
    regions = [Regions(im, segments) for im in images]
    ae = _ae().fit(regions)
    assert ae.filters().shape == (4, 7, 7, 3)
    assert ae.transform(regions)[0].features.shape == (4, N_OUT)
    assert ae.pixel_features(images[0]).shape == (24, 24, N_MAPS)


def test_images_of_different_sizes_and_tiny_images():
    rng = np.random.RandomState(0)
    images = [rng.rand(9, 13), rng.rand(40, 31)]
    regions = [Regions(im, (np.arange(im.size) % 3).reshape(im.shape)) for im in images]
    ae = _ae(patch_size=16).fit(regions)
    out = ae.transform(regions)
    assert [r.features.shape for r in out] == [(3, N_OUT), (3, N_OUT)]
    assert all(np.isfinite(r.features).all() for r in out)


def test_early_stopping_and_validation(tiny_regions):
    # A tolerance no improvement can meet: stop after n_iter_no_change + 1.
    ae = _ae(max_iter=20, n_iter_no_change=2, tol=0.99).fit(tiny_regions)
    assert ae.n_iter_ == 3
    assert all(h["valid_loss"] is not None for h in ae.history_)
    ae = _ae(validation_fraction=0.0).fit(tiny_regions)
    assert all(h["valid_loss"] is None for h in ae.history_)
    with pytest.warns(UserWarning, match="validation_fraction=0.999"):
        ae = _ae(validation_fraction=0.999).fit(tiny_regions)
    assert all(h["valid_loss"] is None for h in ae.history_)


def test_patches_per_epoch_bounds_training_crops(tiny_regions):
    seen = []

    class Count(Callback):
        def on_batch_end(self, est, batch_size, **kw):
            seen.append(batch_size)

    ae = _ae(
        patches_per_epoch=5, batch_size=2, validation_fraction=0.0, callbacks=[Count()]
    )
    ae.fit(tiny_regions)
    assert seen == [2, 2, 1] * ae.max_iter


def test_warm_start_and_callbacks(tiny_regions):
    calls = []

    class Recorder(Callback):
        def on_train_begin(self, est, **kw):
            calls.append("begin")

        def on_epoch_end(self, est, record, **kw):
            calls.append(record["epoch"])

        def on_train_end(self, est, **kw):
            calls.append("end")

    ae = _ae(warm_start=True, callbacks=[Recorder()]).fit(tiny_regions)
    first = ae.filters()
    ae.fit(tiny_regions)
    assert [h["epoch"] for h in ae.history_] == [1, 2, 3, 4]
    assert calls == ["begin", 1, 2, "end", "begin", 3, 4, "end"]
    assert not np.array_equal(first, ae.filters())
    cold = _ae().fit(tiny_regions)
    cold.fit(tiny_regions)
    assert len(cold.history_) == 2
    rgb = [Regions(np.dstack([r.image] * 3), r.segments) for r in tiny_regions]
    with pytest.raises(ValueError, match="warm_start=True"):
        ae.fit(rgb)


def test_verbose_progress_bar(tiny_regions, capsys):
    _ae(verbose=1, max_iter=1).fit(tiny_regions)
    err = capsys.readouterr().err
    assert "autoencoder" in err and "train_loss=" in err


@pytest.mark.parametrize(
    "params, match",
    [
        ({"kernel_size": 6}, "kernel_size must be odd"),
        ({"scales": ()}, "scales"),
        ({"scales": (1, 0)}, "scales"),
        ({"scales": (1, 2.5)}, "scales"),
        ({"scales": (2, 2)}, "repeated"),
        ({"pooling": ("median",)}, "pooling"),
        ({"pooling": ()}, "pooling"),
        ({"rectify": "relu"}, "rectify"),
        ({"patches_per_epoch": 0}, "patches_per_epoch"),
        ({"latent_dim": 0}, "latent_dim"),
        ({"callbacks": ["bar"]}, "Callback"),
        ({"n_jobs": 0}, "n_jobs"),
    ],
)
def test_invalid_parameters(tiny_regions, params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _ae(**params).fit(tiny_regions)


def test_transform_before_fit(tiny_regions):
    with pytest.raises(NotFittedError):
        _ae().transform(tiny_regions)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_raises_at_fit(tiny_regions):
    ae = _ae(device="cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        ae.fit(tiny_regions)


def test_same_seed_same_features(tiny_regions, fitted):
    again = _ae().fit(tiny_regions)
    a = fitted.transform(tiny_regions)
    b = again.transform(tiny_regions)
    for ra, rb in zip(a, b):
        np.testing.assert_array_equal(ra.features, rb.features)
    other = _ae(random_state=1).fit(tiny_regions)
    assert not np.array_equal(other.transform(tiny_regions)[0].features, a[0].features)
    parallel = _ae(n_jobs=2).fit(tiny_regions)
    for ra, rb in zip(a, parallel.transform(tiny_regions)):
        np.testing.assert_array_equal(ra.features, rb.features)


_FRESH = """
import sys, numpy as np, torch
torch.set_num_threads(1)
sys.path.insert(0, {root!r})
from tests.conftest import _tiny_dataset
from semiseg_sk import AutoencoderFeatures, RegionStats, Superpixels
images, _, _ = _tiny_dataset()
regions = RegionStats().fit_transform(Superpixels(n_segments=30).fit_transform(images))
ae = AutoencoderFeatures(**{fast!r}).fit(regions)
np.save(sys.argv[1], np.vstack([r.features for r in ae.transform(regions)]))
"""


@pytest.mark.slow
def test_same_seed_same_features_in_fresh_process(tiny_regions, fitted, tmp_path):
    import pathlib

    root = str(pathlib.Path(__file__).resolve().parents[2])
    script = textwrap.dedent(_FRESH.format(root=root, fast=FAST))
    out = tmp_path / "codes.npy"
    subprocess.run([sys.executable, "-c", script, str(out)], check=True, cwd=root)
    here = np.vstack([r.features for r in fitted.transform(tiny_regions)])
    np.testing.assert_array_equal(np.load(out), here)


def test_pickle_and_joblib_roundtrip(tiny_regions, fitted):
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
    np.testing.assert_array_equal(loaded.filters(), fitted.filters())
    assert loaded.history_ == fitted.history_
    # Pickling leaves the original intact.
    assert isinstance(fitted.module_, torch.nn.Module)
    assert not isinstance(fitted.device_, str)
    np.testing.assert_array_equal(fitted.transform(tiny_regions)[0].features, expected)


def test_pipeline_pickle_clone_and_set_params(tiny_data):
    from semiseg_sk import make_segmenter

    images, labels, _ = tiny_data
    seg = make_segmenter(n_segments=30, random_state=0, refine=False)
    seg.set_params(
        autoencoderfeatures__max_iter=1,
        autoencoderfeatures__n_filters=4,
        autoencoderfeatures__rectify="split",
    )
    assert seg.named_steps["autoencoderfeatures"].rectify == "split"
    seg.fit(images, labels)
    expected = seg.predict(images[:1])[0]
    loaded = pickle.loads(pickle.dumps(seg))
    np.testing.assert_array_equal(loaded.predict(images[:1])[0], expected)
    fresh = clone(seg)
    assert not hasattr(fresh.named_steps["autoencoderfeatures"], "module_")
    assert fresh.get_params()["autoencoderfeatures__rectify"] == "split"
    assert clone(_ae()).get_params() == _ae().get_params()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_pickle_loads_on_cpu_with_warning(tiny_regions, fitted):
    state = fitted.__getstate__()
    state["device_"] = "cuda"
    crafted = AutoencoderFeatures.__new__(AutoencoderFeatures)
    with pytest.warns(DeviceWarning, match="CUDA is not available"):
        crafted.__setstate__(dict(state))
    assert str(crafted.device_) == "cpu"
    np.testing.assert_array_equal(
        crafted.transform(tiny_regions)[0].features,
        fitted.transform(tiny_regions)[0].features,
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fit_matches_cpu_closely(tiny_regions):
    cpu = _ae(max_iter=0).fit(tiny_regions)
    gpu = _ae(max_iter=0, device="cuda").fit(tiny_regions)
    a = cpu.transform(tiny_regions)[0].features
    b = gpu.transform(tiny_regions)[0].features
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)
    _ae(max_iter=2, device="cuda").fit(tiny_regions)


def test_diverging_training_raises(tiny_regions):
    ae = _ae(max_iter=3, learning_rate=1e30)
    with pytest.raises(ValueError, match="diverged"):
        ae.fit(tiny_regions)


def test_volumes_learn_from_slices_and_pool_over_supervoxels():
    from semiseg_sk.datasets import make_blob_volumes

    data = make_blob_volumes(1, shape=(5, 16, 16), random_state=0)
    regions = Superpixels(spacing=data.spacing, n_segments=8).fit_transform(data.images)
    ae = _ae(max_iter=1, patches_per_epoch=32)
    out = ae.fit_transform(regions)[0]
    assert out.spacing == regions[0].spacing
    assert out.features.shape == (regions[0].n_regions, N_OUT)
    volume, segments = regions[0].image, regions[0].segments
    maps = np.stack([ae.pixel_features(image) for image in volume])
    mean = np.array([maps[segments == k].mean(axis=0) for k in range(out.n_regions)])
    np.testing.assert_allclose(out.features[:, :N_MAPS], mean, atol=1e-5)
