import numpy as np
import pytest

from semiseg_sk import Regions, RegionStats, Superpixels


def _regions(channels=None):
    rng = np.random.RandomState(0)
    shape = (32, 32) if channels is None else (32, 32, channels)
    image = rng.rand(*shape)
    return Superpixels(n_segments=16).fit_transform([image, rng.rand(*shape)])


@pytest.mark.parametrize("channels", [None, 3])
def test_shapes_and_names(channels):
    regions = _regions(channels)
    stats = RegionStats()
    out = stats.fit_transform(regions)
    names = stats.get_feature_names_out()
    for r_in, r_out in zip(regions, out):
        assert r_out.features.shape == (r_in.n_regions, len(names))
        assert r_out.feature_names == tuple(names)
        assert np.isfinite(r_out.features).all()
    assert stats.n_features_out_ == len(names)
    assert len(set(names)) == len(names)


def test_intensity_stats_are_exact():
    image = np.array([[0.0, 1.0, 5.0, 5.0], [2.0, 3.0, 5.0, 5.0]])
    segments = np.array([[0, 0, 1, 1], [0, 0, 1, 1]])
    r = Regions(image, segments)
    stats = RegionStats(filters=False, area=False, quantiles=(0.0, 1.0))
    (out,) = stats.fit_transform([r])
    names = list(stats.get_feature_names_out())
    f = dict(zip(names, out.features[0]))
    assert f["ch0_mean"] == pytest.approx(1.5)
    assert f["ch0_std"] == pytest.approx(np.std([0, 1, 2, 3]))
    assert f["ch0_q0"] == 0.0 and f["ch0_q100"] == 3.0
    assert out.features[1, names.index("ch0_std")] == 0.0


def test_colour_images_are_described_in_lab():
    # Pure red and pure grey regions of the same lightness differ in a*, the
    # red-green axis, and not in L; in RGB every channel differs.
    from skimage.color import lab2rgb

    red = lab2rgb(np.array([[[50.0, 60.0, 40.0]]]))[0, 0]
    grey = lab2rgb(np.array([[[50.0, 0.0, 0.0]]]))[0, 0]
    image = np.concatenate([np.tile(red, (4, 2, 1)), np.tile(grey, (4, 2, 1))], axis=1)
    segments = np.repeat([[0, 0, 1, 1]], 4, axis=0)
    r = Regions(image, segments)
    stats = RegionStats(filters=False, area=False, quantiles=())
    (out,) = stats.fit_transform([r])
    f = {n: out.features[:, i] for i, n in enumerate(stats.get_feature_names_out())}
    assert set(f) == {"L_mean", "a_mean", "b_mean", "L_std", "a_std", "b_std"}
    np.testing.assert_allclose(f["L_mean"], [0.5, 0.5], atol=1e-3)
    np.testing.assert_allclose(f["a_mean"], [(60 + 128) / 255, 128 / 255], atol=1e-3)
    rgb = RegionStats(filters=False, area=False, quantiles=(), convert2lab=False)
    (out,) = rgb.fit_transform([r])
    assert list(rgb.get_feature_names_out())[:3] == ["ch0_mean", "ch1_mean", "ch2_mean"]
    np.testing.assert_allclose(out.features[:, :3], [red, grey])
    # Grey images are the same either way.
    grey_regions = _regions()
    a = RegionStats().fit_transform(grey_regions)[0].features
    b = RegionStats(convert2lab=False).fit_transform(grey_regions)[0].features
    np.testing.assert_array_equal(a, b)


def test_position_and_size():
    image = np.zeros((4, 8))
    segments = np.repeat([[0] * 2 + [1] * 6], 4, axis=0)
    stats = RegionStats(intensity=False, filters=False, position=True)
    (out,) = stats.fit_transform([Regions(image, segments)])
    np.testing.assert_allclose(out.features[:, -1], [0.25, 0.75])
    np.testing.assert_allclose(out.features[0, :2], [1.5 / 4, 0.5 / 8])


def test_filter_names_follow_skimage_order():
    # The hessian features are largest at a bright dot, the intensity ones
    # equal the region mean when smoothing is tiny.
    stats = RegionStats(intensity=False, area=False, sigma_min=1, sigma_max=2)
    stats.fit(_regions())
    names = list(stats.get_feature_names_out())
    assert names[:4] == [
        "ch0_intensity_s1_mean",
        "ch0_edges_s1_mean",
        "ch0_hessian0_s1_mean",
        "ch0_hessian1_s1_mean",
    ]
    assert len(names) == 2 * 2 * 4


def test_appends_after_existing_features():
    regions = [
        r.with_features(np.ones((r.n_regions, 1)), ["prior"]) for r in _regions()
    ]
    stats = RegionStats(filters=False).fit(regions)
    out = stats.transform(regions)
    assert out[0].feature_names[0] == "prior"
    assert stats.get_feature_names_out()[0] == "prior"
    np.testing.assert_array_equal(out[0].features[:, 0], 1.0)


def test_errors():
    with pytest.raises(ValueError, match="sigma_min"):
        RegionStats(sigma_min=4, sigma_max=1).fit(_regions())
    with pytest.raises(ValueError, match="computes nothing"):
        RegionStats(intensity=False, filters=False, area=False).fit(_regions())
    with pytest.raises(TypeError, match="Superpixels"):
        RegionStats().fit([np.zeros((4, 4))])
    fitted = RegionStats().fit(_regions())
    with pytest.raises(ValueError, match="channel"):
        fitted.transform(_regions(3))


def test_convert2lab_must_be_a_bool():
    with pytest.raises(ValueError, match="convert2lab"):
        RegionStats(convert2lab="yes").fit(_regions(3))


# -- volumes ----------------------------------------------------------------


def _volume_regions(spacing=(2, 1, 1), channels=None):
    from semiseg_sk.datasets import make_blob_volumes

    data = make_blob_volumes(2, shape=(8, 16, 16), spacing=spacing, random_state=0)
    images = data.images
    if channels is not None:
        images = [np.stack([im] * channels, axis=-1) for im in images]
    return Superpixels(n_segments=9, spacing=spacing).fit_transform(images)


@pytest.mark.parametrize("channels", [None, 3])
def test_volume_statistics(channels):
    regions = _volume_regions(channels=channels)
    stats = RegionStats(position=True, num_sigma=2)
    out = stats.fit_transform(regions)
    names = list(stats.block_feature_names_)
    assert names[-4:] == [
        "centroid_z",
        "centroid_row",
        "centroid_col",
        "volume_fraction",
    ]
    assert any(n.endswith("hessian2_s8_mean") for n in names)
    for r_in, r_out in zip(regions, out):
        assert r_out.spacing == r_in.spacing
        assert r_out.features.shape == (r_in.n_regions, len(names))
        assert np.isfinite(r_out.features).all()
        np.testing.assert_allclose(r_out.features[:, -1].sum(), 1.0)
        assert r_out.features[:, -4:-1].max() < 1.0


def test_volume_filter_statistics_match_the_whole_volume():
    """Accumulated by slabs, they equal features computed on the whole volume."""
    from semiseg_sk.features._volume_features import VolumeFeatures

    (r,) = _volume_regions()[:1]
    stats = RegionStats(intensity=False, area=False, sigma_min=1, sigma_max=2)
    out = stats.fit_transform([r])[0].features
    whole = VolumeFeatures(r.image[..., None], [1.0, 2.0], r.relative_spacing)
    feats = whole.slab(0, r.shape[0]).reshape(-1, whole.n_features)
    mean, std = r.mean_std(feats)
    np.testing.assert_allclose(out, np.hstack([mean, std]), rtol=1e-6, atol=1e-9)


def test_volume_filters_follow_the_spacing():
    """A z-slab volume at spacing (2, 1, 1) smooths z over half the voxels."""
    from semiseg_sk.features._volume_features import VolumeFeatures

    image = np.zeros((16, 9, 9, 1))
    image[8] = 1.0
    iso = VolumeFeatures(image, [2.0], (1, 1, 1)).slab(0, 16)[:, 4, 4, 0]
    aniso = VolumeFeatures(image, [2.0], (2, 1, 1)).slab(0, 16)[:, 4, 4, 0]
    assert aniso[8] > iso[8]  # narrower in voxels along z: a higher peak


def test_learned_steps_refuse_volumes_with_the_remedy():
    pytest.importorskip("torch")
    from semiseg_sk.features import GANFeatures

    regions = RegionStats(filters=False).fit_transform(_volume_regions())
    with pytest.raises(ValueError, match="leave GANFeatures out of the pipeline"):
        GANFeatures(max_iter=1).fit(regions)
