# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The second stage: region features, hand-crafted and learned.

Every step here appends columns to the features of each
:class:`~semiseg_sk.Regions` object, so steps chain in any order. The
learned steps train on all images given to ``fit``, labeled and unlabeled;
they need torch, which is imported only when one is fitted or loaded.
:class:`FeatureGate` decides per data set, from the scribbles alone, which
feature blocks the region classifier sees, and with what weight.

:func:`filter_bank` is ilastik's default pixel filter bank as a plain
function: one float32 stack of per-pixel features for one image, with
:func:`filter_bank_names` for its columns.
"""

from ._filters import filter_bank, filter_bank_names
from ._gating import FeatureGate, feature_blocks
from ._pretrained import PretrainedFeatures
from ._stats import RegionStats
from .autoencoder import AutoencoderFeatures, Callback, ProgressBar
from .gan import GANFeatures

__all__ = [
    "AutoencoderFeatures",
    "Callback",
    "FeatureGate",
    "GANFeatures",
    "PretrainedFeatures",
    "ProgressBar",
    "RegionStats",
    "feature_blocks",
    "filter_bank",
    "filter_bank_names",
]
