"""Lazy image collections: images read one at a time, where they are used.

A collection of files, a zarr store or a dask array gives the masks of the
same images in a list; the fitted pipeline and the regions it makes keep
handles, not pixels; and the memory of fitting and predicting does not grow
with the number of images as the pixels of the collection would.
"""

import gc
import os
import pickle
import tracemalloc

import numpy as np
import pytest

from semiseg_sk import Regions, make_segmenter
from semiseg_sk.io import ImageCollection, LazyImage, read_labels, write_masks
from semiseg_sk.pipeline import iter_fit_predict, iter_predict

SIZE = 64


def _images(n, seed=0):
    """Two-texture images (left and right halves differ), float64."""
    rng = np.random.RandomState(seed)
    out = []
    for _ in range(n):
        image = rng.rand(SIZE, SIZE) * 0.3
        image[:, SIZE // 2 :] += 0.6
        out.append(image)
    return out


def _labels(n):
    """Scribbles on the first two images; the others unlabeled (no memory)."""
    labels = [np.broadcast_to(np.int8(-1), (SIZE, SIZE)) for _ in range(n)]
    for i in range(min(n, 2)):
        lab = np.full((SIZE, SIZE), -1, dtype=np.int8)
        lab[10:14, 5:10], lab[40:44, 50:55] = 0, 1
        labels[i] = lab
    return labels


def _segmenter():
    return make_segmenter(n_segments=8, autoencoder=False, random_state=0)


def _save(images, folder):
    folder.mkdir(exist_ok=True)
    paths = []
    for i, image in enumerate(images):
        paths.append(folder / f"img{i:03d}.npy")
        np.save(paths[-1], image)
    return paths


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    images = _images(100)
    return images, _save(images, tmp_path_factory.mktemp("npy"))


def _same(masks, reference):
    masks = list(masks)
    assert len(masks) == len(reference)
    for mask, expected in zip(masks, reference):
        np.testing.assert_array_equal(mask, expected)


@pytest.fixture(scope="module")
def reference(files):
    images, _ = files
    images = images[:6]
    seg = _segmenter().fit(images, _labels(6))
    return seg, seg.predict(images)


def test_paths_glob_and_lists_of_paths_give_the_masks_of_arrays(files, reference):
    _, paths = files
    _, expected = reference
    seg = _segmenter().fit(ImageCollection.from_paths(paths[:6]), _labels(6))
    _same(seg.predict([str(p) for p in paths[:6]]), expected)
    pattern = str(paths[0].parent / "img00[0-5].npy")
    _same(seg.predict(pattern), expected)
    _same((out.mask for out in iter_predict(seg, pattern)), expected)
    # One image per task (here sequential): the masks of the batches.
    _same((out.mask for out in iter_predict(seg, pattern, n_jobs=1)), expected)
    streamed = iter_fit_predict(_segmenter(), paths[:6], _labels(6))
    _same(
        (out.mask for out in streamed),
        _segmenter().fit_predict(ImageCollection.from_paths(paths[:6]), _labels(6)),
    )
    # The regions keep the handle; pickled, they weigh less than the image.
    regions = seg[:-1].transform(ImageCollection.from_paths(paths[:1]))[0]
    assert isinstance(regions._image, LazyImage)
    assert regions._image.shape == (SIZE, SIZE)
    assert len(pickle.dumps(regions)) < paths[0].stat().st_size
    np.testing.assert_array_equal(regions.image, np.load(paths[0]))


def test_zarr_and_dask_collections_give_the_masks_of_lists(files, reference, tmp_path):
    zarr = pytest.importorskip("zarr")
    da = pytest.importorskip("dask.array")
    images, _ = files
    seg, expected = reference
    stack = np.stack(images[:6])
    array = zarr.open_array(
        tmp_path / "stack.zarr",
        mode="w",
        shape=stack.shape,
        chunks=(1, SIZE, SIZE),
        dtype=stack.dtype,
    )
    array[:] = stack
    group = zarr.open_group(tmp_path / "group.zarr", mode="w")
    for i, image in enumerate(images[:6]):
        group.create_array(f"img{i}", data=image)
    # OME-Zarr: one image group per key, full resolution at "0", axes c, y, x.
    ome = zarr.open_group(tmp_path / "ome.zarr", mode="w")
    for i, image in enumerate(images[:6]):
        node = ome.create_group(f"img{i}")
        node.attrs["multiscales"] = [
            {"axes": [{"name": a} for a in "cyx"], "datasets": [{"path": "0"}]}
        ]
        node.create_array("0", data=image[None])
    sources = [
        array,
        str(tmp_path / "stack.zarr"),
        ImageCollection.from_zarr(tmp_path / "group.zarr"),
        ImageCollection.from_zarr(ome),
        da.from_zarr(str(tmp_path / "stack.zarr")),
        ImageCollection.from_dask(da.from_array(stack, chunks=(2, SIZE, SIZE))),
    ]
    for source in sources:
        _same(seg.predict(source), expected)
    fitted = _segmenter().fit(array, _labels(6))
    _same(fitted.predict(list(stack)), expected)


def test_write_masks_streams_to_a_folder_and_to_zarr(files, reference, tmp_path):
    zarr = pytest.importorskip("zarr")
    _, paths = files
    seg, expected = reference
    collection = ImageCollection.from_paths(paths[:6])
    written = write_masks(iter_predict(seg, collection), tmp_path / "masks")
    assert [os.path.basename(p) for p in written] == [
        f"img{i:03d}_labels.png" for i in range(6)
    ]
    _same((read_labels(p) for p in written), expected)
    store = tmp_path / "masks.zarr"
    assert write_masks(iter_predict(seg, collection), store)[0] == "img000"
    group = zarr.open_group(store, mode="r")
    _same((group[f"img{i:03d}"][:] for i in range(6)), expected)
    assert not [k for k in os.listdir(store) if k.startswith(".")]
    # Never overwritten: the existing mask stays as it was.
    for destination in (tmp_path / "masks", store):
        with pytest.raises(FileExistsError, match="img000"):
            write_masks(iter_predict(seg, collection[:1]), destination)
    _same([group["img000"][:]], expected[:1])


def _array_bytes(obj, seen=None):
    """Bytes of the ndarrays reachable from ``obj`` (attributes, lists, dicts)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return obj.nbytes if obj.base is None else 0
    if isinstance(obj, dict):
        return sum(_array_bytes(v, seen) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_array_bytes(v, seen) for v in obj)
    if hasattr(obj, "__dict__") and not isinstance(obj, type):
        return _array_bytes(vars(obj), seen)
    return 0


def _peak(func, *args):
    """What ``func(*args)`` returns, and the peak of the memory it allocated."""
    gc.collect()
    tracemalloc.start()
    try:
        result = func(*args)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _stream_peaks(seg, collection, at):
    """Memory peaks while streaming: after ``at`` images, and at the end."""
    gc.collect()
    tracemalloc.start()
    try:
        for i, out in enumerate(iter_predict(seg, collection), 1):
            del out
            if i == at:
                early = tracemalloc.get_traced_memory()[1]
        return early, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_of_a_lazy_collection_does_not_grow_with_its_pixels(files):
    images, paths = files
    extra = 75 * images[0].nbytes  # the pixels of 75 more images, 32 KiB each
    kept, peaks = {}, {}
    for n in (25, 100):
        collection = ImageCollection.from_paths(paths[:n])
        labels = _labels(n)
        seg, peaks[n] = _peak(_segmenter().fit, collection, labels)
        kept[n] = _array_bytes(seg)
    # Fitting keeps region features (a few kilobytes an image), never pixels:
    # 75 more images cost far less than their pixels, at the peak and after.
    assert peaks[100] - peaks[25] < 0.25 * extra, (peaks, extra)
    assert kept[100] - kept[25] < 0.1 * extra, (kept, extra)
    # Predicting streams, one batch at a time: after 25 images, the peak is
    # what it will be after 100.
    early, late = _stream_peaks(seg, collection, 25)
    assert late - early < 0.1 * extra, (early, late, extra)
    # The in-memory list holds them all (the measure sees pixels).
    assert _array_bytes(images[:25]) == 25 * images[0].nbytes


def test_regions_of_a_lazy_image_read_it_on_access(tmp_path):
    image = np.random.RandomState(0).rand(8, 8)
    path = tmp_path / "a.npy"
    np.save(path, image)
    regions = Regions(LazyImage(path), np.zeros((8, 8), int))
    assert regions._image.shape == (8, 8) and "(8, 8)" in repr(regions)
    np.testing.assert_array_equal(regions.image, image)
    with pytest.raises(ValueError, match="segments has shape"):
        Regions(LazyImage(path), np.zeros((4, 8), int))


def test_lazy_images_are_checked_as_arrays_are(files, tmp_path):
    from semiseg_sk.exceptions import PixelScaleWarning

    _, paths = files
    bad = np.full((SIZE, SIZE), np.nan)
    np.save(tmp_path / "nan.npy", bad)
    collection = [*paths[:3], tmp_path / "nan.npy"]
    with pytest.raises(ValueError, match=r"X\[3\] contains NaN"):
        _segmenter().fit(collection, _labels(4))
    labels = _labels(3)
    labels[1] = np.zeros((4, 4), int)
    with pytest.raises(ValueError, match=r"y\[1\] has shape"):
        _segmenter().fit(paths[:3], labels)
    np.save(tmp_path / "bright.npy", np.load(paths[2]) * 255)
    with pytest.warns(PixelScaleWarning, match=r"X\[2\]"):
        _segmenter().fit([*paths[:2], tmp_path / "bright.npy"], _labels(3))
    with pytest.raises(FileNotFoundError):
        _segmenter().fit([tmp_path / "missing.npy", *paths[:2]], _labels(3))
