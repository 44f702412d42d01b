# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Pictures of segmentations: overlays of masks and region boundaries.

:func:`overlay` needs only scikit-image; the figure helpers need matplotlib
(``pip install 'semiseg_sk[plot]'``).
"""

import os

import numpy as np
from skimage.color import gray2rgb
from skimage.segmentation import mark_boundaries

from .io._atomic import atomic_path
from .metrics import uncertainty_map
from .utils._image import as_float_image

__all__ = [
    "display_rgb",
    "orthogonal_slices",
    "overlay",
    "plot_reconstructions",
    "plot_segmentation_panel",
    "plot_uncertainty",
    "save_figure",
]

# Colour-blind friendly qualitative colours (Okabe & Ito).
CLASS_COLORS = (
    (0.90, 0.62, 0.00),
    (0.34, 0.71, 0.91),
    (0.00, 0.62, 0.45),
    (0.94, 0.89, 0.26),
    (0.00, 0.45, 0.70),
    (0.84, 0.37, 0.00),
    (0.80, 0.47, 0.65),
    (0.60, 0.60, 0.60),
)


def display_rgb(image):
    """Image as RGB floats in [0, 1] for display.

    Integer images other than uint8 (16-bit microscopy often uses a fraction
    of the range) are stretched to their own minimum and maximum.
    """
    image = np.asarray(image)
    stretch = np.issubdtype(image.dtype, np.integer) and image.dtype != np.uint8
    image = as_float_image(image)
    if image.ndim == 3 and image.shape[2] != 3:
        image = image[..., :3] if image.shape[2] > 3 else image.mean(axis=2)
    lo, hi = float(image.min()), float(image.max())
    if stretch or lo < 0 or hi > 1:
        image = (image - lo) / (hi - lo or 1.0)
    return gray2rgb(image) if image.ndim == 2 else image


def overlay(image, mask, *, segments=None, alpha=0.35, boundary_color=(1, 1, 0)):
    """Colour a label mask over an image, optionally with region boundaries.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
        The image.
    mask : ndarray of shape (H, W) of int
        Class of each pixel; -1 (unlabeled) pixels stay uncoloured.
    segments : ndarray of shape (H, W) of int, default=None
        Region map whose boundaries are drawn.
    alpha : float, default=0.35
        Opacity of the class colours.
    boundary_color : tuple of 3 float, default=(1, 1, 0)
        RGB colour of the boundaries.

    Returns
    -------
    rgb : ndarray of shape (H, W, 3)
        Float RGB picture in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk.plotting import overlay
    >>> overlay(np.zeros((4, 4)), np.array([[0, 1, -1, 1]] * 4)).shape
    (4, 4, 3)
    """
    rgb = display_rgb(image)
    mask = np.asarray(mask)
    if mask.shape != rgb.shape[:2]:
        raise ValueError(
            f"mask has shape {mask.shape} but image has shape {rgb.shape[:2]}."
        )
    # Class k always gets CLASS_COLORS[k] (skimage's label2rgb colours by
    # rank among the labels present, so colours would change between images).
    colored = rgb.astype(np.float64, copy=True)
    labeled = mask >= 0
    palette = np.asarray(CLASS_COLORS)
    colors = palette[mask[labeled].astype(np.intp) % len(palette)]
    colored[labeled] = (1 - alpha) * colored[labeled] + alpha * colors
    if segments is not None:
        # Half-transparent boundaries keep the texture underneath visible.
        lines = mark_boundaries(colored, segments, color=boundary_color)
        colored = 0.5 * colored + 0.5 * lines
    return np.clip(colored, 0.0, 1.0)


def _volume_rgb(volume):
    """A (Z, Y, X[, C]) volume as RGB floats in [0, 1], stretched as a whole."""
    volume = np.asarray(volume)
    stretch = np.issubdtype(volume.dtype, np.integer) and volume.dtype != np.uint8
    volume = as_float_image(volume)
    if volume.ndim == 4:
        volume = volume[..., :3] if volume.shape[3] >= 3 else volume.mean(axis=3)
    lo, hi = float(volume.min()), float(volume.max())
    if stretch or lo < 0 or hi > 1:
        volume = (volume - lo) / (hi - lo or 1.0)
    return volume if volume.ndim == 4 else np.repeat(volume[..., None], 3, axis=3)


def _stretch(n, size):
    """Indices that show ``n`` samples of physical ``size`` each, nearest."""
    n_out = max(1, int(round(n * size)))
    return np.minimum((np.arange(n_out) + 0.5) * n / n_out, n - 1).astype(np.intp)


def orthogonal_slices(
    volume, mask=None, *, segments=None, spacing=None, point=None, alpha=0.35, gap=4
):
    """Three orthogonal slices of a volume through a point, in one picture.

    The XY slice sits top left, the XZ slice below it and the YZ slice to
    its right, as in Fiji's orthogonal views; each slice shows the mask's
    class colours and the region boundaries as :func:`overlay` does. With
    ``spacing``, the slices are stretched (nearest voxel) so that one unit
    of length is as long along every axis.

    Parameters
    ----------
    volume : ndarray of shape (Z, Y, X) or (Z, Y, X, C)
        The volume; integer volumes other than uint8 are stretched to their
        own range, as are float volumes outside [0, 1].
    mask : ndarray of shape (Z, Y, X) of int, default=None
        Class of each voxel, -1 for none.
    segments : ndarray of shape (Z, Y, X) of int, default=None
        Supervoxel map whose boundaries are drawn.
    spacing : tuple of 3 float, default=None
        Voxel size ``(dz, dy, dx)``; None means cubic voxels.
    point : tuple of 3 int, default=None
        ``(z, y, x)`` the slices go through; None is the centre.
    alpha : float, default=0.35
        Opacity of the class colours.
    gap : int, default=4
        White pixels between the slices.

    Returns
    -------
    rgb : ndarray of shape (H, W, 3)
        Float RGB picture in [0, 1]; :func:`semiseg_sk.io.write_image`
        saves it as PNG.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk.plotting import orthogonal_slices
    >>> volume = np.zeros((4, 8, 10))
    >>> orthogonal_slices(volume, spacing=(2.0, 1.0, 1.0)).shape
    (20, 22, 3)
    """
    rgb = _volume_rgb(volume)
    shape = rgb.shape[:3]
    for name, array in (("mask", mask), ("segments", segments)):
        if array is not None and np.shape(array) != shape:
            raise ValueError(
                f"{name} has shape {np.shape(array)} but volume has shape "
                f"{shape} (Z, Y, X); expected the same."
            )
    if point is None:
        point = tuple(n // 2 for n in shape)
    if len(point) != 3 or not all(0 <= p < n for p, n in zip(point, shape)):
        raise ValueError(
            f"point={tuple(point)}; expected (z, y, x) inside the volume of "
            f"shape {shape}."
        )
    dz, dy, dx = (1.0, 1.0, 1.0) if spacing is None else map(float, spacing)
    # Pixel sizes relative to x: the smallest axis stays one voxel a pixel.
    unit = min(dz, dy, dx)
    rows = [_stretch(n, d / unit) for n, d in zip(shape, (dz, dy, dx))]

    def panel(index, axes):
        # ``index`` picks one slice, ``axes`` (rows, columns) the stretch.
        picture = overlay(
            rgb[index],
            np.full(rgb[index].shape[:2], -1) if mask is None else mask[index],
            segments=None if segments is None else segments[index],
            alpha=alpha,
        )
        return picture[rows[axes[0]]][:, rows[axes[1]]]

    z, y, x = point
    xy = panel(np.s_[z], (1, 2))
    xz = panel(np.s_[:, y], (0, 2))
    yz = panel(np.s_[:, :, x], (0, 1)).transpose(1, 0, 2)
    height = xy.shape[0] + gap + xz.shape[0]
    width = xy.shape[1] + gap + yz.shape[1]
    out = np.ones((height, width, 3))
    out[: xy.shape[0], : xy.shape[1]] = xy
    out[xy.shape[0] + gap :, : xz.shape[1]] = xz
    out[: yz.shape[0], xy.shape[1] + gap :] = yz
    return out


def plot_segmentation_panel(
    image, scribbles, prediction, truth=None, *, segments=None, title=None
):
    """A row of pictures: image, scribbles, prediction and, if given, truth.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
        The image.
    scribbles : ndarray of shape (H, W) of int or None
        Training labels (-1 = unlabeled), drawn over the image.
    prediction : ndarray of shape (H, W) of int
        Predicted mask, drawn with the region boundaries when ``segments``
        is given.
    truth : ndarray of shape (H, W) of int, default=None
        True mask.
    segments : ndarray of shape (H, W) of int, default=None
        Region map whose boundaries are drawn on the prediction.
    title : str, default=None
        Figure title.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    panels = [("image", display_rgb(image))]
    if scribbles is not None:
        panels.append(("scribbles", overlay(image, scribbles, alpha=0.9)))
    panels.append(("prediction", overlay(image, prediction, segments=segments)))
    if truth is not None:
        panels.append(("truth", overlay(image, truth)))
    fig = Figure(figsize=(3 * len(panels), 3.2), layout="constrained")
    for ax, (name, picture) in zip(fig.subplots(1, len(panels)), panels):
        ax.imshow(picture)
        ax.set_title(name)
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    return fig


def save_figure(fig, path, *, overwrite=True, dpi=100):
    """Write a figure as PNG atomically (temporary file, then rename).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : str or path-like
        Destination file.
    overwrite : bool, default=True
        If False, refuse to replace an existing file.
    dpi : int, default=100
        Resolution.

    Returns
    -------
    path : str
        The written path.
    """
    with atomic_path(path, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as handle:
            fig.savefig(handle, format="png", dpi=dpi)
    return os.fspath(path)


def plot_uncertainty(image, proba, *, kind="margin", prediction=None, title=None):
    """Pictures of a prediction's uncertainty: image, prediction, uncertainty.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
        The image.
    proba : ndarray of shape (H, W, n_classes)
        Class probabilities of the pixels, e.g. one item of ``predict_proba``.
    kind : {"margin", "entropy"}, default="margin"
        See :func:`uncertainty_map`.
    prediction : ndarray of shape (H, W) of int, default=None
        Predicted mask to show; None shows ``proba.argmax(axis=2)``.
    title : str, default=None
        Figure title.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    uncertainty = uncertainty_map(proba, kind=kind)
    if prediction is None:
        prediction = np.asarray(proba).argmax(axis=2)
    fig = Figure(figsize=(9.6, 3.2), layout="constrained")
    axes = fig.subplots(1, 3)
    axes[0].imshow(display_rgb(image))
    axes[0].set_title("image")
    axes[1].imshow(overlay(image, prediction))
    axes[1].set_title("prediction")
    shown = axes[2].imshow(uncertainty, cmap="magma", vmin=0.0, vmax=1.0)
    axes[2].set_title("uncertainty" if kind == "margin" else "entropy")
    fig.colorbar(shown, ax=axes[2], shrink=0.8)
    for ax in axes:
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    return fig


def plot_reconstructions(patches, reconstructions, *, n=8, random_state=0):
    """Region patches above their autoencoder reconstructions.

    Parameters
    ----------
    patches : ndarray of shape (n_regions, P, P, C) or list of them
        Region patches, e.g. the first output of
        ``AutoencoderFeatures.reconstruct(X)``; lists are concatenated.
    reconstructions : ndarray or list, same shapes as ``patches``
        The reconstructions, the second output of ``reconstruct``.
    n : int, default=8
        Number of patches shown, drawn at random.
    random_state : int, RandomState instance or None, default=0
        Which patches are drawn.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Two rows: originals on top, reconstructions below, each pair
        scaled to the original's range.
    """
    from matplotlib.figure import Figure
    from sklearn.utils import check_random_state

    if isinstance(patches, (list, tuple)):
        patches = np.concatenate(list(patches))
    if isinstance(reconstructions, (list, tuple)):
        reconstructions = np.concatenate(list(reconstructions))
    patches, reconstructions = np.asarray(patches), np.asarray(reconstructions)
    if patches.shape != reconstructions.shape or patches.ndim != 4:
        raise ValueError(
            f"patches {patches.shape} and reconstructions {reconstructions.shape} "
            f"must have the same shape (n_regions, P, P, C)."
        )
    if len(patches) == 0:
        raise ValueError("patches is empty; nothing to show.")
    rng = check_random_state(random_state)
    n = min(n, len(patches))
    chosen = np.sort(rng.choice(len(patches), size=n, replace=False))
    fig = Figure(figsize=(1.2 * n + 0.4, 2.8), layout="constrained")
    axes = np.asarray(fig.subplots(2, n, squeeze=False))
    for col, index in enumerate(chosen):
        original, recon = patches[index], reconstructions[index]
        lo, hi = float(original.min()), float(original.max())
        for row, picture in enumerate((original, recon)):
            picture = (picture - lo) / (hi - lo or 1.0)
            picture = np.clip(picture, 0.0, 1.0)
            if picture.shape[2] == 1:
                picture = picture[..., 0]
            elif picture.shape[2] != 3:
                picture = picture.mean(axis=2)
            ax = axes[row, col]
            ax.imshow(
                picture, cmap="gray" if picture.ndim == 2 else None, vmin=0.0, vmax=1.0
            )
            ax.set_axis_off()
        axes[0, col].set_title(f"region {index}", fontsize=8)
    axes[0, 0].text(
        -0.1,
        0.5,
        "patch",
        rotation=90,
        ha="right",
        va="center",
        transform=axes[0, 0].transAxes,
    )
    axes[1, 0].text(
        -0.1,
        0.5,
        "decoded",
        rotation=90,
        ha="right",
        va="center",
        transform=axes[1, 0].transAxes,
    )
    return fig
