"""semiseg predict on worker processes (--n-jobs, --scheduler) and --instances."""

import os
import shutil
import sys

import numpy as np
import pytest
import tifffile

from semiseg_sk.cli import _scheduler, main
from semiseg_sk.cli._scheduler import parse_scheduler
from semiseg_sk.exceptions import CommandError
from semiseg_sk.instances import to_instances
from semiseg_sk.io import read_labels, write_image

from .test_cli import FAST, _error, _leftovers, _make_data, _run


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return _make_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def model_path(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.joblib"
    argv = ["fit", data / "img", "--labels", data / "lab", "-o", path] + FAST
    assert main([str(a) for a in argv + ["--class-names", "left,right"]]) == 0
    return path


def _files(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


# -- --instances --------------------------------------------------------------


def test_predict_instances(data, model_path, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = _run(
        capsys, ["predict", model_path, data / "img", "-o", out, "--instances"]
    )
    assert code == 0, err
    assert sorted(os.listdir(out)) == sorted(
        f"{n}_{kind}" for n in "abcd" for kind in ("instances.tif", "labels.png")
    )
    target = read_labels(out / "a_labels.png")
    objects = tifffile.imread(out / "a_instances.tif")
    assert objects.dtype == np.uint16 and objects.max() >= 1
    # Default: every class but class 1 (the model's class 0), the background.
    np.testing.assert_array_equal(objects, to_instances(target))

    for option, classes in (("1,2", [0, 1]), ("right", [1]), ("left", [0])):
        folder = tmp_path / option.replace(",", "_")
        code, _, err = _run(
            capsys,
            ["predict", model_path, data / "img" / "a.png", "-o", folder]
            + ["--instances", "--instance-classes", option],
        )
        assert code == 0, err
        np.testing.assert_array_equal(
            tifffile.imread(folder / "a_instances.tif"),
            to_instances(target, classes=classes),
        )
    code, _, err = _run(
        capsys,
        ["predict", model_path, data / "img" / "a.png", "-o", tmp_path / "split"]
        + ["--instances", "--split-touching", "--min-distance", "3", "-q"],
    )
    assert code == 0, err
    np.testing.assert_array_equal(
        tifffile.imread(tmp_path / "split" / "a_instances.tif"),
        to_instances(target, split_touching=True, min_distance=3),
    )
    # Instance files are outputs, never taken as images.
    shutil.copy(data / "img" / "a.png", out / "a.png")
    code, _, err = _run(
        capsys, ["predict", model_path, out, "-o", tmp_path / "again", "-q"]
    )
    assert code == 0, err
    assert os.listdir(tmp_path / "again") == ["a_labels.png"]


@pytest.mark.parametrize(
    "options, message",
    [
        (["--split-touching"], "--split-touching needs --instances"),
        (["--instance-classes", "2"], "--instance-classes needs --instances"),
        (["--instances", "--instance-classes", "3"], "the model has classes 1, 2"),
        (["--instances", "--instance-classes", "up"], "class names left, right"),
        (["--instances", "--min-distance", "0"], "--min-distance 0: expected"),
    ],
)
def test_instance_options_are_checked_first(
    data, model_path, tmp_path, capsys, options, message
):
    out = tmp_path / "out"
    code, _, err = _run(
        capsys, ["predict", model_path, data / "img", "-o", out] + options
    )
    _error(code, err, "predict", message)
    assert not out.exists()


# -- --n-jobs: one image per task in worker processes ---------------------------


def test_predict_n_jobs_writes_the_sequential_outputs(
    data, model_path, tmp_path, capsys
):
    outputs = ["--proba", "--overlay", "--instances", "-q"]
    here, there = tmp_path / "here", tmp_path / "there"
    code, _, err = _run(
        capsys, ["predict", model_path, data / "img", "-o", here] + outputs
    )
    assert code == 0, err
    code, _, err = _run(
        capsys,
        ["predict", model_path, data / "img", "-o", there, "--n-jobs", "2"] + outputs,
    )
    assert code == 0, err
    assert len(_files(here)) == 20 and _files(there) == _files(here)
    assert _leftovers(there) == []
    # Existing outputs are refused before any work, as without --n-jobs.
    code, _, err = _run(
        capsys, ["predict", model_path, data / "img", "-o", there, "--n-jobs", "2"]
    )
    _error(code, err, "predict", "a_labels.png exists")


def test_predict_n_jobs_errors_and_skips(data, model_path, tmp_path, capsys):
    folder = tmp_path / "img"
    folder.mkdir()
    for name in "abc":
        shutil.copy(data / "img" / "a.png", folder / f"{name}.png")
    good = (folder / "c.png").read_bytes()
    (folder / "c.png").write_bytes(good[: len(good) // 2])  # truncated
    jobs = ["--n-jobs", "2"]
    out = tmp_path / "out"
    code, _, err = _run(capsys, ["predict", model_path, folder, "-o", out] + jobs)
    _error(code, err, "predict", "c.png: cannot read it as an image")
    assert not out.exists() or os.listdir(out) == []  # checked before writing
    (folder / "c.png").write_bytes(good)
    write_image(folder / "b.png", np.zeros((4, 4), np.uint8))  # 16 < 20 segments
    code, _, err = _run(capsys, ["predict", model_path, folder, "-o", out] + jobs)
    _error(code, err, "predict", "b.png (shape (4, 4))")
    code, _, err = _run(
        capsys,
        ["predict", model_path, folder, "-o", out, "--skip-errors", "-f"] + jobs,
    )
    assert code == 0 and "warning: skipped" in err and "b.png" in err, err
    assert "(1 skipped, see the warnings)" in err
    assert sorted(os.listdir(out)) == ["a_labels.png", "c_labels.png"]


# -- --scheduler errors ----------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("local:3", ("local", 3)),
        (" LOCAL:1 ", ("local", 1)),
        ("tcp://10.0.0.5:8786", ("address", "tcp://10.0.0.5:8786")),
        ("10.0.0.5:8786", ("address", "10.0.0.5:8786")),
    ],
)
def test_parse_scheduler(text, expected):
    assert parse_scheduler(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("local:0", "expected local:N with N a whole number"),
        ("local:x", "expected local:N with N a whole number"),
        ("local:-2", "expected local:N with N a whole number"),
        ("local", "say how many worker processes"),
        ("myhost", "expected a scheduler address with a port"),
    ],
)
def test_malformed_scheduler(data, model_path, tmp_path, capsys, text, message):
    with pytest.raises(CommandError, match=message):
        parse_scheduler(text)
    out = tmp_path / "out"
    argv = ["predict", model_path, data / "img", "-o", out, "--scheduler", text]
    code, _, err = _run(capsys, argv)
    _error(code, err, "predict", f"--scheduler {text.strip()}", message)
    assert not out.exists()


def test_scheduler_without_dask_installed(
    data, model_path, tmp_path, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    for command in (
        ["predict", model_path, data / "img", "-o", tmp_path / "out"],
        ["evaluate", model_path, data / "img", "--truth", data / "truth"],
        ["fit", data / "img", "--labels", data / "lab", "-o", tmp_path / "m"] + FAST,
    ):
        code, _, err = _run(capsys, command + ["--scheduler", "local:2"])
        _error(code, err, command[0], "needs dask.distributed", "semiseg_sk[dask]")
    assert not (tmp_path / "out").exists() and not (tmp_path / "m").exists()


def test_unreachable_scheduler(data, model_path, tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(_scheduler, "CONNECT_TIMEOUT", 1)
    out = tmp_path / "out"
    argv = ["predict", model_path, data / "img", "-o", out]
    code, _, err = _run(capsys, argv + ["--scheduler", "tcp://127.0.0.1:9"])
    _error(code, err, "predict", "--scheduler tcp://127.0.0.1:9: cannot reach")
    assert not out.exists()


def test_n_jobs_and_scheduler_together_are_refused(data, model_path, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["predict", model_path, data / "img", "-o", out]
    code, _, err = _run(capsys, argv + ["--scheduler", "local:2", "--n-jobs", "2"])
    _error(code, err, "predict", "give --n-jobs or --scheduler, not both")
    assert not out.exists()
