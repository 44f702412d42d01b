"""Reading and writing images, label images, masks and model files."""

import os
import sys
import types
import warnings

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
    with pytest.raises(ValueError, match="Stacks and volumes"):
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
