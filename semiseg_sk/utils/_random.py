# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Seeds drawn from a numpy RandomState, for the libraries that take an int."""

from numbers import Integral

import numpy as np

from .fixes import Interval

__all__ = ["RANDOM_STATE", "draw_seed"]

# The ``random_state`` constraint: scikit-learn's "random_state" without the
# booleans it takes as seeds 0 and 1.
RANDOM_STATE = [
    Interval(Integral, 0, 2**32 - 1, closed="both"),
    np.random.RandomState,
    None,
]


def draw_seed(rng, size=None):
    """Draw an int seed (or an array of them) from a numpy RandomState.

    The one place where semiseg_sk turns its ``random_state`` into seeds for
    torch, for scikit-learn estimators built inside a step and for per-image
    randomness, so that one ``random_state`` fixes every result.

    Parameters
    ----------
    rng : numpy.random.RandomState
        From :func:`sklearn.utils.check_random_state`.
    size : int, default=None
        Number of seeds; None draws one int.

    Returns
    -------
    seed : int or ndarray of int
        In ``[0, 2**31 - 1)``.
    """
    seed = rng.randint(np.iinfo(np.int32).max, size=size)
    return int(seed) if size is None else seed
