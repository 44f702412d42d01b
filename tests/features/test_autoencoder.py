"""Tests of AutoencoderFeatures (fast settings; accuracy lives in benchmarks/)."""

import io
import pickle
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

torch = pytest.importorskip("torch")

from semiseg_sk import AutoencoderFeatures, Regions  # noqa: E402
from semiseg_sk.exceptions import DeviceWarning  # noqa: E402
from semiseg_sk.features import Callback  # noqa: E402

FAST = dict(latent_dim=4, n_filters=4, patch_size=8, max_iter=2, random_state=0)


def _ae(**kwargs):
    return AutoencoderFeatures(**{**FAST, **kwargs})


@pytest.fixture(scope="module")
def fitted(tiny_regions):
    return _ae().fit(tiny_regions)


def test_fit_transform_appends_codes(tiny_regions, fitted):
    out = fitted.transform(tiny_regions)
    width = tiny_regions[0].features.shape[1]
    for before, after in zip(tiny_regions, out):
        assert after.features.shape == (before.n_regions, width + 4)
        np.testing.assert_array_equal(after.features[:, :width], before.features)
        assert np.isfinite(after.features).all()
    names = fitted.get_feature_names_out()
    assert list(names[-4:]) == [f"autoencoder{i}" for i in range(4)]
    assert list(names) == list(out[0].feature_names)
    assert fitted.n_features_out_ == 4
    assert fitted.n_features_in_ == width
    assert len(fitted.history_) == fitted.n_iter_ == 2
    assert set(fitted.history_[0]) == {"epoch", "train_loss", "valid_loss", "duration"}
    assert isinstance(fitted.module_, torch.nn.Module)


def test_y_is_ignored(tiny_data, tiny_regions, fitted):
    _, labels, _ = tiny_data
    other = _ae().fit(tiny_regions, labels)
    a = fitted.transform(tiny_regions)[0].features
    np.testing.assert_array_equal(a, other.transform(tiny_regions)[0].features)


def test_reconstruct(tiny_regions, fitted):
    patches, recon = fitted.reconstruct(tiny_regions[:2])
    assert len(patches) == len(recon) == 2
    # Default context=(1.5, 4.0): two scales stacked on the last axis.
    assert patches[0].shape == recon[0].shape == (tiny_regions[0].n_regions, 8, 8, 2)


@pytest.mark.parametrize(
    "params, n_inputs",
    [
        ({"mask_outside": True}, 2),
        ({"context": 3.0}, 1),
        ({"jitter": 0.2}, 2),
        ({"encoding": "image"}, 1),
        ({"loss": "bce", "optimizer": "sgd", "noise": 0.0}, 2),
        ({"normalize": "global", "context": (1.0, 2.0, 4.0)}, 3),
    ],
)
def test_options(tiny_regions, params, n_inputs):
    ae = _ae(**params).fit(tiny_regions)
    assert ae.n_inputs_ == n_inputs
    out = ae.transform(tiny_regions)
    assert out[0].features.shape[1] == tiny_regions[0].features.shape[1] + 4
    assert all(np.isfinite(r.features).all() for r in out)
    patches, recon = ae.reconstruct(tiny_regions[:1])
    assert patches[0].shape == recon[0].shape
    assert patches[0].shape[-1] == n_inputs
    # fit_transform cuts the patches once but gives what fit + transform give.
    again = _ae(**params).fit_transform(tiny_regions)
    for a, b in zip(again, out):
        np.testing.assert_array_equal(a.features, b.features)


def test_mask_blanks_outside_pixels(tiny_regions):
    ae = _ae(mask_outside=True, context=3.0).fit(tiny_regions)
    patches, _ = ae.reconstruct(tiny_regions[:1])
    # Outside pixels sit at the patch's in-region mean: each patch has a
    # large constant part.
    first = patches[0][0, ..., 0]
    values, counts = np.unique(np.round(first, 5), return_counts=True)
    assert counts.max() > 8


def test_multichannel_images():
    rng = np.random.RandomState(0)
    images = [rng.rand(24, 24, 3) for _ in range(2)]
    segments = np.repeat(np.arange(4), 144).reshape(24, 24)
    regions = [Regions(im, segments) for im in images]
    for mode in ("patch", "image"):
        ae = _ae(encoding=mode).fit(regions)
        assert ae.transform(regions)[0].features.shape == (4, 4)


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


def test_patches_per_epoch_bounds_training_patches(tiny_regions):
    n_regions = sum(r.n_regions for r in tiny_regions)
    ae = _ae(warm_start=True, validation_fraction=0.0).fit(tiny_regions)
    seen = []

    def count(module, inputs, output):
        if module.training:
            seen.append(len(inputs[0]))

    ae.module_["encoder"].register_forward_hook(count)
    ae.set_params(patches_per_epoch=5, batch_size=2).fit(tiny_regions)
    assert seen == [2, 2, 1] * ae.max_iter
    seen.clear()
    ae.set_params(patches_per_epoch=10 * n_regions, batch_size=n_regions)
    ae.fit(tiny_regions)
    assert seen == [n_regions] * ae.max_iter
    # Every region still gets a code.
    out = ae.transform(tiny_regions)
    assert [len(r.features) for r in out] == [r.n_regions for r in tiny_regions]


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
    ae.fit(tiny_regions)
    assert [h["epoch"] for h in ae.history_] == [1, 2, 3, 4]
    assert calls == ["begin", 1, 2, "end", "begin", 3, 4, "end"]
    cold = _ae().fit(tiny_regions)
    cold.fit(tiny_regions)
    assert len(cold.history_) == 2


def test_verbose_progress_bar(tiny_regions, capsys):
    _ae(verbose=1, max_iter=1).fit(tiny_regions)
    err = capsys.readouterr().err
    assert "autoencoder" in err and "train=" in err


def test_invalid_parameters(tiny_regions):
    with pytest.raises(ValueError, match="power of two"):
        _ae(patch_size=12).fit(tiny_regions)
    with pytest.raises(ValueError, match="context"):
        _ae(context=()).fit(tiny_regions)
    with pytest.raises(ValueError):
        _ae(encoding="pixels").fit(tiny_regions)
    with pytest.raises(ValueError, match="patches_per_epoch"):
        _ae(patches_per_epoch=0).fit(tiny_regions)
    with pytest.raises(NotFittedError):
        _ae().transform(tiny_regions)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_raises_at_fit(tiny_regions):
    ae = _ae(device="cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        ae.fit(tiny_regions)


def test_same_seed_same_codes(tiny_regions, fitted):
    again = _ae().fit(tiny_regions)
    a = fitted.transform(tiny_regions)
    b = again.transform(tiny_regions)
    for ra, rb in zip(a, b):
        np.testing.assert_array_equal(ra.features, rb.features)
    other = _ae(random_state=1).fit(tiny_regions)
    assert not np.array_equal(other.transform(tiny_regions)[0].features, a[0].features)


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
def test_same_seed_same_codes_in_fresh_process(tiny_regions, fitted, tmp_path):
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
    assert loaded.history_ == fitted.history_
    # Pickling leaves the original intact.
    assert isinstance(fitted.module_, torch.nn.Module)
    assert not isinstance(fitted.device_, str)
    np.testing.assert_array_equal(fitted.transform(tiny_regions)[0].features, expected)


def test_pipeline_pickle_clone_and_set_params(tiny_data, fast_segmenter):
    images, labels, _ = tiny_data
    seg = fast_segmenter(autoencoder=True)
    seg.set_params(
        autoencoderfeatures__latent_dim=3, autoencoderfeatures__mask_outside=True
    )
    assert seg.named_steps["autoencoderfeatures"].latent_dim == 3
    seg.fit(images, labels)
    expected = seg.predict(images[:1])[0]
    loaded = pickle.loads(pickle.dumps(seg))
    np.testing.assert_array_equal(loaded.predict(images[:1])[0], expected)
    fresh = clone(seg)
    assert not hasattr(fresh.named_steps["autoencoderfeatures"], "module_")
    assert fresh.get_params()["autoencoderfeatures__latent_dim"] == 3
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


_NO_TORCH = """
import sys


class _NoTorch:
    # As if torch were not installed. (sys.modules["torch"] = None would
    # also break scipy's array-API helpers, which look torch up there.)
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}")


sys.meta_path.insert(0, _NoTorch())
import numpy as np
import semiseg_sk
from semiseg_sk import AutoencoderFeatures, RegionStats, Superpixels, make_segmenter
images = [np.random.RandomState(0).rand(24, 24)]
regions = RegionStats().fit_transform(Superpixels(n_segments=8).fit_transform(images))
make_segmenter(autoencoder=False)
try:
    AutoencoderFeatures(max_iter=1).fit(regions)
except ImportError as exc:
    assert "semiseg_sk[torch]" in str(exc), exc
    print("IMPORT-ERROR-OK")
"""


@pytest.mark.slow
def test_missing_torch_gives_install_hint():
    result = subprocess.run(
        [sys.executable, "-c", _NO_TORCH], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "IMPORT-ERROR-OK" in result.stdout


def test_too_few_regions_for_validation_warns_and_trains():
    from semiseg_sk import AutoencoderFeatures, Regions

    image = np.random.RandomState(0).rand(16, 16)
    regions = [Regions(image, np.repeat(np.arange(2)[None], 16, axis=0).repeat(8, 1))]
    ae = AutoencoderFeatures(latent_dim=2, n_filters=4, max_iter=1, random_state=0)
    with pytest.warns(UserWarning, match="without early stopping"):
        ae.fit(regions)
    assert ae.transform(regions)[0].features.shape == (2, 2)


def test_diverging_training_raises(tiny_regions):
    from semiseg_sk import AutoencoderFeatures

    ae = AutoencoderFeatures(
        latent_dim=2, n_filters=4, max_iter=3, learning_rate=1e30, random_state=0
    )
    with pytest.raises(ValueError, match="diverged"):
        ae.fit(tiny_regions)


def test_n_jobs_zero_rejected(tiny_regions):
    from semiseg_sk import AutoencoderFeatures

    with pytest.raises(ValueError, match="n_jobs"):
        AutoencoderFeatures(n_jobs=0).fit(tiny_regions)


@pytest.mark.parametrize(
    "context", [("a",), (1.5, "a"), (True,), (np.nan,), (-1.0,), [0], "wide"]
)
def test_bad_context_names_the_parameter(tiny_regions, context):
    # context=("a",) used to fail without the parameter's name.
    with pytest.raises(ValueError, match=r"context"):
        _ae(context=context).fit(tiny_regions)
