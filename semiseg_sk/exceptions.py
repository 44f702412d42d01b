# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Warnings raised by semiseg_sk."""

__all__ = ["DeviceWarning", "SingleClassWarning"]


class DeviceWarning(UserWarning):
    """A model is moved to another device than asked for, e.g. CUDA to CPU."""


class SingleClassWarning(UserWarning):
    """Only one class is labeled, so every region gets that class."""
