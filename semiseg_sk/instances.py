# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Objects, not classes: turn a class mask into an instance label image.

A segmenter gives every pixel a class; counting, measuring or tracking
needs every *object* to carry its own label. :func:`to_instances` labels the
connected components of the chosen classes and, on request, splits objects
that touch with a distance-transform watershed. Score the result with
:func:`semiseg_sk.metrics.average_precision` or
:func:`semiseg_sk.metrics.aggregated_jaccard_index`.
"""

from numbers import Integral

import numpy as np
from scipy import ndimage as ndi

from .utils.validation import as_array

__all__ = ["to_instances"]

_MASK = "an (H, W) integer class mask"


def _check_mask(mask):
    mask = as_array(mask, "mask", _MASK)
    if isinstance(mask, np.ma.MaskedArray):
        raise TypeError(
            "mask is a masked array; give a plain (H, W) integer class mask "
            "(mark pixels that are no object with 0 or -1)."
        )
    if mask.ndim != 2:
        raise ValueError(f"mask has shape {mask.shape}; expected {_MASK}.")
    if mask.dtype == bool:
        return mask.astype(np.int64)
    if not np.issubdtype(mask.dtype, np.integer):
        raise TypeError(
            f"mask has dtype {mask.dtype}; expected {_MASK} (or a boolean "
            f"mask, True = class 1). Convert probabilities to classes first, "
            f"e.g. proba.argmax(axis=-1)."
        )
    return mask


def _check_classes(classes, mask):
    if classes is None:
        return np.unique(mask[mask > 0])
    values = np.atleast_1d(as_array(classes, "classes", "an int or a list of int"))
    integer = np.issubdtype(values.dtype, np.integer)
    if values.ndim != 1 or (values.size and not integer):
        raise TypeError(
            f"classes must be an int or a 1-D list of int class labels; got "
            f"{classes!r}."
        )
    if values.size == 0:
        raise ValueError("classes is empty; give at least one class label.")
    if values.min() < 0:
        raise ValueError(
            f"classes contains {values.min()}; class labels are >= 0 (-1 marks "
            f"unlabeled pixels and is never an object)."
        )
    return np.unique(values)


def _check_int(value, name, low):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise ValueError(f"{name} must be an int >= {low}; got {value!r}.")
    return int(value)


def _split(components, n, min_distance):
    """Split each connected component at the ridges of its distance transform.

    One marker per local maximum of the distance to the background (maxima
    closer than ``min_distance`` merged, as in scikit-image's gallery example
    "Watershed segmentation"); a component without any maximum keeps one
    label.
    """
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    inside = components > 0
    distance = ndi.distance_transform_edt(inside)
    peaks = peak_local_max(
        distance,
        min_distance=min_distance,
        labels=components,
        exclude_border=False,
    )
    markers = np.zeros(components.shape, dtype=np.int64)
    markers[tuple(peaks.T)] = 1
    # Peaks of one plateau that touch are one marker.
    markers, n_markers = ndi.label(markers, structure=np.ones((3, 3)))
    split = watershed(-distance, markers, mask=inside)
    # Components that got no marker (tiny ones) stay whole.
    missed = inside & (split == 0)
    if missed.any():
        split[missed] = components[missed] + n_markers
    return split


def to_instances(
    mask,
    classes=None,
    *,
    split_touching=False,
    min_distance=5,
    min_size=0,
    connectivity=1,
    return_classes=False,
):
    """Label every object of a class mask: 0 = no object, 1..N = objects.

    Objects are the connected components of the pixels of each chosen
    class; two touching objects of different classes stay apart. With
    ``split_touching`` each component is cut further by a watershed of its
    distance transform (:func:`scipy.ndimage.distance_transform_edt`, one
    marker per :func:`skimage.feature.peak_local_max`,
    :func:`skimage.segmentation.watershed`), which separates round objects
    that touch, such as nuclei, at their necks.

    Parameters
    ----------
    mask : ndarray of shape (H, W) of int or bool
        Class of every pixel, as ``predict`` returns it. Pixels of classes
        that are not chosen, and pixels marked -1, belong to no object. A
        boolean mask is read as class 1 (True) on class 0 (False).
    classes : int or sequence of int, default=None
        The classes whose pixels form objects. None takes every class
        present except 0, the usual background.
    split_touching : bool, default=False
        Split touching objects with the distance-transform watershed.
    min_distance : int, default=5
        With ``split_touching``, the smallest distance in pixels between two
        object centres (``peak_local_max``'s ``min_distance``); about the
        radius of the smallest object. Larger values split less.
    min_size : int, default=0
        Objects with fewer pixels are dropped (their pixels become 0).
    connectivity : {1, 2}, default=1
        Pixels touching by an edge (1) or also by a corner (2) are connected.
    return_classes : bool, default=False
        Also return the class of each object.

    Returns
    -------
    instances : ndarray of shape (H, W) of int64
        0 where there is no object, 1..N for the N objects, numbered in the
        order in which their first pixel comes in a row-by-row scan. A new
        array: ``mask`` is never modified.
    object_classes : ndarray of shape (N,) of int
        The class of object ``k`` at position ``k - 1``; only when
        ``return_classes`` is True.

    Raises
    ------
    TypeError
        If ``mask`` is not an integer (or boolean) array, or ``classes`` is
        not made of ints.
    ValueError
        If ``mask`` is not 2-D, ``classes`` is empty or negative, or
        ``min_distance``, ``min_size`` or ``connectivity`` is out of range.

    See Also
    --------
    semiseg_sk.metrics.average_precision : Score instances against a truth.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk.instances import to_instances
    >>> mask = np.array([[1, 1, 0, 2],
    ...                  [0, 0, 0, 2],
    ...                  [1, 0, 1, 1]])
    >>> to_instances(mask)
    array([[1, 1, 0, 2],
           [0, 0, 0, 2],
           [3, 0, 4, 4]])
    >>> instances, kinds = to_instances(mask, classes=[1], return_classes=True)
    >>> int(instances.max()), kinds.tolist()
    (3, [1, 1, 1])

    Two discs that touch are one component; the watershed splits them:

    >>> rows, cols = np.indices((20, 36))
    >>> discs = ((rows - 10) ** 2 + (cols - 10) ** 2 < 64) | (
    ...     (rows - 10) ** 2 + (cols - 24) ** 2 < 64)
    >>> int(to_instances(discs).max())
    1
    >>> int(to_instances(discs, split_touching=True).max())
    2
    """
    mask = _check_mask(mask)
    classes = _check_classes(classes, mask)
    min_distance = _check_int(min_distance, "min_distance", 1)
    min_size = _check_int(min_size, "min_size", 0)
    if connectivity not in (1, 2) or isinstance(connectivity, bool):
        raise ValueError(f"connectivity must be 1 or 2; got {connectivity!r}.")
    structure = ndi.generate_binary_structure(2, connectivity)

    labels = np.zeros(mask.shape, dtype=np.int64)
    kinds = []
    n_total = 0
    for c in classes:
        components, n = ndi.label(mask == c, structure=structure)
        if n == 0:
            continue
        components = components.astype(np.int64, copy=False)
        if split_touching:
            components = _split(components, n, min_distance)
        found = components > 0
        labels[found] = components[found] + n_total
        top = int(components.max())
        kinds.append(np.full(top, c))
        n_total += top
    kinds = np.concatenate(kinds) if kinds else np.zeros(0, dtype=np.int64)

    # Renumber 1..N in scan order, dropping small and unused labels.
    flat = labels.ravel()
    present, first = np.unique(flat, return_index=True)
    sizes = np.bincount(flat, minlength=n_total + 1)[present]
    keep = (present > 0) & (sizes >= max(min_size, 1))
    present, first = present[keep], first[keep]
    order = np.argsort(first, kind="stable")
    lookup = np.zeros(n_total + 1, dtype=np.int64)
    lookup[present[order]] = np.arange(1, len(present) + 1)
    instances = lookup[labels]
    if return_classes:
        return instances, kinds[present[order] - 1].astype(mask.dtype, copy=False)
    return instances
