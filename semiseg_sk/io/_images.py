# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Reading and writing images, label images, masks and arrays.

Images are read with Pillow (PNG, JPEG, BMP) and tifffile (TIFF, including
multichannel, 16-bit and float images), which scikit-image already depends on.
Every writer goes through :func:`~semiseg_sk.io.atomic_path`.

Label images follow the convention of annotation tools (napari, ilastik,
scikit-image): 0 = unlabeled, 1..K = classes. :func:`read_labels` converts
them to semiseg_sk's ``-1 = unlabeled`` targets with
:func:`~semiseg_sk.utils.mask_to_target`, and :func:`write_mask` writes
predictions back in the annotation convention with
:func:`~semiseg_sk.utils.target_to_mask`, so a predicted mask can be corrected
in an annotation tool and used again as a label image.
"""

import os
from pathlib import Path

import numpy as np

from ..utils._labels import mask_to_target, target_to_mask
from ._atomic import atomic_path

__all__ = [
    "read_image",
    "read_labels",
    "write_array",
    "write_image",
    "write_mask",
]

_TIFF = (".tif", ".tiff")


def _check_dims(array, path):
    if array.ndim not in (2, 3):
        raise ValueError(
            f"{path}: has shape {array.shape}; expected a 2-D image, grey (H, W) "
            f"or with channels (H, W, C). Stacks and volumes are not supported."
        )
    return np.ascontiguousarray(array)


def _tiff_channels_last(array, axes, path):
    """A 3-D TIFF's channel axis is the shortest, first or last."""
    if array.ndim != 3 or axes.endswith("S"):
        return array
    axis = 2 - int(np.argmin(array.shape[::-1]))  # ties prefer the last axis
    if axis == 0:
        return np.moveaxis(array, 0, -1)
    if axis == 1:
        raise ValueError(
            f"{path}: cannot tell the channel axis of shape {array.shape}; "
            f"expected channels first or last."
        )
    return array


def _read_pillow(path, *, labels):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            if labels and mode == "P":
                array = np.asarray(img)  # palette indices are the labels
            elif mode in ("P", "PA", "RGBA", "CMYK", "YCbCr", "LAB", "HSV"):
                array = np.asarray(img.convert("RGB"))
            elif mode == "LA":
                array = np.asarray(img.convert("L"))
            elif mode == "1":
                array = np.asarray(img).astype(np.uint8)
            else:
                array = np.asarray(img)
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"{path}: cannot read it as an image ({exc}).") from exc
    if array.dtype == np.int32 and array.size and 0 <= array.min():
        if array.max() <= np.iinfo(np.uint16).max:
            array = array.astype(np.uint16)  # a 16-bit PNG opened in mode "I"
    return array


def _read_tiff(path):
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            array, axes = series.asarray(), series.axes
    except Exception as exc:  # tifffile raises several unrelated types
        raise ValueError(f"{path}: cannot read it as a TIFF image ({exc}).") from exc
    if array.ndim > 3:
        keep = [i for i, n in enumerate(array.shape) if n != 1]
        axes = "".join(axes[i] for i in keep) if len(axes) == array.ndim else ""
        array = np.squeeze(array)
    return _tiff_channels_last(array, axes, path)


def _read_array(path, *, labels):
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file.")
    if path.is_dir():
        raise ValueError(f"{path} is a folder; expected an image file.")
    if path.suffix.lower() in _TIFF:
        array = _read_tiff(path)
    else:
        array = _read_pillow(path, labels=labels)
    return _check_dims(array, path)


def read_image(path):
    """Read an image as an ``(H, W)`` or ``(H, W, C)`` array.

    Parameters
    ----------
    path : str or path-like
        A PNG, JPEG, BMP or TIFF file.

    Returns
    -------
    image : ndarray of shape (H, W) or (H, W, C)
        The pixel values in the file's own dtype (uint8, uint16, float, ...).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        The file cannot be read as an image, or holds a stack or volume.

    Notes
    -----
    Palette images are expanded to RGB, and the alpha channel of PNG images is
    dropped. A 3-D TIFF's channel axis is its shortest axis, first or last
    (``(C, H, W)`` is moved to ``(H, W, C)``). Pillow reads 16-bit colour PNGs
    as 8-bit; store 16-bit colour images as TIFF.
    """
    return _read_array(path, labels=False)


def read_labels(path, shape=None):
    """Read a label image and convert it to a ``-1 = unlabeled`` target.

    Parameters
    ----------
    path : str or path-like
        A single-channel label image in the annotation convention:
        0 = unlabeled, 1..K = classes. Palette PNGs give their palette indices.
    shape : tuple of int, default=None
        The ``(H, W)`` of the image it labels; checked when given.

    Returns
    -------
    target : ndarray of shape (H, W) of int64
        ``-1`` for unlabeled pixels, classes from 0
        (:func:`~semiseg_sk.utils.mask_to_target`).

    Raises
    ------
    ValueError
        The file is unreadable, has several channels, holds values that are
        not integers or are negative, or its shape differs from ``shape``.
    """
    array = _read_array(path, labels=True)
    if array.ndim == 3:
        if array.shape[2] > 1 and not (array == array[..., :1]).all():
            raise ValueError(
                f"{path}: label image has {array.shape[2]} different channels; "
                f"expected one channel of integer class labels (0 = unlabeled, "
                f"1..K = classes)."
            )
        array = array[..., 0]
    if not np.issubdtype(array.dtype, np.integer):
        if array.dtype == bool:
            array = array.astype(np.uint8)
        elif np.issubdtype(array.dtype, np.floating) and np.array_equal(
            array, np.round(array)
        ):
            array = array.astype(np.int64)
        else:
            raise ValueError(
                f"{path}: label values are not integers (dtype {array.dtype}); "
                f"expected integer class labels (0 = unlabeled, 1..K = classes)."
            )
    if array.size and array.min() < 0:
        raise ValueError(
            f"{path}: label image contains {array.min()}; expected 0 for unlabeled "
            f"and 1..K for classes."
        )
    if shape is not None and array.shape != tuple(shape[:2]):
        raise ValueError(
            f"{path}: label image has shape {array.shape} but its image has shape "
            f"{tuple(shape[:2])} (height, width); expected the same."
        )
    return mask_to_target(array)


def write_image(path, image, *, overwrite=True):
    """Write an image atomically; the format follows the extension.

    Parameters
    ----------
    path : str or path-like
        Destination: ``.png``/``.jpg``/``.bmp`` (uint8 or uint16 grey, uint8
        RGB; float images in [0, 1] are scaled to uint8) or ``.tif``/``.tiff``
        (any dtype and channel count).
    image : ndarray of shape (H, W) or (H, W, C)
        The pixels.
    overwrite : bool, default=True
        If False, refuse to replace an existing file.

    Returns
    -------
    path : str
        The written path.
    """
    image = np.asarray(image)
    path = os.fspath(path)
    tiff = os.path.splitext(path)[1].lower() in _TIFF
    if not tiff and np.issubdtype(image.dtype, np.floating):
        image = np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    with atomic_path(path, overwrite=overwrite) as tmp:
        if tiff:
            import tifffile

            if image.ndim == 3:
                photometric = "rgb" if image.shape[2] == 3 else "minisblack"
                tifffile.imwrite(
                    tmp, image, photometric=photometric, planarconfig="contig"
                )
            else:
                tifffile.imwrite(tmp, image, photometric="minisblack")
        else:
            from PIL import Image

            Image.fromarray(image).save(tmp)
    return path


def write_mask(path, target, *, overwrite=True):
    """Write a predicted ``-1``-convention mask as an annotation-style label image.

    Parameters
    ----------
    path : str or path-like
        Destination, ``.png`` or ``.tif``.
    target : ndarray of shape (H, W) of int
        Classes from 0, -1 for unlabeled; written as
        :func:`~semiseg_sk.utils.target_to_mask` (0 = unlabeled, 1..K), in
        uint8 when the values fit and uint16 otherwise.
    overwrite : bool, default=True
        If False, refuse to replace an existing file.

    Returns
    -------
    path : str
        The written path.
    """
    mask = target_to_mask(target)
    top = int(mask.max()) if mask.size else 0
    if top > np.iinfo(np.uint16).max:
        raise ValueError(f"{path}: class {top} does not fit a 16-bit label image.")
    dtype = np.uint8 if top <= np.iinfo(np.uint8).max else np.uint16
    return write_image(path, mask.astype(dtype), overwrite=overwrite)


def write_array(path, array, *, overwrite=True):
    """Save an array as ``.npy`` atomically.

    Parameters
    ----------
    path : str or path-like
        Destination, ending in ``.npy``.
    array : ndarray
        The data.
    overwrite : bool, default=True
        If False, refuse to replace an existing file.

    Returns
    -------
    path : str
        The written path.
    """
    with atomic_path(path, overwrite=overwrite) as tmp:
        np.save(tmp, np.asarray(array))
    return os.fspath(path)
