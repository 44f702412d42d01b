# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Collections of megapixel images with dense truth for ``workload.py``.

Two kinds of collection, each made of real image content laid out anew for
every image, so that a collection of any size N and any image size exists:

- **grey** (``nuclei``): mosaics of 256x256 tiles of the DSB 2018 nuclei
  image that the ``stardist==0.9.2`` wheel ships (``img2d.tif`` and its
  instance mask ``mask2d.tif``, 512x512 fluorescence; package BSD-3-Clause,
  image and mask from the 2018 Kaggle Data Science Bowl, BBBC038, CC0;
  ``benchmarks/fetch_data.py`` downloads them). Every tile is a crop at a
  random offset, turned by a random rotation or flip of the square, and
  carries its own part of the truth (2 classes: background, nucleus), so a
  1024x1024 image holds 16 tiles and a 2048x2048 image 64. Nuclei keep
  their native scale (about 20 pixels across): a large image is a larger
  field of view, as in a slide scan, not a magnified one. Seams cut some
  nuclei; the truth is cut with them.
- **RGB** (``textures``): Voronoi mosaics of three colour photographs
  bundled in the scikit-image wheel (BSD-3-Clause; no download):
  ``immunohistochemistry`` (stained tissue), ``chelsea`` (cat fur) and
  ``hubble_deep_field`` (galaxies on black), class ``k`` being photograph
  ``k``, as in :func:`semiseg_sk.datasets.make_texture_mosaics`. Each cell
  is filled from one crop per class and image, at a random offset into the
  photograph mirrored and tiled as far as the image needs, at its native
  scale; the number of cells grows with the area (6 on 256x256, 96 on
  1024x1024), so cells stay about 100 pixels across.

Images are uint8, as a user's files are. Image ``i`` of a collection
depends only on the kind, the size, the seed and ``i``, so the first 50
images of a collection of 200 are the collection of 50. The first two
images are scribbled (:func:`semiseg_sk.datasets.make_scribbles`) and show
every class; strokes get more numerous with the image side (2 per class on
256x256, 8 on 1024x1024), a user's scribbles on a larger field.

A collection is cached under ``benchmarks/_data/workload/`` (git-ignored)
as ``images.npy`` (N, H, W[, 3]) uint8, ``truths.npy`` (N, H, W) int8,
``scribbles.npy`` (2, H, W) int8 (-1 = unlabeled) and ``meta.json``.
:func:`read_npy` reads a range of images into ordinary memory (never a
memory map, whose file pages would count in the reader's resident memory).
"""

import json
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from semiseg_sk.datasets import make_scribbles

DATA = Path(__file__).resolve().parent / "_data"
CACHE = DATA / "workload"
KINDS = {1: "nuclei", 3: "textures"}
TILE = 256
PHOTOS = ("immunohistochemistry", "chelsea", "hubble_deep_field")
N_SCRIBBLED = 2
# Stroke length per kind: nuclei are about 20 pixels wide, texture cells 100.
STROKE_LENGTH = {"nuclei": 12, "textures": 20}


def _nuclei_source():
    import tifffile

    image = tifffile.imread(DATA / "stardist" / "img2d.tif").astype(np.float64)
    mask = tifffile.imread(DATA / "stardist" / "mask2d.tif")
    image = (image - image.min()) / (image.max() - image.min())
    return np.round(255 * image).astype(np.uint8), (mask > 0).astype(np.int8)


def _photos():
    import skimage.data

    return [getattr(skimage.data, name)() for name in PHOTOS]


def _dihedral(array, k):
    """One of the 8 rotations and flips of a square array."""
    array = np.rot90(array, k % 4)
    return array[:, ::-1] if k >= 4 else array


def nuclei_mosaic(size, rng, source):
    """A ``size`` x ``size`` mosaic of turned nuclei tiles and its truth."""
    image, truth = source
    n = -(-size // TILE)
    out = np.empty((n * TILE, n * TILE), dtype=np.uint8)
    out_truth = np.empty(out.shape, dtype=np.int8)
    for r in range(n):
        for c in range(n):
            row, col = rng.randint(0, image.shape[0] - TILE + 1, size=2)
            k = rng.randint(8)
            box = np.s_[row : row + TILE, col : col + TILE]
            at = np.s_[r * TILE : (r + 1) * TILE, c * TILE : (c + 1) * TILE]
            out[at] = _dihedral(image[box], k)
            out_truth[at] = _dihedral(truth[box], k)
    return out[:size, :size], out_truth[:size, :size]


def _mirrored(length, start, period):
    """Indices ``start, start + 1, ...`` into an axis mirrored and tiled."""
    idx = (start + np.arange(length)) % (2 * period)
    return np.where(idx < period, idx, 2 * period - 1 - idx)


def _voronoi(size, n_cells, rng):
    """Cell index of every pixel of a random Voronoi tessellation."""
    flat = rng.choice(size * size, size=n_cells, replace=False)
    seeds = np.ones((size, size), dtype=bool)
    seeds.flat[flat] = False
    cell = np.zeros((size, size), dtype=np.int32)
    cell.flat[flat] = np.arange(n_cells)
    rows, cols = ndi.distance_transform_edt(
        seeds, return_distances=False, return_indices=True
    )
    return cell[rows, cols]


def texture_mosaic(size, rng, photos, every_class=False):
    """A Voronoi mosaic of the colour photographs and its truth."""
    n_cells = max(6, round(6 * (size / TILE) ** 2))
    cell = _voronoi(size, n_cells, rng)
    while True:
        cell_class = rng.randint(len(photos), size=n_cells)
        # Every cell owns its seed pixel, so every cell shows.
        shown = np.unique(cell_class).size
        if shown == len(photos) or (shown >= 2 and not every_class):
            break
    truth = cell_class[cell].astype(np.int8)
    image = np.empty((size, size, 3), dtype=np.uint8)
    for k, photo in enumerate(photos):
        rows = _mirrored(size, rng.randint(2 * photo.shape[0]), photo.shape[0])
        cols = _mirrored(size, rng.randint(2 * photo.shape[1]), photo.shape[1])
        where = truth == k
        image[where] = photo[np.ix_(rows, cols)][where]
    return image, truth


def scribble_params(kind, size):
    """make_scribbles arguments: more strokes per class on a larger field."""
    return dict(
        n_strokes=max(2, 2 * size // TILE),
        stroke_length=STROKE_LENGTH[kind],
        stroke_width=2,
    )


def collection_dir(kind, size, seed):
    return CACHE / f"{kind}-{size}-seed{seed}"


def make_collection(kind, n_images, size, seed=0):
    """Write (or reuse) a collection of at least ``n_images``; return its folder."""
    folder = collection_dir(kind, size, seed)
    meta_path = folder / "meta.json"
    if meta_path.exists() and json.loads(meta_path.read_text())["n"] >= n_images:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    source = _nuclei_source() if kind == "nuclei" else _photos()
    shape = (size, size) if kind == "nuclei" else (size, size, 3)
    images = np.lib.format.open_memmap(
        folder / "images.tmp.npy", "w+", np.uint8, (n_images, *shape)
    )
    truths = np.lib.format.open_memmap(
        folder / "truths.tmp.npy", "w+", np.int8, (n_images, size, size)
    )
    scribbles = np.empty((N_SCRIBBLED, size, size), dtype=np.int8)
    for i in range(n_images):
        rng = np.random.RandomState([seed, i])
        if kind == "nuclei":
            image, truth = nuclei_mosaic(size, rng, source)
        else:
            image, truth = texture_mosaic(size, rng, source, i < N_SCRIBBLED)
        images[i], truths[i] = image, truth
        if i < N_SCRIBBLED:
            scribbles[i] = make_scribbles(
                truth.astype(np.int64),
                random_state=np.random.RandomState([seed, i, 1]),
                **scribble_params(kind, size),
            )
    n_classes = 2 if kind == "nuclei" else len(PHOTOS)
    del images, truths  # flush the memory maps before renaming
    (folder / "images.tmp.npy").replace(folder / "images.npy")
    (folder / "truths.tmp.npy").replace(folder / "truths.npy")
    np.save(folder / "scribbles.npy", scribbles)
    meta = dict(kind=kind, n=n_images, size=size, seed=seed, n_classes=n_classes)
    meta_path.write_text(json.dumps(meta))
    return folder


def read_npy(path, start=0, count=None):
    """Images ``start`` to ``start + count`` of a stacked ``.npy``, read into memory."""
    with open(path, "rb") as f:
        fmt = np.lib.format
        if fmt.read_magic(f) == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = fmt.read_array_header_2_0(f)
        assert not fortran, path
        count = shape[0] - start if count is None else count
        per_image = int(np.prod(shape[1:]))
        f.seek(start * per_image * dtype.itemsize, 1)
        data = np.fromfile(f, dtype=dtype, count=count * per_image)
    return data.reshape(count, *shape[1:])


def load_inputs(folder, n_images):
    """What a user holds: a list of images and a list of label maps.

    The first two label maps are the scribbles; the others are all -1
    (int8, like the scribbles). Returns ``images, labels, input_bytes``.
    """
    stack = read_npy(folder / "images.npy", 0, n_images)
    images = list(stack)
    scribbles = read_npy(folder / "scribbles.npy")
    labels = list(scribbles[: min(N_SCRIBBLED, n_images)])
    shape = stack.shape[1:3]
    labels += [np.full(shape, -1, dtype=np.int8) for _ in range(n_images - len(labels))]
    return images, labels, stack.nbytes + sum(lab.nbytes for lab in labels)
