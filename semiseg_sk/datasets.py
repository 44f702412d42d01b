# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Small, deterministic segmentation data sets that need no download.

Images are Voronoi mosaics of real texture photographs that scikit-image
bundles with its wheel (``brick``, ``grass``, ``gravel`` and ``moon``), so
the task is realistic (texture, not brightness, tells the classes apart) and
runs offline. Train images are cropped from the top half of each photograph
and test images from the bottom half, so no test pixel was seen in training.
"""

import functools
from numbers import Integral, Real

import numpy as np
from scipy import ndimage as ndi
from scipy.spatial import cKDTree
from sklearn.utils import Bunch, check_random_state

from .utils._random import RANDOM_STATE, draw_seed
from .utils.fixes import Interval, StrOptions, validate_params
from .utils.validation import as_array, unmask

__all__ = [
    "make_blob_volumes",
    "make_scribbled_dataset",
    "make_scribbles",
    "make_texture_mosaics",
]

# Grey 512x512 photographs shipped inside the scikit-image wheel (no network).
TEXTURES = ("brick", "grass", "gravel", "moon")
_MIN_SIZE = 16


@functools.cache
def _load_texture(name):
    """Return texture photograph ``name`` as a read-only float64 array in [0, 1]."""
    import skimage.data

    photo = np.asarray(getattr(skimage.data, name)(), dtype=np.float64) / 255.0
    photo.flags.writeable = False
    return photo


def _check_size(size, split):
    """Return ``size`` as a ``(height, width)`` tuple of int, or raise."""
    if isinstance(size, Integral) and not isinstance(size, bool):
        size = (size, size)
    try:
        size = tuple(size)
    except TypeError:
        size = None
    if (
        size is None
        or len(size) != 2
        or not all(isinstance(s, Integral) and not isinstance(s, bool) for s in size)
    ):
        raise ValueError(
            f"size must be an int or a pair of ints (height, width); got {size!r}."
        )
    height, width = int(size[0]), int(size[1])
    max_height = 512 if split == "all" else 256
    if height < _MIN_SIZE or width < _MIN_SIZE:
        raise ValueError(
            f"size={(height, width)} is too small; expected at least "
            f"{_MIN_SIZE}x{_MIN_SIZE} pixels."
        )
    if height > max_height or width > 512:
        where = "half of a 512-row photograph" if split != "all" else "a photograph"
        raise ValueError(
            f"size={(height, width)} is too large for split={split!r}: crops come "
            f"from {where}, so expected height <= {max_height} and width <= 512."
        )
    return height, width


def _check_textures(textures):
    """Return ``textures`` as a tuple of known, distinct names, or raise."""
    if isinstance(textures, str):
        textures = (textures,)
    textures = tuple(textures)
    if len(textures) == 0:
        raise ValueError(f"textures is empty; expected names from {TEXTURES}.")
    for name in textures:
        if name not in TEXTURES:
            raise ValueError(
                f"Unknown texture {name!r} in textures; expected names from "
                f"{TEXTURES} (the photographs bundled with scikit-image)."
            )
    if len(set(textures)) != len(textures):
        raise ValueError(
            f"textures contains duplicates: {textures}; each class needs its own "
            f"texture."
        )
    return textures


def _crop_offsets(rng, n_crops, size, split, photo_shape=(512, 512)):
    """Draw the top-left ``(row, col)`` of ``n_crops`` crops of ``size``.

    ``split="train"`` keeps every crop inside rows ``[0, H // 2)`` of the
    photograph, ``split="test"`` inside rows ``[H // 2, H)`` and
    ``split="all"`` anywhere.

    Returns
    -------
    offsets : ndarray of shape (n_crops, 2) of int
    """
    height, width = size
    half = photo_shape[0] // 2
    lo, hi = {"train": (0, half), "test": (half, photo_shape[0])}.get(
        split, (0, photo_shape[0])
    )
    rows = rng.randint(lo, hi - height + 1, size=n_crops)
    cols = rng.randint(0, photo_shape[1] - width + 1, size=n_crops)
    return np.column_stack([rows, cols])


def _voronoi_truth(rng, size, n_cells, n_classes):
    """Random Voronoi tessellation with a random class per cell."""
    height, width = size
    # Seeds sit on distinct pixels, so every cell owns at least its seed pixel.
    flat = rng.choice(height * width, size=n_cells, replace=False)
    seeds = np.column_stack(np.unravel_index(flat, size))
    rows, cols = np.ogrid[:height, :width]
    best = np.full(size, np.inf)
    cell = np.zeros(size, dtype=np.intp)
    for i, (r, c) in enumerate(seeds):
        dist = (rows - r) ** 2 + (cols - c) ** 2
        closer = dist < best
        best[closer] = dist[closer]
        cell[closer] = i
    cell_class = rng.randint(n_classes, size=n_cells)
    if n_classes >= 2 and np.unique(cell_class).size < 2:
        # Give the largest cell another class so at least two classes show.
        largest = np.argmax(np.bincount(cell.ravel(), minlength=n_cells))
        other = rng.randint(n_classes - 1)
        cell_class[largest] = other + (other >= cell_class[largest])
    return cell_class[cell].astype(np.int64)


def _make_mosaic(rng, size, n_cells, textures, split, *, noise=0.0, jitter=True):
    """One mosaic: image, truth and the crop offset of each class."""
    truth = _voronoi_truth(rng, size, n_cells, len(textures))
    photos = [_load_texture(name) for name in textures]
    offsets = _crop_offsets(rng, len(textures), size, split, photos[0].shape)
    image = np.empty(size, dtype=np.float64)
    height, width = size
    for k, (photo, (row, col)) in enumerate(zip(photos, offsets, strict=True)):
        mask = truth == k
        image[mask] = photo[row : row + height, col : col + width][mask]
    gain = rng.uniform(0.9, 1.1)
    offset = rng.uniform(-0.05, 0.05)
    if jitter:
        image = image * gain + offset
    if noise > 0:
        image = image + rng.normal(0.0, noise, size=size)
    np.clip(image, 0.0, 1.0, out=image)
    return image, truth, offsets


_MOSAIC_PARAMS = {
    "n_cells": [Interval(Integral, 1, None, closed="left")],
    "textures": "no_validation",
    "size": "no_validation",
    "split": [StrOptions({"train", "test", "all"})],
    "noise": [Interval(Real, 0, None, closed="left")],
    "random_state": RANDOM_STATE,
}


@validate_params(
    {"n_images": [Interval(Integral, 1, None, closed="left")], **_MOSAIC_PARAMS},
    prefer_skip_nested_validation=True,
)
def make_texture_mosaics(
    n_images=10,
    *,
    size=(192, 192),
    n_cells=6,
    textures=("brick", "grass", "gravel"),
    split="train",
    noise=0.0,
    random_state=None,
):
    """Make grey images that are Voronoi mosaics of real texture photographs.

    Each image is a random Voronoi tessellation of ``n_cells`` cells; each
    cell gets a random class and is filled with a random crop of that class's
    texture photograph (one crop per class and image, so neighbouring cells
    of one class join seamlessly). Every image shows at least two classes
    when ``textures`` has two or more entries. The photographs keep their
    real intensities; each image gets a small random brightness and contrast
    jitter (gain in [0.9, 1.1], offset in [-0.05, 0.05]), so brightness alone
    does not separate the classes well.

    Parameters
    ----------
    n_images : int, default=10
        Number of images.
    size : int or tuple of (int, int), default=(192, 192)
        ``(height, width)`` of every image, at least 16x16. With
        ``split="train"`` or ``"test"`` the height is at most 256 (half a
        photograph), with ``split="all"`` at most 512; the width is at most
        512.
    n_cells : int, default=6
        Number of Voronoi cells per image; at least 2 when there are two or
        more textures.
    textures : sequence of str, default=("brick", "grass", "gravel")
        Texture of each class: class ``k`` is ``textures[k]``. Names come
        from ``"brick"``, ``"grass"``, ``"gravel"`` and ``"moon"``, the grey
        512x512 photographs bundled with scikit-image (no download).
    split : {"train", "test", "all"}, default="train"
        Where crops come from: the top half of every photograph
        (``"train"``), the bottom half (``"test"``), or anywhere
        (``"all"``). Train and test images therefore share no pixel.
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to every pixel before
        clipping to [0, 1].
    random_state : int, RandomState instance or None, default=None
        Controls the tessellation, classes, crops, jitter and noise. The same
        int gives the same images on every platform, and the first ``k``
        images do not depend on ``n_images``.

    Returns
    -------
    images : list of ndarray of shape (height, width) of float64
        Grey images with values in [0, 1].
    truths : list of ndarray of shape (height, width) of int64
        Ground truth: pixel value ``k`` means texture ``textures[k]``.

    See Also
    --------
    make_scribbles : Sparse scribble labels from a ground truth.
    make_scribbled_dataset : Train and test mosaics with scribbles.

    Examples
    --------
    >>> from semiseg_sk.datasets import make_texture_mosaics
    >>> images, truths = make_texture_mosaics(2, size=(32, 48), random_state=0)
    >>> len(images), images[0].shape, images[0].dtype, truths[0].dtype
    (2, (32, 48), dtype('float64'), dtype('int64'))
    >>> bool(0.0 <= images[0].min() and images[0].max() <= 1.0)
    True
    >>> len(set(truths[0].ravel().tolist())) >= 2
    True
    """
    size = _check_size(size, split)
    textures = _check_textures(textures)
    if len(textures) >= 2 and n_cells < 2:
        raise ValueError(
            f"n_cells={n_cells} cannot show two of the {len(textures)} textures in "
            f"one image; expected n_cells >= 2."
        )
    if n_cells > size[0] * size[1]:
        raise ValueError(
            f"n_cells={n_cells} exceeds the {size[0] * size[1]} pixels of a "
            f"{size[0]}x{size[1]} image."
        )
    rng = check_random_state(random_state)
    images, truths = [], []
    for _ in range(n_images):
        image, truth, _ = _make_mosaic(rng, size, n_cells, textures, split, noise=noise)
        images.append(image)
        truths.append(truth)
    return images, truths


def _check_truth(truth):
    if isinstance(truth, (list, tuple)) and len(truth) and np.ndim(truth[0]) == 2:
        raise TypeError(
            "truth must be one (H, W) label map; got a list of maps. Call "
            "make_scribbles once per map: [make_scribbles(t) for t in truths]."
        )
    truth = as_array(truth, "truth", "one (H, W) label map of int")
    if truth.dtype == bool or not np.issubdtype(truth.dtype, np.integer):
        raise TypeError(
            f"truth has dtype {truth.dtype}; expected integer class labels (>= 0, "
            f"-1 for unknown)."
        )
    truth = np.asarray(unmask(truth, -1))  # masked pixels are unknown
    if truth.ndim != 2:
        raise ValueError(
            f"truth has shape {truth.shape}; expected one (H, W) label map."
        )
    if truth.size and truth.min() < -1:
        raise ValueError(
            f"truth contains {truth.min()}; expected class labels >= 0 and -1 for "
            f"unknown pixels."
        )
    return truth


def _random_walk(rng, inside, length):
    """A smooth random walk of ``length`` unit steps whose pixels stay in ``inside``.

    Returns the visited points, an array of shape (n_points, 2) of float.
    """
    candidates = np.flatnonzero(inside)
    start = np.unravel_index(candidates[rng.randint(candidates.size)], inside.shape)
    pos = np.asarray(start, dtype=np.float64) + rng.uniform(-0.49, 0.49, size=2)
    angle = rng.uniform(0, 2 * np.pi)
    points = [pos]
    shape = np.asarray(inside.shape)
    for _ in range(max(length - 1, 0)):
        # Turn a little at each step; near the border of the region try a few
        # sharper turns, and stop where none stays inside.
        tries = [angle + rng.normal(0.0, 0.3)]
        tries += list(angle + rng.uniform(-np.pi, np.pi, size=6))
        for new_angle in tries:
            new = pos + (np.sin(new_angle), np.cos(new_angle))
            pix = np.rint(new).astype(int)
            if (pix >= 0).all() and (pix < shape).all() and inside[tuple(pix)]:
                pos, angle = new, new_angle
                points.append(pos)
                break
        else:
            break
    return np.asarray(points)


def _brush(points, radius, shape):
    """Pixels whose centre lies within ``radius`` of the polyline ``points``."""
    # Sample the polyline every quarter pixel.
    samples = [points[:1]]
    for a, b in zip(points[:-1], points[1:], strict=True):
        t = np.linspace(0, 1, 5)[1:, None]
        samples.append(a + t * (b - a))
    samples = np.concatenate(samples)
    lo = np.maximum(np.floor(samples.min(axis=0) - radius).astype(int), 0)
    hi = np.minimum(np.ceil(samples.max(axis=0) + radius).astype(int) + 1, shape)
    rows, cols = np.mgrid[lo[0] : hi[0], lo[1] : hi[1]]
    pix = np.column_stack([rows.ravel(), cols.ravel()])
    dist, _ = cKDTree(samples).query(pix)
    stroke = np.zeros(shape, dtype=bool)
    hit = pix[dist < radius]
    stroke[hit[:, 0], hit[:, 1]] = True
    # The centre line itself, so that even a thin brush marks a pixel.
    centre = np.rint(points).astype(int)
    stroke[centre[:, 0], centre[:, 1]] = True
    return stroke


@validate_params(
    {
        "truth": "no_validation",
        "n_strokes": [Interval(Integral, 1, None, closed="left")],
        "stroke_length": [Interval(Integral, 1, None, closed="left")],
        "stroke_width": [Interval(Integral, 1, None, closed="left")],
        "random_state": RANDOM_STATE,
    },
    prefer_skip_nested_validation=True,
)
def make_scribbles(
    truth, *, n_strokes=2, stroke_length=20, stroke_width=2, random_state=None
):
    """Simulate a user's scribbles: a few short strokes per class of a truth.

    For every class present in ``truth``, ``n_strokes`` strokes are drawn. A
    stroke is a smooth random walk of about ``stroke_length`` pixels painted
    with a round brush of diameter ``stroke_width``. It starts and stays well
    inside a region of its class: the class mask is first eroded by a margin
    of about ``stroke_width / 2 + 2`` pixels, and by less where a region is
    too small for that margin. Stroke pixels take their true class; every
    other pixel is ``-1``. With the defaults, strokes cover well under 1% of
    a 192x192 mosaic.

    Parameters
    ----------
    truth : array-like of shape (H, W) of int
        Dense ground truth of one image; classes are >= 0 and pixels equal to
        -1 get no stroke.
    n_strokes : int, default=2
        Number of strokes per class.
    stroke_length : int, default=20
        Length of each stroke in pixels, along its centre line. A stroke is
        shorter when its region leaves no room.
    stroke_width : int, default=2
        Diameter of the brush in pixels.
    random_state : int, RandomState instance or None, default=None
        Controls where strokes start and how they wind. The same int gives
        the same scribbles.

    Returns
    -------
    labels : ndarray of shape (H, W) of int64
        ``truth`` on stroke pixels, ``-1`` elsewhere. A new array.

    See Also
    --------
    make_scribbled_dataset : Train and test mosaics with scribbles.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk.datasets import make_scribbles
    >>> truth = np.zeros((40, 60), dtype=int)
    >>> truth[:, 30:] = 1
    >>> labels = make_scribbles(truth, random_state=0)
    >>> np.unique(labels).tolist()
    [-1, 0, 1]
    >>> bool(np.all(labels[labels >= 0] == truth[labels >= 0]))
    True
    """
    truth = _check_truth(truth)
    rng = check_random_state(random_state)
    labels = np.full(truth.shape, -1, dtype=np.int64)
    radius = stroke_width / 2
    margin = int(np.ceil(radius + 0.75)) + 2
    for c in np.unique(truth[truth >= 0]):
        mask = truth == c
        # Distance to the nearest pixel of another class (or of -1).
        depth = ndi.distance_transform_edt(mask)
        for m in range(margin, -1, -1):
            inside = depth > m
            if inside.any():
                break
        for _ in range(n_strokes):
            points = _random_walk(rng, inside, stroke_length)
            stroke = _brush(points, radius, truth.shape) & mask
            labels[stroke] = c
    return labels


@validate_params(
    {
        "n_labeled": [Interval(Integral, 1, None, closed="left")],
        "n_unlabeled": [Interval(Integral, 0, None, closed="left")],
        "n_test": [Interval(Integral, 0, None, closed="left")],
        **{k: v for k, v in _MOSAIC_PARAMS.items() if k != "split"},
        "n_strokes": [Interval(Integral, 1, None, closed="left")],
        "stroke_length": [Interval(Integral, 1, None, closed="left")],
        "stroke_width": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def make_scribbled_dataset(
    n_labeled=2,
    n_unlabeled=20,
    n_test=4,
    *,
    size=(192, 192),
    n_cells=6,
    textures=("brick", "grass", "gravel"),
    noise=0.0,
    n_strokes=2,
    stroke_length=20,
    stroke_width=2,
    random_state=None,
):
    """Make a small semi-supervised segmentation task on texture mosaics.

    Training images come from :func:`make_texture_mosaics` with
    ``split="train"``: the first ``n_labeled`` carry scribbles from
    :func:`make_scribbles`, the next ``n_unlabeled`` are unlabeled (all
    ``-1``). Test images come from ``split="test"``, so they share no pixel
    with the training images, and carry dense ground truth.

    Parameters
    ----------
    n_labeled : int, default=2
        Number of scribbled training images.
    n_unlabeled : int, default=20
        Number of unlabeled training images.
    n_test : int, default=4
        Number of test images.
    size : int or tuple of (int, int), default=(192, 192)
        ``(height, width)`` of every image; see :func:`make_texture_mosaics`.
    n_cells : int, default=6
        Number of Voronoi cells per image.
    textures : sequence of str, default=("brick", "grass", "gravel")
        Texture of each class; see :func:`make_texture_mosaics`.
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to every image.
    n_strokes : int, default=2
        Strokes per class and labeled image; see :func:`make_scribbles`.
    stroke_length : int, default=20
        Length of each stroke in pixels.
    stroke_width : int, default=2
        Brush diameter in pixels.
    random_state : int, RandomState instance or None, default=None
        Controls everything. The same int gives the same data set; the test
        images do not depend on ``n_labeled`` or ``n_unlabeled``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        images : list of ndarray of shape (height, width) of float64
            The ``n_labeled + n_unlabeled`` training images, labeled first.
        labels : list of ndarray of shape (height, width) of int64
            Scribbles for the labeled images, all ``-1`` for the unlabeled
            ones; pass ``(images, labels)`` to ``fit``.
        truths : list of ndarray of shape (height, width) of int64
            Dense ground truth of the training images.
        test_images : list of ndarray of shape (height, width) of float64
            The ``n_test`` test images.
        test_truths : list of ndarray of shape (height, width) of int64
            Dense ground truth of the test images.
        target_names : list of str
            Texture name of each class.

    See Also
    --------
    make_texture_mosaics : The images and their ground truth.
    make_scribbles : Scribbles from a ground truth.

    Examples
    --------
    >>> from semiseg_sk.datasets import make_scribbled_dataset
    >>> data = make_scribbled_dataset(1, 2, 1, size=64, random_state=0)
    >>> len(data.images), len(data.labels), len(data.test_images)
    (3, 3, 1)
    >>> int(data.labels[1].max())  # an unlabeled image
    -1
    >>> data.target_names
    ['brick', 'grass', 'gravel']
    """
    textures = _check_textures(textures)
    rng = check_random_state(random_state)
    train_seed, test_seed, scribble_seed = draw_seed(rng, size=3)
    mosaic_params = dict(size=size, n_cells=n_cells, textures=textures, noise=noise)
    images, truths = make_texture_mosaics(
        n_labeled + n_unlabeled,
        split="train",
        random_state=train_seed,
        **mosaic_params,
    )
    if n_test > 0:
        test_images, test_truths = make_texture_mosaics(
            n_test, split="test", random_state=test_seed, **mosaic_params
        )
    else:
        test_images, test_truths = [], []
    scribble_rng = np.random.RandomState(scribble_seed)
    labels = [
        make_scribbles(
            truth,
            n_strokes=n_strokes,
            stroke_length=stroke_length,
            stroke_width=stroke_width,
            random_state=scribble_rng,
        )
        for truth in truths[:n_labeled]
    ]
    labels += [np.full(t.shape, -1, dtype=np.int64) for t in truths[n_labeled:]]
    return Bunch(
        images=images,
        labels=labels,
        truths=truths,
        test_images=test_images,
        test_truths=test_truths,
        target_names=list(textures),
    )


# Mean intensity of background, bright blobs and dim blobs in make_blob_volumes.
_BLOB_LEVELS = (0.2, 0.8, 0.5)


@validate_params(
    {
        "n_volumes": [Interval(Integral, 1, None, closed="left")],
        "shape": ["array-like"],
        "spacing": ["array-like"],
        "n_blobs": [Interval(Integral, 2, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "random_state": RANDOM_STATE,
    },
    prefer_skip_nested_validation=True,
)
def make_blob_volumes(
    n_volumes=2,
    *,
    shape=(12, 24, 24),
    spacing=(2.0, 1.0, 1.0),
    n_blobs=4,
    noise=0.1,
    random_state=None,
):
    """Make grey volumes of bright and dim blobs on a dark background.

    Each volume holds ``n_blobs`` balls, round in physical units (so they
    span fewer slices along a coarser axis), alternately of class 1 (bright,
    mean 0.8) and class 2 (dim, mean 0.5) on a background of class 0 (mean
    0.2); a later ball covers an earlier one where they overlap. Gaussian
    noise of standard deviation ``noise`` is added. For tests and examples
    of the volume pipeline (``make_segmenter(spacing=...)``).

    Parameters
    ----------
    n_volumes : int, default=2
        Number of volumes.
    shape : tuple of 3 int, default=(12, 24, 24)
        ``(Z, Y, X)`` of every volume, each at least 4.
    spacing : tuple of 3 float, default=(2.0, 1.0, 1.0)
        Voxel size ``(dz, dy, dx)``.
    n_blobs : int, default=4
        Balls per volume, at least 2 (one of each class).
    noise : float, default=0.1
        Standard deviation of the Gaussian noise.
    random_state : int, RandomState instance or None, default=None
        Places the balls and draws the noise.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``images`` (list of (Z, Y, X) float64 arrays), ``truths`` (list of
        (Z, Y, X) int64 class maps, classes 0, 1 and 2) and ``spacing``
        (tuple of 3 float).

    See Also
    --------
    make_scribbles : Strokes on one slice of a truth, e.g. ``truth[z]``.

    Examples
    --------
    >>> from semiseg_sk.datasets import make_blob_volumes
    >>> data = make_blob_volumes(2, random_state=0)
    >>> data.images[0].shape, data.spacing
    ((12, 24, 24), (2.0, 1.0, 1.0))
    >>> sorted(set(data.truths[0].ravel().tolist()))
    [0, 1, 2]
    """
    shape = tuple(int(n) for n in np.ravel(shape))
    if len(shape) != 3 or min(shape) < 4:
        raise ValueError(
            f"shape must be three ints (Z, Y, X), each at least 4; got {shape}."
        )
    spacing = np.asarray(spacing, dtype=np.float64).ravel()
    if spacing.size != 3 or not np.all(np.isfinite(spacing) & (spacing > 0)):
        raise ValueError(
            f"spacing must be three positive numbers (dz, dy, dx); got "
            f"{tuple(spacing.tolist())}."
        )
    rng = check_random_state(random_state)
    extent = np.asarray(shape) * spacing
    grid = np.stack(
        np.meshgrid(*(np.arange(n) * s for n, s in zip(shape, spacing)), indexing="ij"),
        axis=-1,
    )
    images, truths = [], []
    for _ in range(n_volumes):
        truth = np.zeros(shape, dtype=np.int64)
        for b in range(n_blobs):
            radius = rng.uniform(0.2, 0.35) * extent.min()
            centre = rng.uniform(radius, extent - radius)
            inside = ((grid - centre) ** 2).sum(axis=-1) <= radius**2
            truth[inside] = 1 + b % 2
        image = np.asarray(_BLOB_LEVELS)[truth] + noise * rng.standard_normal(shape)
        images.append(image)
        truths.append(truth)
    return Bunch(images=images, truths=truths, spacing=tuple(spacing.tolist()))
