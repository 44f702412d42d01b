# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Cross-validation where one image is one sample and unlabeled images always train."""

import numbers
import warnings

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state

from .utils.validation import as_array, check_labels, check_list

__all__ = ["SemiSupervisedKFold"]


class SemiSupervisedKFold(BaseCrossValidator):
    """K-fold cross-validation over the labeled images of a semi-supervised set.

    An image is labeled when at least one pixel of its label map is not
    ``-1``. Labeled images are split into ``n_splits`` consecutive folds (or
    shuffled folds with ``shuffle=True``) and each fold is the test set once.
    Images with no labeled pixel are in the training set of *every* split:
    they cannot be scored, but a semi-supervised model learns from them.
    Pixels of one image are never spread over training and test sets, since
    one image is one sample.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds; at least 2 and at most the number of labeled images.
    shuffle : bool, default=False
        Whether to shuffle the labeled images before splitting them into
        folds. Images within a fold keep their order either way.
    random_state : int, RandomState instance or None, default=None
        Controls the shuffling when ``shuffle=True``. Pass an int for the
        same folds on every call. Must stay None when ``shuffle=False``.

    See Also
    --------
    sklearn.model_selection.KFold : The same split for fully labeled samples.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk.model_selection import SemiSupervisedKFold
    >>> images = [np.zeros((2, 2)) for _ in range(5)]
    >>> labels = [np.full((2, 2), -1) for _ in range(5)]
    >>> for i in (0, 2, 4):  # images 1 and 3 stay unlabeled
    ...     labels[i][0, 0] = 1
    >>> cv = SemiSupervisedKFold(n_splits=3)
    >>> for train, test in cv.split(images, labels):
    ...     print(train, test)
    [1 2 3 4] [0]
    [0 1 3 4] [2]
    [0 1 2 3] [4]
    """

    def __init__(self, n_splits=5, *, shuffle=False, random_state=None):
        # Validated here, as sklearn's KFold does: splitters are not estimators.
        if not isinstance(n_splits, numbers.Integral) or isinstance(n_splits, bool):
            raise ValueError(
                f"n_splits must be an int >= 2; got {n_splits!r} of type "
                f"{type(n_splits).__name__}."
            )
        if n_splits < 2:
            raise ValueError(
                f"n_splits={n_splits}: cross-validation needs at least 2 folds."
            )
        if not isinstance(shuffle, bool):
            raise TypeError(f"shuffle must be True or False; got {shuffle!r}.")
        if isinstance(random_state, bool):
            raise TypeError(
                f"random_state must be an int, a RandomState or None; got "
                f"{random_state!r}, a bool (which would seed {int(random_state)})."
            )
        if not shuffle and random_state is not None:
            raise ValueError(
                "Setting a random_state has no effect since shuffle is False; leave "
                "random_state to its default (None), or set shuffle=True."
            )
        self.n_splits = int(n_splits)
        self.shuffle = shuffle
        self.random_state = random_state

    def _labeled_images(self, X, y):
        """Boolean array: which images have at least one labeled pixel."""
        if y is None:
            raise ValueError(
                "SemiSupervisedKFold needs y, the label maps (-1 = unlabeled), to "
                "tell labeled images from unlabeled ones; got y=None."
            )
        if isinstance(y, np.ndarray) and y.ndim == 3:
            y = list(y)
        expected = "an (H, W) array of int labels"
        y = check_list(y, "y", what="label map")
        y = [as_array(lab, f"y[{i}]", expected) for i, lab in enumerate(y)]
        y = check_labels(y, [lab.shape for lab in y], name="y")
        if hasattr(X, "__len__") and len(X) != len(y):
            raise ValueError(
                f"X has {len(X)} images but y has {len(y)} label maps; expected one "
                f"label map per image."
            )
        labeled = np.array([bool((lab != -1).any()) for lab in y])
        n_labeled = int(labeled.sum())
        if n_labeled < self.n_splits:
            raise ValueError(
                f"Cannot split {n_labeled} labeled image(s) (images with at least "
                f"one pixel != -1, out of {len(y)}) into n_splits={self.n_splits} "
                f"folds; label more images or lower n_splits."
            )
        return labeled

    def split(self, X, y=None, groups=None):
        """Generate indices to split images into training and test sets.

        Parameters
        ----------
        X : list of ndarray of shape (H, W) or (H, W, C), or list of Regions
            The images. Only their number is used.
        y : list of ndarray of shape (H, W) of int
            Label maps; ``-1`` marks unlabeled pixels. Required.
        groups : object, default=None
            Ignored: one image is one group by construction.

        Yields
        ------
        train : ndarray of int
            Indices of the training images: every unlabeled image and the
            labeled images outside the test fold, in increasing order.
        test : ndarray of int
            Indices of the labeled images of the test fold.
        """
        if groups is not None:
            warnings.warn(
                "The groups parameter is ignored by SemiSupervisedKFold: each "
                "image is its own group.",
                UserWarning,
            )
        labeled = self._labeled_images(X, y)
        indices = np.arange(labeled.size)
        candidates = indices[labeled]
        if self.shuffle:
            check_random_state(self.random_state).shuffle(candidates)
        fold_sizes = np.full(self.n_splits, candidates.size // self.n_splits)
        fold_sizes[: candidates.size % self.n_splits] += 1
        start = 0
        for size in fold_sizes:
            test = np.sort(candidates[start : start + size])
            start += size
            test_mask = np.zeros(labeled.size, dtype=bool)
            test_mask[test] = True
            yield indices[~test_mask], test

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of splits, ``n_splits``.

        Parameters
        ----------
        X : object, default=None
            Ignored, for API compatibility.
        y : object, default=None
            Ignored, for API compatibility.
        groups : object, default=None
            Ignored, for API compatibility.

        Returns
        -------
        n_splits : int
            Number of splitting iterations.
        """
        return self.n_splits
