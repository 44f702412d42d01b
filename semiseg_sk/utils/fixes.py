# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The one place that imports private scikit-learn helpers or branches on versions.

Everything else in semiseg_sk imports these names from here, so a change in a
future scikit-learn release is mended in a single file.
"""

from sklearn.base import _fit_context
from sklearn.semi_supervised._label_propagation import BaseLabelPropagation
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_params,
)

__all__ = [
    "BaseLabelPropagation",
    "HasMethods",
    "Interval",
    "StrOptions",
    "_fit_context",
    "validate_params",
]
