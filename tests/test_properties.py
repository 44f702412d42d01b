"""Property-based tests: random sizes, dtypes, channel counts and label patterns.

Whatever hypothesis draws, the pipeline returns one mask per image with the
image's shape and values among ``classes_``, or raises one of the documented
errors; inputs (read-only arrays) are never modified.
"""

import warnings

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from semiseg_sk import Superpixels, make_segmenter  # noqa: E402
from semiseg_sk.exceptions import SingleClassWarning  # noqa: E402
from semiseg_sk.metrics import mean_iou  # noqa: E402
from semiseg_sk.utils.validation import check_labels  # noqa: E402

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

DTYPES = [np.uint8, np.uint16, np.float32, np.float64]
CHANNELS = [None, 3, 4]
CLASSES = [0, 1, 2, 7]


def _ro(array):
    array.flags.writeable = False
    return array


def _make_image(rng, shape, channels, dtype, kind):
    h, w = shape
    full = (h, w) if channels is None else (h, w, channels)
    if kind == "constant":
        unit = np.full(full, 0.5)
    elif kind == "noise":
        unit = rng.rand(*full)
    else:  # blocks: a few flat rectangles with a little noise
        unit = np.zeros(full)
        unit[: h // 2] += 0.5
        unit[:, w // 2 :] += 0.3
        unit = np.clip(unit + 0.05 * rng.rand(*full), 0, 1)
    if np.issubdtype(dtype, np.integer):
        image = (unit * np.iinfo(dtype).max).astype(dtype)
    else:
        image = unit.astype(dtype)
    return _ro(image)


def _make_labels(rng, shape, pattern, classes):
    lab = np.full(shape, -1)
    if pattern == "dense":
        lab = rng.choice(classes, size=shape)
    elif pattern == "scribbles":
        for c in classes:
            r, q = rng.randint(shape[0]), rng.randint(shape[1])
            lab[r, max(q - 2, 0) : q + 2] = c
    elif pattern == "sparse":
        where = rng.rand(*shape) < 0.1
        lab[where] = rng.choice(classes, size=int(where.sum()))
    return _ro(lab)


@st.composite
def datasets(draw):
    """A list of images sharing a channel count and dtype, with label maps."""
    n_images = draw(st.integers(1, 3))
    channels = draw(st.sampled_from(CHANNELS))
    dtype = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.RandomState(seed)
    images, labels = [], []
    for _ in range(n_images):
        shape = (draw(st.integers(2, 28)), draw(st.integers(2, 28)))
        kind = draw(st.sampled_from(["blocks", "noise", "constant"]))
        images.append(_make_image(rng, shape, channels, dtype, kind))
        pattern = draw(st.sampled_from(["none", "scribbles", "sparse", "dense"]))
        classes = draw(
            st.lists(st.sampled_from(CLASSES), min_size=1, max_size=3, unique=True)
        )
        labels.append(_make_labels(rng, shape, pattern, classes))
    return images, labels


def _segmenter(method, n_segments):
    pytest.importorskip("torch")
    seg = make_segmenter(
        method=method, n_segments=n_segments, autoencoder=True, random_state=0
    )
    return seg.set_params(
        autoencoderfeatures__max_iter=1,
        autoencoderfeatures__latent_dim=2,
        autoencoderfeatures__n_filters=4,
        autoencoderfeatures__patch_size=8,
        autoencoderfeatures__validation_fraction=0.0,
        regionstats__sigma_max=2.0,
    )


@pytest.mark.slow
@SETTINGS
@given(
    data=datasets(),
    method=st.sampled_from(["slic", "slic", "felzenszwalb", "quickshift", "watershed"]),
    n_segments=st.integers(1, 40),
    new_shape=st.tuples(st.integers(2, 28), st.integers(2, 28)),
)
def test_pipeline_masks_or_documented_errors(data, method, n_segments, new_shape):
    images, labels = data
    copies = [a.copy() for a in images + labels]
    seg = _segmenter(method, n_segments)
    n_labeled_classes = len(np.unique(np.concatenate([y[y >= 0] for y in labels])))
    too_small = method in ("slic", "watershed") and any(
        n_segments > im.shape[0] * im.shape[1] for im in images
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            seg.fit(images, labels)
        except ValueError as exc:
            message = str(exc)
            if too_small:
                assert "n_segments=" in message and "is larger than" in message
                event("error: n_segments larger than an image")
            else:
                assert n_labeled_classes == 0, message
                assert "no labeled pixel" in message
                event("error: no labeled pixel")
            return
    assert not too_small and n_labeled_classes >= 1
    # Only documented warnings: one class labeled (or surviving the region
    # vote).
    for w in caught:
        assert issubclass(w.category, SingleClassWarning), w
    if n_labeled_classes == 1:
        assert any(issubclass(w.category, SingleClassWarning) for w in caught)

    event(f"fitted: {len(seg.classes_)} class(es), {images[0].dtype}")
    classes = seg.classes_
    masks = seg.predict(images)
    probas = seg.predict_proba(images)
    assert len(masks) == len(images) == len(probas)
    for image, mask, proba in zip(images, masks, probas):
        assert mask.shape == image.shape[:2]
        assert np.isin(mask, classes).all()
        assert proba.shape == (*image.shape[:2], len(classes))
        np.testing.assert_allclose(proba.sum(axis=-1), 1.0, atol=1e-6)
    if any((y >= 0).any() for y in labels):
        # score is the mean IoU of the predictions on the labeled pixels.
        assert seg.score(images, labels) == pytest.approx(mean_iou(labels, masks))

    # A new image of another size, with the channels and dtype seen at fit.
    channels = None if images[0].ndim == 2 else images[0].shape[2]
    new = _make_image(
        np.random.RandomState(0), new_shape, channels, images[0].dtype, "blocks"
    )
    if method in ("slic", "watershed") and n_segments > new_shape[0] * new_shape[1]:
        with pytest.raises(
            ValueError, match=r"is larger than the \d+ pixels of X\[0\]"
        ):
            seg.predict([new])
    else:
        (mask,) = seg.predict([new])
        assert mask.shape == new_shape
        assert np.isin(mask, classes).all()
    for a, b in zip(images + labels, copies):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("channels", CHANNELS, ids=["grey", "rgb", "rgba"])
def test_every_dtype_and_channel_count(dtype, channels):
    # Hypothesis draws these at random; this sweep guarantees each pair runs.
    rng = np.random.RandomState(0)
    images = [_make_image(rng, (20, 16), channels, dtype, "blocks") for _ in range(2)]
    labels = [
        _make_labels(rng, (20, 16), "scribbles", [0, 2]),
        _ro(np.full((20, 16), -1)),
    ]
    seg = _segmenter("slic", 8).fit(images, labels)
    np.testing.assert_array_equal(seg.classes_, [0, 2])
    masks = seg.predict(images)
    assert [m.shape for m in masks] == [(20, 16)] * 2
    assert np.isin(np.concatenate([m.ravel() for m in masks]), [0, 2]).all()


@SETTINGS
@given(
    data=datasets(),
    method=st.sampled_from(["slic", "felzenszwalb", "quickshift", "watershed"]),
    n_segments=st.integers(1, 30),
)
def test_superpixels_cover_every_pixel(data, method, n_segments):
    images, _ = data
    sp = Superpixels(method, n_segments=n_segments)
    if method in ("slic", "watershed") and any(
        n_segments > im.shape[0] * im.shape[1] for im in images
    ):
        with pytest.raises(ValueError, match="is larger than the"):
            sp.fit_transform(images)
        return
    for image, regions in zip(images, sp.fit_transform(images)):
        assert regions.image is image
        assert regions.segments.shape == image.shape[:2]
        used = np.unique(regions.segments)
        np.testing.assert_array_equal(used, np.arange(regions.n_regions))


@SETTINGS
@given(
    shape=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    low=st.integers(-5, 3),
    dtype=st.sampled_from([np.int8, np.int16, np.int32, np.int64, np.uint8]),
)
def test_check_labels_accepts_exactly_ints_from_minus_one(shape, low, dtype):
    rng = np.random.RandomState(low + 10)
    low = max(low, 0) if np.issubdtype(dtype, np.unsignedinteger) else low
    lab = _ro(rng.randint(low, 4, size=shape).astype(dtype))
    if lab.min() < -1:
        with pytest.raises(ValueError, match=r"y\[0\] contains -\d+"):
            check_labels([lab], [shape])
    else:
        (out,) = check_labels([lab], [shape])
        assert out is lab
    with pytest.raises(TypeError, match=r"y\[0\] has dtype float"):
        check_labels([lab.astype(np.float64)], [shape])
