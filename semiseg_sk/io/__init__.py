# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Files: images, label images, masks, model files, and the atomic writer.

.. warning::
   Model files are pickles (joblib). Loading a pickle can run arbitrary code:
   load only model files from sources you trust.
"""

from ..exceptions import ModelFileError
from ._atomic import TEMP_PREFIX, atomic_path
from ._collection import ImageCollection, LazyImage, write_masks
from ._files import IMAGE_EXTENSIONS, LABEL_SUFFIX, find_images, find_label_file
from ._images import (
    MAX_PIXELS,
    MAX_PIXELS_ENV,
    read_image,
    read_labels,
    write_array,
    write_image,
    write_mask,
)
from ._model_file import MODEL_FORMAT, MODEL_FORMAT_VERSION, load_model, save_model
from ._volumes import (
    is_volume_file,
    read_volume,
    read_volume_labels,
    volume_metadata,
    write_volume,
    write_volume_mask,
)

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageCollection",
    "LazyImage",
    "LABEL_SUFFIX",
    "MAX_PIXELS",
    "MAX_PIXELS_ENV",
    "MODEL_FORMAT",
    "MODEL_FORMAT_VERSION",
    "ModelFileError",
    "TEMP_PREFIX",
    "atomic_path",
    "find_images",
    "find_label_file",
    "is_volume_file",
    "load_model",
    "read_image",
    "read_labels",
    "read_volume",
    "read_volume_labels",
    "save_model",
    "volume_metadata",
    "write_array",
    "write_image",
    "write_mask",
    "write_masks",
    "write_volume",
    "write_volume_mask",
]
