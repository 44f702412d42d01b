# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Pictures of segmentations: overlays of masks and region boundaries.

:func:`overlay` needs only scikit-image; the figure helpers need matplotlib
(``pip install 'semiseg_sk[plot]'``).
"""

import os
import tempfile

import numpy as np
from skimage.color import gray2rgb, label2rgb
from skimage.segmentation import mark_boundaries

from .utils._image import as_float_image

__all__ = ["overlay", "plot_segmentation_panel", "save_figure"]

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


def _display_rgb(image):
    """Image as RGB floats in [0, 1] for display."""
    image = as_float_image(np.asarray(image))
    if image.ndim == 3 and image.shape[2] != 3:
        image = image[..., :3] if image.shape[2] > 3 else image.mean(axis=2)
    lo, hi = float(image.min()), float(image.max())
    if lo < 0 or hi > 1:
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
    rgb = _display_rgb(image)
    mask = np.asarray(mask)
    if mask.shape != rgb.shape[:2]:
        raise ValueError(
            f"mask has shape {mask.shape} but image has shape {rgb.shape[:2]}."
        )
    colored = label2rgb(
        mask + 1,
        image=rgb,
        colors=CLASS_COLORS,
        alpha=alpha,
        bg_label=0,
        bg_color=None,
        image_alpha=1.0,
        kind="overlay",
    )
    if segments is not None:
        # Half-transparent boundaries keep the texture underneath visible.
        lines = mark_boundaries(colored, segments, color=boundary_color)
        colored = 0.5 * colored + 0.5 * lines
    return np.clip(colored, 0.0, 1.0)


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

    panels = [("image", _display_rgb(image))]
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
    path = os.fspath(path)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} exists; refusing to overwrite it.")
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            fig.savefig(handle, format="png", dpi=dpi)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
