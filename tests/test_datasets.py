# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
import numpy as np
import pytest
from scipy import ndimage as ndi

# The private helpers expose the crop offsets, so that the train/test split of
# the photographs is testable.
from semiseg_sk.datasets import (
    TEXTURES,
    _crop_offsets,
    _load_texture,
    _make_mosaic,
    make_scribbled_dataset,
    make_scribbles,
    make_texture_mosaics,
)

SIZE = (48, 64)


def _read_only(arrays):
    for a in arrays:
        a.flags.writeable = False
    return arrays


# ---------------------------------------------------------------- mosaics


def test_mosaics_shapes_dtypes_and_range():
    images, truths = make_texture_mosaics(3, size=SIZE, random_state=0)
    assert len(images) == len(truths) == 3
    for image, truth in zip(images, truths, strict=True):
        assert image.shape == SIZE and image.dtype == np.float64
        assert truth.shape == SIZE and truth.dtype == np.int64
        assert 0.0 <= image.min() and image.max() <= 1.0
        assert set(np.unique(truth)) <= {0, 1, 2}


def test_mosaics_int_size_is_square():
    images, truths = make_texture_mosaics(1, size=32, random_state=0)
    assert images[0].shape == truths[0].shape == (32, 32)


def test_mosaics_deterministic_and_prefix_stable():
    a_images, a_truths = make_texture_mosaics(3, size=SIZE, random_state=42)
    b_images, b_truths = make_texture_mosaics(5, size=SIZE, random_state=42)
    for i in range(3):
        np.testing.assert_array_equal(a_images[i], b_images[i])
        np.testing.assert_array_equal(a_truths[i], b_truths[i])
    c_images, _ = make_texture_mosaics(1, size=SIZE, random_state=43)
    assert not np.array_equal(a_images[0], c_images[0])


def test_mosaics_random_state_instance():
    rng = np.random.RandomState(0)
    first, _ = make_texture_mosaics(1, size=SIZE, random_state=rng)
    second, _ = make_texture_mosaics(1, size=SIZE, random_state=rng)
    assert not np.array_equal(first[0], second[0])


@pytest.mark.parametrize("n_cells", [2, 3, 6])
def test_mosaics_always_show_two_classes(n_cells):
    _, truths = make_texture_mosaics(40, size=24, n_cells=n_cells, random_state=0)
    assert all(np.unique(t).size >= 2 for t in truths)


def test_mosaics_class_index_follows_textures():
    _, truths = make_texture_mosaics(
        10, size=SIZE, textures=("moon", "grass"), random_state=0
    )
    assert set(np.unique(np.concatenate([t.ravel() for t in truths]))) == {0, 1}
    # A single texture gives single-class images, even with one cell.
    _, truths = make_texture_mosaics(2, size=SIZE, n_cells=1, textures=["gravel"])
    assert all(np.all(t == 0) for t in truths)


def test_mosaics_pixels_are_jittered_texture_crops():
    # Without the jitter, each class's pixels are exactly its photograph crop.
    rng = np.random.RandomState(0)
    image, truth, offsets = _make_mosaic(
        rng, SIZE, 6, ("brick", "grass", "gravel"), "train", jitter=False
    )
    for k, name in enumerate(("brick", "grass", "gravel")):
        row, col = offsets[k]
        crop = _load_texture(name)[row : row + SIZE[0], col : col + SIZE[1]]
        mask = truth == k
        np.testing.assert_array_equal(image[mask], crop[mask])
    # The public images are the same crops up to a gain in [0.9, 1.1] and an
    # offset in [-0.05, 0.05].
    images, truths = make_texture_mosaics(1, size=SIZE, random_state=0)
    np.testing.assert_array_equal(truths[0], truth)
    unclipped = (images[0] > 0) & (images[0] < 1)
    gain, offset = np.polyfit(image[unclipped], images[0][unclipped], 1)
    assert 0.9 <= gain <= 1.1 and -0.05 <= offset <= 0.05


@pytest.mark.parametrize("height", [16, 100, 256])
def test_train_and_test_crops_come_from_disjoint_halves(height):
    rng = np.random.RandomState(0)
    size = (height, 64)
    train = _crop_offsets(rng, 2000, size, "train")
    test = _crop_offsets(rng, 2000, size, "test")
    everywhere = _crop_offsets(rng, 2000, size, "all")
    assert train[:, 0].min() >= 0 and (train[:, 0] + height).max() <= 256
    assert test[:, 0].min() >= 256 and (test[:, 0] + height).max() <= 512
    assert (everywhere[:, 0] + height).max() <= 512
    for offsets in (train, test, everywhere):
        assert offsets[:, 1].min() >= 0 and (offsets[:, 1] + 64).max() <= 512
    if height < 256:  # the whole half is used, not one corner of it
        assert train[:, 0].max() > 256 - height - 20
        assert test[:, 0].min() < 256 + 20


@pytest.mark.parametrize("split", ["train", "test", "all"])
def test_mosaic_split_uses_offsets_of_that_split(split):
    rng = np.random.RandomState(1)
    for _ in range(20):
        _, _, offsets = _make_mosaic(rng, (64, 64), 4, ("brick", "moon"), split)
        rows = offsets[:, 0]
        if split == "train":
            assert (rows + 64 <= 256).all()
        elif split == "test":
            assert (rows >= 256).all()


def test_mosaics_split_all_allows_tall_images():
    images, _ = make_texture_mosaics(1, size=(400, 32), split="all", random_state=0)
    assert images[0].shape == (400, 32)


def test_mosaics_noise():
    clean, _ = make_texture_mosaics(1, size=SIZE, random_state=0)
    noisy, _ = make_texture_mosaics(1, size=SIZE, noise=0.1, random_state=0)
    diff = noisy[0] - clean[0]
    assert 0.05 < diff.std() < 0.12
    assert 0.0 <= noisy[0].min() and noisy[0].max() <= 1.0


def test_textures_load_offline_and_are_cached():
    for name in TEXTURES:
        photo = _load_texture(name)
        assert photo.shape == (512, 512) and photo.dtype == np.float64
        assert not photo.flags.writeable
        assert _load_texture(name) is photo


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"size": (8, 64)}, r"too small.*at least 16x16"),
        ({"size": (300, 64)}, r"too large for split='train'.*height <= 256"),
        ({"size": (64, 600), "split": "all"}, r"width <= 512"),
        ({"size": (64, 64, 3)}, r"size must be an int or a pair"),
        ({"size": "big"}, r"size must be an int or a pair"),
        ({"textures": ("brick", "wood")}, r"Unknown texture 'wood'.*'gravel'"),
        ({"textures": ()}, r"textures is empty"),
        ({"textures": ("brick", "brick")}, r"duplicates"),
        ({"n_cells": 0}, r"'n_cells' parameter"),
        ({"n_cells": 1}, r"n_cells=1 cannot show two"),
        ({"n_images": 0}, r"'n_images' parameter"),
        ({"split": "val"}, r"'split' parameter"),
        ({"noise": -1.0}, r"'noise' parameter"),
    ],
)
def test_mosaics_errors(kwargs, match):
    kwargs = {"size": SIZE, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_texture_mosaics(**kwargs)


# ---------------------------------------------------------------- scribbles


def test_scribbles_are_sparse_and_inside_their_class():
    _, truths = make_texture_mosaics(8, random_state=0)
    for i, truth in enumerate(_read_only(truths)):
        labels = make_scribbles(truth, random_state=i)
        assert labels.shape == truth.shape and labels.dtype == np.int64
        labeled = labels != -1
        assert 0 < labeled.mean() < 0.008  # well under 1% with the defaults
        np.testing.assert_array_equal(labels[labeled], truth[labeled])
        # Every class of the truth is scribbled.
        assert set(np.unique(labels[labeled])) == set(np.unique(truth))


def test_scribbles_stay_away_from_class_borders():
    _, truths = make_texture_mosaics(5, random_state=1)
    for truth in truths:
        labels = make_scribbles(truth, stroke_width=3, random_state=0)
        for c in np.unique(truth):
            depth = ndi.distance_transform_edt(truth == c)
            # Regions here are large, so the full margin applies.
            assert depth[labels == c].min() >= 2


def test_scribbles_stroke_count_and_length():
    truth = np.zeros((100, 100), dtype=np.int64)
    labels = make_scribbles(truth, n_strokes=1, stroke_length=30, random_state=0)
    n_pixels = np.count_nonzero(labels == 0)
    assert 30 <= n_pixels <= 2 * 30 + 10  # width-2 brush along ~30 pixels
    _, n_components = ndi.label(labels == 0, structure=np.ones((3, 3)))
    assert n_components == 1
    wide = make_scribbles(
        truth, n_strokes=1, stroke_length=30, stroke_width=5, random_state=0
    )
    assert np.count_nonzero(wide == 0) > 4 * 30


def test_scribbles_deterministic():
    _, truths = make_texture_mosaics(1, size=SIZE, random_state=0)
    a = make_scribbles(truths[0], random_state=3)
    b = make_scribbles(truths[0], random_state=3)
    c = make_scribbles(truths[0], random_state=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_scribbles_tiny_regions_fall_back_gracefully():
    truth = np.zeros((30, 30), dtype=np.int64)
    truth[5, 5] = 1  # a one-pixel region
    truth[10:12, 10:25] = 2  # a thin strip
    truth[20:30, 0:30] = -1  # unknown: never scribbled
    truth.flags.writeable = False
    labels = make_scribbles(truth, stroke_width=3, random_state=0)
    assert labels[5, 5] == 1
    assert np.count_nonzero(labels == 2) > 0
    assert np.all(labels[20:] == -1)
    np.testing.assert_array_equal(labels[labels != -1], truth[labels != -1])


def test_scribbles_all_unknown_truth():
    labels = make_scribbles(np.full((10, 10), -1), random_state=0)
    assert np.all(labels == -1)


def test_scribbles_skip_masked_truth_pixels():
    # A masked truth pixel is unknown (-1), not the class hidden under it.
    data = np.zeros((30, 30), dtype=int)
    truth = np.ma.masked_array(data, mask=np.ones_like(data, dtype=bool))
    truth.mask[:, :15] = False
    labels = make_scribbles(truth, stroke_length=5, random_state=0)
    assert (labels[:, 15:] == -1).all() and (labels[:, :15] == 0).any()
    assert truth.mask[:, 15:].all()  # the caller's mask is untouched


@pytest.mark.parametrize(
    "truth, kwargs, error, match",
    [
        (np.zeros((5, 5)), {}, TypeError, r"truth has dtype float64"),
        (np.zeros((5, 5, 2), dtype=int), {}, ValueError, r"truth has shape"),
        (np.full((5, 5), -2), {}, ValueError, r"truth contains -2"),
        ([np.zeros((5, 5), dtype=int)], {}, TypeError, r"one \(H, W\) label map"),
        ([[0, 1], [0]], {}, TypeError, r"truth must be one \(H, W\).*rows differ"),
        (np.zeros((5, 5), dtype=int), {"n_strokes": 0}, ValueError, "n_strokes"),
        (np.zeros((5, 5), dtype=int), {"stroke_width": 0}, ValueError, "width"),
        (np.zeros((5, 5), dtype=int), {"stroke_length": 0}, ValueError, "length"),
    ],
)
def test_scribbles_errors(truth, kwargs, error, match):
    with pytest.raises(error, match=match):
        make_scribbles(truth, **kwargs)


# ---------------------------------------------------------------- dataset


def test_scribbled_dataset_layout():
    data = make_scribbled_dataset(2, 3, 2, size=SIZE, random_state=0)
    assert len(data.images) == len(data.labels) == len(data.truths) == 5
    assert len(data.test_images) == len(data.test_truths) == 2
    assert data.target_names == ["brick", "grass", "gravel"]
    for i, (labels, truth) in enumerate(zip(data.labels, data.truths, strict=True)):
        labeled = labels != -1
        if i < 2:
            assert labeled.any()
            np.testing.assert_array_equal(labels[labeled], truth[labeled])
        else:
            assert not labeled.any()
    for image, truth in zip(data.test_images, data.test_truths, strict=True):
        assert image.shape == truth.shape == SIZE


def test_scribbled_dataset_deterministic_and_test_set_stable():
    a = make_scribbled_dataset(1, 2, 2, size=SIZE, random_state=0)
    b = make_scribbled_dataset(1, 2, 2, size=SIZE, random_state=0)
    c = make_scribbled_dataset(2, 5, 2, size=SIZE, random_state=0)
    for key in ("images", "labels", "truths", "test_images", "test_truths"):
        for x, y in zip(a[key], b[key], strict=True):
            np.testing.assert_array_equal(x, y)
    # The test images do not depend on how many training images there are.
    for x, y in zip(a.test_images, c.test_images, strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.images[0], c.images[0])


def test_scribbled_dataset_no_test_and_no_unlabeled():
    data = make_scribbled_dataset(1, 0, 0, size=SIZE, random_state=0)
    assert len(data.images) == 1 and data.test_images == [] == data.test_truths


def test_scribbled_dataset_errors():
    with pytest.raises(ValueError, match="'n_labeled' parameter"):
        make_scribbled_dataset(0)
    with pytest.raises(ValueError, match="Unknown texture"):
        make_scribbled_dataset(textures=("sand",))


def test_blob_volumes():
    from semiseg_sk.datasets import make_blob_volumes

    data = make_blob_volumes(3, shape=(6, 16, 20), spacing=(3, 1, 1), random_state=0)
    assert data.spacing == (3.0, 1.0, 1.0)
    assert [im.shape for im in data.images] == [(6, 16, 20)] * 3
    assert all(
        t.dtype == np.int64 and set(np.unique(t)) <= {0, 1, 2} for t in data.truths
    )
    again = make_blob_volumes(3, shape=(6, 16, 20), spacing=(3, 1, 1), random_state=0)
    np.testing.assert_array_equal(again.images[2], data.images[2])
    with pytest.raises(ValueError, match="three ints"):
        make_blob_volumes(shape=(6, 16))
    with pytest.raises(ValueError, match="three positive numbers"):
        make_blob_volumes(spacing=(1, 0, 1))
