# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The one place that imports private scikit-learn helpers or branches on versions.

Everything else in semiseg_sk imports these names from here, so a change in a
future scikit-learn release is mended in a single file.
"""

import inspect

from skimage.feature import multiscale_basic_features as _multiscale_basic_features
from sklearn.base import _fit_context
from sklearn.semi_supervised._label_propagation import BaseLabelPropagation
from sklearn.utils._param_validation import (
    HasMethods,
    StrOptions,
    validate_params,
)
from sklearn.utils._param_validation import Interval as _SklearnInterval

__all__ = [
    "BaseLabelPropagation",
    "check_parameters",
    "HasMethods",
    "multiscale_basic_features",
    "Interval",
    "StrOptions",
    "_fit_context",
    "validate_params",
]


class Interval(_SklearnInterval):
    """scikit-learn's ``Interval`` constraint, refusing booleans.

    ``bool`` is a subclass of ``int``, so scikit-learn's ``Interval(Integral,
    1, None)`` takes ``n_segments=True`` as 1. Every numeric parameter of
    semiseg_sk is validated by this one instead: ``True`` and ``False`` fail
    with the parameter's name, like any other value of the wrong type.
    """

    def is_satisfied_by(self, val):
        return not isinstance(val, bool) and super().is_satisfied_by(val)

    def __str__(self):
        return f"{super().__str__()} (not a bool)"


def check_parameters(estimator):
    """Validate an estimator's parameters now, as its ``fit`` would.

    Runs scikit-learn's (private) ``_validate_params`` for estimators that
    declare ``_parameter_constraints``; others are left to their ``fit``.
    Raises ``InvalidParameterError`` (a ``ValueError`` and ``TypeError``).
    """
    if hasattr(estimator, "_parameter_constraints"):
        estimator._validate_params()


# scikit-image 0.26 renamed the filter bank's thread count num_workers -> workers.
_MBF_THREADS = (
    "workers"
    if "workers" in inspect.signature(_multiscale_basic_features).parameters
    else "num_workers"
)


def multiscale_basic_features(image, *, n_threads=None, **kwargs):
    """scikit-image's ``multiscale_basic_features`` in ``n_threads`` threads.

    ``n_threads`` is passed as ``workers`` (scikit-image >= 0.26) or
    ``num_workers`` (before); None lets scikit-image choose. Other keyword
    arguments are scikit-image's.
    """
    return _multiscale_basic_features(image, **{_MBF_THREADS: n_threads}, **kwargs)
