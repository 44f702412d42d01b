# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Finding images and their label files by the command line's naming conventions."""

import glob
import os
from pathlib import Path

__all__ = ["IMAGE_EXTENSIONS", "LABEL_SUFFIX", "find_images", "find_label_file"]

#: File extensions recognised as images (lower case).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")

#: Suffix of a label file's stem: ``photo_labels.png`` labels ``photo.jpg``.
LABEL_SUFFIX = "_labels"


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
