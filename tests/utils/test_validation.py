"""The checks at the public boundary: lists, images, label maps."""

import numpy as np
import pytest

from semiseg_sk.utils import mask_to_target, target_to_mask
from semiseg_sk.utils.validation import (
    check_image,
    check_labels,
    check_list,
    unmask,
)

RAGGED = [[0, 1, 1], [0, 1]]


def _masked_labels():
    """uint8 labels whose masked entries hold a value that looks like a class."""
    data = np.array([[0, 1, 9], [1, 9, 0]], dtype=np.uint8)
    return np.ma.masked_array(data, mask=data == 9)


# -- lists ------------------------------------------------------------------


def test_any_sequence_is_read_positionally():
    items = [np.zeros((2, 2)), np.ones((2, 2))]
    objects = np.empty(2, dtype=object)
    objects[:] = items
    for seq in (tuple(items), objects):
        got = check_list(seq, "X")
        assert isinstance(got, list) and all(a is b for a, b in zip(got, items))


def test_pandas_series_with_any_index_is_read_positionally():
    pd = pytest.importorskip("pandas")
    items = [np.zeros((2, 2)), np.ones((2, 2))]
    series = pd.Series(items, index=[5, 6])
    got = check_list(series, "X")
    assert all(a is b for a, b in zip(got, items, strict=True))


# -- ragged nested lists -----------------------------------------------------


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: check_labels([RAGGED], [(2, 3)]), r"y\[0\] must be an \(H, W\)"),
        (lambda: check_image(RAGGED, name="X", index=3), r"X\[3\] must be an array"),
        (lambda: mask_to_target(RAGGED), r"mask must be an array of int"),
        (lambda: target_to_mask(RAGGED), r"target must be an array of int"),
    ],
    ids=["labels", "image", "mask_to_target", "target_to_mask"],
)
def test_ragged_nested_lists_name_the_argument(call, match):
    with pytest.raises(TypeError, match=match + ".*rows differ in length"):
        call()


# -- masked arrays ----------------------------------------------------------


def test_masked_label_entries_are_unlabeled():
    labels = _masked_labels()
    before = labels.copy()
    (checked,) = check_labels([labels], [(2, 3)])
    assert type(checked) is np.ndarray
    np.testing.assert_array_equal(checked, [[0, 1, -1], [1, -1, 0]])
    # The caller's array, data and mask, is untouched.
    np.testing.assert_array_equal(labels.data, before.data)
    np.testing.assert_array_equal(labels.mask, before.mask)


def test_masked_annotation_masks_are_unlabeled():
    mask = _masked_labels()
    np.testing.assert_array_equal(mask_to_target(mask), [[-1, 0, -1], [0, -1, -1]])
    np.testing.assert_array_equal(target_to_mask(mask), [[1, 2, 0], [2, 0, 1]])
    np.testing.assert_array_equal(mask.data, [[0, 1, 9], [1, 9, 0]])


def test_unmask_leaves_plain_arrays_and_unmasked_data_alone():
    plain = np.arange(4)
    assert unmask(plain, -1) is plain
    data = np.arange(4)
    got = unmask(np.ma.masked_array(data), -1)
    assert type(got) is np.ndarray and np.shares_memory(got, data)


def test_masked_images_are_refused_unless_nothing_is_masked():
    image = np.ma.masked_array(np.ones((4, 4)), mask=np.eye(4, dtype=bool))
    with pytest.raises(TypeError, match=r"X\[2\] is a masked array with 4 masked"):
        check_image(image, name="X", index=2)
    nothing_masked = np.ma.masked_array(np.ones((4, 4)))
    checked = check_image(nothing_masked, name="X", index=0)
    assert type(checked) is np.ndarray
    assert np.shares_memory(checked, nothing_masked)
