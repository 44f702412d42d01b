"""The command line on random folders of valid and invalid files (hypothesis).

Whatever the folder holds (truncated or empty files, text named ``.png``,
JPEG label files, wrong shapes, huge declared sizes, stacks, links), every
command ends with exit code 0 or with a one-line error on standard error,
never a traceback, and every input stays byte for byte as it was.
"""

import hashlib
import os
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from semiseg_sk.cli import main

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SIZE = 24
FAST = ["--no-autoencoder", "--set", "superpixels__n_segments=20", "-q"]


def _image(seed):
    rng = np.random.RandomState(seed)
    image = rng.randint(0, 60, (SIZE, SIZE)).astype(np.uint8)
    image[:, SIZE // 2 :] += 150
    return image


def _labels():
    labels = np.zeros((SIZE, SIZE), np.uint8)
    labels[3:6, 2:8], labels[14:18, 16:22] = 1, 2
    return labels


def _png_declaring(path, width, height):
    Image.fromarray(np.zeros((1, 1), np.uint8)).save(path)
    raw = bytearray(path.read_bytes())
    raw[16:24] = struct.pack(">II", width, height)
    raw[29:33] = struct.pack(">I", zlib.crc32(bytes(raw[12:29])))
    path.write_bytes(bytes(raw))


def _write(path, kind, seed):
    """Write a file of one kind; its name's extension is ``path``'s."""
    if kind == "png":
        Image.fromarray(_image(seed)).save(path)
    elif kind == "rgb":
        Image.fromarray(np.stack([_image(seed)] * 3, axis=2)).save(path)
    elif kind == "jpeg":
        Image.fromarray(_image(seed)).save(path, format="JPEG")
    elif kind == "truncated":
        Image.fromarray(_image(seed)).save(path, format="PNG")
        path.write_bytes(path.read_bytes()[:60])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("not an image\n")
    elif kind == "huge":
        _png_declaring(path, 20000, 20000)
    elif kind == "tiny":
        Image.fromarray(np.zeros((1, 1), np.uint8)).save(path, format="PNG")
    elif kind == "other shape":
        Image.fromarray(_image(seed)[:, :10]).save(path, format="PNG")
    elif kind == "label":
        Image.fromarray(_labels()).save(path, format="PNG")
    elif kind == "jpeg label":
        Image.fromarray(_labels() * 100).save(path, format="JPEG")
    elif kind == "no labeled pixel":
        Image.fromarray(np.zeros((SIZE, SIZE), np.uint8)).save(path, format="PNG")
    elif kind == "float label":
        tifffile.imwrite(path, _labels() + np.float32(0.5))
    elif kind == "32-bit label":
        tifffile.imwrite(path, _labels().astype(np.uint32) * 40000)
    elif kind == "stack":
        stack = np.stack([_image(seed)] * 5)
        tifffile.imwrite(path, stack, imagej=True, metadata={"axes": "ZYX"})
    elif kind == "nan":
        tifffile.imwrite(path, np.full((SIZE, SIZE), np.nan, np.float32))
    elif kind == "bool":
        tifffile.imwrite(path, _image(seed) > 100)
    else:  # pragma: no cover
        raise AssertionError(kind)


TIFF_KINDS = {"float label", "32-bit label", "stack", "nan", "bool"}
IMAGE_KINDS = [
    "png",
    "png",
    "png",
    "rgb",
    "jpeg",
    "truncated",
    "empty",
    "text",
    "huge",
    "tiny",
    "stack",
    "nan",
    "bool",
    "hidden",
    "temporary",
    "link",
    "broken link",
]
LABEL_KINDS = [
    None,
    "label",
    "label",
    "jpeg label",
    "other shape",
    "no labeled pixel",
    "float label",
    "32-bit label",
    "empty",
    "text",
]


def _make_folder(root, image_kinds, label_kinds):
    img, lab = root / "img", root / "lab"
    img.mkdir()
    lab.mkdir()
    for i, (kind, label) in enumerate(zip(image_kinds, label_kinds)):
        name = f"im{i}"
        if kind == "link":
            (img / f"{name}.png").symlink_to(img / "im0.png")
        elif kind == "broken link":
            (img / f"{name}.png").symlink_to(root / "nothing.png")
        elif kind in ("hidden", "temporary"):
            prefix = "." if kind == "hidden" else ".semiseg-tmp-"
            _write(img / f"{prefix}{name}.png", "truncated", i)
        else:
            ext = ".tif" if kind in TIFF_KINDS else ".png"
            _write(img / f"{name}{ext}", kind, i)
        if label is not None:
            ext = ".tif" if label in TIFF_KINDS else ".png"
            _write(lab / f"{name}{ext}", label, i)
    return img, lab


def _hashes(folder):
    """Content of every file, and target of every link, by name."""
    return {
        p.name: os.readlink(p)
        if p.is_symlink()
        else hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
    }


def _check(code, err, command):
    assert code in (0, 1), (code, err)
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if not line.startswith("semiseg: warn")]
    if code == 1:
        assert len(lines) == 1 and lines[0].startswith(f"semiseg {command}: error: ")
    else:
        assert lines == [], err


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    image_kinds=st.lists(st.sampled_from(IMAGE_KINDS), min_size=1, max_size=4),
    label_kinds=st.lists(st.sampled_from(LABEL_KINDS), min_size=4, max_size=4),
)
def test_cli_on_random_folders(capfd, image_kinds, label_kinds):
    # The first image is valid and labeled, or nothing could ever be fitted.
    image_kinds = ["png", *image_kinds]
    label_kinds = [
        "label" if i == 0 else label_kinds[i - 1] for i in range(len(image_kinds))
    ]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        img, lab = _make_folder(root, image_kinds, label_kinds)
        before = _hashes(img), _hashes(lab)
        model = root / "out" / "m.joblib"
        model.parent.mkdir()

        def run(command, *argv):
            code = main([command, *map(os.fspath, argv)])
            _check(code, capfd.readouterr().err, command)
            return code

        fitted = run("fit", img, "--labels", lab, "-o", model, *FAST) == 0
        if fitted:
            run("predict", model, img, "-o", root / "out" / "pred", "-q")
            run("evaluate", model, img, "--truth", lab, "-q")
            run("info", model)
        else:
            assert not model.exists()
        assert (_hashes(img), _hashes(lab)) == before
        assert [p for p in root.rglob(".semiseg-tmp-*") if p.parent != img] == []
