# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Warnings raised by semiseg_sk."""

__all__ = ["DeviceWarning", "SingleClassWarning", "UnseenClassWarning"]


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
