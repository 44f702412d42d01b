# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Regions: one image, its region map and the features computed so far.

This module also holds the checks of lists of Regions objects, which every
feature step and the region classifier run on their input.
"""

import zlib

import numpy as np
import scipy.sparse as sp

from .io._collection import checked_handle
from .utils.validation import (
    as_array,
    check_channels,
    check_image,
    check_list,
    check_spacing,
    is_lazy,
    spatial_axes,
    unmasked,
)

__all__ = ["Regions", "check_feature_width", "check_regions", "pack_segments"]

_MAP = "an (H, W) integer region map (Z, Y, X for volumes)"
_NO_MASK = "Give every pixel a region."
# zlib level of the stored region maps: level 1 already shrinks a superpixel
# map about 70 times, in a few milliseconds per megapixel.
_ZLIB_LEVEL = 1


def pack_segments(segments, n_regions):
    """A region map as ``(compressed bytes, dtype, shape)``, as Regions stores it.

    The bytes are those of the smallest unsigned dtype that holds
    ``n_regions`` indices, compressed with zlib.
    """
    dtype = np.uint16 if n_regions <= 2**16 else np.uint32
    data = np.ascontiguousarray(segments, dtype=dtype)
    return zlib.compress(data.tobytes(), _ZLIB_LEVEL), dtype, segments.shape


class Regions:
    """One image split into regions, with one feature row per region.

    ``Regions`` is the sample that flows between the steps of a semiseg_sk
    pipeline: :class:`Superpixels` creates it, feature steps such as
    :class:`RegionStats` and :class:`AutoencoderFeatures` return a new
    ``Regions`` with columns appended to :attr:`features`, and
    :class:`RegionClassifier` labels each region and paints the labels back
    onto the pixels. A ``Regions`` never modifies the arrays it is given.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C), or LazyImage
        The image, grey or channels last (with ``spacing``, a volume of shape
        (Z, Y, X) or (Z, Y, X, C)), or a lazy image
        (:class:`~semiseg_sk.io.LazyImage`, any object with a ``load()``
        method): then only the handle is kept, and :attr:`image` reads the
        pixels on each access.
    segments : ndarray of shape (H, W) of int
        Region index of every pixel (of every voxel, shape (Z, Y, X), for a
        volume). Indices must run from 0 to ``n_regions - 1`` with every
        index used; for an arbitrary label image use
        :meth:`from_label_image`.
    features : ndarray of shape (n_regions, n_features), default=None
        Features of each region, or None before any feature step ran.
    feature_names : sequence of str, default=None
        Names of the feature columns; generated when omitted.
    spacing : tuple of 3 float, default=None
        The voxel size ``(dz, dy, dx)`` of a volume; None for a 2-D image.
        Feature steps read it: their scales are in units of the smallest of
        the three, so that filters and supervoxels cover the same physical
        length along every axis.

    Attributes
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
        The image; read from its source on each access when it is lazy (in
        a loop, read it once into a variable).
    spacing : tuple of 3 float or None
        The voxel size of a volume, None for a 2-D image.
    segments : ndarray of shape (H, W) of intp
        The region map. It is stored compressed (a region map shrinks tens
        of times), so that the regions of hundreds of megapixel images fit
        in memory; each access decompresses it, in about a millisecond per
        megapixel: in a loop, read it once into a variable.
    n_regions : int
        Number of regions.
    shape : tuple of int
        ``(H, W)`` of the image, ``(Z, Y, X)`` of a volume.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk import Regions
    >>> image = np.zeros((4, 6))
    >>> segments = np.repeat([[0, 0, 0, 1, 1, 1]], 4, axis=0)
    >>> r = Regions(image, segments)
    >>> r.n_regions
    2
    >>> r.with_features(np.array([[0.0], [1.0]]), ["brightness"]).feature_names
    ('brightness',)

    A volume with voxels twice as deep as they are wide:

    >>> volume = np.zeros((3, 4, 6))
    >>> v = Regions(volume, np.zeros((3, 4, 6), dtype=int), spacing=(2, 1, 1))
    >>> v.shape, v.spacing
    ((3, 4, 6), (2.0, 1.0, 1.0))
    """

    # Regions pickled before volumes existed are 2-D.
    spacing = None

    def __init__(
        self, image, segments, features=None, feature_names=None, spacing=None
    ):
        spacing = check_spacing(spacing)
        ndim = 2 if spacing is None else 3
        source = image
        image = source.load() if is_lazy(source) else source
        image = check_image(image, name="image", index=None, min_size=1, ndim=ndim)
        if is_lazy(source):
            source = checked_handle(source, image)
        else:
            source = image
        segments = unmasked(as_array(segments, "segments", _MAP), "segments", _NO_MASK)
        if not np.issubdtype(segments.dtype, np.integer):
            raise TypeError(
                f"segments has dtype {segments.dtype}; expected an integer region map."
            )
        if segments.shape != image.shape[:ndim]:
            raise ValueError(
                f"segments has shape {segments.shape} but image has shape "
                f"{image.shape}; expected segments of shape {image.shape[:ndim]}"
                f"{'' if ndim == 2 else ', one region index per voxel'}."
            )
        n_regions = int(segments.max()) + 1
        if segments.min() < 0 or np.bincount(segments.ravel()).min() == 0:
            raise ValueError(
                "segments must number regions 0..n_regions-1 with every index "
                "used; use Regions.from_label_image(image, label_image) to "
                "renumber an arbitrary label image."
            )
        if features is not None:
            features = as_array(
                features, "features", "an (n_regions, n_features) array"
            )
            if features.ndim != 2 or features.shape[0] != n_regions:
                raise ValueError(
                    f"features has shape {features.shape}; expected "
                    f"({n_regions}, n_features), one row per region."
                )
            if feature_names is None:
                feature_names = [f"feature{i}" for i in range(features.shape[1])]
            if len(feature_names) != features.shape[1]:
                raise ValueError(
                    f"feature_names has {len(feature_names)} names for "
                    f"{features.shape[1]} feature columns."
                )
            feature_names = tuple(str(n) for n in feature_names)
        elif feature_names is not None:
            raise ValueError("feature_names given without features.")
        self._set(
            source,
            pack_segments(segments, n_regions),
            features,
            feature_names,
            n_regions,
            spacing,
        )

    def _set(self, image, packed, features, feature_names, n_regions, spacing=None):
        self._image = image  # an ndarray, or a lazy image with shape and dtype
        self._packed = packed
        self.features = features
        self.feature_names = feature_names
        self.n_regions = n_regions
        if spacing is not None:
            self.spacing = spacing

    @classmethod
    def _from_trusted(
        cls, image, segments, features, feature_names, n_regions, spacing=None
    ):
        """A Regions from parts that were checked already, without re-checking.

        Feature steps append columns to a Regions that was validated when it
        was made: scanning every image for NaN again at every step would cost
        a pass over all pixels per step. ``segments`` is a region map or, to
        share one without compressing it again, another Regions' packed map.
        """
        regions = cls.__new__(cls)
        names = None if features is None else tuple(feature_names)
        if isinstance(segments, np.ndarray):
            segments = pack_segments(segments, n_regions)
        regions._set(image, segments, features, names, n_regions, spacing)
        return regions

    @property
    def image(self):
        image = self._image
        return image if isinstance(image, np.ndarray) else image.load()

    def __setstate__(self, state):
        if "image" in state:  # pickled before images could be lazy
            state["_image"] = state.pop("image")
        self.__dict__.update(state)

    @property
    def segments(self):
        data, dtype, shape = self._packed
        flat = np.frombuffer(zlib.decompress(data), dtype=dtype)
        return flat.astype(np.intp).reshape(shape)

    @classmethod
    def from_label_image(cls, image, label_image, spacing=None):
        """Build Regions from any integer label image, renumbering its labels.

        Parameters
        ----------
        image : ndarray of shape (H, W) or (H, W, C)
            The image (a (Z, Y, X[, C]) volume with ``spacing``).
        label_image : ndarray of shape (H, W) of int
            Any integer labelling, e.g. from a manual annotation tool; labels
            need not be consecutive. (Z, Y, X) for a volume.
        spacing : tuple of 3 float, default=None
            The voxel size ``(dz, dy, dx)`` of a volume; None for a 2-D image.

        Returns
        -------
        regions : Regions
        """
        label_image = unmasked(
            as_array(label_image, "label_image", _MAP), "label_image", _NO_MASK
        )
        if label_image.dtype == bool or not np.issubdtype(
            label_image.dtype, np.integer
        ):
            raise TypeError(
                f"label_image has dtype {label_image.dtype}; expected an integer "
                f"label image of shape (H, W)."
            )
        _, segments = np.unique(label_image, return_inverse=True)
        segments = segments.reshape(label_image.shape).astype(np.intp)
        return cls(image, segments, spacing=spacing)

    @property
    def shape(self):
        return self._packed[2]

    def __repr__(self):
        width = 0 if self.features is None else self.features.shape[1]
        volume = "" if self.spacing is None else f", spacing={self.spacing}"
        return (
            f"Regions(image={self._image.shape}, n_regions={self.n_regions}, "
            f"n_features={width}{volume})"
        )

    @property
    def ndim(self):
        """Number of spatial axes: 2 for an image, 3 for a volume."""
        return 2 if self.spacing is None else 3

    @property
    def relative_spacing(self):
        """The voxel size relative to its smallest side; None for a 2-D image.

        Feature steps measure lengths in units of the smallest voxel side:
        a length ``s`` spans ``s / relative_spacing[axis]`` voxels along an
        axis.
        """
        if self.spacing is None:
            return None
        spacing = np.asarray(self.spacing)
        return tuple(float(v) for v in spacing / spacing.min())

    def with_features(self, block, names):
        """Return a new Regions with ``block`` appended to the features.

        The image and the stored region map are shared, not copied.

        Parameters
        ----------
        block : ndarray of shape (n_regions, k)
            New feature columns.
        names : sequence of str
            Their names.

        Returns
        -------
        regions : Regions
        """
        block = as_array(block, "block", "an (n_regions, k) array")
        names = [str(n) for n in names]
        if block.ndim != 2 or block.shape[0] != self.n_regions:
            raise ValueError(
                f"block has shape {block.shape}; expected ({self.n_regions}, k), "
                f"one row per region."
            )
        if len(names) != block.shape[1]:
            raise ValueError(
                f"names has {len(names)} names for {block.shape[1]} feature columns."
            )
        if self.features is None:
            features, all_names = block, names
        else:
            dtype = np.result_type(self.features, block)
            features = np.hstack([self.features.astype(dtype, copy=False), block])
            all_names = list(self.feature_names) + names
        return Regions._from_trusted(
            self._image, self._packed, features, all_names, self.n_regions, self.spacing
        )

    def _with_features_replaced(self, features, names):
        """A new Regions with other features, sharing the image and stored map."""
        return Regions._from_trusted(
            self._image, self._packed, features, names, self.n_regions, self.spacing
        )

    # -- region-wise reductions -------------------------------------------------

    def sizes(self):
        """Number of pixels of each region, shape (n_regions,)."""
        return np.bincount(self.segments.ravel(), minlength=self.n_regions)

    @property
    def n_pixels(self):
        """Number of pixels of the image."""
        return int(np.prod(self.shape))

    def mean_std(self, values):
        """Mean and standard deviation of per-pixel values in each region.

        Parameters
        ----------
        values : ndarray of shape (H, W) or (H, W, D)
            Per-pixel values.

        Returns
        -------
        mean, std : ndarray of shape (n_regions, D)
        """
        # One column at a time, with np.bincount: no float64 copy of all
        # columns and no indicator matrix (whose construction alone costs
        # more than the sums). The sums run in pixel order, as a product
        # with a sparse indicator's rows would, so the results are the same.
        seg = self.segments.ravel()
        values = np.asarray(values).reshape(seg.size, -1)
        counts = np.bincount(seg, minlength=self.n_regions)[:, None]
        mean = np.empty((self.n_regions, values.shape[1]))
        sq = np.empty_like(mean)
        for d in range(values.shape[1]):
            column = values[:, d].astype(np.float64)
            mean[:, d] = np.bincount(seg, column, minlength=self.n_regions)
            column *= column
            sq[:, d] = np.bincount(seg, column, minlength=self.n_regions)
        mean /= counts
        sq /= counts
        return mean, np.sqrt(np.maximum(sq - mean * mean, 0.0))

    def quantiles(self, values, q):
        """Per-region quantiles (lower interpolation) of per-pixel values.

        Parameters
        ----------
        values : ndarray of shape (H, W)
            One value per pixel.
        q : sequence of float in [0, 1]
            Quantiles to compute.

        Returns
        -------
        quantiles : ndarray of shape (n_regions, len(q))
        """
        seg = self.segments.ravel()
        order = np.lexsort((np.asarray(values).ravel(), seg))
        sorted_values = np.asarray(values).ravel()[order]
        counts = np.bincount(seg, minlength=self.n_regions)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        q = np.asarray(q, dtype=np.float64)
        idx = starts[:, None] + np.floor(q[None, :] * (counts[:, None] - 1)).astype(
            np.intp
        )
        return sorted_values[idx]

    def centroids(self):
        """Centroid (row, col) of each region, shape (n_regions, 2).

        For a volume, (z, row, col) in voxels, shape (n_regions, 3).
        """
        if self.spacing is not None:
            seg = self.segments
            counts = np.bincount(seg.ravel(), minlength=self.n_regions)
            out = np.empty((self.n_regions, 3))
            for axis, n in enumerate(self.shape):
                shape = [1, 1, 1]
                shape[axis] = n
                coord = np.broadcast_to(
                    np.arange(n, dtype=np.float64).reshape(shape), seg.shape
                )
                sums = np.bincount(seg.ravel(), coord.ravel(), self.n_regions)
                out[:, axis] = sums / counts
            return out
        rows, cols = np.indices(self.shape)
        mean, _ = self.mean_std(np.stack([rows, cols], axis=-1))
        return mean

    def label_counts(self, labels, n_classes):
        """Count labeled pixels of each class in each region.

        Parameters
        ----------
        labels : ndarray of shape (H, W) of int
            Class indices in ``0..n_classes-1``, -1 for unlabeled pixels.
        n_classes : int
            Number of classes.

        Returns
        -------
        counts : ndarray of shape (n_regions, n_classes)
        """
        labels = np.asarray(labels).ravel()
        seg = self.segments.ravel()
        keep = labels >= 0
        flat = seg[keep] * n_classes + labels[keep]
        counts = np.bincount(flat, minlength=self.n_regions * n_classes)
        return counts.reshape(self.n_regions, n_classes)

    def adjacency(self):
        """Which regions touch, weighted by the length of their shared border.

        Two regions touch when a pixel of one is a 4-neighbour of a pixel of
        the other (a 6-neighbour in a volume).

        Returns
        -------
        adjacency : scipy.sparse.csr_matrix of shape (n_regions, n_regions)
            Symmetric, zero diagonal; entry (i, j) counts the pixel pairs on
            the border between regions i and j.
        """
        seg = self.segments
        if self.spacing is not None:
            a, b = _border_pairs(seg)
        else:
            pairs = [
                (seg[:, :-1].ravel(), seg[:, 1:].ravel()),
                (seg[:-1, :].ravel(), seg[1:, :].ravel()),
            ]
            a = np.concatenate([p[0] for p in pairs])
            b = np.concatenate([p[1] for p in pairs])
            differ = a != b
            a, b = a[differ], b[differ]
        n = self.n_regions
        adj = sp.coo_matrix((np.ones(a.size), (a, b)), shape=(n, n)).tocsr()
        adj = adj + adj.T
        adj.sum_duplicates()
        return adj.tocsr()

    def paint(self, values):
        """Map one value (or row) per region back onto the pixels.

        Parameters
        ----------
        values : ndarray of shape (n_regions,) or (n_regions, K)

        Returns
        -------
        painted : ndarray of shape (H, W) or (H, W, K)
            (Z, Y, X) or (Z, Y, X, K) for a volume.
        """
        values = np.asarray(values)
        if values.shape[0] != self.n_regions:
            raise ValueError(
                f"values has {values.shape[0]} rows; expected one per region "
                f"({self.n_regions})."
            )
        return values[self.segments]


def _border_pairs(seg):
    """Region pairs of the neighbouring voxels that differ, along every axis.

    Only the differing pairs of one axis are held at a time, so that a large
    volume's pairs are never all in memory.
    """
    a, b = [], []
    for axis in range(seg.ndim):
        lo = seg[(slice(None),) * axis + (slice(None, -1),)]
        hi = seg[(slice(None),) * axis + (slice(1, None),)]
        differ = lo != hi
        a.append(lo[differ])
        b.append(hi[differ])
    return np.concatenate(a), np.concatenate(b)


# -- checks of lists of Regions ----------------------------------------------


def check_regions(X, *, name="X", n_channels_expected=None, estimator=None):
    """Validate a list of :class:`Regions` objects.

    Parameters
    ----------
    X : list of Regions
        One Regions object per image.
    name : str, default="X"
        Name of the argument, used in error messages.
    n_channels_expected : int, default=None
        If given, every image must have this many channels.
    estimator : str, default=None
        Name of the estimator, used in error messages.

    Returns
    -------
    X : list of Regions
    """
    X = check_list(X, name)
    step = "this step" if estimator is None else estimator
    for i, item in enumerate(X):
        if not isinstance(item, Regions):
            raise TypeError(
                f"{name}[{i}] is a {type(item).__name__}; {step} expects a "
                f"semiseg_sk.Regions object per image. Put Superpixels() before "
                f"{step} to split images into regions."
            )
    ndim = X[0].ndim
    for i, item in enumerate(X):
        if item.ndim != ndim:
            kinds = {2: "a 2-D image", 3: f"a volume (spacing={item.spacing})"}
            first = "a 2-D image" if ndim == 2 else f"a volume (spacing={X[0].spacing})"
            raise ValueError(
                f"{name}[{i}] is {kinds[item.ndim]} but {name}[0] is {first}; "
                f"expected 2-D images or volumes {spatial_axes(3)}, not both in "
                f"one call."
            )
    check_channels(
        [r._image for r in X], name, n_channels_expected, estimator, ndim=ndim
    )
    return X


def _width(regions):
    return 0 if regions.features is None else regions.features.shape[1]


def check_feature_width(X, n_features=None, *, name="X", estimator=None):
    """Check that every Regions object carries features of the same width.

    Parameters
    ----------
    X : list of Regions
        The regions.
    n_features : int, default=None
        The width seen at fit; None requires every image to match ``X[0]``.
    name : str, default="X"
        Name of the argument, used in error messages.
    estimator : str, default=None
        Name of the fitted estimator, used in error messages.

    Returns
    -------
    n_features : int
        The common width.
    """
    if n_features is None:
        expected, source = _width(X[0]), f"{name}[0] has"
        remedy = "for every image"
    else:
        fitted = "the estimator" if estimator is None else estimator
        expected, source = n_features, f"{fitted} was fitted with"
        remedy = "at fit and predict time"
    for i, regions in enumerate(X):
        width = _width(regions)
        if width != expected:
            raise ValueError(
                f"{name}[{i}] has {width} region features but {source} "
                f"{expected}; expected the same feature steps {remedy}."
            )
    return expected
