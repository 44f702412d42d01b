# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Without torch, the package imports and every learned step says how to install it."""

import subprocess
import sys

import pytest

_NO_TORCH = """
import sys


class _NoTorch:
    # As if torch were not installed. (sys.modules["torch"] = None would
    # also break scipy's array-API helpers, which look torch up there.)
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {{name!r}}")


sys.meta_path.insert(0, _NoTorch())
import numpy as np
import semiseg_sk
from semiseg_sk import RegionStats, Superpixels, make_segmenter
images = [np.random.RandomState(0).rand(24, 24)]
regions = RegionStats().fit_transform(Superpixels(n_segments=8).fit_transform(images))
make_segmenter(autoencoder=False)
try:
    semiseg_sk.{step}(max_iter=1).fit(regions)
except ImportError as exc:
    assert "{extra}" in str(exc), exc
    print("IMPORT-ERROR-OK")
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "step, extra",
    [
        ("AutoencoderFeatures", "semiseg_sk[torch]"),
        ("GANFeatures", "semiseg_sk[torch]"),
    ],
)
def test_missing_torch_gives_install_hint(step, extra):
    script = _NO_TORCH.format(step=step, extra=extra)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "IMPORT-ERROR-OK" in result.stdout
