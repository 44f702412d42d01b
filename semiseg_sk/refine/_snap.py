# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Edge snapping: move class boundaries onto the strongest image edge nearby.

The pixels near a boundary of the predicted classes are re-assigned by a
marker-controlled watershed on the image's gradient magnitude, so that
boundaries follow the strongest edge nearby and specks narrower than the band
disappear.
"""

import numpy as np
from scipy import ndimage as ndi
from skimage.filters import gaussian, sobel
from skimage.segmentation import find_boundaries, watershed

from ..utils._image import as_float_image

__all__ = ["edge_magnitude", "snap_to_edges"]


def edge_magnitude(image, sigma, relative_spacing=None):
    """Gradient magnitude of the Gaussian-smoothed image, over all channels.

    With ``relative_spacing`` (a volume's voxel size over its smallest side)
    the image is a volume (Z, Y, X[, C]); ``sigma`` and the gradient are in
    units of the smallest voxel side.
    """
    if relative_spacing is not None:
        return _volume_edge_magnitude(image, sigma, relative_spacing)
    smooth = gaussian(
        as_float_image(image), sigma, channel_axis=None if image.ndim == 2 else -1
    )
    if smooth.ndim == 2:
        return sobel(smooth)
    return np.sqrt(sum(sobel(smooth[..., c]) ** 2 for c in range(smooth.shape[-1])))


def _volume_edge_magnitude(image, sigma, relative):
    volume = as_float_image(image)
    volume = volume[..., None] if volume.ndim == 3 else volume
    total = 0.0
    for c in range(volume.shape[3]):
        smooth = ndi.gaussian_filter(volume[..., c], [sigma / r for r in relative])
        for axis, r in enumerate(relative):
            total = total + (sobel(smooth, axis=axis) / r) ** 2
    return np.sqrt(total)


def snap_to_edges(image, proba, width, sigma, relative_spacing=None):
    """Move class boundaries onto the image edges within ``width`` pixels.

    Every pixel closer than ``width`` (Euclidean, in pixels) to a boundary of
    ``proba.argmax(-1)`` is given the probabilities of the pixel whose
    watershed basin it falls in: a marker-controlled watershed on the
    gradient magnitude of the image smoothed with a Gaussian of ``sigma``,
    with every pixel outside that band as its own marker. So boundaries move
    to the strongest edge nearby, the argmax of the result is its own
    segmentation, and specks narrower than ``2 * width`` disappear.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
    proba : ndarray of shape (H, W, n_classes)
    width : float
        Half-width of the band around the boundaries; 0 returns ``proba``.
    sigma : float
        Gaussian smoothing before the gradient (noise makes false edges).
    relative_spacing : tuple of 3 float, default=None
        For a volume (Z, Y, X[, C]), its voxel size over its smallest side:
        ``width`` and ``sigma`` are then in units of the smallest side.

    Returns
    -------
    proba : ndarray of shape (H, W, n_classes)
        A new array (or ``proba`` itself when nothing moves).
    """
    if width <= 0:
        return proba
    boundaries = find_boundaries(proba.argmax(axis=-1), mode="thick")
    if not boundaries.any():
        return proba
    band = ndi.distance_transform_edt(~boundaries, sampling=relative_spacing) <= width
    if band.all():
        return proba  # no pixel is far enough from a boundary to be a marker
    # Marker i + 1 is flat pixel i. Only the pixels just outside the band can
    # flood it, so the watershed runs on the band and that rim alone.
    rim = ndi.binary_dilation(band) & ~band
    markers = np.zeros(band.shape, dtype=np.intp)
    markers[rim] = np.flatnonzero(rim) + 1
    edges = edge_magnitude(image, sigma, relative_spacing)
    source = watershed(edges, markers, mask=band | rim) - 1
    flat = proba.reshape(-1, proba.shape[-1])
    out = proba.copy()
    out[band] = flat[source[band]]
    return out
