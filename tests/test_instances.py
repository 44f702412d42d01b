"""to_instances and the instance metrics, on hand-made cases with known answers."""

import numpy as np
import pytest

from semiseg_sk.instances import to_instances
from semiseg_sk.metrics import aggregated_jaccard_index, average_precision


def _discs(centres, radius=8, shape=(24, 44)):
    rows, cols = np.indices(shape)
    out = np.zeros(shape, dtype=np.int64)
    for r, c in centres:
        out[(rows - r) ** 2 + (cols - c) ** 2 < radius**2] = 1
    return out


def test_components_per_class_numbered_in_scan_order():
    mask = np.array(
        [
            [1, 1, 2, 0],
            [0, 0, 2, 0],
            [1, 0, 0, -1],
            [1, 0, 1, 1],
        ]
    )
    instances, kinds = to_instances(mask, return_classes=True)
    # 1 and 2 touch but are different classes: two objects.
    assert instances.tolist() == [
        [1, 1, 2, 0],
        [0, 0, 2, 0],
        [3, 0, 0, 0],
        [3, 0, 4, 4],
    ]
    assert kinds.tolist() == [1, 2, 1, 1]
    only_two = to_instances(mask, classes=2)
    assert only_two.max() == 1 and (only_two > 0).sum() == 2
    # Class 0 is an object class only when asked for.
    assert to_instances(mask, classes=[0]).max() == 2


def test_connectivity_and_min_size():
    mask = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]])
    assert to_instances(mask).max() == 2
    assert to_instances(mask, connectivity=2).max() == 1
    mask[2, 0:3] = 1
    instances = to_instances(mask, min_size=2)
    assert instances.max() == 1 and (instances > 0).sum() == 4
    assert instances[0, 0] == 0


def test_watershed_splits_two_touching_discs():
    mask = _discs([(12, 12), (12, 26)])
    plain = to_instances(mask)
    assert plain.max() == 1
    split = to_instances(mask, split_touching=True)
    assert split.max() == 2
    assert ((split > 0) == (mask > 0)).all()
    # Each disc centre lies in its own object, and the cut is in the middle.
    assert split[12, 12] != split[12, 26]
    assert split[12, 17] == split[12, 12] and split[12, 21] == split[12, 26]
    truth = np.zeros_like(mask)
    truth[mask > 0] = np.where(np.indices(mask.shape)[1] < 19, 1, 2)[mask > 0]
    assert average_precision(truth, split) == 1.0
    # One merged object: IoU about 0.5 with each disc.
    assert average_precision(truth, plain, iou_threshold=0.6) == 0.0
    # A large min_distance keeps them together.
    assert to_instances(mask, split_touching=True, min_distance=20).max() == 1


def test_a_single_disc_is_not_split_and_tiny_objects_survive():
    mask = _discs([(12, 20)])
    mask[0, 0] = 1  # a one-pixel object
    split = to_instances(mask, split_touching=True)
    assert split.max() == 2 and split[0, 0] == 1


def test_inputs_not_modified_and_bool_masks():
    mask = _discs([(12, 12), (12, 26)]).astype(bool)
    before = mask.copy()
    out = to_instances(mask, split_touching=True)
    assert (mask == before).all() and out.dtype == np.int64
    assert np.shares_memory(out, mask) is False


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(mask=np.zeros((3, 3))), TypeError, "mask has dtype float64"),
        (dict(mask=np.zeros((2, 3, 3), int)), ValueError, "mask has shape"),
        (dict(mask=np.zeros((3, 3), int), classes=[-1]), ValueError, "classes"),
        (dict(mask=np.zeros((3, 3), int), classes=[]), ValueError, "classes is empty"),
        (dict(mask=np.zeros((3, 3), int), classes=[1.5]), TypeError, "classes"),
        (
            dict(mask=np.zeros((3, 3), int), min_distance=0),
            ValueError,
            "min_distance",
        ),
        (dict(mask=np.zeros((3, 3), int), min_size=-1), ValueError, "min_size"),
        (dict(mask=np.zeros((3, 3), int), connectivity=3), ValueError, "connectivity"),
    ],
)
def test_to_instances_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        to_instances(**kwargs)


def test_average_precision_by_hand():
    # Truth: three objects. Prediction: object 1 exact, object 2 half found
    # (IoU 2/4), object 3 missed, one spurious object.
    truth = np.array(
        [
            [1, 1, 0, 2, 2, 0, 3],
            [1, 1, 0, 2, 2, 0, 3],
        ]
    )
    pred = np.array(
        [
            [4, 4, 0, 9, 9, 0, 0],
            [4, 4, 0, 0, 0, 0, 0],
        ]
    )
    pred[0, 5] = 6  # spurious, touches nothing
    # IoU 0.5: pairs 1-4 (1.0) and 2-9 (0.5): TP 2, FP 1, FN 1 -> 2/4.
    assert average_precision(truth, pred) == pytest.approx(0.5)
    # IoU 0.6: only 1-4: TP 1, FP 2, FN 2 -> 1/5.
    assert average_precision(truth, pred, iou_threshold=0.6) == pytest.approx(0.2)
    both = average_precision(truth, pred, iou_threshold=[0.5, 0.6])
    assert both == pytest.approx(0.35)
    # Pooled over a list: the same image twice gives the same score.
    assert average_precision([truth, truth], [pred, pred]) == pytest.approx(0.5)
    assert average_precision(truth, truth) == 1.0
    assert average_precision(np.zeros((2, 2), int), np.zeros((2, 2), int)) == 1.0


def test_average_precision_low_threshold_is_one_to_one():
    # One truth object split in two halves: at 0.3 only one half may match.
    truth = np.array([[1, 1, 1, 1]])
    pred = np.array([[2, 2, 3, 3]])
    # Each half has IoU 0.5 with the truth: TP 1, FP 1, FN 0.
    assert average_precision(truth, pred, iou_threshold=0.3) == pytest.approx(0.5)


def test_aggregated_jaccard_by_hand():
    truth = np.array([[1, 1, 0, 2, 2, 0, 3]])
    pred = np.array([[4, 4, 0, 9, 0, 8, 0]])
    # 1-4: I 2, U 2; 2-9: I 1, U 2; 3: no overlap, +1; pred 8 unused, +1.
    assert aggregated_jaccard_index(truth, pred) == pytest.approx(3 / 6)
    assert aggregated_jaccard_index(truth, truth) == 1.0


def test_instance_metrics_bad_input_and_no_modification():
    truth = np.array([[1, 1, 0, 2]])
    pred = truth.copy()
    before = (truth.copy(), pred.copy())
    average_precision(truth, pred)
    aggregated_jaccard_index(truth, pred)
    assert (truth == before[0]).all() and (pred == before[1]).all()
    with pytest.raises(ValueError, match=r"pred_instances\[0\] has shape"):
        average_precision(truth, np.zeros((2, 2), int))
    with pytest.raises(TypeError, match=r"true_instances\[0\] has dtype"):
        average_precision(truth.astype(float), pred)
    with pytest.raises(ValueError, match="instance labels are >= 0"):
        aggregated_jaccard_index(truth, -pred)
    with pytest.raises(ValueError, match="iou_threshold"):
        average_precision(truth, pred, iou_threshold=1.5)
    with pytest.raises(ValueError, match="1 images but pred_instances has 2"):
        average_precision([truth], [pred, pred])
