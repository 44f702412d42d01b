"""Tests of the region patch sampler used by AutoencoderFeatures."""

import numpy as np
import pytest

from semiseg_sk import Regions
from semiseg_sk.features._patches import region_patches


def _two_halves(channels=None):
    image = np.zeros((20, 40))
    image[:, 20:] = 1.0
    if channels:
        image = np.repeat(image[..., None], channels, axis=-1)
    segments = np.zeros((20, 40), dtype=int)
    segments[:, 20:] = 1
    return Regions(image, segments)


@pytest.mark.parametrize("channels", [None, 3])
def test_region_patches_shapes_and_values(channels):
    regions = _two_halves(channels)
    patches, inside = region_patches(regions, 8, context=1.0)
    n_ch = channels or 1
    assert patches.shape == (2, n_ch, 8, 8)
    assert patches.dtype == np.float32
    assert inside.shape == (2, 8, 8)
    assert inside.dtype == bool
    # context=1 covers the region's bounding box: all inside, constant value.
    assert inside.all()
    np.testing.assert_allclose(patches[0], 0.0, atol=1e-6)
    np.testing.assert_allclose(patches[1], 1.0, atol=1e-6)


def test_region_patches_context_sees_the_neighbour():
    regions = _two_halves()
    patches, inside = region_patches(regions, 16, context=3.0)
    assert not inside[0].all() and inside[0].any()
    assert patches[0].max() > 0.5  # the bright half is within view


def test_region_patches_fixed_side_is_native_resolution():
    image = np.arange(40 * 40, dtype=float).reshape(40, 40)
    segments = np.zeros((40, 40), dtype=int)
    segments[10:20, 10:20] = 1
    segments = Regions.from_label_image(image, segments).segments
    patches, _ = region_patches(Regions(image, segments), 8, side=8)
    # One patch pixel per image pixel: neighbouring columns differ by 1.
    np.testing.assert_allclose(np.diff(patches[1, 0], axis=1), 1.0, atol=1e-4)


def test_region_patches_jitter():
    regions = _two_halves()
    with pytest.raises(ValueError, match="rng"):
        region_patches(regions, 8, jitter=0.2)
    a, _ = region_patches(
        regions, 8, context=3.0, jitter=0.3, rng=np.random.RandomState(0)
    )
    b, _ = region_patches(
        regions, 8, context=3.0, jitter=0.3, rng=np.random.RandomState(0)
    )
    c, _ = region_patches(regions, 8, context=3.0)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_region_patches_without_inside_gives_the_same_patches():
    regions = _two_halves()
    patches, inside = region_patches(regions, 8, context=2.0)
    again, none = region_patches(regions, 8, context=2.0, return_inside=False)
    assert none is None and inside is not None
    np.testing.assert_array_equal(again, patches)
