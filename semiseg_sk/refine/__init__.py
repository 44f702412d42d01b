# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The fourth stage: back to pixel resolution, with a pixel classifier and snapping."""

from ._refiner import PixelRefiner

__all__ = ["PixelRefiner"]
