"""The channels= and channel_names= parameters of the image-level steps."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from semiseg_sk import (
    PixelRefiner,
    RegionStats,
    Superpixels,
    make_segmenter,
)
from semiseg_sk.model_selection import SemiSupervisedKFold
from semiseg_sk.utils._channels import (
    resolve_channels,
    select_channels,
    selected_regions,
)

RGB = np.zeros((8, 8, 3))
NAMES = ["dapi", "gfp", "rfp"]


def _images(n=2, size=32, seed=0):
    """Three-channel images whose halves differ in channel 2 only."""
    rng = np.random.RandomState(seed)
    images, labels = [], []
    for _ in range(n):
        image = rng.rand(size, size, 3) * 0.1
        image[:, size // 2 :, 2] += 0.8
        label = np.full((size, size), -1)
        label[4:8, 4:8] = 0
        label[4:8, -8:-4] = 1
        images.append(image)
        labels.append(label)
    return images, labels


@pytest.mark.parametrize(
    "channels, names, expected",
    [
        (None, None, ((0, 1, 2), None)),
        ([2, 0], None, ((2, 0), None)),
        ((np.int64(1),), None, ((1,), None)),
        (["rfp", 0], NAMES, ((2, 0), ("rfp", "dapi"))),
        (None, NAMES, ((0, 1, 2), tuple(NAMES))),
    ],
)
def test_resolve_channels(channels, names, expected):
    assert resolve_channels(channels, names, RGB) == expected


@pytest.mark.parametrize(
    "channels, names, image, error, match",
    [
        ([3], None, RGB, ValueError, r"selects channel 3 but X\[0\] has 3"),
        ([-1], None, RGB, ValueError, "expected indices from 0 to 2"),
        ([0, 0], None, RGB, ValueError, "more than once"),
        ([0, "dapi"], NAMES, RGB, ValueError, "more than once"),
        ([], None, RGB, ValueError, "channels is empty"),
        (["gfp"], None, RGB, ValueError, "channel_names is None"),
        (["cy5"], NAMES, RGB, ValueError, "not among channel_names"),
        ([0], None, np.zeros((8, 8)), ValueError, "grey image"),
        (None, ["a", "b"], RGB, ValueError, "2 name"),
        (None, ["a", "a", "b"], RGB, ValueError, "repeats"),
        (None, ["a", 1, "b"], RGB, TypeError, "one str per channel"),
        ([0.5], None, RGB, TypeError, "expected channel indices"),
        ([True], None, RGB, TypeError, "expected channel indices"),
        (2, None, RGB, TypeError, "expected None or a sequence"),
        ("dapi", NAMES, RGB, TypeError, "expected None or a sequence"),
    ],
)
def test_resolve_channels_errors(channels, names, image, error, match):
    with pytest.raises(error, match=match):
        resolve_channels(channels, names, image, estimator="RegionStats")
    with pytest.raises(error, match="^RegionStats: "):
        resolve_channels(channels, names, image, estimator="RegionStats")


def test_select_channels():
    image = np.arange(2 * 2 * 3).reshape(2, 2, 3)
    assert select_channels(image, (0, 1, 2)) is image
    assert select_channels(image, None) is image
    grey = select_channels(image, (1,))
    assert grey.shape == (2, 2) and np.shares_memory(grey, image)
    np.testing.assert_array_equal(select_channels(image, (2, 0)), image[..., [2, 0]])
    assert select_channels(np.zeros((2, 2)), (0,)).shape == (2, 2)


def test_selected_regions_share_maps_and_keep_the_input():
    images, _ = _images(1)
    regions = Superpixels(n_segments=4).fit_transform(images)
    assert selected_regions(regions, (0, 1, 2)) is not None
    assert selected_regions(regions, (0, 1, 2))[0] is regions[0]
    view = selected_regions(regions, (2,))[0]
    assert view.image.shape == (32, 32) and regions[0].image.shape == (32, 32, 3)
    np.testing.assert_array_equal(view.segments, regions[0].segments)


def test_steps_compute_from_the_selected_channels():
    images, _ = _images(2)
    regions = Superpixels(n_segments=4).fit_transform(images)
    one = RegionStats(filters=False, channels=[2]).fit_transform(regions)
    grey = [r.image[..., 2] for r in regions]
    from semiseg_sk import Regions

    ref = RegionStats(filters=False).fit_transform(
        [Regions(g, r.segments) for g, r in zip(grey, regions)]
    )
    np.testing.assert_allclose(one[0].features, ref[0].features)
    # The images passed on keep every channel.
    assert one[0].image.shape == (32, 32, 3)
    step = RegionStats(filters=False, channels=["rfp"], channel_names=NAMES)
    names = list(step.fit(regions).get_feature_names_out())
    assert names[:2] == ["rfp_mean", "rfp_std"]
    assert step.channels_ == (2,) and step.channel_names_ == ("rfp",)


def test_superpixels_segment_the_selected_channels():
    images, _ = _images(1)
    step = Superpixels(n_segments=6, channels=[2])
    seg = step.fit_transform(images)[0]
    assert step.channels_ == (2,)
    assert seg.image is images[0]
    ref = Superpixels(n_segments=6).fit_transform([images[0][..., 2]])[0]
    np.testing.assert_array_equal(seg.segments, ref.segments)
    assert step.pixel_scale_["high"].shape == (1,)


def test_transform_checks_the_channels_seen_at_fit():
    images, _ = _images(1)
    step = Superpixels(n_segments=4, channels=[0, 2]).fit(images)
    with pytest.raises(ValueError, match=r"X\[0\] has 2 channel\(s\) but Superp"):
        step.transform([images[0][..., :2]])
    regions = step.transform(images)
    stats = RegionStats(filters=False, channels=[0, 2]).fit(regions)
    short = Superpixels(n_segments=4).fit_transform([images[0][..., :2]])
    with pytest.raises(ValueError, match=r"X\[0\] has 2 channel\(s\) but RegionS"):
        stats.transform(short)


def test_fit_errors_name_the_step_and_the_image():
    images, _ = _images(2)
    with pytest.raises(ValueError, match=r"Superpixels: channels=\[4\].*X\[0\]"):
        Superpixels(channels=[4]).fit(images)
    mixed = [images[0], images[1][..., :2]]
    with pytest.raises(ValueError, match=r"X\[1\] has 2 channel"):
        Superpixels(channels=[0]).fit(mixed)
    grey = [image[..., 0] for image in images]
    regions = Superpixels(n_segments=4).fit_transform(grey)
    with pytest.raises(ValueError, match="RegionStats: .*grey image"):
        RegionStats(channels=[0]).fit(regions)


def test_pixel_refiner_channels():
    images, labels = _images(2)
    regions = Superpixels(n_segments=4).fit_transform(images)
    proba = [np.full((r.n_regions, 2), 0.5) for r in regions]
    refiner = PixelRefiner(channels=[2], random_state=0, snap_width=0)
    refiner.fit(regions, labels, region_proba=proba)
    assert refiner.channels_ == (2,) and refiner.n_channels_ == 3
    out = refiner.predict_proba(regions, region_proba=proba)
    assert out[0].shape == (32, 32, 2)
    assert (out[0][:, 20:, 1] > 0.5).mean() > 0.9
    short = Superpixels(n_segments=4).fit_transform([images[0][..., :2]])
    with pytest.raises(ValueError, match="PixelRefiner was fitted on images with 3"):
        refiner.predict_proba(short, region_proba=proba[:1])


def test_make_segmenter_sets_channels_on_every_step():
    seg = make_segmenter(channels=["rfp"], channel_names=NAMES, autoencoder=False)
    params = seg.get_params()
    for key in (
        "superpixels__channels",
        "regionstats__channels",
        "regionclassifier__refiner__channels",
    ):
        assert params[key] == ["rfp"]
    assert params["regionclassifier__refiner__channel_names"] == NAMES


def test_pipeline_on_selected_channels_clone_pickle_and_grid():
    images, labels = _images(3, seed=1)
    seg = make_segmenter(
        n_segments=8, autoencoder=False, channels=[2], random_state=0
    ).set_params(regionclassifier__refiner__snap_width=0)
    seg.fit(images, labels)
    assert seg.score(images, labels) == 1.0
    masks = seg.predict(images)
    # Channels 0 and 1 are ignored: changing them changes no mask.
    noisy = [image.copy() for image in images]
    for image in noisy:
        image[..., :2] = np.random.RandomState(5).rand(32, 32, 2)
    for a, b in zip(seg.predict(noisy), masks):
        np.testing.assert_array_equal(a, b)
    again = pickle.loads(pickle.dumps(seg))
    np.testing.assert_array_equal(again.predict(images)[0], masks[0])
    assert clone(seg).get_params()["superpixels__channels"] == [2]
    grid = GridSearchCV(
        clone(seg),
        {"regionstats__channels": [[0], [2]]},
        cv=SemiSupervisedKFold(3),
    ).fit(images, labels)
    assert [p["regionstats__channels"] for p in grid.cv_results_["params"]] == [
        [0],
        [2],
    ]
    assert grid.best_estimator_[1].channels_ in ((0,), (2,))


LEARNED = {
    "AutoencoderFeatures": dict(
        n_filters=4, max_iter=1, patches_per_epoch=32, batch_size=32, random_state=0
    ),
    "GANFeatures": dict(
        n_filters=4,
        crop_size=16,
        latent_dim=8,
        max_iter=1,
        crops_per_epoch=16,
        batch_size=16,
        random_state=0,
    ),
    "PretrainedFeatures": dict(stages=(0,)),
}


@pytest.mark.parametrize("name", sorted(LEARNED))
def test_learned_steps_on_selected_channels(name):
    pytest.importorskip("torch")
    import semiseg_sk.features as features

    images, _ = _images(1)
    regions = Superpixels(n_segments=4).fit_transform(images)
    cls = getattr(features, name)
    step = cls(channels=[2], **LEARNED[name]).fit(regions)
    assert step.channels_ == (2,) and step.n_channels_ == 3
    out = step.transform(regions)
    assert out[0].image.shape == (32, 32, 3)
    grey = Superpixels(n_segments=4).fit_transform([images[0][..., 2]])
    ref = cls(**LEARNED[name]).fit(grey)
    np.testing.assert_allclose(
        step.pixel_features(images[0]), ref.pixel_features(images[0][..., 2])
    )
    np.testing.assert_allclose(out[0].features, ref.transform(grey)[0].features)
    with pytest.raises(ValueError, match="2 channel"):
        step.pixel_features(images[0][..., :2])


def test_channels_of_volumes():
    from semiseg_sk.datasets import make_blob_volumes

    data = make_blob_volumes(1, shape=(5, 16, 16), random_state=0)
    grey = data.images[0]
    noise = np.random.RandomState(1).rand(*grey.shape)
    volume = np.stack([noise, grey], axis=-1)
    assert resolve_channels([1], None, volume, ndim=3) == ((1,), None)
    with pytest.raises(ValueError, match="grey image"):
        resolve_channels([0], None, grey, ndim=3)
    np.testing.assert_array_equal(select_channels(volume, (1,), ndim=3), grey)
    labels = np.where(data.truths[0] >= 0, -1, 0)
    labels[2] = data.truths[0][2]
    seg = make_segmenter(
        spacing=data.spacing, n_segments=8, channels=[1], random_state=0
    ).set_params(regionclassifier__refiner__snap_width=0)
    masks = seg.fit_predict([volume], [labels])
    ref = make_segmenter(spacing=data.spacing, n_segments=8, random_state=0)
    ref.set_params(regionclassifier__refiner__snap_width=0)
    np.testing.assert_array_equal(masks[0], ref.fit_predict([grey], [labels])[0])


def test_models_pickled_before_channels_existed_load():
    images, labels = _images(2)
    seg = make_segmenter(n_segments=4, autoencoder=False, random_state=0)
    seg.fit(images, labels)
    masks = seg.predict(images)
    steps = [seg[0], seg[1], seg[-1].refiner_, seg[-1].refiner]
    for step in steps:
        for name in ("channels", "channel_names", "channels_", "channel_names_"):
            step.__dict__.pop(name, None)
    again = pickle.loads(pickle.dumps(seg))
    assert again.get_params()["regionclassifier__refiner__channels"] is None
    for a, b in zip(again.predict(images), masks):
        np.testing.assert_array_equal(a, b)
