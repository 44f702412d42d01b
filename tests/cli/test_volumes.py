"""The command line on TIFF stacks and with --channels: fit, predict, evaluate, info."""

import json

import numpy as np
import pytest
import tifffile

from semiseg_sk.cli import main
from semiseg_sk.io import (
    load_model,
    read_image,
    read_volume,
    write_image,
    write_mask,
    write_volume,
    write_volume_mask,
)

FAST = ["--set", "superpixels__n_segments=8", "--quiet"]
SPACING = (2.0, 0.5, 0.5)


def _run(capsys, argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _volume(seed=0):
    """(8, 24, 24, 2) uint8: the halves differ in channel 1 only."""
    rng = np.random.RandomState(seed)
    volume = (rng.rand(8, 24, 24, 2) * 60).astype(np.uint8)
    volume[:, :, 12:, 1] += 150
    truth = np.zeros((8, 24, 24), int)
    truth[:, :, 12:] = 1
    return volume, truth


@pytest.fixture(scope="module")
def stacks(tmp_path_factory):
    root = tmp_path_factory.mktemp("stacks")
    for folder in ("img", "lab", "truth"):
        (root / folder).mkdir()
    volume, truth = _volume()
    write_volume(root / "img" / "a.tif", volume, spacing=SPACING)
    scribbles = np.full(truth.shape, -1)
    scribbles[4, 4:8, 2:6] = 0
    scribbles[4, 4:8, 18:22] = 1
    write_volume_mask(root / "lab" / "a.tif", scribbles, spacing=SPACING)
    write_volume_mask(root / "truth" / "a.tif", truth, spacing=SPACING)
    return root


@pytest.fixture(scope="module")
def volume_model(stacks):
    out = stacks / "m.joblib"
    code = main(
        [str(a) for a in ["fit", stacks / "img", "--labels", stacks / "lab"]]
        + ["-o", str(out), "--channels", "1"]
        + FAST
    )
    assert code == 0
    return out


def test_fit_reads_the_stack_axes_and_spacing(volume_model, capsys):
    model = load_model(volume_model)
    assert tuple(model.named_steps["superpixels"].spacing) == SPACING
    assert model.named_steps["regionstats"].channels_ == (1,)
    code, out, _ = _run(capsys, ["info", volume_model])
    assert code == 0
    assert "channels:    1 of 2  (every step)" in out
    assert "spacing: (2.0, 0.5, 0.5)" in out
    code, out, _ = _run(capsys, ["info", volume_model, "--json"])
    assert json.loads(out)["channels"]["superpixels"] == "1 of 2"


def test_predict_writes_stacks_with_the_spacing(stacks, volume_model, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["predict", volume_model, stacks / "img", "-o", out, "--quiet"]
    code, _, err = _run(capsys, argv + ["--proba", "--overlay"])
    assert code == 0, err
    mask, spacing = read_volume(out / "a_labels.tif")
    assert spacing == SPACING and mask.shape == (8, 24, 24)
    np.testing.assert_array_equal(mask, _volume()[1] + 1)
    assert np.load(out / "a_proba.npy").shape == (8, 24, 24, 2)
    assert read_volume(out / "a_uncertainty.tif")[0].shape == (8, 24, 24)
    picture = read_image(out / "a_overlay.png")
    # XY (24 x 24) over XZ (8 slices of 2 / 0.5 = 4 pixels) and YZ, 4-pixel gaps.
    assert picture.shape == (24 + 4 + 32, 24 + 4 + 32, 3)
    before = (out / "a_labels.tif").read_bytes()
    code, _, err = _run(capsys, argv)
    assert code == 1 and "exists" in err
    assert (out / "a_labels.tif").read_bytes() == before
    code, _, err = _run(capsys, argv + ["--instances"])
    assert code == 1 and "volumes" in err


def test_evaluate_scores_the_volume(stacks, volume_model, capsys):
    argv = ["evaluate", volume_model, stacks / "img", "--truth", stacks / "truth"]
    code, out, _ = _run(capsys, argv + ["--json", "--quiet"])
    assert code == 0
    assert json.loads(out)["pooled"]["miou"] == 1.0


def test_spacing_option_and_conflicting_spacings(stacks, tmp_path, capsys):
    img = tmp_path / "img"
    img.mkdir()
    volume, _ = _volume()
    write_volume(img / "a.tif", volume, spacing=SPACING)
    write_volume(img / "b.tif", volume, spacing=(1.0, 0.5, 0.5))
    out = tmp_path / "m.joblib"
    argv = ["fit", img, "--labels", stacks / "lab", "-o", out] + FAST
    code, _, err = _run(capsys, argv)
    assert code == 1 and "different voxel spacings" in err and not out.exists()
    code, _, err = _run(capsys, argv + ["--spacing", "3,1,1"])
    assert code == 0, err
    assert tuple(load_model(out).named_steps["superpixels"].spacing) == (3, 1, 1)
    with pytest.raises(SystemExit) as exc:
        _run(capsys, ["fit", img, "--labels", img, "-o", out, "--spacing", "1,0,1"])
    assert exc.value.code == 2
    assert "three positive numbers" in capsys.readouterr().err


def test_time_series_refused(tmp_path, capsys):
    (tmp_path / "img").mkdir()
    (tmp_path / "lab").mkdir()
    data = np.zeros((2, 5, 8, 8), np.uint8)
    tifffile.imwrite(tmp_path / "img" / "t.tif", data, metadata={"axes": "TZYX"})
    tifffile.imwrite(tmp_path / "lab" / "t.tif", data, metadata={"axes": "TZYX"})
    argv = ["fit", tmp_path / "img", "--labels", tmp_path / "lab"]
    code, _, err = _run(capsys, argv + ["-o", tmp_path / "m.joblib", "--volume"])
    assert code == 1 and "time axis" in err


def test_channels_by_name_on_2d_images(tmp_path, capsys):
    (tmp_path / "img").mkdir()
    (tmp_path / "lab").mkdir()
    volume, truth = _volume()
    image = volume[0]
    write_image(tmp_path / "img" / "a.tif", image)
    labels = np.full(truth[0].shape, -1)
    labels[4:8, 2:6] = 0
    labels[4:8, 18:22] = 1
    write_mask(tmp_path / "lab" / "a.png", labels)
    out = tmp_path / "m.joblib"
    argv = ["fit", tmp_path / "img", "--labels", tmp_path / "lab", "-o", out]
    argv += ["--no-autoencoder"] + FAST
    code, _, err = _run(capsys, argv + ["--channels", "gfp"])
    assert code == 1 and "--channel-names" in err
    code, _, err = _run(capsys, argv + ["--channels", "gfp", "--channel-names", "x"])
    assert code == 1 and "channel_names has 1 name" in err
    names = ["--channel-names", "dapi,gfp"]
    code, _, err = _run(capsys, argv + ["--channels", "gfp"] + names)
    assert code == 0, err
    steps = load_model(out).named_steps
    assert steps["regionstats"].channel_names_ == ("gfp",)
    assert load_model(out)[-1].refiner_.channels_ == (1,)
