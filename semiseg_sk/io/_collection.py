# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Lazy image collections: images read one at a time, where they are used.

A :class:`LazyImage` is a small, picklable handle (a path, or a zarr or dask
array and an index) whose :meth:`~LazyImage.load` reads the pixels. An
:class:`ImageCollection` is a sequence of them. The pipeline's steps keep the
handles, not the pixels: a :class:`~semiseg_sk.Regions` made from a handle
reads its image each time ``image`` is accessed, and a task sent to a dask
worker carries the handle, so the worker reads the image from its path.
"""

import glob
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..utils.validation import is_lazy
from ._atomic import TEMP_PREFIX
from ._files import IMAGE_EXTENSIONS, find_images
from ._images import read_image, write_mask

__all__ = [
    "ImageCollection",
    "LazyImage",
    "as_image_items",
    "checked_handle",
    "is_lazy",
    "write_masks",
]

_EXTENSIONS = (*IMAGE_EXTENSIONS, ".npy")


def _is_dask_array(obj):
    return type(obj).__module__.startswith("dask.array") and hasattr(obj, "compute")


def _is_zarr(obj):
    return type(obj).__module__.startswith("zarr")


class LazyImage:
    """One image, read from where it is stored each time :meth:`load` is called.

    Small and picklable: it holds a path, or a zarr or dask array (which
    pickle as their store's location and task graph) and an index, never the
    pixels. Made by :class:`ImageCollection`; ``LazyImage(path)`` reads an
    image file (PNG, JPEG, BMP, TIFF, with :func:`~semiseg_sk.io.read_image`)
    or a ``.npy`` file.

    Parameters
    ----------
    source : str, path-like, zarr array or dask array
        Where the image is stored.
    key : int, tuple or None, default=None
        Index of the image in ``source`` (an int along the first axis, or a
        tuple of indices); None takes the whole array.
    channel_axis : int, default=None
        Axis of the indexed array that holds the channels, moved last at
        load; None when the array is ``(H, W)`` or ``(H, W, C)`` already.
    name : str, default=None
        A name for outputs, e.g. the file's stem; derived when omitted.

    Attributes
    ----------
    shape : tuple of int or None
        The loaded image's shape, once a step has checked it (None before).
    dtype : numpy.dtype or None
        Its dtype, likewise.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk.io import LazyImage
    >>> stack = np.arange(24).reshape(2, 3, 4)
    >>> LazyImage(stack, 1).load().shape
    (3, 4)
    """

    def __init__(self, source, key=None, *, channel_axis=None, name=None):
        if isinstance(source, os.PathLike):
            source = os.fspath(source)
        self.source = source
        self.key = key
        self.channel_axis = channel_axis
        if name is None:
            if isinstance(source, str):
                name = Path(source).stem
            else:
                name = "image" if key is None else "_".join(map(str, np.ravel(key)))
        self.name = str(name)
        self.shape = None
        self.dtype = None

    def load(self):
        """Read the image.

        Returns
        -------
        image : ndarray of shape (H, W) or (H, W, C)
            A new array each call; nothing is kept.
        """
        source = self.source
        if is_lazy(source):  # another lazy image, wrapped to record its shape
            array = np.asarray(source.load())
        elif isinstance(source, str):
            if source.lower().endswith(".npy"):
                array = np.load(source, allow_pickle=False)
            else:
                array = read_image(source)
        else:
            array = source if self.key is None else source[self.key]
            if _is_dask_array(array):
                # Computed in this process: inside a dask task, the default
                # scheduler would send the work back to the cluster.
                array = array.compute(scheduler="synchronous")
            elif _is_zarr(array):
                array = array[...]
            array = np.asarray(array)
        if self.channel_axis is not None:
            array = np.moveaxis(array, self.channel_axis, -1)
        return array

    @property
    def ndim(self):
        return None if self.shape is None else len(self.shape)

    def _checked(self, shape, dtype):
        """A copy that knows the shape and dtype its image was checked with."""
        handle = object.__new__(LazyImage)
        handle.__dict__.update(self.__dict__)
        handle.shape, handle.dtype = tuple(shape), np.dtype(dtype)
        return handle

    def __repr__(self):
        if isinstance(self.source, str):
            return f"LazyImage({self.source!r})"
        kind = type(self.source).__name__
        key = "" if self.key is None else f", key={self.key!r}"
        return f"LazyImage(<{kind}>{key})"


def checked_handle(item, image):
    """A LazyImage of ``item`` that knows the shape and dtype of its checked image."""
    handle = item if isinstance(item, LazyImage) else LazyImage(item)
    return handle._checked(image.shape, image.dtype)


def _ome_image(group, name):
    """A LazyImage of the full-resolution level of an OME-Zarr image group."""
    multiscales = group.attrs.get("multiscales")
    if not multiscales:
        return None
    first = multiscales[0]
    array = group[first["datasets"][0]["path"]]
    axes = [a["name"] if isinstance(a, dict) else a for a in first.get("axes", [])]
    if len(axes) != array.ndim:
        axes = ["t", "c", "z", "y", "x"][-array.ndim :]
    key, kept = [], []
    for axis, size in zip(axes, array.shape):
        if axis in ("y", "x", "c"):
            key.append(slice(None))
            kept.append(axis)
        elif size == 1:
            key.append(0)
        else:
            raise ValueError(
                f"OME-Zarr image {name!r} has axis {axis!r} of length {size} "
                f"(axes {axes}, shape {array.shape}); expected 2-D images "
                f"(axes y, x and optionally c)."
            )
    channel_axis = kept.index("c") if "c" in kept else None
    if channel_axis is not None and channel_axis == len(kept) - 1:
        channel_axis = None
    return LazyImage(array, tuple(key), channel_axis=channel_axis, name=name)


class ImageCollection(Sequence):
    """A sequence of lazy images, read one at a time where they are used.

    Pass it wherever the pipeline takes a list of images (``fit``,
    ``predict``, ``fit_predict``, :func:`~semiseg_sk.iter_predict`): each
    step reads an image when it works on it and drops it after, so the
    memory of the calling process does not grow with the number of images,
    and tasks sent to dask workers carry paths, not pixels. Indexing gives a
    :class:`LazyImage` (its ``load()`` reads the pixels); a slice gives an
    ImageCollection.

    Parameters
    ----------
    images : sequence of LazyImage
        The images, in order.

    See Also
    --------
    write_masks : Write predictions as they are made.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk.io import ImageCollection
    >>> images = ImageCollection.from_array(np.zeros((3, 16, 16)))
    >>> len(images), images[0].load().shape
    (3, (16, 16))
    """

    def __init__(self, images):
        images = list(images)
        for i, image in enumerate(images):
            if not is_lazy(image):
                raise TypeError(
                    f"images[{i}] is a {type(image).__name__}; expected a "
                    f"LazyImage (or any object with a load() method)."
                )
        self._images = images

    @classmethod
    def from_paths(cls, paths):
        """Images stored in files, one per path.

        Parameters
        ----------
        paths : sequence of str or path-like
            Image files (PNG, JPEG, BMP, TIFF) or ``.npy`` files. Paths are
            made absolute, so that workers started in another folder find
            them.

        Returns
        -------
        collection : ImageCollection
        """
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        return cls(LazyImage(os.path.abspath(os.fspath(p))) for p in paths)

    @classmethod
    def from_glob(cls, pattern):
        """The files a glob pattern matches, sorted by path.

        Parameters
        ----------
        pattern : str
            A pattern such as ``"data/*.png"`` or ``"data/**/*.tif"``
            (``**`` is recursive). Files ending in an image extension or
            ``.npy`` are taken; hidden files (names starting with ``.``)
            are skipped. A folder gives its image files.

        Returns
        -------
        collection : ImageCollection

        Raises
        ------
        FileNotFoundError
            Nothing matches.
        """
        pattern = os.fspath(pattern)
        if os.path.isdir(pattern):
            return cls.from_paths(find_images(pattern))
        found = sorted(
            p
            for p in glob.glob(pattern, recursive=True)
            if Path(p).suffix.lower() in _EXTENSIONS
            and not Path(p).name.startswith(".")
            and os.path.isfile(p)
        )
        if not found:
            raise FileNotFoundError(
                f"no image file matches {pattern!r}; expected files ending in "
                f"{', '.join(_EXTENSIONS)}."
            )
        return cls.from_paths(found)

    @classmethod
    def from_zarr(cls, store, *, path=None):
        """The images of a zarr array, group or OME-Zarr collection.

        Parameters
        ----------
        store : str, path-like, zarr.Array or zarr.Group
            A zarr store (its location, or an opened array or group). An
            array holds one image per index along its first axis, ``(N, H,
            W)`` or ``(N, H, W, C)``. A group holds one image per key, in
            sorted order: a 2-D or 3-D array (channels last), or an OME-Zarr
            image group (its full-resolution level; axes of length 1 other
            than y, x, c are dropped and the channel axis moved last).
        path : str, default=None
            The array or group inside the store.

        Returns
        -------
        collection : ImageCollection
        """
        import zarr

        if isinstance(store, (str, os.PathLike)):
            node = zarr.open(os.fspath(store), mode="r", path=path)
        else:
            node = store if path is None else store[path]
        if isinstance(node, zarr.Array):
            return cls(
                LazyImage(node, i, name=f"{i:05d}") for i in range(node.shape[0])
            )
        images = _ome_images(node)
        if images is not None:
            return cls(images)
        images = []
        for key in sorted(node.keys()):
            child = node[key]
            if isinstance(child, zarr.Array):
                images.append(LazyImage(child, name=key))
                continue
            image = _ome_image(child, key)
            if image is None:
                raise ValueError(
                    f"zarr group member {key!r} is a group without OME-Zarr "
                    f"multiscales metadata; expected one image per key (an "
                    f"array, or an OME-Zarr image group)."
                )
            images.append(image)
        if not images:
            raise ValueError("the zarr group is empty: expected at least one image.")
        return cls(images)

    @classmethod
    def from_dask(cls, array):
        """The images of a dask array, one per index along its first axis.

        Parameters
        ----------
        array : dask.array.Array of shape (N, H, W) or (N, H, W, C)
            The stack. Each image's task graph is culled to the chunks it
            needs, so a handle sent to a worker carries those tasks only.

        Returns
        -------
        collection : ImageCollection
        """
        import dask

        if not _is_dask_array(array) or array.ndim not in (3, 4):
            raise TypeError(
                f"array must be a dask array of shape (N, H, W) or (N, H, W, C); "
                f"got {type(array).__name__} of shape {getattr(array, 'shape', '?')}."
            )
        return cls(
            LazyImage(dask.optimize(array[i])[0], name=f"{i:05d}")
            for i in range(array.shape[0])
        )

    @classmethod
    def from_array(cls, array):
        """The images of an in-memory or memory-mapped stack, one per index.

        Parameters
        ----------
        array : array-like of shape (N, H, W) or (N, H, W, C)
            E.g. ``np.load(path, mmap_mode="r")``, read one image at a time.

        Returns
        -------
        collection : ImageCollection
        """
        return cls(LazyImage(array, i, name=f"{i:05d}") for i in range(len(array)))

    def __len__(self):
        return len(self._images)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)(self._images[index])
        return self._images[index]

    def __repr__(self):
        return f"ImageCollection({len(self)} images)"


def _ome_images(group):
    """The images of an OME-Zarr image group itself (one image), else None."""
    image = _ome_image(group, "image")
    return None if image is None else [image]


def as_image_items(X):
    """The items of an image collection, lazy ones as :class:`LazyImage`.

    A glob pattern, a folder or a zarr store location (a string), a zarr
    array or group, a dask array, or a list holding paths becomes a list of
    lazy images; anything else (a list of arrays or Regions) is returned as
    it is, for the usual checks.
    """
    if isinstance(X, ImageCollection):
        return list(X)
    if isinstance(X, (str, os.PathLike)):
        text = os.fspath(X)
        if os.path.isdir(text) and _is_zarr_store(text):
            return list(ImageCollection.from_zarr(text))
        if os.path.isdir(text) or glob.has_magic(text):
            return list(ImageCollection.from_glob(text))
        return X
    if _is_zarr(X) and hasattr(X, "attrs"):
        return list(ImageCollection.from_zarr(X))
    if _is_dask_array(X):
        return list(ImageCollection.from_dask(X))
    if isinstance(X, (list, tuple)) and any(
        isinstance(x, (str, os.PathLike)) or is_lazy(x) for x in X
    ):
        return [_as_item(x) for x in X]
    return X


def _as_item(x):
    if isinstance(x, (str, os.PathLike)):
        return LazyImage(os.path.abspath(os.fspath(x)))
    if is_lazy(x) and not isinstance(x, LazyImage) and not hasattr(x, "segments"):
        return LazyImage(x)  # records the shape and dtype once checked
    return x


def _is_zarr_store(folder):
    return any(
        os.path.exists(os.path.join(folder, name))
        for name in ("zarr.json", ".zgroup", ".zarray")
    )


def _output_name(output, i):
    regions = output.get("regions") if hasattr(output, "get") else None
    handle = getattr(regions, "_image", None)
    return getattr(handle, "name", None) or f"{i:05d}"


def write_masks(outputs, destination, *, names=None):
    """Write masks as they are made, each atomically, never overwriting.

    Parameters
    ----------
    outputs : iterable of Bunch or of ndarray
        What :func:`~semiseg_sk.iter_predict` or
        :func:`~semiseg_sk.iter_fit_predict` yields (the ``mask`` of each is
        written), or the masks themselves. Taken one at a time: memory holds
        one mask.
    destination : str, path-like or zarr.Group
        A folder (created if missing): each mask becomes
        ``<name>_labels.png`` (16-bit when there are more than 255 classes)
        in the annotation convention of :func:`write_mask` (0 = unlabeled,
        class ``k`` written as ``k + 1``), so that :func:`read_labels` reads
        it back. A zarr store (a path ending in ``.zarr``, or an open zarr
        group): each mask becomes an array ``<name>`` of the predicted
        classes, in the smallest integer dtype that holds them.
    names : sequence of str, default=None
        Names of the outputs, in order; by default the name of each image of
        an :class:`ImageCollection` (a file's stem, a zarr key), else the
        index, ``00000``, ``00001``, ...

    Returns
    -------
    written : list of str
        The files or zarr keys written, in order.

    Raises
    ------
    FileExistsError
        An output exists already (also when another process creates it
        meanwhile); the masks written before it stay, each complete.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from semiseg_sk.io import write_masks
    >>> folder = tempfile.mkdtemp()
    >>> [p.rsplit("/", 1)[-1] for p in write_masks([np.zeros((4, 4), int)], folder)]
    ['00000_labels.png']
    """
    group = None
    if _is_zarr(destination):
        group = destination
    elif os.fspath(destination).rstrip("/\\").endswith(".zarr"):
        import zarr

        group = zarr.open_group(os.fspath(destination), mode="a")
    else:
        os.makedirs(destination, exist_ok=True)
    written = []
    for i, output in enumerate(outputs):
        mask = output["mask"] if hasattr(output, "keys") else output
        name = names[i] if names is not None else _output_name(output, i)
        if group is None:
            path = os.path.join(os.fspath(destination), f"{name}_labels.png")
            written.append(write_mask(path, mask, overwrite=False))
        else:
            written.append(_write_zarr_mask(group, str(name), np.asarray(mask)))
    return written


def _write_zarr_mask(group, name, mask):
    """One mask as ``group[name]``; atomic (renamed into place) on local stores."""
    low = int(mask.min()) if mask.size else 0
    high = int(mask.max()) if mask.size else 0
    dtype = np.result_type(np.min_scalar_type(low), np.min_scalar_type(high))
    data = mask.astype(dtype)
    if name in group:
        raise FileExistsError(
            f"the zarr store has {name!r} already; refusing to overwrite it."
        )
    root = getattr(group.store, "root", None)
    if root is None:  # not a local folder: no rename, write in place
        group.create_array(name, data=data, overwrite=False)
        return name
    folder = os.path.join(os.fspath(root), group.path)
    final = os.path.join(folder, name)
    tmp_name = f"{TEMP_PREFIX}{name}"
    group.create_array(tmp_name, data=data, overwrite=True)
    try:
        if os.path.exists(final):
            raise FileExistsError(
                f"the zarr store has {name!r} already; refusing to overwrite it."
            )
        os.rename(os.path.join(folder, tmp_name), final)
    finally:
        leftover = os.path.join(folder, tmp_name)
        if os.path.exists(leftover):
            import shutil

            shutil.rmtree(leftover)
    return name
