# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The single conversion point between annotation-tool masks and -1 targets.

Annotation tools (napari, ilastik, scikit-image's trainable segmentation) write
label images where 0 means "not annotated" and 1..K are classes. semiseg_sk,
like ``sklearn.semi_supervised``, uses -1 for unlabeled and 0..K-1 for classes.
"""

import numpy as np

from .validation import as_array, unmask

__all__ = ["mask_to_target", "target_to_mask"]


def mask_to_target(mask):
    """Convert a 0 = unlabeled, 1..K = class mask to a -1 = unlabeled target.

    Parameters
    ----------
    mask : array-like of int
        Annotation mask, 0 for unlabeled pixels, classes from 1. The masked
        entries of a numpy masked array are unlabeled too.

    Returns
    -------
    target : ndarray of int64
        ``mask - 1``: -1 for unlabeled pixels, classes from 0. A new array.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk.utils import mask_to_target
    >>> mask_to_target(np.array([[0, 1], [2, 0]]))
    array([[-1,  0],
           [ 1, -1]])
    """
    mask = as_array(mask, "mask", "an array of int labels")
    if not np.issubdtype(mask.dtype, np.integer):
        raise TypeError(f"mask has dtype {mask.dtype}; expected integer labels.")
    mask = np.asarray(unmask(mask, 0))
    if mask.size and mask.min() < 0:
        raise ValueError(
            f"mask contains {mask.min()}; expected 0 for unlabeled and >= 1 for "
            f"classes."
        )
    return mask.astype(np.int64) - 1


def target_to_mask(target):
    """Convert a -1 = unlabeled target to a 0 = unlabeled, 1..K mask.

    Parameters
    ----------
    target : array-like of int
        Labels with -1 for unlabeled pixels and classes from 0. The masked
        entries of a numpy masked array are unlabeled too.

    Returns
    -------
    mask : ndarray of int64
        ``target + 1``. A new array.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk.utils import target_to_mask
    >>> target_to_mask(np.array([-1, 0, 2]))
    array([0, 1, 3])
    """
    target = as_array(target, "target", "an array of int labels")
    if not np.issubdtype(target.dtype, np.integer):
        raise TypeError(f"target has dtype {target.dtype}; expected integer labels.")
    target = np.asarray(unmask(target, -1))
    if target.size and target.min() < -1:
        raise ValueError(f"target contains {target.min()}; expected values >= -1.")
    return target.astype(np.int64) + 1
