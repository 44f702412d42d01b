# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Reading and writing images, label images, masks and model files.

Images are read with Pillow (PNG, JPEG, BMP) and tifffile (TIFF, including
multichannel, 16-bit and float images), which scikit-image already depends on.
Every writer goes through a temporary file in the destination folder that is
renamed over the destination only once complete, so an interrupted run never
leaves a half-written file behind.

Label images follow the convention of annotation tools (napari, ilastik,
scikit-image): 0 = unlabeled, 1..K = classes. :func:`read_labels` converts
them to semiseg_sk's ``-1 = unlabeled`` targets with
:func:`~semiseg_sk.utils.mask_to_target`, and :func:`write_mask` writes
predictions back in the annotation convention with
:func:`~semiseg_sk.utils.target_to_mask`, so a predicted mask can be corrected
in an annotation tool and used again as a label image.

.. warning::
   Model files are pickles (joblib). Loading a pickle can run arbitrary code:
   load only model files from sources you trust.
"""

import contextlib
import datetime
import glob
import os
import platform
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from .utils._labels import mask_to_target, target_to_mask

__all__ = [
    "IMAGE_EXTENSIONS",
    "LABEL_SUFFIX",
    "ModelFileError",
    "find_images",
    "find_label_file",
    "load_model",
    "read_image",
    "read_labels",
    "save_model",
    "write_array",
    "write_image",
    "write_mask",
]

#: File extensions recognised as images (lower case).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")

#: Suffix of a label file's stem: ``photo_labels.png`` labels ``photo.jpg``.
LABEL_SUFFIX = "_labels"

#: The ``format`` entry of a semiseg_sk model file.
MODEL_FORMAT = "semiseg_sk-model"

#: Version of the model-file layout; files with a larger one are refused.
MODEL_FORMAT_VERSION = 1

_TIFF = (".tif", ".tiff")


class ModelFileError(ValueError):
    """A file is not a semiseg_sk model, or cannot be loaded by this version."""


def _package_version():
    from . import __version__

    return __version__


# -- finding files ----------------------------------------------------------


def _is_image_file(path):
    return path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file()


def find_images(paths, *, exclude_suffixes=()):
    """Expand files, folders and glob patterns into a sorted list of images.

    Parameters
    ----------
    paths : str, path-like or list of them
        Image files (used whatever their extension), folders (their image
        files, not recursive, sorted by name) and glob patterns such as
        ``"data/*.tif"`` or ``"data/**/*.png"``.
    exclude_suffixes : tuple of str, default=()
        Files found in folders or by patterns whose stem ends with one of these
        are skipped (explicitly named files never are); used to skip the
        ``*_labels.png`` files written next to images.

    Returns
    -------
    images : list of pathlib.Path
        Each file once, in the order given (folders and patterns sorted).

    Raises
    ------
    FileNotFoundError
        A path that does not exist, or a pattern that matches nothing.
    ValueError
        No image at all.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    found, seen = [], set()

    def add(path, explicit):
        if not explicit and path.stem.endswith(tuple(exclude_suffixes)):
            return
        key = os.path.normcase(os.path.abspath(path))
        if key not in seen:
            seen.add(key)
            found.append(path)

    for item in paths:
        text = os.fspath(item)
        path = Path(text)
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if _is_image_file(child):
                    add(child, False)
        elif path.is_file():
            add(path, True)
        elif glob.has_magic(text):
            matches = sorted(glob.glob(text, recursive=True))
            images = [Path(m) for m in matches if _is_image_file(Path(m))]
            if not images:
                raise FileNotFoundError(f"no image file matches {text!r}.")
            for image in images:
                add(image, False)
        else:
            raise FileNotFoundError(f"{text}: no such file or folder.")
    if not found:
        where = ", ".join(os.fspath(p) for p in paths) or "(nothing given)"
        raise ValueError(
            f"no image found in {where}; expected files ending in "
            f"{', '.join(IMAGE_EXTENSIONS)}."
        )
    return found


def find_label_file(image_path, label_dir):
    """The label image of an image, or None.

    The label image of ``photo.jpg`` is ``photo.<ext>`` or
    ``photo_labels.<ext>`` in ``label_dir``, for any image extension
    (:data:`IMAGE_EXTENSIONS`, any case). The image itself never counts as its
    own label file.

    Parameters
    ----------
    image_path : str or path-like
        The image.
    label_dir : str or path-like
        The folder of label images.

    Returns
    -------
    path : pathlib.Path or None
        The label file, or None when there is none.

    Raises
    ------
    ValueError
        More than one file qualifies.
    """
    image_path, label_dir = Path(image_path), Path(label_dir)
    stems = {image_path.stem, image_path.stem + LABEL_SUFFIX}
    own = os.path.normcase(os.path.abspath(image_path))
    candidates = sorted(
        child
        for child in label_dir.iterdir()
        if child.stem in stems
        and _is_image_file(child)
        and os.path.normcase(os.path.abspath(child)) != own
    )
    if len(candidates) > 1:
        names = ", ".join(c.name for c in candidates)
        raise ValueError(
            f"{image_path.name} has several label files in {label_dir}: {names}; "
            f"keep one."
        )
    return candidates[0] if candidates else None


# -- reading ----------------------------------------------------------------


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


# -- writing ----------------------------------------------------------------


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path, *, overwrite=True):
    """Yield a temporary path next to ``path``; rename it to ``path`` on success.

    The temporary file keeps ``path``'s extension, so writers that choose the
    format from it work. If the block raises, the temporary file is removed
    and ``path`` is left as it was.

    Parameters
    ----------
    path : str or path-like
        The destination.
    overwrite : bool, default=True
        If False, raise :class:`FileExistsError` when ``path`` exists.

    Yields
    ------
    tmp : str
        The temporary path to write.
    """
    path = os.fspath(path)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} exists; refusing to overwrite it.")
    directory = os.path.dirname(os.path.abspath(path))
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(suffix=suffix, dir=directory, prefix=".semiseg-tmp-")
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        if not overwrite and os.path.exists(path):
            raise FileExistsError(f"{path} exists; refusing to overwrite it.")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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


# -- model files ------------------------------------------------------------


def _versions():
    versions = {"python": platform.python_version()}
    for name, module in (
        ("semiseg_sk", "semiseg_sk"),
        ("numpy", "numpy"),
        ("scikit-learn", "sklearn"),
        ("scikit-image", "skimage"),
        ("torch", "torch"),
    ):
        mod = sys.modules.get(module)
        if mod is not None:
            versions[name] = getattr(mod, "__version__", "unknown")
    return versions


def save_model(model, path, *, summary=None, overwrite=False, compress=3):
    """Save a fitted segmenter in a semiseg_sk model file (joblib).

    The file holds a dict: ``{"format": "semiseg_sk-model", "format_version":
    1, "version": <semiseg_sk version>, "versions": {...}, "created":
    <ISO time>, "summary": summary, "model": model}``. It is written to a
    temporary file and renamed, so an interrupted save leaves no partial file.

    Parameters
    ----------
    model : estimator object
        The fitted segmenter, usually a Pipeline from
        :func:`~semiseg_sk.make_segmenter`.
    path : str or path-like
        Destination, conventionally ``*.joblib``.
    summary : dict, default=None
        Training summary stored with the model (number of images, classes,
        fit time, ...), shown by ``semiseg info``.
    overwrite : bool, default=False
        If False, refuse to replace an existing file.
    compress : int, default=3
        joblib compression level (0 to 9).

    Returns
    -------
    path : str
        The written path.

    See Also
    --------
    load_model : Load it back.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.dummy import DummyClassifier
    >>> from semiseg_sk.io import save_model, load_model
    >>> path = os.path.join(tempfile.mkdtemp(), "model.joblib")
    >>> _ = save_model(DummyClassifier(), path, summary={"n_images": 0})
    >>> model, info = load_model(path, return_info=True)
    >>> info["summary"]
    {'n_images': 0}
    """
    import joblib

    payload = {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "version": _package_version(),
        "versions": _versions(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "summary": dict(summary or {}),
        "model": model,
    }
    with atomic_path(path, overwrite=overwrite) as tmp:
        joblib.dump(payload, tmp, compress=compress)
    return os.fspath(path)


def load_model(path, *, return_info=False):
    """Load a model file written by :func:`save_model`.

    .. warning::
       Model files are pickles: loading one can run arbitrary code. Load only
       files from sources you trust.

    Parameters
    ----------
    path : str or path-like
        The model file. A plain ``joblib.dump`` of a fitted semiseg_sk
        estimator is accepted too (with an empty summary).
    return_info : bool, default=False
        Also return the file's metadata (everything but the model).

    Returns
    -------
    model : estimator object
        The fitted segmenter.
    info : dict
        Only when ``return_info``: ``format``, ``format_version``,
        ``version``, ``versions``, ``created`` and ``summary``.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ModelFileError
        The file is not a semiseg_sk model, or was written by an incompatible
        version (a newer file format, or classes this installation lacks).

    Warns
    -----
    UserWarning
        The file was written by another semiseg_sk version.
    """
    import joblib

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such model file.")
    current = _package_version()
    with warnings.catch_warnings():
        # One warning for the whole file instead of one per pickled step.
        warnings.filterwarnings(
            "ignore", message=".*was saved with semiseg_sk", category=UserWarning
        )
        try:
            obj = joblib.load(path)
        except ModuleNotFoundError as exc:
            name = (exc.name or "").split(".")[0]
            if name and name != "semiseg_sk":
                raise ModelFileError(
                    f"{path}: loading it needs the Python package {name!r}, which is "
                    f"not installed (pip install {name})."
                ) from exc
            raise ModelFileError(
                f"{path}: made by an incompatible version of semiseg_sk ({exc}); "
                f"this is semiseg_sk {current}."
            ) from exc
        except (AttributeError, ImportError) as exc:
            raise ModelFileError(
                f"{path}: made by an incompatible version of semiseg_sk or its "
                f"dependencies ({exc}); this is semiseg_sk {current}."
            ) from exc
        except Exception as exc:
            raise ModelFileError(
                f"{path}: not a semiseg_sk model file (it cannot be read as a "
                f"joblib file: {type(exc).__name__}: {exc})."
            ) from exc
    if isinstance(obj, dict) and obj.get("format") == MODEL_FORMAT:
        fmt = obj.get("format_version")
        if not isinstance(fmt, int) or fmt > MODEL_FORMAT_VERSION or "model" not in obj:
            raise ModelFileError(
                f"{path}: model file format {fmt!r} from semiseg_sk "
                f"{obj.get('version')} is not supported by semiseg_sk {current} "
                f"(format {MODEL_FORMAT_VERSION}); upgrade semiseg_sk."
            )
        saved = obj.get("version")
        if saved != current:
            warnings.warn(
                f"{path} was saved with semiseg_sk {saved} and is loaded with "
                f"{current}; results may differ.",
                UserWarning,
                stacklevel=2,
            )
        model = obj["model"]
        info = {k: v for k, v in obj.items() if k != "model"}
    elif _is_semiseg_estimator(obj):
        model = obj
        info = {
            "format": "joblib",
            "format_version": None,
            "version": None,
            "versions": {},
            "created": None,
            "summary": {},
        }
    else:
        raise ModelFileError(
            f"{path}: not a semiseg_sk model file (it holds a {type(obj).__name__})."
        )
    return (model, info) if return_info else model


def _is_semiseg_estimator(obj):
    from sklearn.pipeline import Pipeline

    steps = [s for _, s in obj.steps] if isinstance(obj, Pipeline) else [obj]
    return hasattr(obj, "predict") and any(
        type(s).__module__.startswith("semiseg_sk.") for s in steps
    )
