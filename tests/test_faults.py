"""Faults around the command line's writes: signals, other writers, the disk.

Real ``python -m semiseg_sk`` processes are killed with SIGTERM or SIGKILL at
random points of their writes (seeded, so a failure can be replayed), then
what they left is checked: no temporary file after SIGTERM, only complete
outputs in every case, and a rerun that ignores what a SIGKILL left and
succeeds. Two writers race into one folder. A read-only folder is one
without write permission, or for root (who ignores permissions) a read-only
tmpfs mount; a full disk is a small tmpfs mount. Mounts need root with
CAP_SYS_ADMIN; where they fail the test is skipped with the reason. The
long variants are marked slow.
"""

import os
import random
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from semiseg_sk.cli import main
from semiseg_sk.datasets import make_scribbles, make_texture_mosaics
from semiseg_sk.io import (
    TEMP_PREFIX,
    find_images,
    load_model,
    read_image,
    read_labels,
    write_image,
    write_mask,
)

FAST = ["--no-autoencoder", "--set", "superpixels__n_segments=20", "--quiet"]
N_IMAGES = 16  # two batches of eight: writes interleave with predictions


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """img/ i00..i15.png (32 x 32), lab/ with two scribbled label images."""
    root = tmp_path_factory.mktemp("faults")
    images, truths = make_texture_mosaics(
        N_IMAGES, size=(32, 32), n_cells=2, random_state=0
    )
    (root / "img").mkdir()
    (root / "lab").mkdir()
    for i, image in enumerate(images):
        write_image(root / "img" / f"i{i:02d}.png", image)
    for i in range(2):
        write_mask(
            root / "lab" / f"i{i:02d}.png",
            make_scribbles(truths[i], stroke_length=8, random_state=i),
        )
    return root


@pytest.fixture(scope="module")
def model(data):
    path = data / "model.joblib"
    argv = ["fit", data / "img", "--labels", data / "lab", "-o", path] + FAST
    assert main([str(a) for a in argv]) == 0
    return path


def _fit_argv(data, out, *extra):
    few = data / "img" / "i0[0-3].png"  # four images: the model file is the point
    return ["fit", few, "--labels", data / "lab", "-o", out, *FAST, *extra]


def _predict_argv(model, data, out, *extra, images="img"):
    return ["predict", model, data / images, "-o", out, "--proba", "-q", *extra]


def _start(argv):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    return subprocess.Popen(
        [sys.executable, "-m", "semiseg_sk", *map(str, argv)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _kill_when_writing(proc, folder, signum, delay, *, temp_only=False):
    """Send ``signum`` ``delay`` s after the first file appears in ``folder``.

    Returns (exit status, standard error). The process may finish first.
    """
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        names = os.listdir(folder) if os.path.isdir(folder) else []
        if any(n.startswith(TEMP_PREFIX) or not temp_only for n in names):
            time.sleep(delay)
            proc.send_signal(signum)
            break
        time.sleep(0.001)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def _leftovers(folder):
    return sorted(n for n in os.listdir(folder) if n.startswith(TEMP_PREFIX))


def _check_outputs(folder):
    """Every output in the folder is complete; return how many images have one."""
    names = [n for n in os.listdir(folder) if not n.startswith(TEMP_PREFIX)]
    for name in names:
        path = Path(folder) / name
        if name.endswith("_labels.png"):
            assert read_labels(path).shape == (32, 32)
        elif name.endswith(".npy"):
            assert np.load(path).shape == (32, 32, 2)
        else:
            assert read_image(path).shape[:2] == (32, 32)
    return sum(n.endswith("_labels.png") for n in names)


def _rerun(argv):
    return main([str(a) for a in argv])


def _killed_runs(argv_of, folder_of, delay_of, *, temp_only=False):
    """Run one process per signal, at once, each killed while writing."""
    signums = (signal.SIGTERM, signal.SIGKILL)
    procs = [_start(argv_of(s)) for s in signums]
    with ThreadPoolExecutor(len(procs)) as pool:
        results = pool.map(
            lambda args: _kill_when_writing(*args, temp_only=temp_only),
            [(p, folder_of(s), s, delay_of(s)) for p, s in zip(procs, signums)],
        )
        results = list(results)
    for signum, (code, err) in zip(signums, results):
        assert code in (0, 128 + signum, -signum), err
        assert "Traceback" not in err, err
        if code == 128 + signum:
            assert err.strip() == f"semiseg: terminated by {signum.name}", err
    return dict(zip(signums, results))


def test_predict_killed_while_writing(data, model, tmp_path):
    rng = random.Random("predict")
    delays = {s: rng.uniform(0, 0.1) for s in (signal.SIGTERM, signal.SIGKILL)}
    outs = {s: tmp_path / s.name for s in delays}
    results = _killed_runs(
        lambda s: _predict_argv(model, data, outs[s]), outs.get, delays.get
    )
    assert results[signal.SIGTERM][0] != 0, "the signal came too late to test"
    assert _leftovers(outs[signal.SIGTERM]) == []
    for out in outs.values():
        _check_outputs(out)
        # The next run ignores what is left and completes every output.
        assert _rerun(_predict_argv(model, data, out, "--force")) == 0
        assert _check_outputs(out) == N_IMAGES
        assert all(TEMP_PREFIX not in p.name for p in find_images(out))


def test_fit_killed_while_saving(data, tmp_path):
    rng = random.Random("fit")
    delays = {s: rng.uniform(0, 0.002) for s in (signal.SIGTERM, signal.SIGKILL)}
    folders = {s: tmp_path / s.name for s in delays}
    for folder in folders.values():
        folder.mkdir()
    results = _killed_runs(
        lambda s: _fit_argv(data, folders[s] / "m.joblib"),
        folders.get,
        delays.get,
        temp_only=True,
    )
    assert _leftovers(folders[signal.SIGTERM]) == []
    for signum, folder in folders.items():
        out = folder / "m.joblib"
        if results[signum][0] == 0:
            load_model(out)
        else:
            assert not out.exists()  # never a partial model file
        assert _rerun(_fit_argv(data, out, "--force")) == 0
        load_model(out)


def test_concurrent_predicts_into_one_new_folder(data, model, tmp_path):
    out = tmp_path / "pred"
    few = os.path.join("img", "i0[0-3].png")
    procs = [_start(_predict_argv(model, data, out, images=few)) for _ in range(2)]
    results = [(p.communicate(timeout=120)[1], p.returncode) for p in procs]
    results = [(code, err) for err, code in results]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    err = next(e for c, e in results if c == 1)
    # Refused up front, or at the first write the other run made first.
    assert "exists" in err and "refusing" in err and err.count("\n") == 1, err
    assert _leftovers(out) == [] and _check_outputs(out) == 4


@pytest.mark.slow  # the same exclusive write as predict's, for the model file
def test_concurrent_fits_into_one_model_file(data, tmp_path):
    out = tmp_path / "m.joblib"
    procs = [_start(_fit_argv(data, out)) for _ in range(2)]
    results = [(p.communicate(timeout=120)[1], p.returncode) for p in procs]
    results = [(code, err) for err, code in results]
    assert sorted(code for code, _ in results) == [0, 1], results
    assert "exists; refusing" in next(e for c, e in results if c == 1)
    assert _leftovers(tmp_path) == []
    load_model(out)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_killed_at_more_random_points(data, model, tmp_path, seed):
    rng = random.Random(seed)
    delays = {s: rng.uniform(0, 1.0) for s in (signal.SIGTERM, signal.SIGKILL)}
    outs = {s: tmp_path / s.name for s in delays}
    _killed_runs(lambda s: _predict_argv(model, data, outs[s]), outs.get, delays.get)
    assert _leftovers(outs[signal.SIGTERM]) == []
    for out in outs.values():
        _check_outputs(out)
        assert _rerun(_predict_argv(model, data, out, "--force")) == 0


# -- read-only folders and full disks ------------------------------------------


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a small tmpfs: ``tmpfs(options)`` returns its folder."""
    mounted = []

    def mount(options):
        folder = tmp_path / f"mnt{len(mounted)}"
        folder.mkdir()
        argv = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)]
        try:
            result = subprocess.run(argv, capture_output=True, text=True)
        except OSError as exc:  # no mount command
            pytest.skip(f"cannot mount a tmpfs here: {exc}")
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=False)


def _read_only_folder(tmp_path, tmpfs):
    """A folder this process cannot write: permission bits, or a read-only mount."""
    if os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir(mode=0o555)
        return folder
    return tmpfs("ro,size=64k")  # root ignores permission bits


def _one_line(capsys, code):
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err, err
    assert TEMP_PREFIX not in err, err
    return err


def test_read_only_output_folder(data, model, tmp_path, tmpfs, capsys):
    folder = _read_only_folder(tmp_path, tmpfs)
    err = _one_line(capsys, _rerun(_fit_argv(data, folder / "m.joblib")))
    assert f"{folder}: cannot write into it" in err
    err = _one_line(capsys, _rerun(_predict_argv(model, data, folder)))
    assert f"{folder}: cannot write into it" in err
    err = _one_line(capsys, _rerun(_predict_argv(model, data, folder / "sub")))
    assert "sub" in err
    assert os.listdir(folder) == []


def test_full_disk(data, model, tmp_path, tmpfs, capsys):
    folder = tmpfs("size=96k")
    err = _one_line(capsys, _rerun(_predict_argv(model, data, folder)))
    assert "No space left on device" in err and "semiseg predict: error: " in err
    assert _leftovers(folder) == []
    written = _check_outputs(folder)  # the complete ones only
    assert 0 < written < N_IMAGES
    # The disk is still full: the model file cannot be written either.
    err = _one_line(capsys, _rerun(_fit_argv(data, folder / "m.joblib")))
    assert "m.joblib: No space left on device" in err
    assert not (folder / "m.joblib").exists() and _leftovers(folder) == []


# -- the user guide ---------------------------------------------------------


def test_file_safety_guarantees_name_tests_that_exist():
    root = Path(__file__).resolve().parents[1]
    text = (root / "docs" / "user_guide" / "command_line.rst").read_text()
    section = text.split("\nFile safety\n")[1].split("\nModel files\n")[0]
    refs = re.findall(r"``(tests/[\w/]+\.py)::(\w+)``", section)
    assert len(refs) >= 20
    for path, name in refs:
        source = (root / path).read_text()
        assert re.search(rf"^def {name}\(", source, re.MULTILINE), f"{path}::{name}"
