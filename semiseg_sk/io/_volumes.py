# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Reading and writing TIFF stacks: volumes with their axes and voxel spacing.

A volume is read as ``(Z, Y, X)`` or ``(Z, Y, X, C)`` whatever the order of
the axes in the file, which tifffile reports from the ImageJ or OME metadata
(``TiffFile.series[0].axes``). The voxel spacing ``(dz, dy, dx)`` comes from
the OME ``PhysicalSizeZ/Y/X`` attributes, else from the ImageJ ``spacing``
entry (z) and the TIFF resolution tags (y, x). Masks are written back as
ImageJ hyperstacks with the same spacing, so that Fiji and napari show them
at the right scale over the image.
"""

import os
import re
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from ..utils._labels import target_to_mask
from ..utils.validation import check_spacing
from ._atomic import atomic_path, file_kind
from ._images import _TIFF, _check_pixels, _pixel_limit, _unreadable, label_target

__all__ = [
    "is_volume_file",
    "read_volume",
    "read_volume_labels",
    "volume_metadata",
    "write_volume",
    "write_volume_mask",
]

# Length units of the metadata, in micrometres.
_MICRONS = {
    "pm": 1e-6,
    "å": 1e-4,
    "angstrom": 1e-4,
    "nm": 1e-3,
    "µm": 1.0,
    "μm": 1.0,
    "um": 1.0,
    "micron": 1.0,
    "microns": 1.0,
    "mm": 1e3,
    "cm": 1e4,
    "m": 1e6,
}
# TIFF ResolutionUnit: 2 = inch, 3 = centimetre (in micrometres).
_RESOLUTION_UNITS = {2: 25400.0, 3: 10000.0}
# Axes tifffile names that may hold channels (C; S, RGB samples), and the
# generic ones (I: image sequence, Q: unknown) read as Z when Z is absent.
_CHANNEL_AXES = "CS"
_GENERIC_AXES = "IQ"


def _micron_factor(unit):
    if unit is None:
        return None
    unit = str(unit).strip().replace("\\u00B5", "µ").lower()
    return _MICRONS.get(unit)


def _axes(series, path):
    """Axes letters of the first series without length-1 axes but Y and X."""
    shape, axes = tuple(series.shape), series.axes
    if len(axes) != len(shape):
        axes = "Q" * len(shape)
    keep = [i for i, (n, a) in enumerate(zip(shape, axes)) if n != 1 or a in "YX"]
    return keep, "".join(axes[i] for i in keep)


def _order(axes, path, shape):
    """Positions of Z, Y, X and the channel axis (or None) in ``axes``."""
    letters = "".join(axes)
    if "T" in letters:
        raise ValueError(
            f"{path}: has a time axis (axes {letters}, shape {shape}); semiseg_sk "
            f"reads volumes with axes Z, Y, X and channels. Save one time point "
            f"per file."
        )
    if "Y" not in letters or "X" not in letters:
        raise ValueError(
            f"{path}: has axes {letters} (shape {shape}) without Y and X; "
            f"expected a stack of 2-D images."
        )
    channel = [i for i, a in enumerate(letters) if a in _CHANNEL_AXES]
    if len(channel) > 1:
        raise ValueError(
            f"{path}: has two channel axes ({letters}, shape {shape}); expected "
            f"at most one of C (channels) and S (RGB samples)."
        )
    z = [i for i, a in enumerate(letters) if a == "Z"]
    if not z:
        z = [i for i, a in enumerate(letters) if a in _GENERIC_AXES][:1]
    used = {letters.index("Y"), letters.index("X"), *z, *channel}
    other = [a for i, a in enumerate(letters) if i not in used]
    if other:
        raise ValueError(
            f"{path}: has axes {letters} (shape {shape}), of which "
            f"{''.join(other)} is neither Z, Y, X nor channels; semiseg_sk reads "
            f"one volume per file (ZYX, ZYXC, ZCYX, ...)."
        )
    return (
        z[0] if z else None,
        letters.index("Y"),
        letters.index("X"),
        channel[0] if channel else None,
    )


def _ome_metadata(tif):
    """Spacing (µm, None where unknown) and channel names from OME-XML."""
    try:
        root = ElementTree.fromstring(tif.ome_metadata)
    except (ElementTree.ParseError, TypeError, ValueError):
        return [None, None, None], None
    pixels = next((e for e in root.iter() if e.tag.endswith("Pixels")), None)
    if pixels is None:
        return [None, None, None], None
    spacing = []
    for axis in "ZYX":
        value = pixels.get(f"PhysicalSize{axis}")
        factor = _micron_factor(pixels.get(f"PhysicalSize{axis}Unit", "µm"))
        try:
            size = float(value) * factor if value and factor else None
        except ValueError:
            size = None
        spacing.append(size)
    names = [
        e.get("Name") for e in pixels if e.tag.endswith("Channel") and e.get("Name")
    ]
    return spacing, names or None


def _resolution_spacing(page, unit_factor):
    """(dy, dx) from the resolution tags in µm (or in ``unit_factor`` units)."""
    tags = page.tags
    out = []
    for name in ("YResolution", "XResolution"):
        tag = tags.get(name)
        if tag is None:
            out.append(None)
            continue
        num, den = tag.value if isinstance(tag.value, tuple) else (tag.value, 1)
        out.append(den / num if num else None)
    unit = tags.get("ResolutionUnit")
    unit = 1 if unit is None else int(unit.value)
    if unit in _RESOLUTION_UNITS:
        return [None if s is None else s * _RESOLUTION_UNITS[unit] for s in out]
    if unit_factor is None and out == [1.0, 1.0]:
        return [None, None]  # the default tags tifffile writes: no information
    return [None if s is None or unit_factor is None else s * unit_factor for s in out]


def _spacing(tif, path):
    """``(dz, dy, dx)`` in µm (or the file's unit), None parts filled with 1."""
    names = None
    if tif.is_ome:
        spacing, names = _ome_metadata(tif)
    else:
        spacing = [None, None, None]
    meta = tif.imagej_metadata or {}
    unit_factor = _micron_factor(meta.get("unit")) if meta else None
    if meta and unit_factor is None and meta.get("unit"):
        unit_factor = 1.0  # an unknown unit: keep its numbers
    if spacing[0] is None and "spacing" in meta:
        try:
            spacing[0] = float(meta["spacing"]) * (unit_factor or 1.0)
        except (TypeError, ValueError):
            pass
    if spacing[1] is None or spacing[2] is None:
        dy, dx = _resolution_spacing(tif.pages[0], unit_factor)
        spacing[1] = spacing[1] if spacing[1] is not None else dy
        spacing[2] = spacing[2] if spacing[2] is not None else dx
    if all(s is None for s in spacing):
        return None, names
    spacing = tuple(1.0 if s is None else float(s) for s in spacing)
    if not all(np.isfinite(s) and s > 0 for s in spacing):
        raise ValueError(
            f"{path}: declares voxel spacing {spacing}; expected positive sizes."
        )
    return spacing, names


def is_volume_file(path):
    """Whether ``path`` is a TIFF whose first series has a Z axis longer than 1.

    Parameters
    ----------
    path : str or path-like
        Any file; files that are not TIFF give False.

    Returns
    -------
    volume : bool
    """
    if Path(path).suffix.lower() not in _TIFF or file_kind(path) != "regular file":
        return False
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            return any(a == "Z" and n > 1 for a, n in zip(series.axes, series.shape))
    except Exception:  # unreadable: read_image explains it
        return False


def read_volume(path, *, max_pixels=None, return_metadata=False):
    """Read a TIFF stack as a ``(Z, Y, X)`` or ``(Z, Y, X, C)`` volume.

    Parameters
    ----------
    path : str or path-like
        A TIFF file: an ImageJ hyperstack, an OME-TIFF or a plain multi-page
        TIFF (its pages are the Z slices).
    max_pixels : int, default=None
        Largest number of voxels (Z x Y x X) read; a file that declares more
        is refused before its pixels are decoded. None reads the environment
        variable ``SEMISEG_MAX_IMAGE_PIXELS``, else
        :data:`~semiseg_sk.io.MAX_PIXELS`.
    return_metadata : bool, default=False
        Also return a dict with ``"axes"`` (the file's axes, as tifffile
        names them) and ``"channel_names"`` (OME channel names, or None).

    Returns
    -------
    volume : ndarray of shape (Z, Y, X) or (Z, Y, X, C)
        The voxel values in the file's dtype.
    spacing : tuple of float or None
        ``(dz, dy, dx)``, the voxel size in micrometres when the file gives
        its unit (in the file's unit otherwise); None when the file says
        nothing of it. A size the file leaves out is 1.
    metadata : dict
        Only with ``return_metadata``.

    Raises
    ------
    ValueError
        The file is not a TIFF, cannot be read, has a time axis or several
        series, or axes besides Z, Y, X and channels.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from semiseg_sk.io import read_volume, write_volume
    >>> path = os.path.join(tempfile.mkdtemp(), "stack.tif")
    >>> _ = write_volume(path, np.zeros((3, 8, 8), np.uint8), spacing=(2, 0.5, 0.5))
    >>> volume, spacing = read_volume(path)
    >>> volume.shape, spacing
    ((3, 8, 8), (2.0, 0.5, 0.5))
    """
    import tifffile

    limit = _pixel_limit(max_pixels)
    path = Path(path)
    kind = file_kind(path)
    if kind is None:
        raise FileNotFoundError(f"{path}: no such file.")
    if kind != "regular file":
        raise ValueError(f"{path} is a {kind}; expected a TIFF file.")
    if path.suffix.lower() not in _TIFF:
        raise ValueError(
            f"{path}: volumes are read from TIFF stacks (.tif, .tiff); got "
            f"{path.suffix or 'a file without extension'}."
        )
    what = "a TIFF stack"
    try:
        tif = tifffile.TiffFile(path)
    except Exception as exc:  # tifffile raises several unrelated types
        raise _unreadable(path, exc, what) from exc
    with tif:
        try:
            series = tif.series
            n_series = len(series)
            series = series[0]
            keep, axes = _axes(series, path)
        except Exception as exc:
            raise _unreadable(path, exc, what) from exc
        if n_series > 1:
            raise ValueError(
                f"{path}: holds {n_series} image series; semiseg_sk reads one "
                f"volume per file. Save each series to a file of its own."
            )
        shape = tuple(series.shape[i] for i in keep)
        z, y, x, c = _order(axes, path, shape)
        depth = 1 if z is None else shape[z]
        voxels = depth * shape[y] * shape[x]
        _check_pixels(path, f"{depth} x {shape[y]} x {shape[x]} voxels", voxels, limit)
        spacing, names = _spacing(tif, path)
        try:
            array = series.asarray().reshape(shape)
        except MemoryError:
            raise
        except Exception as exc:
            raise _unreadable(path, exc, what) from exc
    if z is None:
        array, order = array[None], [0] + [i + 1 for i in (y, x)]
        c = None if c is None else c + 1
    else:
        order = [z, y, x]
    if c is not None:
        order.append(c)
    volume = np.ascontiguousarray(np.transpose(array, order))
    if array.dtype == bool:
        volume = volume.astype(np.uint8)
    if not return_metadata:
        return volume, spacing
    return volume, spacing, {"axes": axes, "channel_names": names}


def volume_metadata(path):
    """The spacing and channel names a TIFF file declares, without its pixels.

    Parameters
    ----------
    path : str or path-like
        A TIFF file.

    Returns
    -------
    metadata : dict
        ``"spacing"``: ``(dz, dy, dx)`` or None, as :func:`read_volume`
        returns it; ``"channel_names"``: the OME channel names or None;
        ``"axes"``: the axes of the first series.
    """
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            spacing, names = _spacing(tif, path)
            _, axes = _axes(tif.series[0], path)
    except ValueError:
        raise
    except Exception as exc:  # tifffile raises several unrelated types
        raise _unreadable(path, exc, "a TIFF stack") from exc
    return {"spacing": spacing, "channel_names": names, "axes": axes}


def read_volume_labels(path, shape=None, *, max_pixels=None):
    """Read a label TIFF stack as a ``-1 = unlabeled`` target volume.

    Parameters
    ----------
    path : str or path-like
        A TIFF stack in the annotation convention: 0 = unlabeled, 1..K =
        classes. Scribbles on a few slices are enough; the other slices are
        0.
    shape : tuple of int, default=None
        The ``(Z, Y, X)`` of the volume it labels; checked when given.
    max_pixels : int, default=None
        Largest number of voxels read, as in :func:`read_volume`.

    Returns
    -------
    target : ndarray of shape (Z, Y, X) of int64
        ``-1`` for unlabeled voxels, classes from 0.
    """
    volume, _ = read_volume(path, max_pixels=max_pixels)
    return label_target(volume, path, shape, ndim=3)


def write_volume(path, volume, *, spacing=None, unit="um", overwrite=True):
    """Write a volume atomically as an ImageJ hyperstack TIFF.

    Parameters
    ----------
    path : str or path-like
        Destination, ``.tif`` or ``.tiff``.
    volume : ndarray of shape (Z, Y, X) or (Z, Y, X, C)
        uint8, uint16 or float32 voxels (other dtypes are converted:
        ImageJ reads only these).
    spacing : tuple of float, default=None
        ``(dz, dy, dx)``, stored as the ImageJ ``spacing`` and the resolution
        tags; None stores none.
    unit : str, default="um"
        Unit of ``spacing``.
    overwrite : bool, default=True
        If False, refuse to replace an existing file.

    Returns
    -------
    path : str
        The written path.
    """
    import tifffile

    volume = np.asarray(volume)
    if volume.ndim not in (3, 4):
        raise ValueError(
            f"volume has shape {volume.shape}; expected (Z, Y, X) or (Z, Y, X, C)."
        )
    if volume.dtype not in (np.uint8, np.uint16, np.float32):
        if np.issubdtype(volume.dtype, np.integer) and volume.min() >= 0:
            dtype = np.uint8 if volume.max() <= 255 else np.uint16
        else:
            dtype = np.float32
        volume = volume.astype(dtype)
    spacing = check_spacing(spacing)
    data, axes = volume, "ZYX"
    if volume.ndim == 4:
        data, axes = np.moveaxis(volume, -1, 1), "ZCYX"
    metadata = {"axes": axes}
    kwargs = {}
    if spacing is not None:
        metadata.update(spacing=spacing[0], unit=unit)
        kwargs["resolution"] = (1.0 / spacing[2], 1.0 / spacing[1])
    path = os.fspath(path)
    if not re.search(r"\.tiff?$", path, flags=re.IGNORECASE):
        raise ValueError(f"{path}: volumes are written as TIFF (.tif, .tiff).")
    with atomic_path(path, overwrite=overwrite) as tmp:
        tifffile.imwrite(tmp, data, imagej=True, metadata=metadata, **kwargs)
    return path


def write_volume_mask(path, target, *, spacing=None, unit="um", overwrite=True):
    """Write a predicted ``-1``-convention volume as a label TIFF stack.

    Parameters
    ----------
    path : str or path-like
        Destination, ``.tif`` or ``.tiff``.
    target : ndarray of shape (Z, Y, X) of int
        Classes from 0, -1 for unlabeled; written as
        :func:`~semiseg_sk.utils.target_to_mask` (0 = unlabeled, 1..K), in
        uint8 when the values fit and uint16 otherwise.
    spacing : tuple of float, default=None
        ``(dz, dy, dx)``, stored as in :func:`write_volume`.
    unit : str, default="um"
        Unit of ``spacing``.
    overwrite : bool, default=True
        If False, refuse to replace an existing file.

    Returns
    -------
    path : str
        The written path.
    """
    mask = target_to_mask(np.asarray(target))
    top = int(mask.max()) if mask.size else 0
    if top > np.iinfo(np.uint16).max:
        raise ValueError(f"{path}: class {top} does not fit a 16-bit label image.")
    dtype = np.uint8 if top <= np.iinfo(np.uint8).max else np.uint16
    return write_volume(
        path, mask.astype(dtype), spacing=spacing, unit=unit, overwrite=overwrite
    )
