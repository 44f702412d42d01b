import warnings

import numpy as np
import pytest
from skimage.util import img_as_float

from semiseg_sk import Regions, Superpixels
from semiseg_sk.exceptions import PixelScaleWarning


@pytest.fixture
def rgb_image():
    rng = np.random.RandomState(0)
    image = np.zeros((40, 40, 3))
    image[:, 20:] = [0.8, 0.2, 0.1]
    return image + 0.05 * rng.rand(40, 40, 3)


@pytest.mark.parametrize("method", ["slic", "felzenszwalb", "quickshift", "watershed"])
@pytest.mark.parametrize("channels", [None, 3, 5])
def test_every_method_and_channel_count(method, channels, rgb_image):
    rng = np.random.RandomState(0)
    if channels is None:
        image = rgb_image.mean(axis=2)
    elif channels == 3:
        image = rgb_image
    else:
        image = np.concatenate([rgb_image, rng.rand(40, 40, 2)], axis=2)
    regions = Superpixels(method, n_segments=20).fit_transform([image])
    (r,) = regions
    assert isinstance(r, Regions)
    assert r.image is image
    assert r.segments.shape == (40, 40)
    assert r.n_regions >= 2
    np.testing.assert_array_equal(np.unique(r.segments), np.arange(r.n_regions))


def test_regions_mark_the_edge(rgb_image):
    (r,) = Superpixels(n_segments=16).fit_transform([rgb_image])
    # No region straddles the colour edge at column 20.
    left = set(np.unique(r.segments[:, :19]))
    right = set(np.unique(r.segments[:, 21:]))
    assert not left & right


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_dtypes(dtype):
    # Two flat halves: every dtype gives regions that respect the edge.
    image = np.zeros((30, 30))
    image[:, 15:] = {np.uint8: 200, np.uint16: 50000}.get(dtype, 0.8)
    (r,) = Superpixels(n_segments=9).fit_transform([image.astype(dtype)])
    assert r.n_regions >= 2
    assert not set(np.unique(r.segments[:, :15])) & set(np.unique(r.segments[:, 15:]))


def test_regions_pass_through():
    image = np.zeros((8, 8))
    given = Regions(image, np.repeat(np.arange(8)[None] // 4, 8, axis=0))
    other = np.random.RandomState(0).rand(8, 8)
    out = Superpixels(n_segments=4).fit_transform([given, other])
    assert out[0] is given
    assert isinstance(out[1], Regions)


def test_n_segments_roughly_respected():
    image = np.random.RandomState(0).rand(64, 64)
    (r,) = Superpixels(n_segments=64).fit_transform([image])
    assert 32 <= r.n_regions <= 128


def test_method_params_override():
    image = np.random.RandomState(0).rand(32, 32)
    sp = Superpixels("felzenszwalb", method_params={"min_size": 200})
    (r,) = sp.fit_transform([image])
    assert r.sizes().min() >= 200 or r.n_regions == 1


@pytest.mark.slow
def test_parallel_equals_sequential():
    images = [np.random.RandomState(i).rand(24, 24) for i in range(3)]
    a = Superpixels(n_segments=9, n_jobs=1).fit_transform(images)
    b = Superpixels(n_segments=9, n_jobs=2).fit_transform(images)
    for ra, rb in zip(a, b):
        np.testing.assert_array_equal(ra.segments, rb.segments)


def test_errors():
    with pytest.raises(ValueError, match="larger than the 16 pixels of X\\[0\\]"):
        Superpixels(n_segments=100).fit_transform([np.zeros((4, 4))])
    with pytest.raises(ValueError, match="method"):
        Superpixels("kmeans").fit([np.zeros((4, 4))])
    sp = Superpixels(n_segments=4).fit([np.zeros((8, 8))])
    with pytest.raises(ValueError, match="channel"):
        sp.transform([np.zeros((8, 8, 3))])


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_n_segments_refuses_booleans(value):
    # bool is an int subclass: n_segments=True used to run as 1 segment.
    match = r"'n_segments' parameter of Superpixels.*not a bool"
    with pytest.raises(ValueError, match=match):
        Superpixels(n_segments=value).fit([np.zeros((8, 8))])


def test_a_pandas_series_of_images_is_read_by_position():
    # Used to raise KeyError: 0 when the index did not start at 0.
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    images = [rng.rand(20, 20), rng.rand(16, 24)]
    step = Superpixels(n_segments=9)
    expected = step.fit_transform(images)
    got = step.fit_transform(pd.Series(images, index=[5, 2]))
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a.segments, b.segments)


def _uint8_images(n=2, seed=0):
    rng = np.random.RandomState(seed)
    return [(rng.rand(24, 24) * 255).astype(np.uint8) for _ in range(n)]


def test_fit_records_the_pixel_scale():
    images = _uint8_images()
    step = Superpixels(n_segments=8).fit(images + [images[0] / 255.0])
    scale = step.pixel_scale_
    assert scale["dtypes"] == ["float64", "uint8"]
    peak = max(int(image.max()) for image in images) / 255
    np.testing.assert_allclose(scale["high"], [peak])
    assert 0 < scale["low"][0] <= peak


@pytest.mark.parametrize(
    "convert, match",
    [
        (lambda im: im.astype(np.int32), r"X\[0\] \(int32, values as they are\).*255x"),
        (lambda im: im.astype(np.float64), r"X\[0\] \(float64.*255x the largest"),
        (
            lambda im: im.astype(np.uint16),
            r"X\[0\] \(uint16, divided by 65535\).*below",
        ),
    ],
    ids=["int32", "float-0-255", "uint16-holding-8-bit"],
)
def test_predicting_other_scaled_pixels_warns(convert, match):
    # The same pixels in another dtype are 255x larger (or smaller) to the
    # model: masks were silently wrong.
    images = _uint8_images()
    step = Superpixels(n_segments=8).fit(images)
    with pytest.warns(PixelScaleWarning, match=match + r".*uint8, divided by 255"):
        step.transform([convert(images[0])])


@pytest.mark.parametrize(
    "convert",
    [lambda im: im, img_as_float, lambda im: im.astype(np.float32) / 255],
    ids=["uint8", "img_as_float", "float-0-1"],
)
def test_same_scale_in_another_dtype_does_not_warn(convert):
    images = _uint8_images()
    step = Superpixels(n_segments=8).fit(images)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PixelScaleWarning)
        step.transform([convert(image) for image in _uint8_images(seed=1)])


def test_much_brighter_images_warn_and_name_the_channel():
    rng = np.random.RandomState(0)
    image = rng.rand(24, 24, 3)
    step = Superpixels(n_segments=8).fit([image])
    brighter = image * [1.0, 20.0, 1.0]
    with pytest.warns(PixelScaleWarning, match=r"X\[1\].*in channel 1, 20x.*more"):
        step.transform([image, brighter, brighter])


def test_a_list_mixing_scalings_warns_at_fit():
    u8 = _uint8_images()
    with pytest.warns(PixelScaleWarning, match=r"X\[1\] \(float64.*X\[0\] \(uint8"):
        Superpixels(n_segments=8).fit([u8[0], u8[1].astype(float)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", PixelScaleWarning)
        Superpixels(n_segments=8).fit([u8[0], img_as_float(u8[1])])
        # Black images have no scale to compare.
        Superpixels(n_segments=8).fit([u8[0], np.zeros((24, 24))])


def test_a_model_saved_without_pixel_scale_still_transforms():
    step = Superpixels(n_segments=8).fit(_uint8_images())
    del step.pixel_scale_
    (r,) = step.transform(_uint8_images(1))
    assert r.n_regions >= 2


# -- volumes ----------------------------------------------------------------


def _volume(shape=(12, 24, 24), channels=None, seed=0):
    rng = np.random.RandomState(seed)
    volume = np.zeros(shape)
    volume[:, :, 12:] = 1.0
    volume += 0.05 * rng.rand(*shape)
    return volume if channels is None else np.stack([volume] * channels, axis=-1)


@pytest.mark.parametrize("method", ["slic", "watershed"])
@pytest.mark.parametrize("channels", [None, 3])
def test_supervoxels(method, channels):
    volume = _volume(channels=channels)
    sp = Superpixels(method, n_segments=16, spacing=(2, 1, 1))
    regions = sp.fit_transform([volume, volume[:6]])
    assert sp.n_channels_ == (1 if channels is None else 3)
    for r, v in zip(regions, [volume, volume[:6]]):
        assert r.spacing == (2.0, 1.0, 1.0)
        assert r.segments.shape == v.shape[:3]
        seg = r.segments
        np.testing.assert_array_equal(np.unique(seg), np.arange(r.n_regions))
        # No supervoxel straddles the edge between the two halves.
        assert not set(np.unique(seg[..., :11])) & set(np.unique(seg[..., 13:]))
    # About n_segments ** 1.5 * depth / sqrt(height * width) supervoxels.
    assert 20 <= regions[0].n_regions <= 100


def test_supervoxels_follow_physical_size():
    volume = _volume(shape=(8, 32, 32))
    fine = Superpixels(n_segments=16, spacing=(1, 1, 1)).fit_transform([volume])[0]
    coarse = Superpixels(n_segments=16, spacing=(4, 1, 1)).fit_transform([volume])[0]
    # Deeper voxels: the same volume is physically 4 times deeper.
    assert coarse.n_regions > 2 * fine.n_regions


@pytest.mark.parametrize("method", ["felzenszwalb", "quickshift"])
def test_2d_only_methods_refuse_volumes(method):
    with pytest.raises(ValueError, match="splits 2-D images only"):
        Superpixels(method, spacing=(1, 1, 1)).fit([_volume()])


@pytest.mark.parametrize(
    "X, spacing, match",
    [
        (
            [np.zeros((16, 16))],
            (1, 1, 1),
            r"X\[0\] has 2 dimensions.*expected a volume",
        ),
        ([_volume(), np.zeros((2,) * 5)], (1, 1, 1), r"X\[1\] has 5 dimensions"),
        ([np.zeros((2,) * 4 + (1,))], None, r"X\[0\] has 5 dimensions"),
        ([_volume()], (1, 1), "spacing must be None for 2-D images or three"),
        ([_volume()], (1, 0, 1), "three positive numbers"),
    ],
)
def test_volume_input_errors(X, spacing, match):
    with pytest.raises(ValueError, match=match):
        Superpixels(n_segments=4, spacing=spacing).fit(X)


def test_volume_labels_checked_at_fit():
    with pytest.raises(ValueError, match=r"y\[0\] has shape \(24, 24\)"):
        Superpixels(n_segments=4, spacing=(1, 1, 1)).fit(
            [_volume()], [np.zeros((24, 24), int)]
        )


def test_volume_regions_pass_through():
    volume = _volume()
    given = Regions(volume, np.zeros(volume.shape, int), spacing=(2, 1, 1))
    out = Superpixels(spacing=(2, 1, 1)).fit_transform([given, volume])
    assert out[0] is given and out[1].spacing == (2.0, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"X\[0\] is a Regions with spacing"):
        Superpixels().fit([given])
