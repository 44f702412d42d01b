# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The first stage: split every image into superpixels (regions)."""

from ._superpixels import Superpixels

__all__ = ["Superpixels"]
