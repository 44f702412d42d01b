# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The installed version of semiseg_sk and of the libraries a model depends on."""

import platform
import sys

__all__ = ["dependency_versions", "package_version"]


def package_version():
    """The semiseg_sk version, read from the file setuptools_scm generates."""
    try:
        from .._version import version
    except ImportError:  # pragma: no cover - running from a tree without a build
        return "0.0.0+unknown"
    return version


def dependency_versions():
    """Versions of Python and of the imported libraries a fitted model uses."""
    versions = {"python": platform.python_version(), "semiseg_sk": package_version()}
    for name, module in (
        ("numpy", "numpy"),
        ("scikit-learn", "sklearn"),
        ("scikit-image", "skimage"),
        ("torch", "torch"),
    ):
        mod = sys.modules.get(module)
        if mod is not None:
            versions[name] = getattr(mod, "__version__", "unknown")
    return versions
