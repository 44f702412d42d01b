# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Helpers at the image boundary: label conventions and input validation."""

from ._labels import mask_to_target, target_to_mask
from .validation import check_images, check_labels

__all__ = [
    "check_images",
    "check_labels",
    "mask_to_target",
    "target_to_mask",
]
