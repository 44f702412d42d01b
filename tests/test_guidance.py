"""suggest_regions and plot_suggestions: known answers on hand-made regions."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline

from semiseg_sk import RegionClassifier, Regions, make_segmenter
from semiseg_sk.guidance import (
    plot_suggestions,
    region_depths,
    region_probabilities,
    suggest_regions,
)

BLOCK = 4


class BlockRegions(TransformerMixin, BaseEstimator):
    """Square blocks as regions, their mean intensity as the one feature."""

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def transform(self, X):
        out = []
        for image in X:
            rows, cols = np.indices(image.shape)
            n_cols = image.shape[1] // BLOCK
            segments = (rows // BLOCK) * n_cols + cols // BLOCK
            r = Regions(image, segments)
            out.append(r.with_features(r.mean_std(image)[0], ["mean"]))
        return out


class IntensityClassifier(ClassifierMixin, BaseEstimator):
    """P(class 1) = the feature itself: 0.5 is as uncertain as it gets."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        p = np.clip(X[:, 0], 0, 1)
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


# Block intensities of a 4 x 4 grid of blocks: confident 0.02 / 0.98, three
# blocks at 0.5 (most uncertain) and three at 0.35 (less uncertain).
GRID = np.array(
    [
        [0.02, 0.02, 0.98, 0.98],
        [0.50, 0.02, 0.35, 0.98],
        [0.50, 0.02, 0.35, 0.98],
        [0.50, 0.02, 0.35, 0.98],
    ]
)
MOST, NEXT = {4, 8, 12}, {6, 10, 14}


def _blocks():
    image = np.kron(GRID, np.ones((BLOCK, BLOCK)))
    labels = np.full(image.shape, -1)
    labels[1, 1] = 0  # block 0
    labels[1, 13] = 1  # block 3
    model = Pipeline(
        [
            ("blocks", BlockRegions()),
            ("regionclassifier", RegionClassifier(IntensityClassifier())),
        ]
    ).fit([image], [labels])
    return model, image, labels


def _ids(out):
    assert (out.ids[:, 0] == 0).all()
    return out.ids[:, 1].tolist()


def test_region_probabilities_follow_classes():
    model, image, _ = _blocks()
    regions = model[:-1].transform([image])
    proba = region_probabilities(model, regions)
    assert proba.shape == (16, 2)
    np.testing.assert_allclose(proba[:, 1], GRID.ravel())


def test_the_most_uncertain_regions_come_first_and_confident_ones_never():
    model, image, _ = _blocks()
    out = suggest_regions(model, [image], 3, diversity=None, n_neighbors=2)
    assert set(_ids(out)) == MOST
    np.testing.assert_allclose(out.uncertainty, 0.5)
    out = suggest_regions(model, [image], 6, diversity=None, n_neighbors=2)
    assert set(_ids(out)) == MOST | NEXT
    assert np.all(np.diff(out.scores) <= 0)


@pytest.mark.parametrize("diversity", ["kmeans", "greedy"])
def test_diversity_spreads_the_suggestions(diversity):
    model, image, _ = _blocks()
    # Without diversity both come from the same group of identical blocks;
    # with it, the second comes from the other uncertain group.
    assert set(_ids(suggest_regions(model, [image], 2, diversity=None))) <= MOST
    # (k-means of the 6 best: the two uncertain groups.)
    kw = dict(n_candidates=3) if diversity == "kmeans" else {}
    out = suggest_regions(model, [image], 2, diversity=diversity, random_state=0, **kw)
    first, second = _ids(out)
    assert first in MOST and second in NEXT
    assert out.scores[0] >= out.scores[1]


def test_kmeans_over_every_candidate_covers_the_feature_space():
    model, image, _ = _blocks()
    # Score-weighted k-means of all regions: the bright confident blocks,
    # far from the others, make a cluster of their own.
    out = suggest_regions(model, [image], 2, random_state=0)
    groups = [GRID.ravel()[i] for i in _ids(out)]
    assert groups == [0.35, 0.98]


def test_kmeans_takes_one_region_per_group_deterministically():
    model, image, _ = _blocks()
    # Four blocks of each intensity: one suggestion per intensity, the
    # uncertain groups first, the same for the same seed.
    grid = np.repeat([[0.5, 0.35, 0.2, 0.05]], 4, axis=0).T
    image = np.kron(grid, np.ones((BLOCK, BLOCK)))
    runs = [
        suggest_regions(model, [image], 3, n_candidates=4, random_state=seed)
        for seed in (0, 0, 1)
    ]
    np.testing.assert_array_equal(runs[0].ids, runs[1].ids)
    for out in runs:
        rows = [i // 4 for i in _ids(out)]
        assert rows == [0, 1, 2]
    assert len(suggest_regions(model, [image], 16, n_candidates=1).ids) == 16
    assert len(suggest_regions(model, [image], 40, diversity="kmeans").ids) == 16


def test_regions_too_thin_for_a_stroke_are_left_out():
    segments = np.zeros((20, 20), dtype=int)
    segments[:, 9] = 1  # a line one pixel wide
    segments[:, 10:] = 2  # a 20 x 10 block
    depth = region_depths([Regions(np.zeros((20, 20)), segments)])
    np.testing.assert_allclose(depth, [5.0, 1.0, 5.0])
    model, image, _ = _blocks()
    assert region_depths(model[:-1].transform([image])).tolist() == [2.0] * 16
    assert len(suggest_regions(model, [image], 3, min_depth=2).ids) == 3
    assert len(suggest_regions(model, [image], 3, min_depth=2.5).ids) == 0


def test_regions_like_labeled_ones_are_held_back():
    model, image, _ = _blocks()
    labels = np.full(image.shape, -1)
    labels[5, 1] = 0  # block 4: its twins 8 and 12 teach nothing new
    out = suggest_regions(model, [image], 1, labels=[labels], diversity="greedy")
    assert _ids(out)[0] in NEXT
    first = _ids(suggest_regions(model, [image], 1, labels=[labels], diversity=None))[0]
    assert first in MOST - {4}


class DisagreeingRefiner(BaseEstimator):
    """Pixel probabilities: the region's, except blocks darker than 0.1 flip."""

    def fit(self, X, y, region_proba=None):
        return self

    def fit_predict_proba(self, X, y, region_proba=None):
        return self.fit(X, y).predict_proba(X, region_proba=region_proba)

    def predict_proba(self, X, region_proba=None):
        out = []
        for r, p in zip(X, region_proba):
            p = p.copy()
            p[r.features[:, 0] < 0.1] = [0.0, 1.0]
            out.append(r.paint(p))
        return out


def test_both_sources_make_disagreement_uncertain():
    _, image, labels = _blocks()
    model = Pipeline(
        [
            ("blocks", BlockRegions()),
            (
                "regionclassifier",
                RegionClassifier(IntensityClassifier(), refiner=DisagreeingRefiner()),
            ),
        ]
    ).fit([image], [labels])
    dark = {1, 5, 9, 13}  # 0.02, without a label: regions and pixels disagree
    kw = dict(labels=[labels], diversity=None, density_weight=0.0)
    by_regions = _ids(suggest_regions(model, [image], 6, source="regions", **kw))
    assert set(by_regions) == MOST | NEXT
    by_pixels = _ids(suggest_regions(model, [image], 6, source="pixels", **kw))
    assert set(by_pixels) == MOST | NEXT  # the pixels are sure of class 1 there
    # The mean of 0.02 and 1 is 0.51: after the 0.5 blocks, before the 0.35.
    both = suggest_regions(model, [image], 7, **kw)
    assert set(_ids(both)[:3]) == MOST and set(_ids(both)[3:]) == dark
    np.testing.assert_allclose(both.uncertainty[3:], 0.49)


def test_pixel_source_averages_the_pixel_uncertainty():
    model, image, _ = _blocks()
    out = suggest_regions(model, [image], 3, source="pixels", diversity=None)
    # Without a refiner the pixels carry their region's probabilities.
    assert set(_ids(out)) == MOST
    np.testing.assert_allclose(out.uncertainty, 0.5)


def test_density_weights_uncertainty():
    model, _, _ = _blocks()
    # One lone uncertain block (0.47) next to the blocks at 0.5: alone in
    # feature space it is less representative. By uncertainty alone it comes
    # right after the 0.5 blocks; weighted by density it falls behind the
    # group at 0.35.
    grid = GRID.copy()
    grid[0, 0] = 0.47
    image = np.kron(grid, np.ones((BLOCK, BLOCK)))
    by_uncertainty = suggest_regions(
        model, [image], 4, diversity=None, density_weight=0.0, n_neighbors=2
    )
    assert _ids(by_uncertainty)[3] == 0
    weighted = suggest_regions(
        model, [image], 4, diversity=None, density_weight=4.0, n_neighbors=2
    )
    assert 0 not in _ids(weighted)


def test_labeled_regions_are_skipped_and_ids_point_into_each_image():
    model, image, _ = _blocks()
    labels = np.full(image.shape, -1)
    labels[5, 1] = 0  # block 4, one of the most uncertain
    out = suggest_regions(
        model, [image, image], 4, labels=[labels, labels], diversity=None
    )
    assert out.ids.shape == (4, 2)
    assert set(map(tuple, out.ids.tolist())) == {(0, 8), (0, 12), (1, 8), (1, 12)}
    assert len(out.regions) == 2
    # Fewer candidates than asked for: all of them, no error.
    everything = np.zeros(image.shape, dtype=int)
    assert len(suggest_regions(model, [image], 3, labels=[everything]).ids) == 0


def _small_segmenter():
    rng = np.random.RandomState(0)
    image = rng.normal(0.2, 0.05, (40, 40))
    image[:, 20:] += 0.6
    image[15:25, 15:25] = 0.5
    labels = np.full(image.shape, -1)
    labels[3, 3] = 0
    labels[3, 35] = 1
    seg = make_segmenter(
        n_segments=16, autoencoder=False, refine=False, random_state=0
    ).fit([image], [labels])
    return seg, image, labels


def test_pipeline_end_to_end_deterministic_and_inputs_untouched(tmp_path):
    seg, image, labels = _small_segmenter()
    before = image.copy(), labels.copy()
    a = suggest_regions(seg, [image], 4, labels=[labels], random_state=3)
    b = suggest_regions(seg, [image], 4, labels=[labels], random_state=3)
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert (image == before[0]).all() and (labels == before[1]).all()
    labeled = np.unique(a.regions[0].segments[labels >= 0])
    assert not set(a.ids[:, 1].tolist()) & set(labeled.tolist())
    fig = plot_suggestions(a, 0, prediction=seg.predict([image])[0])
    from semiseg_sk.plotting import save_figure

    path = save_figure(fig, tmp_path / "next.png")
    assert (tmp_path / "next.png").stat().st_size > 0 and path.endswith("next.png")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n=0), "n must be an int >= 1"),
        (dict(kind="variance"), "kind must be"),
        (dict(density_weight=-1.0), "density_weight"),
        (dict(diversity=1.5), "diversity must be"),
        (dict(min_depth=-1), "min_depth must be a float >= 0"),
        (dict(n_candidates=0), "n_candidates must be an int >= 1"),
        (dict(n_candidates=2.0), "n_candidates"),
        (dict(n_neighbors=0), "n_neighbors"),
        (dict(source="labels"), "source must be"),
        (dict(diversity_width=0.0), "diversity_width"),
    ],
)
def test_bad_parameters(kwargs, match):
    model, image, _ = _blocks()
    n = kwargs.pop("n", 2)
    with pytest.raises(ValueError, match=match):
        suggest_regions(model, [image], n, **kwargs)


def test_bad_model_labels_and_picture_arguments():
    model, image, _ = _blocks()
    with pytest.raises(TypeError, match="model must be a fitted Pipeline"):
        suggest_regions(RegionClassifier(), [image], 2)
    with pytest.raises(NotFittedError):
        suggest_regions(
            Pipeline([("b", BlockRegions()), ("c", RegionClassifier())]), [image], 2
        )
    with pytest.raises(ValueError, match="labels"):
        suggest_regions(model, [image], 2, labels=[np.full((3, 3), -1)])
    out = suggest_regions(model, [image], 2)
    with pytest.raises(ValueError, match="image_index"):
        plot_suggestions(out, 1)
    with pytest.raises(TypeError, match="suggestions must be"):
        plot_suggestions(object())
