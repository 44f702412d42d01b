"""Pictures: overlays, panels, uncertainty maps, reconstructions, saving."""

import os
import stat

import numpy as np
import pytest

from semiseg_sk.plotting import (
    overlay,
    plot_reconstructions,
    plot_segmentation_panel,
    plot_uncertainty,
    save_figure,
)

pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402

from semiseg_sk.metrics import uncertainty_map  # noqa: E402


def test_overlay_colours_and_boundaries():
    image = np.zeros((8, 8))
    mask = np.full((8, 8), -1)
    mask[:, :4] = 0
    rgb = overlay(image, mask, alpha=1.0)
    assert rgb.shape == (8, 8, 3) and rgb.min() >= 0 and rgb.max() <= 1
    assert np.all(rgb[:, 4:] == 0)  # unlabeled pixels keep the image
    assert np.all(rgb[:, :4].sum(axis=2) > 0)
    segments = np.zeros((8, 8), dtype=int)
    segments[4:] = 1
    lined = overlay(image, mask, segments=segments)
    assert not np.allclose(lined, overlay(image, mask))
    with pytest.raises(ValueError, match="mask has shape"):
        overlay(image, mask[:4])


def test_overlay_stretches_16_bit_images():
    image = np.zeros((4, 4), dtype=np.uint16)
    image[:, 2:] = 1000  # a 10-bit camera in a 16-bit file
    rgb = overlay(image, np.full((4, 4), -1))
    np.testing.assert_allclose(rgb[:, 2:], 1.0)
    np.testing.assert_allclose(rgb[:, :2], 0.0)
    # uint8 images keep their absolute brightness.
    dim = overlay(np.full((4, 4), 64, dtype=np.uint8), np.full((4, 4), -1))
    np.testing.assert_allclose(dim, 64 / 255)


def test_uncertainty_map():
    proba = np.array([[[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0]]])
    np.testing.assert_allclose(uncertainty_map(proba), [[0.0, 2 / 3, 0.5]])
    entropy = uncertainty_map(proba, kind="entropy")
    np.testing.assert_allclose(entropy, [[0.0, 1.0, np.log(2) / np.log(3)]])
    assert uncertainty_map(np.ones((2, 2, 1)), kind="entropy").tolist() == [[0, 0]] * 2
    with pytest.raises(ValueError, match="kind"):
        uncertainty_map(proba, kind="variance")
    with pytest.raises(ValueError, match="n_classes"):
        uncertainty_map(proba[0])


def test_figures(tmp_path):
    rng = np.random.RandomState(0)
    image = rng.rand(16, 16, 3)
    mask = (image[..., 0] > 0.5).astype(int)
    scribbles = np.full((16, 16), -1)
    scribbles[2, 2] = 0
    fig = plot_segmentation_panel(image, scribbles, mask, mask, title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    proba = np.stack([mask, 1 - mask], axis=2).astype(float) * 0.8 + 0.1
    fig = plot_uncertainty(image, proba, kind="entropy", title="u")
    assert isinstance(fig, Figure)
    old = os.umask(0o027)
    try:
        path = save_figure(fig, tmp_path / "u.png")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640  # as the umask says
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(FileExistsError):
        save_figure(fig, path, overwrite=False)
    # Only regular files are replaced: a FIFO (or a device) stays what it is.
    os.mkfifo(tmp_path / "fifo.png")
    with pytest.raises(FileExistsError, match="FIFO"):
        save_figure(fig, tmp_path / "fifo.png")
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo.png").st_mode)
    assert [n for n in os.listdir(tmp_path) if n.startswith(".semiseg-tmp")] == []


def test_plot_reconstructions_from_arrays():
    rng = np.random.RandomState(0)
    patches = [rng.rand(3, 8, 8, 1), rng.rand(4, 8, 8, 1)]
    recon = [p * 0.5 for p in patches]
    fig = plot_reconstructions(patches, recon, n=5)
    assert isinstance(fig, Figure) and len(fig.axes) == 10
    fig = plot_reconstructions(rng.rand(2, 8, 8, 3), rng.rand(2, 8, 8, 3), n=8)
    assert len(fig.axes) == 4
    with pytest.raises(ValueError, match="same shape"):
        plot_reconstructions(rng.rand(2, 8, 8, 1), rng.rand(2, 8, 8, 3))
    with pytest.raises(ValueError, match="empty"):
        plot_reconstructions(np.zeros((0, 8, 8, 1)), np.zeros((0, 8, 8, 1)))


def test_plot_reconstructions_of_autoencoder():
    pytest.importorskip("torch")
    from semiseg_sk import AutoencoderFeatures, Superpixels

    images = [np.random.RandomState(i).rand(24, 24) for i in range(2)]
    regions = Superpixels(n_segments=6).fit_transform(images)
    ae = AutoencoderFeatures(
        latent_dim=2, n_filters=4, max_iter=1, validation_fraction=0, random_state=0
    ).fit(regions)
    fig = plot_reconstructions(*ae.reconstruct(regions), n=3)
    assert len(fig.axes) == 6


def test_overlay_colours_follow_the_class_value():
    from semiseg_sk.plotting import CLASS_COLORS, overlay

    image = np.zeros((2, 2))
    only_two = overlay(image, np.full((2, 2), 2), alpha=1.0)
    mixed = overlay(image, np.array([[0, 1], [2, -1]]), alpha=1.0)
    np.testing.assert_allclose(only_two[0, 0], CLASS_COLORS[2])
    np.testing.assert_allclose(mixed[1, 0], CLASS_COLORS[2])
    np.testing.assert_allclose(mixed[1, 1], 0.0)  # unlabeled keeps the image


def test_orthogonal_slices_layout_aspect_and_colours():
    from semiseg_sk.plotting import CLASS_COLORS, orthogonal_slices

    volume = np.zeros((4, 6, 10), np.uint16)
    volume[2] = 1000
    mask = np.zeros((4, 6, 10), int)
    mask[:, :, 5:] = 1
    rgb = orthogonal_slices(volume, mask, spacing=(3.0, 1.0, 1.0), point=(2, 1, 7))
    # XY 6 x 10; XZ below it with 4 slices 3 pixels deep; YZ to the right.
    assert rgb.shape == (6 + 4 + 12, 10 + 4 + 12, 3)
    assert rgb.min() >= 0 and rgb.max() <= 1
    np.testing.assert_allclose(rgb[6:10], 1.0)  # the gap is white
    # The XY slice goes through z=2 (bright, stretched to 1), class colours on top.
    expected = 0.65 + 0.35 * np.asarray(CLASS_COLORS[1])
    np.testing.assert_allclose(rgb[0, 9], expected)
    # The YZ slice at x=7 is class 1 everywhere.
    np.testing.assert_allclose(rgb[0, 14 + 6], expected)
    segments = np.zeros((4, 6, 10), int)
    segments[:, 3:] = 1
    with_lines = orthogonal_slices(volume, mask, segments=segments)
    assert with_lines.shape == (6 + 4 + 4, 10 + 4 + 4, 3)
    with pytest.raises(ValueError, match="mask has shape"):
        orthogonal_slices(volume, mask[:2])
    with pytest.raises(ValueError, match="point"):
        orthogonal_slices(volume, point=(4, 0, 0))
