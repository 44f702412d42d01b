"""TIFF stacks: read_volume, read_volume_labels, write_volume, write_volume_mask."""

import numpy as np
import pytest
import tifffile

from semiseg_sk.io import (
    is_volume_file,
    read_volume,
    read_volume_labels,
    volume_metadata,
    write_volume,
    write_volume_mask,
)

RNG = np.random.RandomState(0)
ZCYX = RNG.randint(0, 255, (5, 2, 6, 7)).astype(np.uint8)


def test_imagej_hyperstack_axes_and_spacing(tmp_path):
    path = tmp_path / "ij.tif"
    tifffile.imwrite(
        path,
        ZCYX,
        imagej=True,
        resolution=(1 / 0.5, 1 / 0.25),
        metadata={"spacing": 2.0, "unit": "um", "axes": "ZCYX"},
    )
    volume, spacing, meta = read_volume(path, return_metadata=True)
    np.testing.assert_array_equal(volume, np.moveaxis(ZCYX, 1, -1))
    assert spacing == (2.0, 0.25, 0.5)  # resolution is (x, y) pixels per unit
    assert meta == {"axes": "ZCYX", "channel_names": None}
    assert is_volume_file(path)


def test_ome_physical_sizes_units_and_channel_names(tmp_path):
    path = tmp_path / "a.ome.tif"
    metadata = {
        "axes": "ZCYX",
        "PhysicalSizeX": 0.3,
        "PhysicalSizeY": 0.3,
        "PhysicalSizeZ": 1500,
        "PhysicalSizeZUnit": "nm",
        "Channel": {"Name": ["dapi", "gfp"]},
    }
    tifffile.imwrite(path, ZCYX, metadata=metadata)
    volume, spacing = read_volume(path)
    assert volume.shape == (5, 6, 7, 2)
    np.testing.assert_allclose(spacing, (1.5, 0.3, 0.3))
    meta = volume_metadata(path)
    assert meta["channel_names"] == ["dapi", "gfp"]


def test_plain_multipage_tiff_is_a_stack_without_spacing(tmp_path):
    path = tmp_path / "plain.tif"
    tifffile.imwrite(path, ZCYX[:, 0])
    volume, spacing = read_volume(path)
    assert volume.shape == (5, 6, 7) and spacing is None
    assert not is_volume_file(path)  # no Z axis: 2-D unless --volume


@pytest.mark.parametrize(
    "data, kwargs, match",
    [
        (np.zeros((2, 3, 4, 4), np.uint8), {"axes": "TZYX"}, "time axis"),
        (np.zeros((2, 3, 4, 4), np.uint8), {"axes": "ZQYX"}, "neither Z, Y, X"),
    ],
)
def test_refused_axes(tmp_path, data, kwargs, match):
    path = tmp_path / "bad.tif"
    tifffile.imwrite(path, data, metadata=kwargs)
    with pytest.raises(ValueError, match=match):
        read_volume(path)


def test_several_series_refused(tmp_path):
    path = tmp_path / "two.tif"
    with tifffile.TiffWriter(path) as tif:
        tif.write(np.zeros((2, 4, 4), np.uint8), metadata={"axes": "ZYX"})
        tif.write(np.zeros((2, 4, 4), np.uint8), metadata={"axes": "ZYX"})
    with pytest.raises(ValueError, match="2 image series"):
        read_volume(path)


def test_not_a_tiff(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_volume(tmp_path / "none.tif")
    (tmp_path / "a.png").write_bytes(b"x")
    with pytest.raises(ValueError, match="TIFF stacks"):
        read_volume(tmp_path / "a.png")


def test_write_round_trip_atomic_and_never_overwrites(tmp_path):
    path = tmp_path / "m.tif"
    target = RNG.randint(-1, 3, (3, 5, 6))
    write_volume_mask(path, target, spacing=(2, 0.5, 0.25), overwrite=False)
    mask, spacing = read_volume(path)
    np.testing.assert_array_equal(mask, target + 1)
    assert mask.dtype == np.uint8 and spacing == (2.0, 0.5, 0.25)
    np.testing.assert_array_equal(read_volume_labels(path, shape=(3, 5, 6)), target)
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        write_volume_mask(path, target * 0, overwrite=False)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.tif"]
    write_volume(tmp_path / "v.tif", np.zeros((3, 5, 6, 2), np.float64))
    volume, spacing = read_volume(tmp_path / "v.tif")
    assert volume.shape == (3, 5, 6, 2) and volume.dtype == np.float32
    assert spacing is None


def test_volume_labels_errors(tmp_path):
    path = tmp_path / "l.tif"
    write_volume(path, np.zeros((3, 5, 6), np.uint8))
    with pytest.raises(ValueError, match=r"\(depth, height, width\)"):
        read_volume_labels(path, shape=(3, 5, 7))
    with pytest.raises(ValueError, match="spacing"):
        write_volume(tmp_path / "x.tif", np.zeros((2, 2, 2)), spacing=(1, 0, 1))
