# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""semiseg_sk: semi-supervised image segmentation in the scikit-learn style.

Split every image into regions, describe regions with hand-crafted statistics
and with an autoencoder trained on labeled *and* unlabeled images, and label
regions with any scikit-learn classifier or with label spreading over a graph
of all regions. Every step is a scikit-learn estimator.

torch is needed only by :class:`AutoencoderFeatures` and is imported lazily.
"""

try:
    from ._version import __version__
except ImportError:  # pragma: no cover - running from a tree without a build
    __version__ = "0.0.0+unknown"

from ._classifier import RegionClassifier
from ._label_spreading import SparseLabelSpreading
from ._refine import PixelRefiner
from ._region_stats import RegionStats
from ._regions import Regions
from ._segmenter import make_segmenter
from ._superpixels import Superpixels

__all__ = [
    "AutoencoderFeatures",
    "PixelRefiner",
    "RegionClassifier",
    "RegionStats",
    "Regions",
    "SparseLabelSpreading",
    "Superpixels",
    "__version__",
    "make_segmenter",
]


def __getattr__(name):
    # AutoencoderFeatures' module imports no torch at import time, but keeping
    # it lazy keeps `import semiseg_sk` light.
    if name == "AutoencoderFeatures":
        from ._autoencoder import AutoencoderFeatures

        return AutoencoderFeatures
    raise AttributeError(f"module 'semiseg_sk' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
