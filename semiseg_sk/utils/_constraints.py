# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Parameter constraints shared by several estimators."""

from numbers import Integral

from .fixes import Interval

__all__ = ["N_JOBS"]

# Any non-zero int (negative counts back from the number of processors, as in
# joblib) or None; 0 would mean "no worker" and is rejected with its name.
N_JOBS = [
    Interval(Integral, None, -1, closed="right"),
    Interval(Integral, 1, None, closed="left"),
    None,
]
