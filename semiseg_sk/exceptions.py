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
    "PixelScaleWarning",
    "SingleClassWarning",
    "Terminated",
    "UnseenClassWarning",
]


class DeviceWarning(UserWarning):
    """A model is moved to another device than asked for, e.g. CUDA to CPU."""


class PixelScaleWarning(UserWarning):
    """Pixel values are scaled an order of magnitude apart from the others.

    Every step computes on floats: unsigned integer images are divided by
    their dtype's maximum (uint8 200 becomes 0.78), signed integer and float
    images keep their values (int32 or float 200 stays 200). The same pixels
    passed as uint8 at fit and as int32 or float 0..255 at predict are thus
    255 times larger, and a model fitted on one sees nothing it knows in the
    other: masks are wrong, often one class everywhere. Warned at fit when
    one list mixes such scalings, and at predict when images are scaled 10
    times larger or smaller than at fit; pass images of the dtype and range
    used at fit (see "Pixel values and scaling" in the user guide).
    """


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


class Terminated(KeyboardInterrupt):
    """The ``semiseg`` command received SIGTERM or SIGHUP.

    Raised by its signal handler, like Ctrl-C's :class:`KeyboardInterrupt`
    (of which it is a subclass), so that every cleanup runs: no temporary
    file is left behind. The command then exits with 128 + the signal number.

    Parameters
    ----------
    signum : int
        The signal received.
    """

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum
