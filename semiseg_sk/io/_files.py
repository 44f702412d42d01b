# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Finding images and their label files by the command line's naming conventions."""

import glob
import os
from pathlib import Path

from ._atomic import TEMP_PREFIX, file_kind

__all__ = ["IMAGE_EXTENSIONS", "LABEL_SUFFIX", "find_images", "find_label_file"]

#: File extensions recognised as images (lower case).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")

#: Suffix of a label file's stem: ``photo_labels.png`` labels ``photo.jpg``.
LABEL_SUFFIX = "_labels"


def _is_hidden(path):
    """Hidden files, and the atomic writer's temporary files, are never inputs."""
    return path.name.startswith(".")


def _is_image_file(path):
    return (
        path.suffix.lower() in IMAGE_EXTENSIONS
        and not _is_hidden(path)
        and path.is_file()
    )


def _glob(pattern):
    """Matches of a pattern, sorted; ``**`` does not enter symlinked folders."""
    parts = Path(pattern).parts
    first = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    root = Path(*parts[:first]) if first else Path(os.curdir)
    matches = root.glob(os.path.join(*parts[first:]))
    return sorted(
        m
        for m in matches
        if not any(p.startswith(".") for p in m.parts[len(root.parts) :])
    )


def find_images(paths, *, exclude_suffixes=()):
    """Expand files, folders and glob patterns into a sorted list of images.

    Parameters
    ----------
    paths : str, path-like or list of them
        Image files (used whatever their extension), folders (their image
        files, not recursive, sorted by name) and glob patterns such as
        ``"data/*.tif"`` or ``"data/**/*.png"`` (``**`` is recursive but, as
        in bash, does not enter symbolically linked folders, so a link loop
        cannot repeat images).
    exclude_suffixes : tuple of str, default=()
        Files found in folders or by patterns whose stem ends with one of these
        are skipped (explicitly named files never are); used to skip the
        ``*_labels.png`` files written next to images.

    Returns
    -------
    images : list of pathlib.Path
        Each file once, in the order given (folders and patterns sorted). A
        file reached twice, by two names or through a symbolic link, is
        kept under the first name. Hidden files (names starting with ``.``,
        among them the temporary files of an interrupted write) found in
        folders or by patterns are skipped.

    Raises
    ------
    FileNotFoundError
        A path that does not exist, or a pattern that matches nothing.
    ValueError
        No image at all, a named path that is neither a regular file nor a
        folder (a device, a FIFO, a broken link), or a named temporary file
        of semiseg_sk's writer (:data:`~semiseg_sk.io.TEMP_PREFIX`).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    found, seen = [], set()

    def add(path, explicit):
        if not explicit and path.stem.endswith(tuple(exclude_suffixes)):
            return
        key = os.path.normcase(os.path.realpath(path))
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
            if path.name.startswith(TEMP_PREFIX):
                raise ValueError(
                    f"{text} is a temporary file left by an interrupted semiseg_sk "
                    f"write, not an image; delete it."
                )
            add(path, True)
        elif glob.has_magic(text):
            images = [m for m in _glob(text) if _is_image_file(m)]
            if not images:
                raise FileNotFoundError(f"no image file matches {text!r}.")
            for image in images:
                add(image, False)
        elif os.path.lexists(text):
            raise ValueError(
                f"{text} is a {file_kind(text)}; expected an image file or a folder."
            )
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
    own label file, nor do hidden files.

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
