import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline

from semiseg_sk import FeatureGate, RegionClassifier, Regions, RegionStats, Superpixels
from semiseg_sk.exceptions import SingleClassWarning
from semiseg_sk.features._gating import feature_blocks
from semiseg_sk.labeling import SparseLabelSpreading


def _grid_regions(rng, n_images=2, size=48, cell=6):
    """Images cut into square regions; left half class 0, right half class 1.

    Each image is scribbled with two vertical strokes per class, in distinct
    rows, so every class has four strokes over the two images.
    """
    X, y = [], []
    n = size // cell
    for _ in range(n_images):
        image = rng.rand(size, size)
        rows, cols = np.indices((size, size)) // cell
        segments = rows * n + cols
        lab = np.full((size, size), -1)
        for c, col in ((0, 8), (1, 40)):
            lab[2:20, col] = c
            lab[28:46, col + 3] = c
        X.append(Regions(image, segments))
        y.append(lab)
    return X, y, n


def _add_blocks(X, n, rng, good=True):
    """Uninformative 'stats', an informative 'texture' block and 'noise'."""
    out = []
    for r in X:
        side = (np.arange(r.n_regions) % n >= n // 2).astype(float)
        blocks = [
            (rng.randn(r.n_regions, 6), [f"ch0_f{i}_mean" for i in range(6)]),
            (rng.randn(r.n_regions, 20), [f"noise{i}" for i in range(20)]),
        ]
        if good:
            signal = side[:, None] * 3 + 0.3 * rng.randn(r.n_regions, 4)
            blocks.insert(1, (signal, [f"texture{i}" for i in range(4)]))
        for block, names in blocks:
            r = r.with_features(block, names)
        out.append(r)
    return out


@pytest.fixture
def gated_data():
    rng = np.random.RandomState(0)
    X, y, n = _grid_regions(rng)
    return _add_blocks(X, n, rng), y


def _stats_names(**params):
    rng = np.random.RandomState(0)
    out = []
    for channels in (None, 3):
        shape = (24, 24) if channels is None else (24, 24, channels)
        regions = Superpixels(n_segments=9).fit_transform([rng.rand(*shape)])
        stats = RegionStats(**params).fit(regions)
        out += list(stats.get_feature_names_out())
    return out


@pytest.mark.parametrize(
    "params", [{}, {"position": True}, {"convert2lab": False, "quantiles": ()}]
)
def test_region_stats_columns_form_the_stats_block(params):
    names = _stats_names(**params)
    assert list(feature_blocks(names)) == ["stats"]


def test_learned_blocks_are_named_by_their_leading_letters():
    names = [
        "ch0_mean",
        "autoencoder0",
        "autoencoder1",
        "gan_s1_l2_3_mean",
        "pretrained_stem_c0_mean",
        "area_fraction",
        "gan_s1_l2_3_std",
    ]
    blocks = {k: v.tolist() for k, v in feature_blocks(names).items()}
    assert blocks == {
        "stats": [0, 5],
        "autoencoder": [1, 2],
        "gan": [3, 6],
        "pretrained": [4],
    }


def test_explicit_blocks_use_the_longest_prefix():
    names = ["ch0_mean", "ae_a0", "ae_b0", "ae_b1"]
    blocks = feature_blocks(names, {"a": "ae_", "b": ("ae_b",)})
    assert {k: v.tolist() for k, v in blocks.items()} == {
        "stats": [0],
        "a": [1],
        "b": [2, 3],
    }
    with pytest.raises(ValueError, match=r"blocks\['gan'\] matches no feature"):
        feature_blocks(names, {"gan": "gan"})
    with pytest.raises(ValueError, match=r"non-empty prefix"):
        feature_blocks(names, {"a": ""})


def test_keeps_the_informative_block_and_drops_noise(gated_data):
    X, y = gated_data
    gate = FeatureGate(random_state=0).fit(X, y)
    assert gate.decided_
    assert gate.selected_blocks_[:2] == ["stats", "texture"]
    assert gate.block_weights_["noise"] == 0.0
    assert gate.block_weights_["texture"] > 0
    assert gate.n_strokes_ == 8
    assert gate.n_folds_ == 4
    assert gate.n_labeled_regions_ > 0
    assert "stats" in gate.cv_scores_
    assert gate.cv_scores_["stats"] < max(gate.cv_scores_.values())
    text = gate.summary()
    for block in ("stats", "texture", "noise", "dropped"):
        assert block in text


def test_transform_standardises_and_weights_the_kept_columns(gated_data):
    X, y = gated_data
    gate = FeatureGate(random_state=0).fit(X, y)
    out = gate.transform(X)
    names = list(gate.get_feature_names_out())
    assert all(o.feature_names == tuple(names) for o in out)
    kept = [n for b in gate.selected_blocks_ for n in gate.blocks_[b]]
    assert sorted(names) == sorted(kept)
    assert not any(n.startswith("noise") for n in names)
    Z = np.vstack([o.features for o in out])
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    for b in gate.selected_blocks_:
        cols = [names.index(n) for n in gate.blocks_[b]]
        expected = gate.block_weights_[b] / np.sqrt(len(cols))
        np.testing.assert_allclose(Z[:, cols].std(axis=0), expected)
    np.testing.assert_array_equal(out[0].image, X[0].image)
    np.testing.assert_array_equal(out[0].segments, X[0].segments)


def test_is_deterministic_and_leaves_the_input_alone(gated_data):
    X, y = gated_data
    before = [r.features.copy() for r in X]
    labels = [lab.copy() for lab in y]
    a = FeatureGate(random_state=3).fit(X, y)
    b = FeatureGate(random_state=3).fit(X, y)
    assert a.cv_scores_ == b.cv_scores_
    assert a.block_weights_ == b.block_weights_
    for r, f in zip(X, before):
        np.testing.assert_array_equal(r.features, f)
    for lab, kept in zip(y, labels):
        np.testing.assert_array_equal(lab, kept)


def test_keeps_the_base_when_nothing_helps():
    rng = np.random.RandomState(1)
    X, y, n = _grid_regions(rng)
    X = [
        r.with_features(
            (np.arange(r.n_regions) % n >= n // 2)[:, None] * 1.0
            + 0.1 * rng.randn(r.n_regions, 3),
            [f"ch0_f{i}_mean" for i in range(3)],
        ).with_features(rng.randn(r.n_regions, 30), [f"noise{i}" for i in range(30)])
        for r in X
    ]
    gate = FeatureGate(random_state=0).fit(X, y)
    assert gate.selected_blocks_ == ["stats"]
    assert gate.block_weights_ == {"stats": 1.0, "noise": 0.0}


def test_without_base_starts_from_the_best_block(gated_data):
    X, y = gated_data
    gate = FeatureGate(base=None, random_state=0).fit(X, y)
    assert gate.selected_blocks_[0] == "texture"


def test_any_classifier_can_cross_validate(gated_data):
    X, y = gated_data
    gate = FeatureGate(estimator=KNeighborsClassifier(3), random_state=0).fit(X, y)
    assert "texture" in gate.selected_blocks_
    assert gate.block_weights_["noise"] == 0.0
    iou = FeatureGate(scoring="iou", random_state=0).fit(X, y)
    assert "texture" in iou.selected_blocks_


def test_one_class_keeps_every_block_with_a_warning(gated_data):
    X, y = gated_data
    y = [np.where(lab == 1, -1, lab) for lab in y]
    with pytest.warns(SingleClassWarning, match="keeping every block"):
        gate = FeatureGate(random_state=0).fit(X, y)
    assert not gate.decided_
    assert set(gate.selected_blocks_) == {"stats", "texture", "noise"}
    assert set(gate.block_weights_.values()) == {1.0}
    assert "undecided" in gate.summary()
    assert gate.transform(X)[0].features.shape[1] == X[0].features.shape[1]


def test_errors(gated_data):
    X, y = gated_data
    with pytest.raises(ValueError, match="needs y"):
        FeatureGate().fit(X)
    with pytest.raises(ValueError, match="no labeled"):
        FeatureGate().fit(X, [np.full_like(lab, -1) for lab in y])
    bare = [Regions(r.image, r.segments) for r in X]
    with pytest.raises(ValueError, match=r"X\[0\] has no region features"):
        FeatureGate().fit(bare, y)
    with pytest.raises(ValueError, match="weights must be"):
        FeatureGate(weights=(1.0, -1.0)).fit(X, y)
    with pytest.raises(ValueError, match=r"blocks\['x'\] matches no"):
        FeatureGate(blocks={"x": "zzz"}).fit(X, y)
    bad = [X[0].with_features(np.full((X[0].n_regions, 1), np.nan), ["nan0"])]
    with pytest.raises(ValueError, match=r"X\[0\] has NaN"):
        FeatureGate().fit(bad, y[:1])
    gate = FeatureGate(random_state=0).fit(X, y)
    narrow = [Regions(r.image, r.segments, r.features[:, :3]) for r in X]
    with pytest.raises(ValueError, match="region features"):
        gate.transform(narrow)


def test_clone_get_params_and_pickle(gated_data):
    X, y = gated_data
    gate = FeatureGate(weights=(1.0,), margin=0.02, random_state=0)
    assert clone(gate).get_params() == gate.get_params()
    gate.fit(X, y)
    loaded = pickle.loads(pickle.dumps(gate))
    assert loaded.block_weights_ == gate.block_weights_
    np.testing.assert_array_equal(
        loaded.transform(X)[0].features, gate.transform(X)[0].features
    )
    assert not hasattr(clone(gate), "block_weights_")


def test_in_a_pipeline_before_the_region_classifier(tiny_data):
    images, labels, _ = tiny_data
    seg = Pipeline(
        [
            ("superpixels", Superpixels(n_segments=30)),
            ("regionstats", RegionStats()),
            ("featuregate", FeatureGate(random_state=0)),
            (
                "regionclassifier",
                RegionClassifier(SparseLabelSpreading(random_state=0)),
            ),
        ]
    )
    masks = seg.fit(images, labels).predict(images)
    assert [m.shape for m in masks] == [im.shape[:2] for im in images]
    assert seg.named_steps["featuregate"].selected_blocks_ == ["stats"]
