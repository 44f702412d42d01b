# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The autoencoder: network, input scaling, training loop and estimator."""

from ._callbacks import Callback, ProgressBar
from ._estimator import AutoencoderFeatures

__all__ = ["AutoencoderFeatures", "Callback", "ProgressBar"]
