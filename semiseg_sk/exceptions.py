# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Every warning and error class that semiseg_sk raises, in one place.

Filter a warning by its category, never by its message text, for example
``warnings.simplefilter("ignore", UnseenClassWarning)``.
"""

__all__ = [
    "CommandError",
    "DeviceWarning",
    "InconsistentVersionWarning",
    "ModelFileError",
    "SingleClassWarning",
    "UnseenClassWarning",
]


class DeviceWarning(UserWarning):
    """A model is moved to another device than asked for, e.g. CUDA to CPU."""


class SingleClassWarning(UserWarning):
    """Only one class is labeled, so every region gets that class."""


class UnseenClassWarning(UserWarning):
    """Scoring labels hold a class the model never saw labeled at fit.

    Pixels of such a class cannot be predicted and count as errors. In
    cross-validation on sparse scribbles a fold may miss a class; filter this
    warning with ``warnings.simplefilter("ignore", UnseenClassWarning)`` when
    that is expected.
    """


class InconsistentVersionWarning(UserWarning):
    """An estimator or model file saved by another semiseg_sk version is loaded.

    Like :class:`sklearn.exceptions.InconsistentVersionWarning`. Results may
    differ from those of the version that saved it, or loading may break.

    Parameters
    ----------
    estimator_name : str
        Name of the loaded estimator class, or the model file.
    original_version : str or None
        The version that saved it.
    current_version : str
        The version loading it.
    """

    def __init__(self, *, estimator_name, original_version, current_version):
        self.estimator_name = estimator_name
        self.original_version = original_version
        self.current_version = current_version

    def __str__(self):
        return (
            f"{self.estimator_name} was saved with semiseg_sk "
            f"{self.original_version} and is loaded with {self.current_version}; "
            f"results may differ or loading may break."
        )


class ModelFileError(ValueError):
    """A file is not a semiseg_sk model, or cannot be loaded by this version."""


class CommandError(Exception):
    """An error the ``semiseg`` command reports as one line, without a traceback."""
