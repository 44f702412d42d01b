"""Reading and writing images, label images, masks and model files."""

import errno
import os
import re
import stat
import struct
import sys
import types
import warnings
import zlib
from pathlib import Path

import joblib
import numpy as np
import pytest
import tifffile
from PIL import Image
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import Pipeline

import semiseg_sk
from semiseg_sk import RegionClassifier, RegionStats, Superpixels
from semiseg_sk.exceptions import InconsistentVersionWarning
from semiseg_sk.io import (
    ModelFileError,
    atomic_path,
    find_images,
    find_label_file,
    load_model,
    read_image,
    read_labels,
    save_model,
    write_array,
    write_image,
    write_mask,
)


def _png(path, array, **kwargs):
    Image.fromarray(array, **kwargs).save(path)
    return path


def _leftovers(folder):
    return [name for name in os.listdir(folder) if name.startswith(".semiseg-tmp")]


# -- finding files ----------------------------------------------------------


def test_find_images_files_folders_globs(tmp_path):
    for name in ("b.png", "a.TIF", "c.jpg", "notes.txt", "a_labels.png"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.png").write_bytes(b"x")

    found = find_images(tmp_path, exclude_suffixes=("_labels",))
    assert [p.name for p in found] == ["a.TIF", "b.png", "c.jpg"]
    # Explicit files are kept whatever their name; duplicates appear once.
    found = find_images(
        [tmp_path / "a_labels.png", tmp_path, str(tmp_path / "*.png")],
        exclude_suffixes=("_labels",),
    )
    assert [p.name for p in found] == ["a_labels.png", "a.TIF", "b.png", "c.jpg"]
    found = find_images(str(tmp_path / "**" / "*.png"))
    assert {p.name for p in found} == {"a_labels.png", "b.png", "d.png"}


def test_find_images_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        find_images(tmp_path / "missing.png")
    with pytest.raises(FileNotFoundError, match="matches"):
        find_images(str(tmp_path / "*.png"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no image found"):
        find_images(tmp_path / "empty")
    with pytest.raises(ValueError, match="no image found"):
        find_images([])


def test_find_label_file(tmp_path):
    images, labels = tmp_path / "img", tmp_path / "lab"
    images.mkdir()
    labels.mkdir()
    for name in ("a.jpg", "b.png", "c.png"):
        (images / name).write_bytes(b"x")
    (labels / "a.PNG").write_bytes(b"x")
    (labels / "b_labels.tif").write_bytes(b"x")
    (labels / "bb.png").write_bytes(b"x")
    assert find_label_file(images / "a.jpg", labels).name == "a.PNG"
    assert find_label_file(images / "b.png", labels).name == "b_labels.tif"
    assert find_label_file(images / "c.png", labels) is None
    (labels / "a_labels.png").write_bytes(b"x")
    with pytest.raises(ValueError, match="several label files"):
        find_label_file(images / "a.jpg", labels)
    # Labels next to their images: the image is never its own label file.
    (images / "c_labels.png").write_bytes(b"x")
    assert find_label_file(images / "c.png", images).name == "c_labels.png"
    assert find_label_file(images / "b.png", images) is None


# -- reading ----------------------------------------------------------------


def test_read_image_png_modes(tmp_path):
    rng = np.random.RandomState(0)
    grey = rng.randint(0, 255, (6, 7), dtype=np.uint8)
    rgba = rng.randint(0, 255, (6, 7, 4), dtype=np.uint8)
    deep = (rng.randint(0, 60000, (6, 7))).astype(np.uint16)
    np.testing.assert_array_equal(read_image(_png(tmp_path / "g.png", grey)), grey)
    out = read_image(_png(tmp_path / "rgba.png", rgba))
    np.testing.assert_array_equal(out, rgba[..., :3])  # alpha dropped
    out = read_image(_png(tmp_path / "deep.png", deep))
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, deep)
    Image.fromarray(grey).save(tmp_path / "g.jpg", quality=95)
    assert read_image(tmp_path / "g.jpg").shape == (6, 7)


def test_read_image_tiff(tmp_path):
    rng = np.random.RandomState(0)
    hwc = rng.randint(0, 4000, (9, 10, 5)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "hwc.tif", hwc)
    np.testing.assert_array_equal(read_image(tmp_path / "hwc.tif"), hwc)
    chw = np.moveaxis(hwc, 2, 0)
    tifffile.imwrite(tmp_path / "chw.tiff", chw)
    np.testing.assert_array_equal(read_image(tmp_path / "chw.tiff"), hwc)
    # Written by semiseg_sk: channels last whatever their number.
    for n_channels in (3, 4, 7):
        data = rng.rand(9, 10, n_channels).astype(np.float32)
        write_image(tmp_path / f"w{n_channels}.tif", data)
        np.testing.assert_array_equal(read_image(tmp_path / f"w{n_channels}.tif"), data)
    flt = rng.rand(9, 10).astype(np.float32)
    tifffile.imwrite(tmp_path / "f.tif", flt)
    out = read_image(tmp_path / "f.tif")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, flt)
    tifffile.imwrite(
        tmp_path / "stack.tif", rng.rand(3, 9, 10, 4), photometric="minisblack"
    )
    with pytest.raises(ValueError, match="read volumes with read_volume"):
        read_image(tmp_path / "stack.tif")


def test_read_image_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_image(tmp_path / "missing.png")
    (tmp_path / "bad.png").write_text("not an image")
    with pytest.raises(ValueError, match="cannot read"):
        read_image(tmp_path / "bad.png")
    (tmp_path / "bad.tif").write_text("not an image")
    with pytest.raises(ValueError, match="cannot read"):
        read_image(tmp_path / "bad.tif")


def test_read_labels_conventions(tmp_path):
    mask = np.array([[0, 1, 2], [3, 0, 1]], dtype=np.uint8)
    target = read_labels(_png(tmp_path / "m.png", mask), shape=(2, 3, 3))
    np.testing.assert_array_equal(target, mask.astype(int) - 1)
    # Palette PNG: the indices are the labels, not the palette colours.
    pal = Image.fromarray(mask, mode="L").convert("P")
    pal.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 756)
    pal.save(tmp_path / "pal.png")
    np.testing.assert_array_equal(read_labels(tmp_path / "pal.png"), target)
    # Float TIFF with whole numbers, grey RGB: accepted.
    tifffile.imwrite(tmp_path / "f.tif", mask.astype(np.float32))
    np.testing.assert_array_equal(read_labels(tmp_path / "f.tif"), target)
    _png(tmp_path / "rgb.png", np.repeat(mask[..., None], 3, axis=2))
    np.testing.assert_array_equal(read_labels(tmp_path / "rgb.png"), target)


def test_read_labels_errors(tmp_path):
    mask = np.array([[0, 1, 2], [3, 0, 1]], dtype=np.uint8)
    _png(tmp_path / "m.png", mask)
    with pytest.raises(ValueError, match=r"shape \(2, 3\) but its image has shape"):
        read_labels(tmp_path / "m.png", shape=(3, 2))
    tifffile.imwrite(tmp_path / "f.tif", mask + np.float32(0.5))
    with pytest.raises(ValueError, match="not integers"):
        read_labels(tmp_path / "f.tif")
    tifffile.imwrite(tmp_path / "neg.tif", mask.astype(np.int16) - 1)
    with pytest.raises(ValueError, match="contains -1"):
        read_labels(tmp_path / "neg.tif")
    colour = np.zeros((2, 3, 3), dtype=np.uint8)
    colour[0, 0] = (255, 0, 0)
    _png(tmp_path / "colour.png", colour)
    with pytest.raises(ValueError, match="3 different channels"):
        read_labels(tmp_path / "colour.png")


# -- writing ----------------------------------------------------------------


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_write_mask_round_trip(tmp_path, ext):
    target = np.array([[-1, 0], [1, 2]])
    path = write_mask(tmp_path / f"m{ext}", target)
    assert read_image(path).dtype == np.uint8
    np.testing.assert_array_equal(read_image(path), target + 1)
    np.testing.assert_array_equal(read_labels(path), target)
    many = np.array([[0, 299]])
    path = write_mask(tmp_path / f"many{ext}", many)
    assert read_image(path).dtype == np.uint16
    np.testing.assert_array_equal(read_labels(path), many)
    assert _leftovers(tmp_path) == []


def test_write_image_and_array(tmp_path):
    rgb = np.random.RandomState(0).rand(4, 5, 3)
    out = read_image(write_image(tmp_path / "o.png", rgb))
    assert out.dtype == np.uint8 and out.shape == (4, 5, 3)
    np.testing.assert_array_equal(out, np.round(rgb * 255).astype(np.uint8))
    write_array(tmp_path / "p.npy", rgb)
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), rgb)
    with pytest.raises(FileExistsError):
        write_array(tmp_path / "p.npy", rgb, overwrite=False)


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("original")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            with open(tmp, "w") as handle:
                handle.write("half")
            raise KeyboardInterrupt
    assert target.read_text() == "original"
    assert _leftovers(tmp_path) == []
    with pytest.raises(FileExistsError, match="refusing"):
        with atomic_path(target, overwrite=False):
            pass
    with atomic_path(tmp_path / "new.txt") as tmp:
        with open(tmp, "w") as handle:
            handle.write("done")
    assert (tmp_path / "new.txt").read_text() == "done"
    assert _leftovers(tmp_path) == []


# -- model files ------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted():
    image = np.zeros((24, 24))
    image[:, 12:] = 1.0
    labels = np.full((24, 24), -1)
    labels[4, 4], labels[4, 20] = 0, 1
    model = Pipeline(
        [
            ("superpixels", Superpixels(n_segments=8)),
            ("regionstats", RegionStats(filters=False)),
            ("regionclassifier", RegionClassifier(DummyClassifier())),
        ]
    )
    return model.fit([image], [labels]), image


def test_save_load_model(tmp_path, fitted):
    model, image = fitted
    path = tmp_path / "m.joblib"
    save_model(model, path, summary={"n_images": 1})
    loaded, info = load_model(path, return_info=True)
    assert info["format"] == "semiseg_sk-model"
    assert info["version"] == semiseg_sk.__version__
    assert info["summary"] == {"n_images": 1}
    assert "created" in info and info["versions"]["numpy"] == np.__version__
    np.testing.assert_array_equal(loaded.predict([image])[0], model.predict([image])[0])
    assert isinstance(load_model(path), Pipeline)
    with pytest.raises(FileExistsError, match="refusing"):
        save_model(model, path)
    save_model(model, path, overwrite=True)
    assert _leftovers(tmp_path) == []


def test_load_plain_joblib_pipeline(tmp_path, fitted):
    model, _ = fitted
    joblib.dump(model, tmp_path / "plain.joblib")
    loaded, info = load_model(tmp_path / "plain.joblib", return_info=True)
    assert isinstance(loaded, Pipeline) and info["summary"] == {}


def test_load_model_errors(tmp_path, fitted):
    model, _ = fitted
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.joblib")
    (tmp_path / "text.joblib").write_text("hello")
    with pytest.raises(ModelFileError, match="not a semiseg_sk model file"):
        load_model(tmp_path / "text.joblib")
    joblib.dump({"a": 1}, tmp_path / "dict.joblib")
    with pytest.raises(ModelFileError, match="holds a dict"):
        load_model(tmp_path / "dict.joblib")
    joblib.dump(DummyClassifier(), tmp_path / "other.joblib")
    with pytest.raises(ModelFileError, match="holds a DummyClassifier"):
        load_model(tmp_path / "other.joblib")
    payload = {"format": "semiseg_sk-model", "format_version": 99, "version": "9"}
    joblib.dump(payload, tmp_path / "future.joblib")
    with pytest.raises(ModelFileError, match="upgrade semiseg_sk"):
        load_model(tmp_path / "future.joblib")


def test_load_model_missing_class(tmp_path):
    # A class that this installation lacks: an incompatible version.
    module = types.ModuleType("semiseg_sk._removed_in_future")
    cls = type("Gone", (), {"__module__": module.__name__})
    module.Gone = cls
    sys.modules[module.__name__] = module
    try:
        save_model(cls(), tmp_path / "gone.joblib")
    finally:
        del sys.modules[module.__name__]
    with pytest.raises(ModelFileError, match="incompatible version"):
        load_model(tmp_path / "gone.joblib")


def test_load_model_version_mismatch_warns_once(tmp_path, fitted, monkeypatch):
    model, _ = fitted
    save_model(model, tmp_path / "m.joblib")
    import semiseg_sk.base
    import semiseg_sk.io._model_file

    for module in (semiseg_sk.base, semiseg_sk.io._model_file):
        monkeypatch.setattr(module, "package_version", lambda: "99.0")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_model(tmp_path / "m.joblib")
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages
    assert caught[0].category is InconsistentVersionWarning
    assert caught[0].message.current_version == "99.0"
    assert "saved with semiseg_sk" in messages[0] and "99.0" in messages[0]


# -- hostile files (issue 14) -------------------------------------------------


def _special_files(tmp_path):
    """A FIFO, a folder, a link to the FIFO and, where allowed, a device."""
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.png"
    folder.mkdir()
    link = tmp_path / "link.png"
    link.symlink_to(fifo)
    found = [fifo, folder, link]
    try:  # the null device's numbers, made here: /dev itself is never touched
        os.mknod(tmp_path / "null.png", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        found.append(tmp_path / "null.png")
    except (PermissionError, OSError):
        pass
    return found


def test_writers_refuse_a_destination_that_is_not_a_regular_file(tmp_path, fitted):
    model, _ = fitted
    writers = [
        lambda p: write_image(p, np.zeros((4, 4), np.uint8)),
        lambda p: write_mask(p, np.zeros((4, 4), int)),
        lambda p: write_array(p, np.zeros(3)),
        lambda p: save_model(model, p, overwrite=True),
    ]
    for path in _special_files(tmp_path):
        mode = os.lstat(path).st_mode
        for write in writers:
            with pytest.raises(OSError, match="not a regular file|is a folder"):
                write(path)
        assert os.lstat(path).st_mode == mode
    assert _leftovers(tmp_path) == []


def test_atomic_path_is_exclusive_without_overwrite(tmp_path):
    # Another writer creates the file while this one writes: it keeps it.
    target = tmp_path / "out.png"
    with pytest.raises(FileExistsError, match="out.png exists; refusing"):
        with atomic_path(target, overwrite=False) as tmp:
            Path(tmp).write_text("mine")
            target.write_text("theirs")
    assert target.read_text() == "theirs"
    assert _leftovers(tmp_path) == []


def test_atomic_path_errors_name_the_destination(tmp_path):
    missing = tmp_path / "nowhere" / "out.png"
    with pytest.raises(FileNotFoundError) as exc:
        with atomic_path(missing):
            pass
    assert exc.value.filename == str(missing)
    target = tmp_path / "out.png"
    with pytest.raises(OSError) as exc:
        with atomic_path(target) as tmp:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), tmp)
    assert exc.value.errno == errno.ENOSPC and exc.value.filename == str(target)
    assert not target.exists() and _leftovers(tmp_path) == []


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_written_files_honour_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        path = write_image(tmp_path / "a.png", np.zeros((4, 4), np.uint8))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask


def test_find_images_skips_hidden_and_temporary_files(tmp_path):
    for name in ("a.png", ".hidden.png", ".semiseg-tmp-1234.png"):
        _png(tmp_path / name, np.zeros((4, 4), np.uint8))
    (tmp_path / ".git").mkdir()
    _png(tmp_path / ".git" / "b.png", np.zeros((4, 4), np.uint8))
    assert [p.name for p in find_images(tmp_path)] == ["a.png"]
    assert [p.name for p in find_images(str(tmp_path / "*.png"))] == ["a.png"]
    assert [p.name for p in find_images(str(tmp_path / "**" / "*.png"))] == ["a.png"]
    # Named explicitly: a hidden file is used, a temporary file never is.
    assert find_images(tmp_path / ".hidden.png")[0].name == ".hidden.png"
    with pytest.raises(ValueError, match="temporary file left by an interrupted"):
        find_images(tmp_path / ".semiseg-tmp-1234.png")
    (tmp_path / "lab").mkdir()
    _png(tmp_path / "lab" / ".a.png", np.zeros((4, 4), np.uint8))
    assert find_label_file(tmp_path / "a.png", tmp_path / "lab") is None


def test_find_images_refuses_named_special_files(tmp_path):
    fifo, _, link, *_ = _special_files(tmp_path)
    for path in (fifo, link):
        with pytest.raises(ValueError, match=r"FIFO \(named pipe\); expected an image"):
            find_images(path)
    (tmp_path / "loop.png").symlink_to(tmp_path / "loop.png")
    with pytest.raises(ValueError, match="broken symbolic link"):
        find_images(tmp_path / "loop.png")
    with pytest.raises(ValueError, match="FIFO"):
        read_image(fifo)  # refused, not opened (opening a FIFO blocks)


def test_find_images_one_file_once_through_symlinks(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _png(data / "a.png", np.zeros((4, 4), np.uint8))
    (data / "b.png").symlink_to(data / "a.png")
    (data / "loop").symlink_to(data)  # a ** glob must not go round it
    (data / "loop2").symlink_to(data)
    assert [p.name for p in find_images(data)] == ["a.png"]
    assert find_images([data / "a.png", data / "loop" / "a.png"]) == [data / "a.png"]
    found = find_images(str(data / "**" / "*.png"))
    assert [p.name for p in found] == ["a.png"]


# -- label files and images that are refused -----------------------------------


def test_read_labels_refuses_jpeg(tmp_path):
    scribbles = np.zeros((16, 16), np.uint8)
    scribbles[4:8, 4:12] = 2
    Image.fromarray(scribbles).save(tmp_path / "lab.jpg", quality=95)
    Image.fromarray(scribbles).save(tmp_path / "lab.png", format="JPEG")
    for name in ("lab.jpg", "lab.png"):
        with pytest.raises(ValueError, match=r"is a JPEG file; label images must"):
            read_labels(tmp_path / name)
    assert read_image(tmp_path / "lab.jpg").shape == (16, 16)  # an image: fine
    # A TIFF with JPEG compression (tag 259 = 7), also refused before decoding.
    path = tmp_path / "lab.tif"
    tifffile.imwrite(path, scribbles)
    with tifffile.TiffFile(path) as tif:
        offset = tif.pages[0].tags["Compression"].valueoffset
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write((7).to_bytes(2, "little"))
    with pytest.raises(ValueError, match="JPEG-compressed TIFF"):
        read_labels(path)


@pytest.mark.parametrize(
    "axes, shape",
    [("ZYX", (10, 16, 16)), ("TYX", (4, 16, 16)), ("ZCYX", (5, 2, 16, 16))],
)
@pytest.mark.parametrize("flavour", ["imagej", "ome"])
def test_read_image_refuses_tiff_stacks(tmp_path, axes, shape, flavour):
    path = tmp_path / "stack.tif"
    tifffile.imwrite(
        path, np.zeros(shape, np.uint8), **{flavour: True}, metadata={"axes": axes}
    )
    with pytest.raises(ValueError, match=f"stack or volume with axes {axes}"):
        read_image(path)


def test_read_image_tiff_channels_from_metadata(tmp_path):
    rng = np.random.RandomState(0)
    many = rng.randint(0, 255, (40, 16, 16)).astype(np.uint8)  # more C than H
    tifffile.imwrite(tmp_path / "c.tif", many, imagej=True, metadata={"axes": "CYX"})
    np.testing.assert_array_equal(
        read_image(tmp_path / "c.tif"), np.moveaxis(many, 0, -1)
    )
    rgb = rng.randint(0, 255, (16, 16, 3)).astype(np.uint8)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb")
    np.testing.assert_array_equal(read_image(tmp_path / "rgb.tif"), rgb)
    tifffile.imwrite(
        tmp_path / "planar.tif",
        np.moveaxis(rgb, 2, 0),
        photometric="rgb",
        planarconfig="separate",
    )
    np.testing.assert_array_equal(read_image(tmp_path / "planar.tif"), rgb)


def _png_declaring(path, width, height):
    """A tiny PNG whose header declares width x height pixels."""
    _png(path, np.zeros((1, 1), np.uint8))
    data = bytearray(path.read_bytes())
    ihdr = data[12:29]  # b"IHDR" + 13 bytes of fields
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    path.write_bytes(bytes(data))
    return path


def test_read_image_pixel_limit(tmp_path, monkeypatch):
    bomb = _png_declaring(tmp_path / "bomb.png", 20000, 20000)
    tiff = tmp_path / "big.tif"
    tifffile.imwrite(tiff, shape=(20000, 20000), dtype="uint8")  # sparse file
    for path in (bomb, tiff):
        for read in (read_image, read_labels):
            with pytest.raises(ValueError, match=r"limit of 134,217,728 pixels"):
                read(path)
    small = _png(tmp_path / "small.png", np.zeros((8, 8), np.uint8))
    tifffile.imwrite(tmp_path / "small.tif", np.zeros((8, 8), np.uint8))
    for path in (small, tmp_path / "small.tif"):
        with pytest.raises(ValueError, match=r"small\.\w+: declares 8 x 8 pixels"):
            read_image(path, max_pixels=63)
        assert read_image(path, max_pixels=64).shape == (8, 8)
        monkeypatch.setenv("SEMISEG_MAX_IMAGE_PIXELS", "63")
        with pytest.raises(ValueError, match="SEMISEG_MAX_IMAGE_PIXELS to a larger"):
            read_image(path)
        monkeypatch.setenv("SEMISEG_MAX_IMAGE_PIXELS", "64")
        assert read_image(path).shape == (8, 8)
        monkeypatch.delenv("SEMISEG_MAX_IMAGE_PIXELS")
    for bad in (0, -1, True, 2.5, "many"):
        with pytest.raises(ValueError, match="positive whole number"):
            read_image(small, max_pixels=bad)
    monkeypatch.setenv("SEMISEG_MAX_IMAGE_PIXELS", "lots")
    with pytest.raises(ValueError, match="SEMISEG_MAX_IMAGE_PIXELS='lots'"):
        read_image(small)


def test_bool_images_and_labels_read_alike(tmp_path):
    mask = np.zeros((6, 7), bool)
    mask[2:4, 1:5] = True
    Image.fromarray(mask).save(tmp_path / "m.png")  # a 1-bit PNG
    tifffile.imwrite(tmp_path / "m.tif", mask)
    for path in (tmp_path / "m.png", tmp_path / "m.tif"):
        image = read_image(path)
        assert image.dtype == np.uint8
        np.testing.assert_array_equal(image, mask * 255)
        np.testing.assert_array_equal(read_labels(path), mask.astype(int) - 1)


def test_read_labels_refuses_non_finite_floats(tmp_path):
    for value in (np.inf, np.nan, 1e30):
        tifffile.imwrite(tmp_path / "f.tif", np.full((3, 3), value, np.float64))
        with pytest.raises(ValueError, match="not integers"):
            read_labels(tmp_path / "f.tif")


# -- model files whose content is wrong ---------------------------------------


def _envelope(**changes):
    payload = {
        "format": "semiseg_sk-model",
        "format_version": 1,
        "version": semiseg_sk.__version__,
        "versions": {},
        "created": None,
        "summary": {},
        "model": None,
    }
    payload.update(changes)
    return payload


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"model": "not a model"}, "holds a str, not a segmenter"),
        (
            {"model": Pipeline([("r", RegionClassifier(DummyClassifier()))])},
            "holds an unfitted Pipeline",
        ),
        ({"format_version": True}, "model file format True"),
        ({"format_version": 0}, "model file format 0"),
        ({"format_version": "1"}, "model file format '1'"),
        ({"summary": ["a"]}, "'summary' entry has type list; expected dict or None"),
        ({"versions": "numpy"}, "'versions' entry has type str; expected dict"),
        ({"version": 3}, "'version' entry has type int; expected str or None"),
    ],
)
def test_load_model_refuses_a_damaged_envelope(tmp_path, fitted, changes, message):
    model, _ = fitted
    path = tmp_path / "m.joblib"
    joblib.dump(_envelope(**{"model": model, **changes}), path)
    with pytest.raises(ModelFileError, match=re.escape(message)):
        load_model(path)


def test_load_model_refuses_special_files(tmp_path):
    fifo = tmp_path / "m.joblib"
    os.mkfifo(fifo)
    with pytest.raises(ModelFileError, match="is a FIFO"):
        load_model(fifo)
