"""The semiseg command line: in-process main(argv) and a few real subprocesses."""

import hashlib
import json
import os
import shutil
import signal
import stat
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile

import semiseg_sk
from semiseg_sk.cli import main
from semiseg_sk.cli._fit import parse_setting
from semiseg_sk.datasets import make_scribbles, make_texture_mosaics
from semiseg_sk.io import load_model, read_image, read_labels, write_image, write_mask

FAST = ["--no-autoencoder", "--set", "superpixels__n_segments=20", "--quiet"]
TINY_AE = [
    "--set",
    "superpixels__n_segments=20",
    "--set",
    "autoencoderfeatures__max_iter=1",
    "--set",
    "autoencoderfeatures__latent_dim=2",
    "--set",
    "autoencoderfeatures__n_filters=4",
    "--set",
    "autoencoderfeatures__validation_fraction=0",
]


def _hashes(*folders):
    """sha256 of every file under the folders, by path."""
    out = {}
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _leftovers(*folders):
    return [
        str(p) for f in folders for p in Path(f).rglob("*") if ".semiseg-tmp" in p.name
    ]


def _make_data(root):
    """img/ a..d.png (grey uint8 32 x 32); lab/ a.png, b_labels.png; truth/ all."""
    images, truths = make_texture_mosaics(4, size=(32, 32), n_cells=2, random_state=0)
    for folder in ("img", "lab", "truth"):
        (root / folder).mkdir()
    for name, image, truth in zip("abcd", images, truths):
        write_image(root / "img" / f"{name}.png", image)
        write_mask(root / "truth" / f"{name}.png", truth)
    for _name, label_name, truth, seed in (
        ("a", "a", truths[0], 0),
        ("b", "b_labels", truths[1], 1),
    ):
        scribbles = make_scribbles(truth, stroke_length=8, random_state=seed)
        write_mask(root / "lab" / f"{label_name}.png", scribbles)
    return root


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return _make_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def model_path(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.joblib"
    code = main(
        ["fit", str(data / "img"), "--labels", str(data / "lab"), "-o", str(path)]
        + FAST
        + ["--class-names", "left,right"]
    )
    assert code == 0
    return path


def _run(capsys, argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# -- fit --------------------------------------------------------------------


def test_fit_writes_model_with_summary(data, tmp_path, capsys):
    before = _hashes(data)
    out = tmp_path / "m.joblib"
    code, _, err = _run(
        capsys, ["fit", data / "img", "--labels", data / "lab", "-o", out] + FAST
    )
    assert code == 0, err
    model, info = load_model(out, return_info=True)
    summary = info["summary"]
    assert summary["n_images"] == 4
    assert summary["n_labeled_images"] == 2
    assert summary["classes"] == [1, 2]
    assert summary["label_files"] == ["a.png", "b_labels.png", None, None]
    assert summary["settings"] == {"superpixels__n_segments": 20}
    assert summary["fit_seconds"] >= 0
    assert model.get_params()["superpixels__n_segments"] == 20
    assert "autoencoderfeatures" not in model.named_steps
    np.testing.assert_array_equal(model.classes_, [0, 1])
    assert _hashes(data) == before
    assert _leftovers(tmp_path, data) == []


def test_fit_refuses_to_overwrite(data, model_path, tmp_path, capsys):
    args = ["fit", data / "img", "--labels", data / "lab"] + FAST
    before = model_path.read_bytes()
    code, _, err = _run(capsys, args + ["-o", model_path])
    assert code == 1 and "exists; refusing" in err and "--force" in err
    assert model_path.read_bytes() == before
    copy = tmp_path / "copy.joblib"
    copy.write_bytes(before)
    assert _run(capsys, args + ["-o", copy, "--force"])[0] == 0
    assert copy.read_bytes() != before
    # An input is never overwritten, not even with --force.
    img_before = _hashes(data)
    for target in (data / "img" / "a.png", data / "lab" / "a.png"):
        code, _, err = _run(capsys, args + ["-o", target, "--force"])
        assert code == 1 and "refusing to touch it" in err
    assert _hashes(data) == img_before


def test_fit_labels_next_to_images(tmp_path, capsys):
    data = _make_data(tmp_path)
    for path in (data / "lab").iterdir():
        stem = path.stem if path.stem.endswith("_labels") else path.stem + "_labels"
        path.rename(data / "img" / f"{stem}.png")
    out = tmp_path / "m.joblib"
    code, _, err = _run(
        capsys, ["fit", data / "img", "--labels", data / "img", "-o", out] + FAST
    )
    assert code == 0, err
    summary = load_model(out, return_info=True)[1]["summary"]
    assert summary["images"] == ["a.png", "b.png", "c.png", "d.png"]
    assert summary["n_labeled_images"] == 2


def test_fit_multichannel_16bit_tiff(tmp_path, capsys):
    rng = np.random.RandomState(0)
    (tmp_path / "img").mkdir()
    (tmp_path / "lab").mkdir()
    for i in range(3):
        image = (rng.rand(32, 32, 5) * 4000).astype(np.uint16)
        image[:, 16:, 1] += 20000
        tifffile.imwrite(tmp_path / "img" / f"s{i}.tif", np.moveaxis(image, 2, 0))
    labels = np.zeros((32, 32), dtype=np.uint16)
    labels[3:6, 3:10], labels[3:6, 20:28] = 1, 2
    tifffile.imwrite(tmp_path / "lab" / "s0.tif", labels)
    out = tmp_path / "m.joblib"
    code, _, err = _run(
        capsys,
        ["fit", tmp_path / "img" / "*.tif", "--labels", tmp_path / "lab", "-o", out]
        + FAST,
    )
    assert code == 0, err
    assert load_model(out, return_info=True)[1]["summary"]["n_channels"] == 5
    code, _, err = _run(
        capsys, ["predict", out, tmp_path / "img", "-o", tmp_path / "pred", "-q"]
    )
    assert code == 0, err
    mask = read_image(tmp_path / "pred" / "s1_labels.png")
    assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {1, 2}


def _broken(tmp_path, kind):
    """A data folder with one defect; returns (images arg, labels dir)."""
    data = _make_data(tmp_path)
    img, lab = data / "img", data / "lab"
    if kind == "unreadable image":
        (img / "c.png").write_text("not a png")
    elif kind == "label shape":
        write_mask(lab / "a.png", np.zeros((20, 32), dtype=int))
    elif kind == "label not integer":
        (lab / "a.png").unlink()
        tifffile.imwrite(lab / "a.tif", np.full((32, 32), 0.5, dtype=np.float32))
    elif kind == "no labeled pixel":
        write_mask(lab / "a.png", np.full((32, 32), -1))
        write_mask(lab / "b_labels.png", np.full((32, 32), -1))
    elif kind == "no label file":
        for path in lab.iterdir():
            path.unlink()
    elif kind == "empty image list":
        for path in img.iterdir():
            path.unlink()
    elif kind == "missing file":
        img = img / "nothere.png"
    elif kind == "channels differ":
        write_image(img / "d.png", np.zeros((32, 32, 3)))
    elif kind == "ambiguous label":
        write_mask(lab / "a_labels.png", np.zeros((32, 32), dtype=int))
    return img, lab


@pytest.mark.parametrize(
    "kind, message",
    [
        ("unreadable image", "c.png: cannot read it as an image"),
        ("label shape", "a.png: label image has shape (20, 32) but its image"),
        ("label not integer", "a.tif: label values are not integers"),
        ("no labeled pixel", "has a labeled pixel"),
        ("no label file", "no label file in"),
        ("empty image list", "no image found"),
        ("missing file", "nothere.png: no such file"),
        ("channels differ", "d.png has 3 channel(s)"),
        ("ambiguous label", "several label files"),
    ],
)
def test_fit_errors(tmp_path, capsys, kind, message):
    img, lab = _broken(tmp_path, kind)
    before = _hashes(tmp_path)
    out = tmp_path / "m.joblib"
    code, _, err = _run(capsys, ["fit", img, "--labels", lab, "-o", out] + FAST)
    assert code == 1
    assert err.startswith("semiseg fit: error: ") and message in err, err
    assert "Traceback" not in err and err.count("\n") == 1
    assert not out.exists()
    assert _hashes(tmp_path) == before


def test_fit_single_class_warns_in_file_numbering(tmp_path, capsys):
    data = _make_data(tmp_path)
    write_mask(
        data / "lab" / "a.png",
        np.where(read_labels(data / "lab" / "a.png") == 1, 1, -1),
    )
    (data / "lab" / "b_labels.png").unlink()
    code, _, err = _run(
        capsys,
        ["fit", data / "img", "--labels", data / "lab", "-o", tmp_path / "m"] + FAST,
    )
    assert code == 0
    assert err.count("warning") == 1 and "only class 2 is labeled" in err


def test_fit_bad_settings(data, tmp_path, capsys):
    args = ["fit", data / "img", "--labels", data / "lab", "-o", tmp_path / "m.jl"]
    code, _, err = _run(capsys, args + ["--set", "nope__x=1", "-q"])
    assert code == 1 and "--set" in err and "nope" in err
    code, _, err = _run(capsys, args + ["--set", "superpixel__n_segments=9", "-q"])
    assert code == 1 and "Did you mean superpixels__n_segments" in err
    assert "the steps are superpixels, regionstats" in err
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args] + ["--set", "no-equals-sign"])
    assert exc.value.code == 2
    assert "KEY=VALUE" in capsys.readouterr().err
    code, _, err = _run(capsys, args + FAST + ["--class-names", "only-one"])
    assert code == 1 and "--class-names" in err
    code, _, err = _run(
        capsys, ["fit", data / "img", "--labels", data / "x", "-o", "m"]
    )
    assert code == 1 and "no such folder" in err


@pytest.mark.parametrize(
    "text, expected",
    [
        ("superpixels__n_segments=400", ("superpixels__n_segments", 400)),
        ("a=0.5", ("a", 0.5)),
        ("a=None", ("a", None)),
        ("a=True", ("a", True)),
        ("a=(1, 2)", ("a", (1, 2))),
        ("a='slic'", ("a", "slic")),
        ("superpixels__method=slic", ("superpixels__method", "slic")),
        ("a=x=y", ("a", "x=y")),
        ("a=", ("a", "")),
    ],
)
def test_parse_setting(text, expected):
    assert parse_setting(text) == expected


# -- predict ----------------------------------------------------------------


def test_predict_writes_masks_maps_overlays(data, model_path, tmp_path, capsys):
    before = _hashes(data, model_path.parent)
    out = tmp_path / "pred"
    code, _, err = _run(
        capsys,
        ["predict", model_path, data / "img", "-o", out, "--proba", "--overlay"],
    )
    assert code == 0, err
    names = sorted(os.listdir(out))
    assert len(names) == 16 and "a_labels.png" in names and "d_overlay.png" in names
    model = load_model(model_path)
    images = [read_image(data / "img" / f"{name}.png") for name in "abcd"]
    mask = read_image(out / "c_labels.png")
    assert mask.dtype == np.uint8 and mask.shape == (32, 32)
    # The mask uses the annotation convention: a label file again.
    np.testing.assert_array_equal(
        read_labels(out / "c_labels.png"), model.predict(images)[2]
    )
    proba = np.load(out / "c_proba.npy")
    assert proba.shape == (32, 32, 2) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=2), 1, rtol=1e-5)
    uncertainty = read_image(out / "c_uncertainty.png")
    expected = np.round((1 - proba.max(axis=2)) * 255).astype(np.uint8)
    np.testing.assert_array_equal(uncertainty, expected)
    assert read_image(out / "c_overlay.png").shape == (32, 32, 3)
    assert _hashes(data, model_path.parent) == before
    assert _leftovers(out) == []


def test_predict_output_safety(data, model_path, tmp_path, capsys):
    before = _hashes(data, model_path.parent)
    # A folder holding inputs is refused; --force allows it, inputs stay.
    code, _, err = _run(
        capsys, ["predict", model_path, data / "img", "-o", data / "img"]
    )
    assert code == 1 and "holds inputs" in err
    code, _, err = _run(
        capsys, ["predict", model_path, data / "lab", "-o", data / "lab", "-q"]
    )
    assert code == 1 and "holds inputs" in err
    out = tmp_path / "work"
    out.mkdir()
    (out / "x.png").write_bytes((data / "img" / "a.png").read_bytes())
    code, _, err = _run(
        capsys, ["predict", model_path, out / "x.png", "-o", out, "--force", "-q"]
    )
    assert code == 0, err
    assert (out / "x.png").read_bytes() == (data / "img" / "a.png").read_bytes()
    assert (out / "x_labels.png").exists()
    # Earlier outputs are replaced only with --force.
    code, _, err = _run(
        capsys, ["predict", model_path, data / "img" / "a.png", "-o", out]
    )
    assert code == 0
    code, _, err = _run(
        capsys, ["predict", model_path, data / "img" / "a.png", "-o", out]
    )
    assert code == 1 and "a_labels.png exists" in err
    # An explicitly named input that looks like an output is never replaced.
    code, _, err = _run(
        capsys,
        ["predict", model_path, out / "x.png", out / "x_labels.png", "-o", out, "-f"],
    )
    assert code == 1 and "would overwrite an input" in err
    # Two inputs with the same stem would collide.
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "a.jpg").write_bytes(b"")
    code, _, err = _run(
        capsys,
        [
            "predict",
            model_path,
            data / "img" / "a.png",
            tmp_path / "other" / "a.jpg",
            "-o",
            tmp_path / "o2",
        ],
    )
    assert code == 1 and "same name" in err
    # -o names a file.
    code, _, err = _run(capsys, ["predict", model_path, data / "img", "-o", model_path])
    assert code == 1 and "not a folder" in err
    assert _hashes(data, model_path.parent) == before


def test_predict_interrupted_leaves_no_partial_file(
    data, model_path, tmp_path, capsys, monkeypatch
):
    import semiseg_sk.io._images as sio

    calls = []

    def interrupted_save(file, arr, *args, **kwargs):
        calls.append(file)
        with open(file, "wb") as handle:
            handle.write(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(sio.np, "save", interrupted_save)
    out = tmp_path / "pred"
    code, _, err = _run(
        capsys, ["predict", model_path, data / "img", "-o", out, "--proba"]
    )
    assert code == 130 and "interrupted" in err
    assert calls and _leftovers(out) == []
    assert not list(out.glob("*_proba.npy"))


def test_predict_errors(data, model_path, tmp_path, capsys):
    (tmp_path / "fake.joblib").write_text("not a model")
    code, _, err = _run(
        capsys,
        ["predict", tmp_path / "fake.joblib", data / "img", "-o", tmp_path / "o"],
    )
    assert code == 1 and "not a semiseg_sk model file" in err
    code, _, err = _run(
        capsys, ["predict", tmp_path / "no.joblib", data / "img", "-o", tmp_path / "o"]
    )
    assert code == 1 and "no.joblib: no such model file" in err
    write_image(tmp_path / "rgb.png", np.zeros((32, 32, 3)))
    code, _, err = _run(
        capsys, ["predict", model_path, tmp_path / "rgb.png", "-o", tmp_path / "o"]
    )
    assert code == 1 and "rgb.png has 3 channel(s) but the model was trained on" in err
    assert not (tmp_path / "o" / "rgb_labels.png").exists()


def test_model_version_mismatch_warns(data, model_path, tmp_path, capsys, monkeypatch):
    import semiseg_sk.base
    import semiseg_sk.io._model_file

    for module in (semiseg_sk.base, semiseg_sk.io._model_file):
        monkeypatch.setattr(module, "package_version", lambda: "99.0")
    code, _, err = _run(
        capsys, ["predict", model_path, data / "img" / "a.png", "-o", tmp_path]
    )
    assert code == 0
    assert err.count("semiseg: warning:") == 1 and "99.0" in err


def test_model_newer_format_refused(data, tmp_path, capsys):
    import joblib

    joblib.dump(
        {
            "format": "semiseg_sk-model",
            "format_version": 7,
            "version": "3.0",
            "model": None,
        },
        tmp_path / "new.joblib",
    )
    for argv in (
        ["info", tmp_path / "new.joblib"],
        ["evaluate", tmp_path / "new.joblib", data / "img", "--truth", data / "truth"],
    ):
        code, _, err = _run(capsys, argv)
        assert code == 1 and "upgrade semiseg_sk" in err


# -- evaluate, info, demo ---------------------------------------------------


def test_evaluate_table_and_json(data, model_path, capsys):
    before = _hashes(data)
    code, out, err = _run(
        capsys, ["evaluate", model_path, data / "img", "--truth", data / "truth", "-q"]
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["image", "mIoU", "Dice", "acc."]
    assert any("mean over images" in line for line in lines)
    assert any(line.startswith("all pixels") for line in lines)
    code, out, err = _run(
        capsys,
        ["evaluate", model_path, data / "img", "--truth", data / "truth", "--json"],
    )
    report = json.loads(out)
    assert len(report["images"]) == 4 and report["skipped"] == []
    model = load_model(model_path)
    from semiseg_sk.metrics import mean_iou

    images = [read_image(data / "img" / f"{name}.png") for name in "abcd"]
    truth = read_labels(data / "truth" / "d.png")
    assert report["images"][3]["miou"] == pytest.approx(
        mean_iou([truth], model.predict(images)[3:])
    )
    mean = np.mean([r["miou"] for r in report["images"]])
    assert report["mean"]["miou"] == pytest.approx(mean)
    assert 0 <= report["pooled"]["accuracy"] <= 1
    assert _hashes(data) == before


def test_evaluate_missing_truth(data, model_path, tmp_path, capsys):
    (tmp_path / "truth").mkdir()
    (tmp_path / "truth" / "a.png").write_bytes((data / "truth" / "a.png").read_bytes())
    code, out, err = _run(
        capsys,
        ["evaluate", model_path, data / "img", "--truth", tmp_path / "truth", "--json"],
    )
    assert code == 0 and "no truth file for" in err
    assert len(json.loads(out)["skipped"]) == 3
    (tmp_path / "empty").mkdir()
    code, _, err = _run(
        capsys, ["evaluate", model_path, data / "img", "--truth", tmp_path / "empty"]
    )
    assert code == 1 and "no truth file" in err
    code, _, err = _run(
        capsys, ["evaluate", model_path, data / "img", "--truth", tmp_path / "none"]
    )
    assert code == 1 and "no such folder" in err


def test_info(model_path, capsys):
    code, out, _ = _run(capsys, ["info", model_path])
    assert code == 0
    assert f"saved with:  semiseg_sk {semiseg_sk.__version__}" in out
    assert "1 (left), 2 (right)" in out
    assert "n_labeled_images: 2" in out and "n_segments = 20" in out
    code, out, _ = _run(capsys, ["info", model_path, "--json"])
    info = json.loads(out)
    assert info["classes"] == [1, 2]
    assert info["summary"]["class_names"] == ["left", "right"]
    assert info["steps"] == ["superpixels", "regionstats", "regionclassifier"]
    assert info["params"]["superpixels"]["n_segments"] == "20"


def test_info_prints_what_the_feature_gate_decided(tiny_data, tmp_path, capsys):
    from sklearn.pipeline import make_pipeline

    from semiseg_sk import FeatureGate, RegionClassifier, RegionStats, Superpixels
    from semiseg_sk.io import save_model

    images, labels, _ = tiny_data
    model = make_pipeline(
        Superpixels(n_segments=30),
        RegionStats(),
        FeatureGate(random_state=0),
        RegionClassifier(),
    ).fit(images, labels)
    path = str(tmp_path / "gated.joblib")
    save_model(model, path)
    code, out, _ = _run(capsys, ["info", path])
    assert code == 0
    assert "featuregate decided:" in out and "feature gate:" in out
    assert model[2].summary().splitlines()[0] in out
    code, out, _ = _run(capsys, ["info", path, "--json"])
    assert json.loads(out)["decisions"]["featuregate"] == model[2].summary()


def test_demo_wiring(monkeypatch, tmp_path, capsys):
    import semiseg_sk.cli._demo as demo

    seen = {}
    monkeypatch.setattr(demo, "run_demo", lambda **kwargs: seen.update(kwargs))
    out = str(tmp_path / "x.png")
    assert main(["demo", "--output", out, "--n-unlabeled", "3", "-q"]) == 0
    assert seen == {
        "output": out,
        "overwrite": False,
        "n_unlabeled": 3,
        "random_state": 0,
        "verbose": 0,
        "progress": False,
    }


def test_version_and_usage(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert semiseg_sk.__version__ in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2


# -- real subprocesses --------------------------------------------------------


def _subprocess(*args):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    return subprocess.run(
        [sys.executable, "-m", "semiseg_sk", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_autoencoder_model_end_to_end(tmp_path, capsys):
    pytest.importorskip("torch")
    data = _make_data(tmp_path)
    model = tmp_path / "ae.joblib"
    code, _, err = _run(
        capsys,
        ["fit", data / "img", "--labels", data / "lab", "-o", model, "-q"] + TINY_AE,
    )
    assert code == 0, err
    code, out, err = _run(capsys, ["info", model])
    assert code == 0 and "autoencoderfeatures:" in out
    assert "autoencoder_epochs: 1" in out and "latent_dim = 2" in out
    code, _, err = _run(
        capsys,
        ["predict", model, data / "img", "-o", tmp_path / "pred", "--device", "cpu"],
    )
    assert code == 0, err
    assert len(list((tmp_path / "pred").iterdir())) == 4


def test_subprocess_fit_predict(tmp_path):
    data = _make_data(tmp_path)
    inputs = (data / "img", data / "lab", data / "truth")
    before = _hashes(*inputs)
    model = tmp_path / "m.joblib"
    result = _subprocess(
        "fit",
        data / "img" / "*.png",
        "--labels",
        data / "lab",
        "-o",
        model,
        "--no-autoencoder",
        "--set",
        "superpixels__n_segments=20",
    )
    assert result.returncode == 0, result.stderr
    assert "model written to" in result.stderr and result.stdout == ""
    result = _subprocess(
        "predict", model, data / "img", "-o", tmp_path / "pred", "--proba", "--overlay"
    )
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "pred").iterdir())) == 16
    assert _hashes(*inputs) == before
    assert _leftovers(tmp_path) == []


def test_subprocess_errors_have_no_traceback(tmp_path):
    img, lab = _broken(tmp_path, "label shape")
    result = _subprocess("fit", img, "--labels", lab, "-o", tmp_path / "m.joblib")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("semiseg fit: error: ")
    assert "label image has shape (20, 32)" in result.stderr
    assert not (tmp_path / "m.joblib").exists()


# -- hostile inputs and faults (issue 14) -------------------------------------


def _error(code, err, command, *fragments):
    """A one-line error of ``semiseg COMMAND`` holding every fragment."""
    assert code == 1, err
    assert err.startswith(f"semiseg {command}: error: "), err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert ".semiseg-tmp" not in err, err
    for fragment in fragments:
        assert fragment in err, err


def _copy_data(data, root):
    shutil.copytree(data, root, dirs_exist_ok=True)
    return root


@pytest.fixture
def demo_calls(monkeypatch):
    import semiseg_sk.cli._demo as demo

    calls = []
    monkeypatch.setattr(demo, "run_demo", lambda **kwargs: calls.append(kwargs))
    return calls


def test_outputs_refuse_fifos(data, model_path, tmp_path, capsys, demo_calls):
    fifo = tmp_path / "out.png"
    os.mkfifo(fifo)
    fit = ["fit", data / "img", "--labels", data / "lab", "-o", fifo] + FAST
    for force in ([], ["--force"]):
        code, _, err = _run(capsys, fit + force)
        _error(code, err, "fit", "out.png is a FIFO (named pipe), not a regular file")
        code, _, err = _run(capsys, ["demo", "--output", fifo, "-q"] + force)
        _error(code, err, "demo", "out.png is a FIFO (named pipe)")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and demo_calls == []
    # predict checks every output before writing the first.
    out = tmp_path / "pred"
    out.mkdir()
    os.mkfifo(out / "c_labels.png")
    code, _, err = _run(capsys, ["predict", model_path, data / "img", "-o", out, "-f"])
    _error(code, err, "predict", "c_labels.png is a FIFO")
    assert os.listdir(out) == ["c_labels.png"]


def test_demo_output_is_checked_before_any_work(tmp_path, capsys, demo_calls):
    picture = tmp_path / "demo.png"
    picture.write_bytes(b"mine")
    code, _, err = _run(capsys, ["demo", "--output", picture, "-q"])
    _error(code, err, "demo", "demo.png exists; refusing", "--force")
    code, _, err = _run(capsys, ["demo", "--output", tmp_path / "no" / "d.png"])
    _error(code, err, "demo", "does not exist")
    assert demo_calls == [] and picture.read_bytes() == b"mine"
    assert _run(capsys, ["demo", "--output", picture, "-q", "--force"])[0] == 0
    assert demo_calls[0]["overwrite"] is True


def test_run_demo_refuses_an_existing_picture_first(tmp_path, monkeypatch):
    import semiseg_sk.cli._demo as demo

    def no_data(**kwargs):
        raise AssertionError("the output must be checked before the data are made")

    monkeypatch.setattr(demo, "make_scribbled_dataset", no_data)
    (tmp_path / "demo.png").write_bytes(b"mine")
    with pytest.raises(FileExistsError, match="demo.png exists; refusing"):
        demo.run_demo(tmp_path / "demo.png")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_signal_during_a_write_removes_the_temporary_file(
    data, model_path, tmp_path, capsys, monkeypatch, signum
):
    import semiseg_sk.io._images as sio

    def killed_save(file, arr, *args, **kwargs):
        Path(file).write_bytes(b"half")
        os.kill(os.getpid(), signum)

    before = signal.getsignal(signum)
    monkeypatch.setattr(sio.np, "save", killed_save)
    out = tmp_path / "pred"
    code, _, err = _run(
        capsys, ["predict", model_path, data / "img", "-o", out, "--proba"]
    )
    assert code == 128 + signum
    assert err.strip().endswith(f"terminated by {signal.Signals(signum).name}")
    assert _leftovers(out) == [] and not list(out.glob("*_proba.npy"))
    assert signal.getsignal(signum) is before


def test_sigterm_while_saving_the_model(data, tmp_path, capsys, monkeypatch):
    import joblib

    def killed_dump(value, filename, **kwargs):
        Path(filename).write_bytes(b"half")
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(joblib, "dump", killed_dump)
    out = tmp_path / "m.joblib"
    code, _, err = _run(
        capsys, ["fit", data / "img", "--labels", data / "lab", "-o", out] + FAST
    )
    assert code == 143 and "terminated by SIGTERM" in err
    assert not out.exists() and _leftovers(tmp_path) == []


def test_leftover_temporary_files_are_never_inputs(data, model_path, tmp_path, capsys):
    data = _copy_data(data, tmp_path / "data")
    for folder in ("img", "lab"):
        (data / folder / ".semiseg-tmp-0123abcd.png").write_bytes(b"\x89PNG half")
    out = tmp_path / "m.joblib"
    code, _, err = _run(
        capsys, ["fit", data / "img", "--labels", data / "lab", "-o", out] + FAST
    )
    assert code == 0, err
    assert load_model(out, return_info=True)[1]["summary"]["n_images"] == 4
    code, _, err = _run(capsys, ["predict", out, data / "img", "-o", tmp_path / "p"])
    assert code == 0, err
    assert len(os.listdir(tmp_path / "p")) == 4


def test_jpeg_label_and_truth_files_are_refused(data, model_path, tmp_path, capsys):
    from PIL import Image

    data = _copy_data(data, tmp_path / "data")
    for folder in ("lab", "truth"):
        mask = read_image(data / folder / "a.png")
        (data / folder / "a.png").unlink()
        Image.fromarray(mask).save(data / folder / "a.jpg", quality=95)
    code, _, err = _run(
        capsys,
        ["fit", data / "img", "--labels", data / "lab", "-o", tmp_path / "m"] + FAST,
    )
    _error(code, err, "fit", "a.jpg: is a JPEG file; label images must be stored")
    code, _, err = _run(
        capsys, ["evaluate", model_path, data / "img", "--truth", data / "truth"]
    )
    _error(code, err, "evaluate", "a.jpg: is a JPEG file")


def test_tiff_stacks_among_2d_images_are_refused(data, tmp_path, capsys):
    data = _copy_data(data, tmp_path / "data")
    stack = np.zeros((10, 32, 32), np.uint8)
    tifffile.imwrite(
        data / "img" / "e.tif", stack, imagej=True, metadata={"axes": "ZYX"}
    )
    code, _, err = _run(
        capsys,
        ["fit", data / "img", "--labels", data / "lab", "-o", tmp_path / "m"] + FAST,
    )
    _error(code, err, "fit", "is a 2-D image but")
    assert "e.tif is a volume" in err


@pytest.mark.parametrize("device", ["mps", "meta", "cuda:x"])
def test_unsupported_devices_are_one_line_errors(
    data, model_path, tmp_path, capsys, device
):
    expected = f"--device={device!r} is not a device semiseg_sk runs on"
    model, out = tmp_path / "m.joblib", tmp_path / "pred"
    for command, argv in (
        ("fit", ["fit", data / "img", "--labels", data / "lab", "-o", model] + FAST),
        ("predict", ["predict", model_path, data / "img", "-o", out]),
        ("evaluate", ["evaluate", model_path, data / "img", "--truth", data / "truth"]),
    ):
        code, _, err = _run(capsys, argv + ["--device", device])
        _error(code, err, command, expected)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"model": "x"}, "holds a str, not a segmenter"),
        ({"model": None}, "holds a NoneType, not a segmenter"),
        ({"format_version": True}, "model file format True"),
        ({"summary": [1, 2]}, "'summary' entry has type list"),
    ],
)
def test_damaged_model_files(data, model_path, tmp_path, capsys, changes, message):
    import joblib

    payload = joblib.load(model_path)
    payload.update(changes)
    joblib.dump(payload, tmp_path / "bad.joblib")
    for command, argv in (
        ("info", ["info", tmp_path / "bad.joblib"]),
        ("predict", ["predict", tmp_path / "bad.joblib", data / "img", "-o", tmp_path]),
    ):
        code, _, err = _run(capsys, argv)
        _error(code, err, command, message)


@pytest.mark.parametrize(
    "setting, message",
    [
        ("regionclassifier=passthrough", "would replace a step"),
        ("superpixels=None", "would replace a step"),
        ("memory='cache'", "--set memory=... would replace a step or set the pipe"),
        ("superpixels__n_segments='many'", "'n_segments' parameter of Superpixels"),
        ("regionclassifier__estimator=passthrough", "'estimator' parameter of Region"),
        (
            "regionclassifier__refiner__region_weight=-3",
            "'region_weight' parameter of PixelRefiner",
        ),
        ("superpixel__n_segments=9", "Did you mean superpixels__n_segments"),
    ],
)
def test_settings_are_checked_before_reading(tmp_path, capsys, setting, message):
    img, lab = _broken(tmp_path, "unreadable image")  # reading would fail
    code, _, err = _run(
        capsys,
        ["fit", img, "--labels", lab, "-o", tmp_path / "m"] + FAST + ["--set", setting],
    )
    _error(code, err, "fit", message)


def test_fit_output_is_checked_before_reading(tmp_path, capsys):
    img, lab = _broken(tmp_path, "unreadable image")
    for out, message in (
        (tmp_path / "none" / "m.joblib", "does not exist"),
        (tmp_path / "img", "is a folder"),
    ):
        code, _, err = _run(capsys, ["fit", img, "--labels", lab, "-o", out] + FAST)
        _error(code, err, "fit", message)


def test_pixel_limit(data, model_path, tmp_path, capsys, monkeypatch):
    data = _copy_data(data, tmp_path / "data")
    bomb = data / "img" / "e.png"
    write_image(bomb, np.zeros((1, 1), np.uint8))
    raw = bytearray(bomb.read_bytes())
    raw[16:24] = struct.pack(">II", 20000, 20000)
    raw[29:33] = struct.pack(">I", zlib.crc32(bytes(raw[12:29])))
    bomb.write_bytes(bytes(raw))
    code, _, err = _run(
        capsys,
        ["fit", data / "img", "--labels", data / "lab", "-o", tmp_path / "m"] + FAST,
    )
    _error(code, err, "fit", "e.png: declares", "SEMISEG_MAX_IMAGE_PIXELS")
    monkeypatch.setenv("SEMISEG_MAX_IMAGE_PIXELS", "1000")
    code, _, err = _run(
        capsys, ["predict", model_path, data / "img" / "a.png", "-o", tmp_path / "p"]
    )
    _error(code, err, "predict", "a.png: declares 32 x 32 pixels", "limit of 1,000")


def test_errors_name_the_file_not_an_index(data, model_path, tmp_path, capsys):
    data = _copy_data(data, tmp_path / "data")
    tifffile.imwrite(data / "img" / "e.tif", np.full((32, 32), np.nan, np.float32))
    fit = ["fit", data / "img", "--labels", data / "lab", "-o", tmp_path / "m"] + FAST
    code, _, err = _run(capsys, fit)
    _error(code, err, "fit", "e.tif contains NaN")
    # Images 0..9: the tenth is the second of the second batch of 8.
    many = tmp_path / "many"
    many.mkdir()
    for i in range(10):
        shutil.copy(data / "img" / "a.png", many / f"i{i}.png")
    write_image(many / "i9.png", np.zeros((4, 4), np.uint8))  # 16 < 20 segments
    code, _, err = _run(
        capsys, ["predict", model_path, many / "i9.png", "-o", tmp_path / "p"]
    )
    _error(code, err, "predict", "i9.png (shape (4, 4))")
    assert "X[" not in err
    # A bool TIFF is an image, as a 1-bit PNG is.
    tifffile.imwrite(tmp_path / "b.tif", np.eye(32, dtype=bool))
    code, _, err = _run(
        capsys, ["predict", model_path, tmp_path / "b.tif", "-o", tmp_path / "q"]
    )
    assert code == 0, err


def test_predict_checks_every_input_before_writing(data, model_path, tmp_path, capsys):
    many = tmp_path / "many"
    many.mkdir()
    for i in range(10):
        shutil.copy(data / "img" / "a.png", many / f"i{i}.png")
    good = (many / "i9.png").read_bytes()
    (many / "i9.png").write_bytes(good[: len(good) // 2])  # truncated
    out = tmp_path / "pred"
    code, _, err = _run(capsys, ["predict", model_path, many, "-o", out])
    _error(code, err, "predict", "i9.png: cannot read it as an image")
    assert not out.exists() or os.listdir(out) == []
    code, _, err = _run(
        capsys, ["predict", model_path, many, "-o", out, "--skip-errors"]
    )
    assert code == 0, err
    assert "warning: skipped" in err and "i9.png" in err
    assert sorted(os.listdir(out)) == [f"i{i}_labels.png" for i in range(9)]


def test_skip_errors_leaves_out_images_the_model_cannot_take(
    data, model_path, tmp_path, capsys
):
    folder = tmp_path / "img"
    folder.mkdir()
    for name in "abc":
        shutil.copy(data / "img" / "a.png", folder / f"{name}.png")
    write_image(folder / "b.png", np.zeros((4, 4), np.uint8))  # 16 < 20 segments
    out = tmp_path / "pred"
    code, _, err = _run(capsys, ["predict", model_path, folder, "-o", out])
    _error(code, err, "predict", "b.png (shape (4, 4))")
    assert os.listdir(out) == []  # predicted together: nothing written yet
    code, _, err = _run(
        capsys, ["predict", model_path, folder, "-o", out, "--skip-errors"]
    )
    assert code == 0 and "warning: skipped" in err and "b.png" in err, err
    assert sorted(os.listdir(out)) == ["a_labels.png", "c_labels.png"]


def test_another_writer_in_the_output_folder_is_detected(
    data, model_path, tmp_path, capsys, monkeypatch
):
    import semiseg_sk.pipeline

    out = tmp_path / "pred"
    original = semiseg_sk.pipeline.predict_outputs

    def racing(*args, **kwargs):
        (out / "b_labels.png").write_bytes(b"theirs")  # another run, meanwhile
        return original(*args, **kwargs)

    monkeypatch.setattr(semiseg_sk.pipeline, "predict_outputs", racing)
    code, _, err = _run(capsys, ["predict", model_path, data / "img", "-o", out])
    _error(code, err, "predict", "b_labels.png exists; refusing", "another run")
    assert (out / "b_labels.png").read_bytes() == b"theirs"
    assert _leftovers(out) == []


def test_fit_refuses_label_values_above_16_bits(data, tmp_path, capsys):
    data = _copy_data(data, tmp_path / "data")
    (data / "lab" / "a.png").unlink()
    labels = np.zeros((32, 32), np.uint32)
    labels[2:5, 2:9], labels[20:25, 20:28] = 1, 70000
    tifffile.imwrite(data / "lab" / "a.tif", labels)
    code, _, err = _run(
        capsys,
        ["fit", data / "img", "--labels", data / "lab", "-o", tmp_path / "m"] + FAST,
    )
    _error(code, err, "fit", "a.tif: holds label value 70000; expected at most 65535")


def test_fit_counts_a_symlinked_image_once(data, tmp_path, capsys):
    data = _copy_data(data, tmp_path / "data")
    (data / "img" / "e.png").symlink_to(data / "img" / "a.png")
    (data / "img" / "loop").symlink_to(data / "img")
    out = tmp_path / "m.joblib"
    code, _, err = _run(
        capsys,
        ["fit", str(data / "img" / "**" / "*.png"), "--labels", data / "lab", "-o", out]
        + FAST,
    )
    assert code == 0, err
    assert load_model(out, return_info=True)[1]["summary"]["n_images"] == 4
