"""Tests of PixelRefiner and RegionClassifier(refiner=...)."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.mixture import GaussianMixture

from semiseg_sk import (
    PixelRefiner,
    RegionClassifier,
    RegionStats,
    Superpixels,
    make_segmenter,
)
from semiseg_sk.metrics import mean_iou
from semiseg_sk.refine._snap import snap_to_edges


def _thin_lines(seed=0, size=64):
    """Dark image with 2-pixel bright lines: thinner than any superpixel."""
    rng = np.random.RandomState(seed)
    truth = np.zeros((size, size), dtype=np.int64)
    for row in (10, 30, 50):
        truth[row : row + 2, 4:-4] = 1
    image = np.where(truth == 1, 0.8, 0.3) + rng.normal(0, 0.03, truth.shape)
    labels = np.full(truth.shape, -1)
    labels[30, 10:30] = 1
    labels[20, 10:30] = 0
    labels[40, 30:50] = 0
    return [np.clip(image, 0, 1)], [labels], [truth]


def _regions(images, n_segments=16):
    return RegionStats(filters=False).fit_transform(
        Superpixels(n_segments=n_segments).fit_transform(images)
    )


def test_refine_keeps_structures_thinner_than_regions():
    # Lines thinner than the snapping band need snapping turned off.
    images, labels, truths = _thin_lines()
    X = _regions(images)
    plain = RegionClassifier().fit(X, labels)
    refined = RegionClassifier(refiner=PixelRefiner(snap_width=0, random_state=0)).fit(
        X, labels
    )
    line_iou = [
        mean_iou(truths, clf.predict(X), per_class=True)[1] for clf in (plain, refined)
    ]
    assert line_iou[1] > 0.8
    assert line_iou[1] > line_iou[0] + 0.2


def test_predict_proba_shape_and_sum(tiny_data):
    images, labels, _ = tiny_data
    X = _regions(images, n_segments=30)
    clf = RegionClassifier(refiner=PixelRefiner(random_state=0)).fit(X, labels)
    proba = clf.predict_proba(X)
    masks = clf.predict(X)
    for p, m, image in zip(proba, masks, images):
        assert p.shape == image.shape[:2] + (len(clf.classes_),)
        np.testing.assert_allclose(p.sum(axis=-1), 1.0)
        np.testing.assert_array_equal(m, clf.classes_[p.argmax(axis=-1)])


@pytest.mark.parametrize("blend", ["linear", "geometric"])
def test_region_weight_one_is_the_region_classifier(tiny_data, blend):
    images, labels, _ = tiny_data
    X = _regions(images, n_segments=30)
    plain = RegionClassifier().fit(X, labels)
    refined = RegionClassifier(
        refiner=PixelRefiner(
            region_weight=1.0, blend=blend, snap_width=0, random_state=0
        )
    ).fit(X, labels)
    for a, b in zip(plain.predict(X), refined.predict(X)):
        np.testing.assert_array_equal(a, b)


def test_pseudo_labels_are_capped(tiny_data):
    images, labels, _ = tiny_data
    X = _regions(images, n_segments=30)
    clf = RegionClassifier(
        refiner=PixelRefiner(max_pseudo=50, pseudo_threshold=0.0, random_state=0)
    ).fit(X, labels)
    n_classes = len(clf.classes_)
    assert 0 < clf.refiner_.n_pseudo_ <= 50 * n_classes
    assert clf.refiner_.n_scribbled_ == sum(int((lab >= 0).sum()) for lab in labels)
    without = RegionClassifier(refiner=PixelRefiner(max_pseudo=0, random_state=0)).fit(
        X, labels
    )
    assert without.refiner_.n_pseudo_ == 0


def test_class_labels_need_not_be_0_to_k(tiny_data):
    images, labels, _ = tiny_data
    shifted = [np.where(lab >= 0, lab * 10 + 5, -1) for lab in labels]
    X = _regions(images, n_segments=30)
    clf = RegionClassifier(refiner=PixelRefiner(random_state=0)).fit(X, shifted)
    assert set(np.unique(np.concatenate([m.ravel() for m in clf.predict(X)]))) <= {
        5,
        15,
        25,
    }


def test_make_segmenter_refine_param_and_determinism(tiny_data):
    images, labels, _ = tiny_data
    seg = make_segmenter(n_segments=30, autoencoder=False, random_state=0)
    assert isinstance(seg.get_params()["regionclassifier__refiner"], PixelRefiner)
    assert (
        make_segmenter(refine=False).get_params()["regionclassifier__refiner"] is None
    )
    a = seg.fit(images, labels).predict(images)
    b = clone(seg).fit(images, labels).predict(images)
    for ma, mb in zip(a, b):
        np.testing.assert_array_equal(ma, mb)
    seg.set_params(regionclassifier__refiner__region_weight=0.2)
    assert seg.named_steps["regionclassifier"].refiner.region_weight == 0.2


def _step_image(edge=20, size=40):
    image = np.zeros((size, size))
    image[:, edge:] = 1.0
    return image


def test_snapping_moves_boundaries_onto_image_edges():
    image = _step_image(edge=20)
    proba = np.zeros((40, 40, 2))
    proba[:, :22, 0] = 0.6  # class boundary two pixels right of the edge
    proba[:, 22:, 1] = 0.6
    proba[..., 0] += np.where(proba[..., 0] == 0, 0.4, 0.0)
    proba[..., 1] += np.where(proba[..., 1] == 0, 0.4, 0.0)
    snapped = snap_to_edges(image, proba, width=3, sigma=1.0)
    assert snapped is not proba
    np.testing.assert_array_equal(snapped.argmax(-1), (image > 0.5).astype(int))
    # Probabilities are copied from the pixel whose basin each pixel joins.
    assert set(np.unique(snapped)) <= set(np.unique(proba))
    np.testing.assert_allclose(snapped.sum(-1), 1.0)


def test_snapping_removes_specks_narrower_than_the_band():
    image = np.full((30, 30), 0.5)
    proba = np.zeros((30, 30, 2))
    proba[..., 0] = 1.0
    proba[14:16, 14:16] = [0.2, 0.8]  # a 2x2 speck of class 1
    snapped = snap_to_edges(image, proba, width=2, sigma=1.0)
    assert (snapped.argmax(-1) == 0).all()
    assert snap_to_edges(image, proba, width=0, sigma=1.0) is proba


@pytest.mark.parametrize("n_classes", [1, 2])
def test_snapping_without_boundaries_or_markers_keeps_proba(n_classes):
    image = np.random.RandomState(0).rand(6, 6)
    proba = np.zeros((6, 6, n_classes))
    proba[..., 0] = 1.0
    if n_classes == 2:
        proba[:, 3:] = [0.0, 1.0]  # every pixel is within 3 of the boundary
    assert snap_to_edges(image, proba, width=3, sigma=1.0) is proba


def test_snapping_rgb_image_and_predict_agree_with_proba(tiny_data):
    images, labels, _ = tiny_data
    X = _regions(images)
    clf = RegionClassifier(refiner=PixelRefiner(random_state=0)).fit(X, labels)
    proba = clf.predict_proba(X)
    for mask, p in zip(clf.predict(X), proba):
        np.testing.assert_array_equal(mask, clf.classes_[p.argmax(-1)])
    rgb = np.stack([_step_image(), _step_image(18), _step_image(22)], axis=-1)
    p = np.zeros((40, 40, 2))
    p[:, :25] = [0.9, 0.1]
    p[:, 25:] = [0.1, 0.9]
    snapped = snap_to_edges(rgb, p, width=6, sigma=1.0)
    assert 18 <= (snapped.argmax(-1)[0] == 0).sum() <= 22


@pytest.mark.parametrize(
    "params",
    [
        {"snap_width": -1},
        {"snap_sigma": 0},
        {"region_weight": 1.5},
        {"pseudo_threshold": -0.1},
        {"convert2lab": "yes"},
    ],
)
def test_bad_parameters_name_the_parameter(tiny_data, params):
    images, labels, _ = tiny_data
    X = _regions(images)
    clf = RegionClassifier(refiner=PixelRefiner(**params))
    with pytest.raises(ValueError, match=list(params)[0]):
        clf.fit(X, labels)


def test_fit_predict_proba_equals_fit_then_predict_proba(tiny_data):
    images, labels, _ = tiny_data
    X = _regions(images, n_segments=30)
    clf = RegionClassifier().fit(X, labels)
    # The propagated region probabilities of the training images.
    propagated = clf.estimator_[-1].label_distributions_
    region_proba = np.split(propagated, np.cumsum([r.n_regions for r in X])[:-1])
    expected = (
        PixelRefiner(random_state=0)
        .fit(X, labels, region_proba=region_proba)
        .predict_proba(X, region_proba=region_proba)
    )
    got = PixelRefiner(random_state=0).fit_predict_proba(
        X, labels, region_proba=region_proba
    )
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    masks = RegionClassifier(refiner=PixelRefiner(random_state=0)).fit_predict(
        X, labels
    )
    for mask, p in zip(masks, expected):
        np.testing.assert_array_equal(mask, clf.classes_[p.argmax(axis=-1)])


def test_fit_reads_pixel_features_of_a_bounded_number_of_images(tiny_data, monkeypatch):
    # However many unlabeled images there are, fitting computes the pixel
    # features of the scribbled images and of pseudo_images others.
    import semiseg_sk.refine._refiner as refine_module

    images, labels, _ = tiny_data
    unlabeled = [np.full_like(labels[0], -1)] * 6
    X = _regions(list(images) + [images[0]] * 6, n_segments=30)
    y = list(labels) + unlabeled
    clf = RegionClassifier().fit(X, y)
    region_proba = np.split(
        clf.estimator_[-1].label_distributions_,
        np.cumsum([r.n_regions for r in X])[:-1],
    )
    seen = []
    compute = refine_module.pixel_features
    monkeypatch.setattr(
        refine_module,
        "pixel_features",
        lambda image, *a: seen.append(image) or compute(image, *a),
    )
    refiner = PixelRefiner(pseudo_images=2, random_state=0)
    refiner.fit(X, y, region_proba=region_proba)
    n_scribbled = sum((lab >= 0).any() for lab in labels)
    assert len(seen) == n_scribbled + 2
    assert refiner.n_pseudo_ > 0
    # pseudo_images=0: the scribbled images only.
    seen.clear()
    PixelRefiner(pseudo_images=0, random_state=0).fit(X, y, region_proba=region_proba)
    assert len(seen) == n_scribbled


def test_predictions_do_not_depend_on_the_prediction_batches(tiny_data, monkeypatch):
    # The pixel classifier predicts several images per call; one image per
    # call gives the same probabilities.
    import semiseg_sk.refine._refiner as refine_module

    images, labels, _ = tiny_data
    X = _regions(images, n_segments=30)
    clf = RegionClassifier(refiner=PixelRefiner(random_state=0)).fit(X, labels)
    batched = clf.predict_proba(X)
    monkeypatch.setattr(refine_module, "_PREDICT_BATCH_PIXELS", 1)
    for a, b in zip(clf.predict_proba(X), batched):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_pixel_features_of_colour_images_in_lab():
    from skimage.color import rgb2lab

    from semiseg_sk.refine._refiner import pixel_features

    rng = np.random.RandomState(0)
    ramp = np.linspace(0, 1, 24)
    rgb = np.stack(np.broadcast_arrays(ramp[:, None], ramp[None, :], 0.5), axis=-1)
    lab = pixel_features(rgb, 1.0, 1.0, True)
    # The first feature of each channel is its (slightly) smoothed intensity:
    # lightness L / 100 for the first channel.
    smooth_l = lab[:, 0].reshape(24, 24)
    assert np.corrcoef(smooth_l.ravel(), rgb2lab(rgb)[..., 0].ravel() / 100)[0, 1] > 0.9
    assert not np.allclose(lab, pixel_features(rgb, 1.0, 1.0, False))
    # multiscale_basic_features: 4 features per scale and channel.
    assert lab.shape == (24 * 24, 3 * 4)
    grey = rng.rand(24, 24)
    np.testing.assert_array_equal(
        pixel_features(grey, 1.0, 1.0, True), pixel_features(grey, 1.0, 1.0, False)
    )


@pytest.mark.parametrize("via", ["refiner", "pipeline"])
def test_sigma_min_above_sigma_max_is_refused(tiny_data, via):
    # Used to end in numpy's "need at least one array to stack".
    images, labels, _ = tiny_data
    match = r"sigma_min=4.0 is larger than sigma_max=2.0; expected sigma_min <="
    if via == "refiner":
        X = _regions(images)
        refiner = PixelRefiner(sigma_min=4.0, sigma_max=2.0)
        with pytest.raises(ValueError, match=match):
            refiner.fit(X, labels, region_proba=[np.ones((r.n_regions, 2)) for r in X])
        assert not hasattr(refiner, "estimator_")
    else:
        seg = make_segmenter(n_segments=16, autoencoder=False).set_params(
            regionclassifier__refiner__sigma_min=4.0,
            regionclassifier__refiner__sigma_max=2.0,
        )
        with pytest.raises(ValueError, match=match):
            seg.fit(images, labels)


def test_pixel_estimator_must_be_a_classifier(tiny_data):
    # A mixture has fit and predict_proba, but gives no classes.
    images, labels, _ = tiny_data
    refiner = RegionClassifier(refiner=PixelRefiner(GaussianMixture(2)))
    match = r"estimator of PixelRefiner must be a classifier.*GaussianMixture"
    with pytest.raises(TypeError, match=match):
        refiner.fit(_regions(images), labels)


def test_upsample_is_exact_on_the_grid_and_linear_between():
    from semiseg_sk.refine._refiner import _upsample

    rows, cols = np.meshgrid(np.arange(1, 12, 3), np.arange(1, 15, 3), indexing="ij")
    coarse = np.stack([rows, cols], axis=-1).astype(float)  # values = coordinates
    full = _upsample(coarse, 3, 1, 12, 15)
    # A linear function is reproduced inside the grid, held constant beyond it.
    r, c = np.meshgrid(np.arange(12), np.arange(15), indexing="ij")
    np.testing.assert_allclose(full[..., 0], np.clip(r, 1, 10))
    np.testing.assert_allclose(full[..., 1], np.clip(c, 1, 13))


def test_coarse_to_fine_gives_the_masks_of_every_pixel_at_lower_cost(monkeypatch):
    from skimage.transform import resize

    from semiseg_sk.datasets import make_scribbles, make_texture_mosaics

    images, truths = make_texture_mosaics(2, size=(128, 128), random_state=3)
    images = [resize(im, (512, 512), order=1) for im in images]
    truths = [
        resize(t, (512, 512), order=0, preserve_range=True).astype(int) for t in truths
    ]
    labels = [make_scribbles(t, stroke_length=60, random_state=0) for t in truths]
    X = _regions(images, n_segments=100)
    clf = RegionClassifier(refiner=PixelRefiner(random_state=0)).fit(X, labels)
    refiner = clf.refiner_
    evaluated = []
    forest = refiner._forest_proba
    monkeypatch.setattr(
        refiner,
        "_forest_proba",
        lambda rows: evaluated.append(len(rows)) or forest(rows),
    )
    coarse = clf.predict(X)
    n_coarse, evaluated[:] = sum(evaluated), []
    refiner.coarse_stride = 1
    exact = clf.predict(X)
    assert sum(evaluated) == 2 * 512 * 512
    assert n_coarse < 0.9 * sum(evaluated)
    agreement = np.mean([np.mean(a == b) for a, b in zip(coarse, exact)])
    assert agreement > 0.999


# -- volumes ----------------------------------------------------------------


def _thin_sheet_volume(seed=0):
    """A dark volume with a bright 2-voxel sheet: thinner than any supervoxel."""
    rng = np.random.RandomState(seed)
    truth = np.zeros((8, 24, 24), dtype=int)
    truth[:, :, 11:13] = 1
    image = 0.2 + 0.6 * truth + 0.05 * rng.randn(*truth.shape)
    labels = np.full(truth.shape, -1)
    labels[4, 4:20, 11:13] = 1
    labels[4, 4:20, 4] = 0
    labels[4, 4:20, 19] = 0
    return image, truth, labels


def test_refiner_keeps_thin_sheets_in_volumes():
    image, truth, labels = _thin_sheet_volume()
    regions = RegionStats(filters=False).fit_transform(
        Superpixels(n_segments=4, spacing=(2, 1, 1)).fit_transform([image])
    )
    coarse = RegionClassifier().fit(regions, [labels]).predict(regions)
    refined_clf = RegionClassifier(
        refiner=PixelRefiner(random_state=0, snap_width=0, max_pseudo=200)
    ).fit(regions, [labels])
    proba = refined_clf.predict_proba(regions)[0]
    refined = refined_clf.classes_[proba.argmax(axis=-1)]
    assert proba.shape == truth.shape + (2,)
    np.testing.assert_allclose(proba.sum(axis=-1), 1.0)
    assert mean_iou([truth], [refined]) > mean_iou([truth], coarse) + 0.1


def test_refiner_on_volumes_by_slabs_equals_whole(monkeypatch):
    """Slab-wise features and prediction give the masks of one big slab."""
    from semiseg_sk.features import _volume_features

    image, _, labels = _thin_sheet_volume()
    regions = RegionStats(filters=False).fit_transform(
        Superpixels(n_segments=4, spacing=(2, 1, 1)).fit_transform([image])
    )
    refiner = PixelRefiner(random_state=0, max_pseudo=100, snap_width=1.5)
    clf = RegionClassifier(refiner=refiner).fit(regions, [labels])
    whole = clf.predict_proba(regions)[0]
    monkeypatch.setattr(_volume_features, "_SLAB_VOXELS", 24 * 24 * 3)
    np.testing.assert_allclose(clf.predict_proba(regions)[0], whole)
    refit = RegionClassifier(refiner=refiner).fit(regions, [labels])
    np.testing.assert_allclose(refit.predict_proba(regions)[0], whole)


def _two_image_lines():
    """Two images of thin lines, two strokes per class on each."""
    images, labels, truths = [], [], []
    for seed in (0, 1):
        im, lab, tru = _thin_lines(seed)
        lab = lab[0].copy()
        lab[50, 10:30] = 1
        images += im
        labels.append(lab)
        truths += tru
    return images, labels, truths


def test_cv_chooses_blend_and_snapping_from_the_scribbles():
    images, labels, truths = _two_image_lines()
    X = _regions(images)
    refiner = PixelRefiner(region_weight="cv", snap_width="cv", random_state=0)
    clf = RegionClassifier(refiner=refiner).fit(X, labels)
    fitted = clf.refiner_
    assert set(fitted.cv_scores_) == {
        (w, s) for w in (0.0, 0.25, 0.5, 0.75) for s in (0.0, 3.0)
    }
    assert (fitted.region_weight_, fitted.snap_width_) in fitted.cv_scores_
    best = max(fitted.cv_scores_.values())
    assert fitted.cv_scores_[(fitted.region_weight_, fitted.snap_width_)] >= best - 0.01
    # Snapping erases lines thinner than its band: the held-out strokes say so.
    assert fitted.snap_width_ == 0
    snapping = PixelRefiner(snap_width=3, random_state=0)
    snapped = RegionClassifier(refiner=snapping).fit(X, labels)
    line_iou = [
        mean_iou(truths, c.predict(X), per_class=True)[1] for c in (snapped, clf)
    ]
    assert line_iou[1] > line_iou[0] + 0.3


def test_default_stops_snapping_where_it_erases_thin_lines():
    images, labels, truths = _two_image_lines()
    X = _regions(images)
    fitted = RegionClassifier(refiner=PixelRefiner(random_state=0)).fit(X, labels)
    refiner = fitted.refiner_
    assert refiner.snap_width == "cv" and refiner.snap_width_ == 0
    assert set(refiner.cv_scores_) == {(0.5, 3.0), (0.5, 0.0)}
    # Snapping at least doubles the held-out error of the blend.
    assert 1 - refiner.cv_scores_[(0.5, 3.0)] >= 2 * (1 - refiner.cv_scores_[(0.5, 0.0)])
    # The cross-validation has a random stream of its own: the forests are
    # those of a fit without it, so the masks differ only by the snapping.
    plain = PixelRefiner(snap_width=0, random_state=0)
    unsnapped = RegionClassifier(refiner=plain).fit(X, labels)
    np.testing.assert_allclose(
        np.concatenate(fitted.predict_proba(X)), np.concatenate(unsnapped.predict_proba(X))
    )


def test_default_snaps_when_the_folds_split_an_image():
    # One scribbled image: its strokes share its look, so the held-out
    # strokes flatter the blend and cannot speak against snapping; the
    # cross-validation does not even run.
    images, labels, _ = _thin_lines()
    X = _regions(images)
    fitted = RegionClassifier(refiner=PixelRefiner(random_state=0)).fit(X, labels)
    assert fitted.refiner_.snap_width_ == 3
    assert fitted.refiner_.cv_scores_ is None


def test_choose_switches_snapping_off_only_on_clear_evidence():
    from semiseg_sk.refine._refiner import _choose

    pairs = [(0.5, 3.0), (0.5, 0.0)]
    assert pairs[_choose(pairs, [0.86, 1.0], True)] == (0.5, 0.0)
    assert pairs[_choose(pairs, [1.0, 1.0], True)] == (0.5, 3.0)  # a tie snaps
    assert pairs[_choose(pairs, [0.80, 0.85], True)] == (0.5, 3.0)  # small gain
    assert pairs[_choose(pairs, [0.58, 0.98], False)] == (0.5, 3.0)  # split images
    assert _choose([(0.5, 0.0), (0.0, 0.0)], [0.7, 0.9], False) == 1  # no snapping


def test_holds_out_whole_images():
    from semiseg_sk.refine._select import holds_out_whole_images

    strokes = [(0, None, 0), (0, None, 1), (1, None, 0), (1, None, 1)]
    assert holds_out_whole_images(strokes, [0, 0, 1, 1])
    assert not holds_out_whole_images(strokes, [0, 1, 0, 1])
    assert not holds_out_whole_images(strokes[:2], [0, 0])  # a single image


def test_cv_needs_two_strokes_per_class_else_the_fallback_stands():
    from semiseg_sk.refine._select import stroke_folds

    lab = np.full((8, 8), -1)
    lab[1, 1:4] = 0
    lab[6, 1:4] = 1
    lab[6, 6] = 1
    _, folds = stroke_folds([lab], np.array([0, 1]), 3, np.random.RandomState(0))
    assert folds.size == 0  # class 0 has a single stroke: nothing held out
    images, labels, _ = _thin_lines()
    one = labels[0].copy()
    one[40] = -1  # class 0 keeps a single stroke
    X = _regions(images)
    refiner = PixelRefiner(region_weight="cv", temperature="cv", random_state=0)
    fitted = RegionClassifier(refiner=refiner).fit(X, [one]).refiner_
    assert fitted.cv_scores_ is None
    assert (fitted.region_weight_, fitted.snap_width_, fitted.temperature_) == (
        0.5,
        3.0,
        1.0,
    )


def test_temperature_changes_probabilities_not_masks(tiny_data):
    images, labels, _ = tiny_data
    X = _regions(images, n_segments=30)
    outs = []
    for t in (1.0, 0.5):
        clf = RegionClassifier(refiner=PixelRefiner(temperature=t, random_state=0)).fit(
            X, labels
        )
        outs.append((clf.predict(X), clf.predict_proba(X)))
        assert clf.refiner_.temperature_ == t
    for (m1, p1), (m2, p2) in zip(*[zip(*o) for o in outs]):
        np.testing.assert_array_equal(m1, m2)
        np.testing.assert_allclose(p2.sum(axis=-1), 1.0)
        assert p2.max(axis=-1).mean() >= p1.max(axis=-1).mean()


def test_auto_context_fits_a_second_pass(tiny_data):
    images, labels, _ = tiny_data
    X = _regions(images, n_segments=30)
    clf = RegionClassifier(refiner=PixelRefiner(auto_context=True, random_state=0)).fit(
        X, labels
    )
    refiner = clf.refiner_
    assert refiner.context_estimator_ is not None
    n_filters = refiner.estimator_.n_features_in_
    # 4 maps (raw and 3 scales) per class of the first pass.
    n_classes = len(refiner.classes_)
    assert refiner.context_estimator_.n_features_in_ == n_filters + 4 * n_classes
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba[0].sum(axis=-1), 1.0)
    plain = RegionClassifier(refiner=PixelRefiner(random_state=0)).fit(X, labels)
    assert plain.refiner_.context_estimator_ is None


@pytest.mark.parametrize(
    "params", [{"auto_context": True}, {"snap_width": "cv"}, {"temperature": "cv"}]
)
def test_2d_only_options_are_refused_on_volumes(params):
    image, _, labels = _thin_sheet_volume()
    regions = Superpixels(n_segments=4, spacing=(2, 1, 1)).fit_transform([image])
    proba = [np.full((r.n_regions, 2), 0.5) for r in regions]
    with pytest.raises(ValueError, match="2-D images only.*volume"):
        PixelRefiner(**params).fit(regions, [labels], region_proba=proba)
