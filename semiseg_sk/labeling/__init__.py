# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The third stage: label the regions, from scribbles and from all images."""

from ._classifier import RegionClassifier
from ._label_spreading import SparseLabelSpreading

__all__ = ["RegionClassifier", "SparseLabelSpreading"]
