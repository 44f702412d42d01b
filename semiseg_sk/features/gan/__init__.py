# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The GAN: networks, differentiable augmentation, training loop and estimator."""

from ._estimator import GANFeatures

__all__ = ["GANFeatures"]
