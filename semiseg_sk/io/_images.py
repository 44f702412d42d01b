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

import math
import operator
import os
import warnings
from pathlib import Path

import numpy as np

from ..utils._labels import mask_to_target, target_to_mask
from ._atomic import atomic_path, file_kind

__all__ = [
    "MAX_PIXELS",
    "MAX_PIXELS_ENV",
    "read_image",
    "read_labels",
    "write_array",
    "write_image",
    "write_mask",
]

_TIFF = (".tif", ".tiff")

#: Default largest image read, in pixels (height x width): about 11585 x 11585.
#: A guard against files that declare a huge size in a few bytes.
MAX_PIXELS = 2**27

#: Environment variable that sets another limit, e.g.
#: ``SEMISEG_MAX_IMAGE_PIXELS=1000000000``.
MAX_PIXELS_ENV = "SEMISEG_MAX_IMAGE_PIXELS"

# TIFF axes (tifffile's letters) that hold channels, or that may; any other
# axis longer than 1 (Z, T, ...) makes a stack or a volume.
_CHANNEL_AXES = "SC"
_IMAGE_AXES = "YX" + _CHANNEL_AXES + "QI"


def _pixel_limit(max_pixels):
    if max_pixels is None:
        if MAX_PIXELS_ENV not in os.environ:
            return MAX_PIXELS
        source, value = MAX_PIXELS_ENV, os.environ[MAX_PIXELS_ENV].strip()
    else:
        source, value = "max_pixels", max_pixels
    try:
        limit = int(value) if isinstance(value, str) else operator.index(value)
    except (TypeError, ValueError):
        limit = 0
    if isinstance(value, bool) or limit < 1:
        raise ValueError(
            f"{source}={value!r}; expected a positive whole number of pixels."
        )
    return limit


def _unreadable(path, exc, what="an image"):
    return ValueError(f"{path}: cannot read it as {what} ({exc}).")


def _check_pixels(path, found, n_pixels, limit):
    """Refuse an image over the pixel limit before its pixels are decoded."""
    if n_pixels > limit:
        raise ValueError(
            f"{path}: declares {found}, more than the limit of {limit:,} pixels "
            f"(a guard against decompression bombs); to read it, set the "
            f"environment variable {MAX_PIXELS_ENV} to a larger number of pixels."
        )


def _refuse_lossy(path, kind):
    raise ValueError(
        f"{path}: is {kind}; label images must be stored without loss (PNG, or "
        f"TIFF without JPEG compression): JPEG changes pixel values near every "
        f"edge, and each changed value would become a class of its own."
    )


def _check_dims(array, path):
    if array.ndim not in (2, 3):
        raise ValueError(
            f"{path}: has shape {array.shape}; expected a 2-D image, grey (H, W) "
            f"or with channels (H, W, C); read volumes with read_volume."
        )
    return np.ascontiguousarray(array)


def _channels_last(array, axes, path):
    """Move a 3-D image's channel axis last: by its TIFF axis, else the shortest."""
    if array.ndim != 3:
        return array
    if axes[2] in _CHANNEL_AXES and axes[:2] == "YX":
        return array
    if axes[0] in _CHANNEL_AXES and axes[1:] == "YX":
        return np.moveaxis(array, 0, -1)
    axis = 2 - int(np.argmin(array.shape[::-1]))  # ties prefer the last axis
    if axis == 0:
        return np.moveaxis(array, 0, -1)
    if axis == 1:
        raise ValueError(
            f"{path}: cannot tell the channel axis of shape {array.shape}; "
            f"expected channels first or last."
        )
    return array


def _read_pillow(path, *, labels, limit):
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow's own guard warns from 89 million pixels; ours decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
    except Image.DecompressionBombError:
        pillow = 2 * Image.MAX_IMAGE_PIXELS
        _check_pixels(path, f"more than {pillow:,} pixels", pillow + 1, limit)
        raise ValueError(
            f"{path}: declares more than {pillow:,} pixels, more than Pillow "
            f"reads from PNG, JPEG or BMP files; store it as TIFF."
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _unreadable(path, exc) from exc
    with img:
        width, height = img.size
        _check_pixels(path, f"{height} x {width} pixels", height * width, limit)
        if labels and img.format in ("JPEG", "MPO"):
            _refuse_lossy(path, "a JPEG file")
        try:
            img.load()
            mode = img.mode
            if labels and mode == "P":
                array = np.asarray(img)  # palette indices are the labels
            elif mode in ("P", "PA", "RGBA", "CMYK", "YCbCr", "LAB", "HSV"):
                array = np.asarray(img.convert("RGB"))
            elif mode == "LA":
                array = np.asarray(img.convert("L"))
            else:
                array = np.asarray(img)
        except MemoryError:
            raise
        except Exception as exc:  # truncated or corrupt data: several types
            raise _unreadable(path, exc) from exc
    if array.dtype == np.int32 and array.size and 0 <= array.min():
        if array.max() <= np.iinfo(np.uint16).max:
            array = array.astype(np.uint16)  # a 16-bit PNG opened in mode "I"
    return array


def _tiff_header(tif):
    """Shape and axes of the first series, without length-1 axes but Y and X."""
    series = tif.series[0]
    shape, axes = tuple(series.shape), series.axes
    if len(axes) != len(shape):
        axes = "Q" * len(shape)
    keep = [i for i, (n, a) in enumerate(zip(shape, axes)) if n != 1 or a in "YX"]
    shape, axes = tuple(shape[i] for i in keep), "".join(axes[i] for i in keep)
    return series, shape, axes, tif.pages[0].compression.name


def _read_tiff(path, *, labels, limit):
    import tifffile

    what = "a TIFF image"
    try:
        tif = tifffile.TiffFile(path)
    except Exception as exc:  # tifffile raises several unrelated types
        raise _unreadable(path, exc, what) from exc
    with tif:
        try:
            series, shape, axes, compression = _tiff_header(tif)
        except Exception as exc:
            raise _unreadable(path, exc, what) from exc
        if any(a not in _IMAGE_AXES for a in axes):
            raise ValueError(
                f"{path}: is a stack or volume with axes {axes} (shape {shape}); "
                f"read_image reads 2-D images (axes YX, YXS, YXC or CYX); read "
                f"volumes with read_volume (semiseg fit reads TIFF stacks as "
                f"volumes and predicts them with a model fitted on volumes)."
            )
        if {"Y", "X"} <= set(axes):
            height, width = shape[axes.index("Y")], shape[axes.index("X")]
        else:
            height, width = math.prod(shape), 1
        _check_pixels(path, f"{height} x {width} pixels", height * width, limit)
        if labels and "JPEG" in compression:
            _refuse_lossy(path, "a JPEG-compressed TIFF file")
        try:
            array = series.asarray().reshape(shape)
        except MemoryError:
            raise
        except Exception as exc:
            raise _unreadable(path, exc, what) from exc
    return _channels_last(array, axes, path)


def _read_array(path, *, labels, max_pixels):
    limit = _pixel_limit(max_pixels)
    path = Path(path)
    kind = file_kind(path)
    if kind is None:
        raise FileNotFoundError(f"{path}: no such file.")
    if kind != "regular file":
        raise ValueError(f"{path} is a {kind}; expected an image file.")
    if path.suffix.lower() in _TIFF:
        array = _read_tiff(path, labels=labels, limit=limit)
    else:
        array = _read_pillow(path, labels=labels, limit=limit)
    if array.dtype == bool:  # 1-bit PNG or bool TIFF: True is white, or class 1
        array = array.astype(np.uint8) * (1 if labels else 255)
    return _check_dims(array, path)


def _whole_numbers(array):
    """Float values that are exact integers (and exactly representable)."""
    return (
        np.issubdtype(array.dtype, np.floating)
        and bool(np.isfinite(array).all())
        and np.array_equal(array, np.round(array))
        and (array.size == 0 or float(np.abs(array).max()) <= 2**53)
    )


def read_image(path, *, max_pixels=None):
    """Read an image as an ``(H, W)`` or ``(H, W, C)`` array.

    Parameters
    ----------
    path : str or path-like
        A PNG, JPEG, BMP or TIFF file.
    max_pixels : int, default=None
        Largest height x width read; a file that declares more is refused
        before its pixels are decoded. None reads the environment variable
        ``SEMISEG_MAX_IMAGE_PIXELS``, else :data:`MAX_PIXELS` (2**27, about
        11585 x 11585).

    Returns
    -------
    image : ndarray of shape (H, W) or (H, W, C)
        The pixel values in the file's own dtype (uint8, uint16, float, ...).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        The file is not a regular file, cannot be read as an image, declares
        more than ``max_pixels`` pixels, or holds a stack or volume (a TIFF
        with a Z, T or other axis besides Y, X and channels).

    Notes
    -----
    Palette images are expanded to RGB, and the alpha channel of PNG images is
    dropped. 1-bit PNGs and bool TIFFs are read as uint8, 0 and 255. A 3-D
    TIFF's channel axis is the one its metadata names (ImageJ or OME ``C``,
    RGB samples ``S``), else its shortest axis, first or last (``(C, H, W)`` is
    moved to ``(H, W, C)``). Pillow reads 16-bit colour PNGs as 8-bit; store
    16-bit colour images as TIFF.
    """
    return _read_array(path, labels=False, max_pixels=max_pixels)


def read_labels(path, shape=None, *, max_pixels=None):
    """Read a label image and convert it to a ``-1 = unlabeled`` target.

    Parameters
    ----------
    path : str or path-like
        A single-channel label image in the annotation convention:
        0 = unlabeled, 1..K = classes. Palette PNGs give their palette indices.
    shape : tuple of int, default=None
        The ``(H, W)`` of the image it labels; checked when given.
    max_pixels : int, default=None
        Largest height x width read, as in :func:`read_image`.

    Returns
    -------
    target : ndarray of shape (H, W) of int64
        ``-1`` for unlabeled pixels, classes from 0
        (:func:`~semiseg_sk.utils.mask_to_target`).

    Raises
    ------
    ValueError
        The file is unreadable or too large (as for :func:`read_image`), is
        stored with lossy JPEG compression (whose artefacts would become
        classes), has several channels, holds values that are not integers or
        are negative, or its shape differs from ``shape``.

    Notes
    -----
    1-bit PNGs and bool TIFFs give 0 (unlabeled) and 1 (class 1).
    """
    array = _read_array(path, labels=True, max_pixels=max_pixels)
    return label_target(array, path, shape)


def label_target(array, path, shape=None, ndim=2):
    """The ``-1 = unlabeled`` target of a label image (or volume) read from ``path``.

    The checks of :func:`read_labels`; ``ndim`` is 3 for a label volume.
    """
    if array.ndim == ndim + 1:
        if array.shape[-1] > 1 and not (array == array[..., :1]).all():
            raise ValueError(
                f"{path}: label image has {array.shape[-1]} different channels; "
                f"expected one channel of integer class labels (0 = unlabeled, "
                f"1..K = classes)."
            )
        array = array[..., 0]
    if not np.issubdtype(array.dtype, np.integer):
        if _whole_numbers(array):
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
    if shape is not None and array.shape != tuple(shape[:ndim]):
        axes = "(height, width)" if ndim == 2 else "(depth, height, width)"
        raise ValueError(
            f"{path}: label image has shape {array.shape} but its image has shape "
            f"{tuple(shape[:ndim])} {axes}; expected the same."
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
