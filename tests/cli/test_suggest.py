"""``semiseg suggest``: pictures and listings of the regions to label next."""

import csv
import json

import numpy as np
import pytest

from semiseg_sk.cli import main
from semiseg_sk.guidance import suggest_regions
from semiseg_sk.io import load_model, read_image, read_labels

from .test_cli import FAST, _error, _hashes, _leftovers, _make_data


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return _make_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def model_path(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.joblib"
    argv = ["fit", str(data / "img"), "--labels", str(data / "lab"), "-o", str(path)]
    assert main(argv + FAST) == 0
    return path


def _run(capsys, argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_suggest_writes_pictures_and_listings(data, model_path, tmp_path, capsys):
    before = _hashes(data, model_path.parent)
    out = tmp_path / "next"
    code, _, err = _run(
        capsys, ["suggest", model_path, data / "img", "-n", 3, "--out", out]
    )
    assert code == 0, err
    assert "wrote 3 suggestions" in err
    rows = json.loads((out / "suggestions.json").read_text())
    assert [r["rank"] for r in rows] == [1, 2, 3]
    with open(out / "suggestions.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [int(r["rank"]) for r in table] == [1, 2, 3]
    assert [r["image"] for r in table] == [r["image"] for r in rows]
    stems = set()
    for row in rows:
        image = read_image(row["image"])
        assert row["image"].startswith(str(data / "img"))
        assert 0 <= row["bbox_min_row"] <= row["point_row"] < row["bbox_max_row"]
        assert 0 <= row["bbox_min_col"] <= row["point_col"] < row["bbox_max_col"]
        assert row["bbox_max_row"] <= image.shape[0]
        assert row["area"] > 0 and row["score"] >= 0
        stems.add(row["image"].rsplit("/", 1)[-1].rsplit(".", 1)[0])
    pictures = sorted(p.name for p in out.glob("*_suggestions.png"))
    assert pictures == sorted(f"{s}_suggestions.png" for s in stems)
    assert read_image(out / pictures[0]).ndim == 3
    assert _hashes(data, model_path.parent) == before
    assert _leftovers(out) == []


def test_suggest_matches_the_library_and_is_deterministic(
    data, model_path, tmp_path, capsys
):
    paths = sorted((data / "img").glob("*.png"))
    runs = []
    for name in ("a", "b"):
        code, _, err = _run(
            capsys,
            ["suggest", model_path, *paths, "-n", 4, "-o", tmp_path / name]
            + ["--labels", data / "lab", "-q"],
        )
        assert code == 0, err
        runs.append(json.loads((tmp_path / name / "suggestions.json").read_text()))
    assert runs[0] == runs[1]
    model = load_model(model_path)
    images = [read_image(p) for p in paths]
    labels = []
    for path, image in zip(paths, images):
        found = [f for f in (data / "lab").glob(path.stem + "*.png")]
        labels.append(
            read_labels(found[0], shape=image.shape)
            if found
            else np.full(image.shape, -1)
        )
    expected = suggest_regions(model, images, 4, labels=labels, random_state=0)
    names = [str(p) for p in paths]
    got = [(names.index(r["image"]), r["region"]) for r in runs[0]]
    assert got == [tuple(i) for i in expected.ids.tolist()]
    # A region holding a labeled pixel is never suggested.
    for (image, region), lab in zip(expected.ids, [labels[i] for i, _ in got]):
        segments = expected.regions[image].segments
        assert not (lab[segments == region] >= 0).any()


def test_suggest_never_overwrites(data, model_path, tmp_path, capsys):
    out = tmp_path / "next"
    argv = ["suggest", model_path, data / "img", "-n", 2, "-o", out, "-q"]
    assert _run(capsys, argv)[0] == 0
    listing = (out / "suggestions.json").read_bytes()
    code, _, err = _run(capsys, argv)
    _error(code, err, "suggest", "exists", "--force")
    assert (out / "suggestions.json").read_bytes() == listing
    # Only the listing left from an earlier run blocks the new one too.
    for picture in out.glob("*_suggestions.png"):
        picture.unlink()
    code, _, err = _run(capsys, argv)
    _error(code, err, "suggest", "suggestions.json exists")
    assert not list(out.glob("*_suggestions.png"))
    code, _, err = _run(capsys, argv + ["--force"])
    assert code == 0, err
    # A folder holding the inputs is refused; inputs are never replaced.
    before = _hashes(data)
    code, _, err = _run(
        capsys, ["suggest", model_path, data / "img", "-o", data / "img"]
    )
    _error(code, err, "suggest", "holds inputs")
    assert _hashes(data) == before


@pytest.mark.parametrize(
    "extra, fragments",
    [
        (["-n", "0"], ["-n 0", ">= 1"]),
        (["--scheduler", "local:1"], ["--scheduler"]),
        (["--labels", "missing-folder"], ["--labels", "no such folder"]),
    ],
)
def test_suggest_errors(data, model_path, tmp_path, capsys, extra, fragments):
    code, _, err = _run(
        capsys,
        ["suggest", model_path, data / "img", "-o", tmp_path / "o"] + extra,
    )
    _error(code, err, "suggest", *fragments)
    assert not (tmp_path / "o").exists()


def test_suggest_refuses_a_model_that_cannot_suggest(data, tmp_path, capsys):
    from sklearn.dummy import DummyClassifier

    from semiseg_sk.io import save_model

    path = tmp_path / "dummy.joblib"
    save_model(DummyClassifier().fit([[0]], [0]), path)
    code, _, err = _run(capsys, ["suggest", path, data / "img", "-o", tmp_path / "o"])
    _error(code, err, "suggest", "cannot suggest regions", "RegionClassifier")
    assert not (tmp_path / "o").exists()
