# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Validation of images and label maps at the public boundary.

Every message names the argument, the image index and what was expected, so a
user with hundreds of images knows which one to look at.
"""

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils import get_tags

__all__ = [
    "check_channels",
    "check_classifier",
    "check_spacing",
    "check_image",
    "check_list",
    "check_images",
    "check_labels",
    "n_channels",
    "unmask",
    "unmasked",
    "unseen_classes",
]


def check_list(seq, name, what="image"):
    """Turn a list-like of per-image items into a list, or explain what is wrong.

    Any sized iterable is read positionally, by iterating over it: a pandas
    Series with any index, a tuple, or a 1-D object array of images all
    give their items in order. A numeric ndarray is refused, since a stack
    of images is easily passed by mistake for a list of them.
    """
    if isinstance(seq, np.ndarray) and not (seq.dtype == object and seq.ndim == 1):
        raise TypeError(
            f"{name} must be a list of arrays, one per image; got a single ndarray "
            f"of shape {seq.shape}. Wrap one {what} in a list, or turn a stack "
            f"into a list with list(stack)."
        )
    if isinstance(seq, (str, bytes, dict)) or not hasattr(seq, "__len__"):
        raise TypeError(
            f"{name} must be a list of arrays, one per image; got {type(seq).__name__}."
        )
    seq = list(seq)
    if len(seq) == 0:
        raise ValueError(f"{name} is empty: expected at least one {what}.")
    return seq


def as_array(value, where, expected):
    """``value`` as an ndarray, or a TypeError naming ``where`` if numpy cannot.

    ndarrays, masked arrays included, are returned as they are; anything else
    goes through :func:`numpy.asarray`. A nested list with rows of different
    lengths (a ragged list) is the usual reason numpy cannot read a value.
    """
    if isinstance(value, np.ndarray):
        return value
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise TypeError(
            f"{where} must be {expected}; got {type(value).__name__} that numpy "
            f"cannot read as an array, e.g. a nested list whose rows differ in "
            f"length ({exc})."
        ) from exc


def unmask(values, fill):
    """The data of a numpy masked array with its masked entries set to ``fill``.

    Never modifies ``values``: a copy is filled, promoted to a signed integer
    type when ``fill`` is negative and the data unsigned. Anything that is not
    a masked array is returned unchanged.

    Parameters
    ----------
    values : array-like
        Possibly a :class:`numpy.ma.MaskedArray`.
    fill : int or float
        The value of the masked entries, e.g. -1 (unlabeled) for label maps.

    Returns
    -------
    values : ndarray or the input
    """
    if not isinstance(values, np.ma.MaskedArray):
        return values
    data = np.ma.getdata(values)
    mask = np.ma.getmaskarray(values)
    if not mask.any():
        return data
    dtype = data.dtype
    if np.issubdtype(dtype, np.integer):
        dtype = np.promote_types(dtype, np.min_scalar_type(fill))
    data = data.astype(dtype, copy=True)
    data[mask] = fill
    return data


def unmasked(array, where, remedy):
    """``array`` as a plain ndarray; a TypeError if it is a masked array with a mask.

    For the arrays whose every entry is used (images, region maps): a mask
    would be silently dropped by numpy. A masked array without masked entries
    is taken as its data.

    Parameters
    ----------
    array : ndarray
        Possibly a :class:`numpy.ma.MaskedArray`.
    where : str
        The argument, used in the message.
    remedy : str
        What to do instead, the end of the message.

    Returns
    -------
    array : ndarray
        A view of the data, never a copy.
    """
    n_masked = int(np.ma.count_masked(array)) if np.ma.isMaskedArray(array) else 0
    if n_masked:
        raise TypeError(
            f"{where} is a masked array with {n_masked} masked value(s); "
            f"expected a plain array: its mask would be dropped. {remedy}"
        )
    return np.asarray(array)


def n_channels(image, ndim=2):
    """Number of channels of an (H, W[, C]) image or (Z, Y, X[, C]) volume (1 for grey).

    ``ndim`` is the number of spatial axes: 2 for images, 3 for volumes.
    """
    return 1 if image.ndim == ndim else image.shape[ndim]


def spatial_axes(ndim):
    """The axes of an image (``ndim=2``) or a volume (``ndim=3``), for messages."""
    return "(H, W)" if ndim == 2 else "(Z, Y, X)"


def check_spacing(spacing, name="spacing"):
    """``spacing`` as None (2-D images) or a tuple of three positive floats.

    Parameters
    ----------
    spacing : None or sequence of 3 float
        The voxel size ``(dz, dy, dx)`` of volumes, or None for 2-D images.
    name : str, default="spacing"
        Name of the argument, used in error messages.

    Returns
    -------
    spacing : None or tuple of 3 float
    """
    if spacing is None:
        return None
    expected = (
        f"{name} must be None for 2-D images or three positive numbers "
        f"(dz, dy, dx), the voxel size of volumes"
    )
    if isinstance(spacing, (str, bytes)) or not hasattr(spacing, "__len__"):
        raise TypeError(f"{expected}; got {spacing!r}.")
    values = list(spacing)
    if len(values) != 3:
        raise ValueError(f"{expected}; got {len(values)} value(s): {spacing!r}.")
    for v in values:
        if isinstance(v, (bool, np.bool_)) or not isinstance(
            v, (int, float, np.number)
        ):
            raise TypeError(f"{expected}; got {spacing!r}.")
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"{expected}; got {spacing!r}.")
    return tuple(float(v) for v in values)


def check_image(image, *, name="images", index=0, min_size=2, ndim=2):
    """Validate one image and return it as an ndarray, without copying it.

    Parameters
    ----------
    image : array-like of shape (H, W) or (H, W, C)
        The image.
    name : str, default="images"
        Name of the argument, used in error messages.
    index : int or None, default=0
        Index of the image in its list, used in error messages; None for an
        argument that is a single image.
    min_size : int, default=2
        Smallest height and width accepted.
    ndim : {2, 3}, default=2
        Number of spatial axes: 2 for an image, 3 for a volume of shape
        (Z, Y, X) or (Z, Y, X, C).

    Returns
    -------
    image : ndarray of shape (H, W) or (H, W, C)
        The same data, as a plain ndarray; never a modified copy of the input.

    Notes
    -----
    A numpy masked array with masked pixels is refused with a TypeError:
    superpixels and filters need a value at every pixel, and dropping the
    mask silently would treat the masked values as real. Fill the image
    (``image.filled(value)``) and mark those pixels -1 in the label map
    instead. A masked array without masked pixels is taken as its data.
    """
    where = name if index is None else f"{name}[{index}]"
    shapes = "(H, W) or (H, W, C)" if ndim == 2 else "(Z, Y, X) or (Z, Y, X, C)"
    image = as_array(image, where, f"an array of shape {shapes}")
    image = unmasked(
        image,
        where,
        "Fill the image with image.filled(value) and mark the masked pixels -1 "
        "(unlabeled) in the label map.",
    )
    if image.dtype == bool:
        raise TypeError(
            f"{where} has dtype bool; expected a numeric image (uint8, uint16, "
            f"float). Convert a mask with image.astype(np.uint8)."
        )
    if not (
        np.issubdtype(image.dtype, np.integer)
        or np.issubdtype(image.dtype, np.floating)
    ):
        raise TypeError(
            f"{where} has dtype {image.dtype}; expected a numeric image "
            f"(unsigned/signed integers or floats)."
        )
    if ndim == 3 and image.ndim not in (3, 4):
        raise ValueError(
            f"{where} has {image.ndim} dimensions (shape {image.shape}); expected "
            f"a volume, (Z, Y, X) for grey or (Z, Y, X, C) with channels last, "
            f"since spacing is given (use spacing=None for 2-D images)."
        )
    if image.ndim not in (2, 3) and ndim == 2:
        raise ValueError(
            f"{where} has {image.ndim} dimensions (shape {image.shape}); expected "
            f"(H, W) for grey or (H, W, C) with channels last (for volumes, "
            f"give spacing=(dz, dy, dx))."
        )
    if image.size == 0 or image.ndim == ndim + 1 and image.shape[ndim] == 0:
        raise ValueError(
            f"{where} is empty (shape {image.shape}); expected at least "
            f"{min_size}x{min_size} pixels and one channel."
        )
    if min(image.shape[:ndim]) < min_size:
        least = "x".join([str(min_size)] * ndim)
        raise ValueError(
            f"{where} has shape {image.shape}; expected at least {least} "
            f"{'pixels' if ndim == 2 else 'voxels'}."
        )
    if np.issubdtype(image.dtype, np.floating) and not np.isfinite(image).all():
        raise ValueError(
            f"{where} contains NaN or infinity; expected finite pixel values."
        )
    return image


def check_images(
    images,
    *,
    name="images",
    min_size=2,
    n_channels_expected=None,
    estimator=None,
    ndim=2,
):
    """Validate a list of images.

    Parameters
    ----------
    images : list of array-like of shape (H, W) or (H, W, C)
        The images; sizes may differ, channel counts may not.
    name : str, default="images"
        Name of the argument, used in error messages.
    min_size : int, default=2
        Smallest height and width accepted.
    n_channels_expected : int, default=None
        If given, every image must have this many channels (1 for grey),
        for example the count seen at fit time.
    estimator : str, default=None
        Name of the fitted estimator, used in error messages.
    ndim : {2, 3}, default=2
        Number of spatial axes: 3 for volumes (Z, Y, X[, C]).

    Returns
    -------
    images : list of ndarray
        The validated images, not copied.
    """
    images = check_list(images, name)
    checked = [
        check_image(image, name=name, index=i, min_size=min_size, ndim=ndim)
        for i, image in enumerate(images)
    ]
    check_channels(checked, name, n_channels_expected, estimator, ndim=ndim)
    return checked


def check_channels(images, name, n_channels_expected=None, estimator=None, ndim=2):
    """Every image has the channel count of the first, and of fit when given."""
    first = n_channels(images[0], ndim)
    fitted = "the estimator" if estimator is None else estimator
    for i, image in enumerate(images):
        c = n_channels(image, ndim)
        if n_channels_expected is not None and c != n_channels_expected:
            raise ValueError(
                f"{name}[{i}] has {c} channel(s) but {fitted} was fitted on "
                f"images with {n_channels_expected} channel(s); expected "
                f"{n_channels_expected} channel(s), as at fit."
            )
        if c != first:
            raise ValueError(
                f"{name}[{i}] has {c} channel(s) but {name}[0] has {first}; all "
                f"images in one call must have the same number of channels."
            )


def check_labels(labels, shapes, *, name="y", require_labeled=False, ndim=2):
    """Validate per-pixel label maps against the image shapes.

    Parameters
    ----------
    labels : list of array-like of shape (H, W) of int
        One label map per image; ``-1`` marks unlabeled pixels.
    shapes : list of tuple
        The ``(H, W)`` of each image.
    name : str, default="y"
        Name of the argument, used in error messages.
    require_labeled : bool, default=False
        Raise if no pixel of any image is labeled.
    ndim : {2, 3}, default=2
        Number of spatial axes: 3 for the (Z, Y, X) label maps of volumes.

    Returns
    -------
    labels : list of ndarray of int
        The label maps, not copied when already integer arrays. The masked
        entries of a numpy masked array become -1 (unlabeled) in a copy.
    """
    labels = check_list(labels, name, what="label map")
    if len(labels) != len(shapes):
        raise ValueError(
            f"{name} has {len(labels)} label maps but there are {len(shapes)} "
            f"images; expected one label map per image (all -1 for an unlabeled "
            f"image)."
        )
    checked = []
    any_labeled = False
    for i, (lab, shape) in enumerate(zip(labels, shapes)):
        where = f"{name}[{i}]"
        lab = as_array(lab, where, "an (H, W) array of int labels")
        if lab.dtype == bool or not np.issubdtype(lab.dtype, np.integer):
            hint = ""
            if np.issubdtype(lab.dtype, np.floating):
                hint = (
                    " Float maps are refused so that a probability or an image "
                    "passed by mistake is caught; convert with .astype(int) if "
                    "the values are whole numbers."
                )
            raise TypeError(
                f"{where} has dtype {lab.dtype}; expected integer class labels "
                f"(>= 0) with -1 for unlabeled pixels.{hint}"
            )
        lab = np.asarray(unmask(lab, -1))
        axes = spatial_axes(ndim)
        if lab.ndim != ndim:
            raise ValueError(
                f"{where} has shape {lab.shape}; expected an {axes} label map "
                f"of shape {tuple(shape[:ndim])}, like its image."
            )
        if lab.shape != tuple(shape[:ndim]):
            what = "(height, width)" if ndim == 2 else "(depth, height, width)"
            raise ValueError(
                f"{where} has shape {lab.shape} but its image has shape "
                f"{tuple(shape[:ndim])} {what}; expected the same."
            )
        if lab.size and lab.min() < -1:
            raise ValueError(
                f"{where} contains {lab.min()}; labels must be >= 0 for classes "
                f"and -1 for unlabeled pixels."
            )
        any_labeled = any_labeled or bool((lab != -1).any())
        checked.append(lab)
    if require_labeled and not any_labeled:
        raise ValueError(
            f"{name} has no labeled pixel in any of its {len(checked)} label maps; "
            f"at least one pixel must carry a class label (>= 0)."
        )
    return checked


def check_classifier(estimator, name, owner):
    """Raise a TypeError unless ``estimator`` is a scikit-learn classifier.

    A regressor or a clusterer has ``fit`` and ``predict`` too, but no
    ``classes_``: without this check it fails later with an AttributeError
    that does not say what was wrong.

    Parameters
    ----------
    estimator : estimator object
        The estimator given, possibly a Pipeline (judged by its last step).
    name : str
        Name of the parameter, used in the message.
    owner : str
        The estimator or function that takes it, used in the message.
    """
    try:
        kind = get_tags(estimator).estimator_type
    except AttributeError:
        # No scikit-learn tags (not a BaseEstimator): take it on trust, as
        # duck typing would.
        return
    if not is_classifier(estimator):
        what = f"a {kind}" if kind else "not a classifier"
        raise TypeError(
            f"{name} of {owner} must be a classifier (or a Pipeline ending in "
            f"one); got {type(estimator).__name__}, {what}. Regions and pixels "
            f"need class labels and probabilities, such as "
            f"RandomForestClassifier or SparseLabelSpreading give."
        )


def unseen_classes(labels, classes):
    """Sorted class labels in ``labels`` (list of maps) that are not in ``classes``.

    ``-1`` (unlabeled) is never reported.
    """
    found = np.unique(np.concatenate([np.unique(lab) for lab in labels]))
    found = found[found != -1]
    return [int(c) for c in np.setdiff1d(found, classes)]
