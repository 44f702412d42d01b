# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The one place that imports private scikit-learn helpers or branches on versions.

Everything else in semiseg_sk imports these names from here, so a change in a
future scikit-learn release is mended in a single file.
"""

import sklearn
from sklearn.base import _fit_context
from sklearn.semi_supervised._label_propagation import BaseLabelPropagation
from sklearn.utils._param_validation import (
    HasMethods,
    Hidden,
    Interval,
    StrOptions,
    validate_params,
)
from sklearn.utils.fixes import parse_version

SKLEARN_VERSION = parse_version(parse_version(sklearn.__version__).base_version)

__all__ = [
    "BaseLabelPropagation",
    "SKLEARN_VERSION",
    "HasMethods",
    "Hidden",
    "Interval",
    "StrOptions",
    "_fit_context",
    "parse_version",
    "validate_params",
]
