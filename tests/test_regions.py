import numpy as np
import pytest

from semiseg_sk import Regions


def _two_regions():
    image = np.arange(24, dtype=float).reshape(4, 6)
    segments = np.repeat([[0, 0, 0, 1, 1, 1]], 4, axis=0)
    return Regions(image, segments)


def test_basic_properties():
    r = _two_regions()
    assert r.n_regions == 2
    assert r.shape == (4, 6)
    assert r.features is None and r.feature_names is None
    np.testing.assert_array_equal(r.sizes(), [12, 12])
    assert "n_regions=2" in repr(r)


def test_with_features_appends_and_shares_arrays():
    r = _two_regions()
    r1 = r.with_features(np.ones((2, 1)), ["a"])
    r2 = r1.with_features(np.zeros((2, 2)), ["b", "c"])
    assert r2.feature_names == ("a", "b", "c")
    assert r2.features.shape == (2, 3)
    assert r.features is None  # the original is untouched
    assert r2.image is r.image and r2._packed is r._packed


def test_mean_std_and_quantiles_match_numpy():
    rng = np.random.RandomState(0)
    image = rng.rand(10, 12)
    segments = (np.arange(120).reshape(10, 12) % 3).astype(int)
    r = Regions(image, segments)
    mean, std = r.mean_std(image)
    q = r.quantiles(image, [0.0, 0.5, 1.0])
    for k in range(3):
        values = image[segments == k]
        assert mean[k, 0] == pytest.approx(values.mean())
        assert std[k, 0] == pytest.approx(values.std())
        assert q[k, 0] == values.min() and q[k, 2] == values.max()


def test_centroids():
    r = _two_regions()
    np.testing.assert_allclose(r.centroids(), [[1.5, 1.0], [1.5, 4.0]])


def test_label_counts_ignores_unlabeled():
    r = _two_regions()
    labels = np.full((4, 6), -1)
    labels[0, 0] = 1
    labels[1, 1] = 1
    labels[0, 5] = 0
    counts = r.label_counts(labels, 2)
    np.testing.assert_array_equal(counts, [[0, 2], [1, 0]])


def test_adjacency_counts_shared_border():
    segments = np.array([[0, 0, 1], [0, 0, 1], [2, 2, 2]])
    r = Regions(np.zeros((3, 3)), segments)
    adj = r.adjacency().toarray()
    np.testing.assert_array_equal(adj, adj.T)
    assert adj[0, 1] == 2  # two horizontal pixel pairs
    assert adj[0, 2] == 2  # two vertical pixel pairs
    assert adj[1, 2] == 1
    assert np.all(np.diag(adj) == 0)


def test_paint():
    r = _two_regions()
    painted = r.paint(np.array([7, 9]))
    assert painted.shape == (4, 6)
    assert painted[0, 0] == 7 and painted[0, 5] == 9
    assert r.paint(np.eye(2)).shape == (4, 6, 2)
    with pytest.raises(ValueError, match="one per region"):
        r.paint(np.zeros(3))


def test_from_label_image_renumbers():
    labels = np.array([[5, 5, 9], [2, 2, 9]])
    r = Regions.from_label_image(np.zeros((2, 3)), labels)
    assert r.n_regions == 3
    assert sorted(np.unique(r.segments)) == [0, 1, 2]


@pytest.mark.parametrize(
    "segments, match",
    [
        (np.zeros((3, 3), dtype=int), "shape"),
        (np.array([[0, 2], [2, 0]]), "every index used"),
        (np.array([[0, -1], [0, 0]]), "every index used"),
        (np.zeros((2, 2)), "integer"),
    ],
)
def test_invalid_segments(segments, match):
    error = TypeError if match == "integer" else ValueError
    with pytest.raises(error, match=match):
        Regions(np.zeros((2, 2)), segments)


def test_invalid_features():
    segments = np.array([[0, 1], [0, 1]])
    with pytest.raises(ValueError, match="one row per region"):
        Regions(np.zeros((2, 2)), segments, features=np.zeros((3, 1)))
    with pytest.raises(ValueError, match="feature_names"):
        Regions(np.zeros((2, 2)), segments, np.zeros((2, 2)), ["only-one"])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: Regions(np.zeros((2, 2)), [[0, 1], [0]]), "segments must be an"),
        (
            lambda: Regions(np.zeros((2, 2)), np.eye(2, dtype=int), [[0.0], []]),
            "features must be an",
        ),
        (
            lambda: Regions.from_label_image(np.zeros((2, 2)), [[3], [5, 5]]),
            "label_image must be an",
        ),
        (
            lambda: Regions(np.zeros((2, 2)), np.eye(2, dtype=int)).with_features(
                [[1.0], [2.0, 3.0]], ["a"]
            ),
            "block must be an",
        ),
    ],
    ids=["segments", "features", "label_image", "with_features"],
)
def test_ragged_nested_lists_name_the_argument(call, match):
    with pytest.raises(TypeError, match=match + ".*rows differ in length"):
        call()


def test_masked_region_maps_are_refused():
    segments = np.ma.masked_array(np.eye(2, dtype=int), mask=[[1, 0], [0, 0]])
    with pytest.raises(TypeError, match="segments is a masked array with 1 masked"):
        Regions(np.zeros((2, 2)), segments)
    with pytest.raises(TypeError, match="label_image is a masked array"):
        Regions.from_label_image(np.zeros((2, 2)), segments)
    # Nothing masked: the data is used.
    r = Regions(np.zeros((2, 2)), np.ma.masked_array(np.eye(2, dtype=int)))
    assert type(r.segments) is np.ndarray and r.n_regions == 2


# -- volumes ----------------------------------------------------------------


def _volume_regions():
    image = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)
    segments = np.zeros((2, 3, 4), dtype=int)
    segments[1] = 1
    return Regions(image, segments, spacing=(3, 1, 1))


def test_volume_regions_keep_their_spacing():
    import pickle

    r = _volume_regions()
    assert r.spacing == (3.0, 1.0, 1.0) and r.ndim == 3
    assert r.relative_spacing == (3.0, 1.0, 1.0)
    assert r.shape == (2, 3, 4) and r.n_pixels == 24
    assert "spacing=(3.0, 1.0, 1.0)" in repr(r)
    r2 = r.with_features(np.ones((2, 1)), ["a"])
    assert r2.spacing == r.spacing
    assert r2._with_features_replaced(np.zeros((2, 2)), ["b", "c"]).spacing == r.spacing
    loaded = pickle.loads(pickle.dumps(r2))
    assert loaded.spacing == r.spacing
    np.testing.assert_array_equal(loaded.segments, r.segments)
    assert Regions(np.zeros((4, 6)), np.zeros((4, 6), int)).spacing is None


def test_volume_reductions():
    r = _volume_regions()
    np.testing.assert_allclose(r.centroids(), [[0, 1, 1.5], [1, 1, 1.5]])
    mean, std = r.mean_std(r.image)
    np.testing.assert_allclose(mean[:, 0], [5.5, 17.5])
    np.testing.assert_allclose(std[:, 0], np.std(np.arange(12)))
    adj = r.adjacency().toarray()
    assert adj[0, 1] == adj[1, 0] == 12  # the 3 x 4 face between the slices
    assert r.paint(np.eye(2)).shape == (2, 3, 4, 2)
    labels = np.full((2, 3, 4), -1)
    labels[1, 0, 0] = 1
    np.testing.assert_array_equal(r.label_counts(labels, 2), [[0, 0], [0, 1]])
    v = Regions.from_label_image(r.image, 5 * r.segments + 3, spacing=(1, 1, 1))
    assert v.n_regions == 2 and v.spacing == (1.0, 1.0, 1.0)


@pytest.mark.parametrize(
    "spacing, match",
    [
        ((1, 1), "three positive numbers"),
        ((1, 0, 1), "three positive numbers"),
        ((1, -2, 1), "three positive numbers"),
        ("abc", "three positive numbers"),
    ],
)
def test_volume_regions_reject_bad_spacing(spacing, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Regions(np.zeros((2, 3, 4)), np.zeros((2, 3, 4), int), spacing=spacing)


def test_volume_regions_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="one region index per voxel"):
        Regions(np.zeros((2, 3, 4)), np.zeros((3, 4), int), spacing=(1, 1, 1))
    with pytest.raises(ValueError, match=r"expected a volume, \(Z, Y, X\)"):
        Regions(np.zeros((3, 4)), np.zeros((3, 4), int), spacing=(1, 1, 1))


def test_check_regions_refuses_images_mixed_with_volumes():
    from semiseg_sk._regions import check_regions

    image = Regions(np.zeros((3, 4)), np.zeros((3, 4), int))
    with pytest.raises(ValueError, match=r"X\[1\] is a volume"):
        check_regions([image, _volume_regions()])
