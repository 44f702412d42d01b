# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""semiseg_sk: semi-supervised image segmentation in the scikit-learn style.

Split every image into regions, describe regions with hand-crafted statistics
and with features learned from labeled *and* unlabeled images, and label
regions with any scikit-learn classifier or with label spreading over a graph
of all regions. Every step is a scikit-learn estimator.

The subpackages follow the data flow: :mod:`semiseg_sk.superpixels`,
:mod:`semiseg_sk.features`, :mod:`semiseg_sk.labeling`,
:mod:`semiseg_sk.refine`, then :mod:`semiseg_sk.pipeline`. torch is imported
only when a learned feature step is fitted or loaded.
"""

from ._regions import Regions
from .features import (
    AutoencoderFeatures,
    FeatureGate,
    GANFeatures,
    PretrainedFeatures,
    RegionStats,
)
from .labeling import RegionClassifier, SparseLabelSpreading
from .pipeline import iter_fit_predict, iter_predict, make_segmenter
from .refine import PixelRefiner
from .superpixels import Superpixels
from .utils._metadata import package_version

__version__ = package_version()

__all__ = [
    "AutoencoderFeatures",
    "FeatureGate",
    "GANFeatures",
    "PixelRefiner",
    "PretrainedFeatures",
    "RegionClassifier",
    "RegionStats",
    "Regions",
    "SparseLabelSpreading",
    "Superpixels",
    "__version__",
    "iter_fit_predict",
    "iter_predict",
    "make_segmenter",
]
