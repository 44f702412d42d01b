# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Label next: which regions a fitted segmenter would learn most from.

:func:`suggest_regions` ranks the regions of some images by how uncertain
the segmenter is about them (a committee of its region estimator and its
refined pixel probabilities), weighted by how representative each region is
of the others (its density in feature space) and kept diverse (one region
per k-means cluster of the best candidates), so that a few strokes go where
they teach the most; :func:`plot_suggestions` marks them on an image. This
is pool-based active learning with information density (Settles and Craven,
2008) and diverse mini-batches (Zhdanov, 2019).
"""

from numbers import Integral, Real

import numpy as np
from scipy import ndimage as ndi
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.validation import check_is_fitted

from .labeling import RegionClassifier
from .metrics import uncertainty_map
from .utils.validation import check_labels

__all__ = [
    "plot_suggestions",
    "region_depths",
    "region_probabilities",
    "suggest_regions",
]


def _check_model(model):
    if not isinstance(model, Pipeline) or not isinstance(model[-1], RegionClassifier):
        raise TypeError(
            f"model must be a fitted Pipeline ending in a RegionClassifier, such "
            f"as make_segmenter() returns; got {type(model).__name__}."
        )
    check_is_fitted(model[-1])
    return model


def region_probabilities(model, regions):
    """Class probabilities of every region, from the fitted region estimator.

    The inductive probabilities of ``model[-1].estimator_.predict_proba`` on
    the region features, before any pixel refinement, with columns in the
    order of ``model[-1].classes_``.

    Parameters
    ----------
    model : sklearn.pipeline.Pipeline
        A fitted pipeline ending in a :class:`~semiseg_sk.RegionClassifier`,
        such as :func:`~semiseg_sk.make_segmenter` returns.
    regions : list of Regions
        Regions with the features of the pipeline, i.e.
        ``model[:-1].transform(images)``.

    Returns
    -------
    proba : ndarray of shape (n_regions_total, n_classes)
        One row per region of every image, in the order of the images.
    """
    _check_model(model)
    final = model[-1]
    features = np.vstack([r.features for r in regions])
    n_classes = len(final.classes_)
    proba = np.zeros((len(features), n_classes))
    if final.estimator_ is None:
        # Only one class labels a region: every region is that class.
        proba[:, final.fallback_class_] = 1.0
        return proba
    estimator = final.estimator_
    # The region estimator learns class *indices* into classes_.
    cols = np.asarray(estimator.classes_).astype(np.intp)
    if hasattr(estimator, "predict_proba"):
        raw = estimator.predict_proba(features)
    else:
        raw = (estimator.predict(features)[:, None] == estimator.classes_).astype(float)
    keep = cols >= 0
    proba[:, cols[keep]] = raw[:, keep]
    return proba


def _check_real(value, name, low, *, closed=True):
    """A float >= low (> low unless closed), not a bool."""
    if (
        isinstance(value, bool)
        or not isinstance(value, Real)
        or not (value >= low if closed else value > low)
    ):
        bound = ">=" if closed else ">"
        raise ValueError(f"{name} must be a float {bound} {low}; got {value!r}.")


def _check_int(value, name, low):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise ValueError(f"{name} must be an int >= {low}; got {value!r}.")


def _check_params(n, kind, source, diversity, params):
    _check_int(n, "n", 1)
    if kind not in ("margin", "entropy"):
        raise ValueError(f"kind must be 'margin' or 'entropy'; got {kind!r}.")
    if source not in ("both", "pixels", "regions"):
        raise ValueError(
            f"source must be 'both', 'pixels' or 'regions'; got {source!r}."
        )
    if diversity not in ("kmeans", "greedy", None):
        raise ValueError(
            f"diversity must be 'kmeans', 'greedy' or None; got {diversity!r}."
        )
    _check_real(params["density_weight"], "density_weight", 0)
    _check_real(params["diversity_width"], "diversity_width", 0, closed=False)
    _check_real(params["min_depth"], "min_depth", 0)
    if params["n_candidates"] is not None:
        _check_int(params["n_candidates"], "n_candidates", 1)
    _check_int(params["n_neighbors"], "n_neighbors", 1)


def region_depths(regions):
    """How deep a stroke can go into each region: its inscribed radius.

    The largest distance, in pixels, from a pixel of the region to the
    nearest pixel outside it (another region or beyond the image): 1 for a
    region one pixel wide, about ``r`` for a disc of radius ``r``.

    Parameters
    ----------
    regions : list of Regions
        The regions of some images.

    Returns
    -------
    depth : ndarray of shape (n_regions_total,)
        One value per region of every image, in the order of the images.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk import Regions
    >>> from semiseg_sk.guidance import region_depths
    >>> segments = np.zeros((20, 20), dtype=int)
    >>> segments[:, 9] = 1  # a line one pixel wide
    >>> segments[:, 10:] = 2
    >>> region_depths([Regions(np.zeros((20, 20)), segments)])
    array([5., 1., 5.])
    """
    from skimage.segmentation import find_boundaries

    depths = []
    for r in regions:
        # Pixels on a region's rim (next to another region or the image
        # border) are at depth 1; the others one more than their distance.
        # (find_boundaries takes 0 for the background: the padding here.)
        padded = np.pad(r.segments + 1, 1)
        rim = find_boundaries(padded, mode="inner")[1:-1, 1:-1]
        depth = ndi.distance_transform_edt(~rim) + 1.0
        index = np.arange(r.n_regions)
        depths.append(np.asarray(ndi.maximum(depth, r.segments, index)))
    return np.concatenate(depths)


def _labeled_regions(regions, labels):
    """Which regions (all images, in order) hold at least one labeled pixel."""
    labels = check_labels(labels, [r.shape for r in regions], name="labels")
    return np.concatenate(
        [
            np.bincount(r.segments[lab >= 0], minlength=r.n_regions) > 0
            for r, lab in zip(regions, labels)
        ]
    )


def suggest_regions(
    model,
    images,
    n=5,
    *,
    labels=None,
    kind="margin",
    source="both",
    density_weight=0.5,
    diversity="kmeans",
    n_candidates=None,
    diversity_width=1.0,
    min_depth=2.0,
    n_neighbors=10,
    random_state=None,
):
    """Rank the regions of some images to label next.

    Every region of ``images`` gets the score ``uncertainty * density **
    density_weight``:

    - *uncertainty*, how unsure the model is of the region, as
      :func:`~semiseg_sk.metrics.uncertainty_map` measures it (``"margin"``
      is ``1 - max proba``, ``"entropy"`` the normalised Shannon entropy).
      By default (``source="both"``) of the mean of two opinions: the
      region estimator's probabilities (:func:`region_probabilities`) and
      the pipeline's final pixel probabilities (after the pixel refiner,
      when there is one) averaged over the region. Where the two disagree
      the mean is uncertain even when each is sure: such regions are often
      wrong;
    - *density*, how representative the region is: the mean similarity
      ``exp(-d**2 / (2 s**2))`` to its ``n_neighbors`` nearest regions in
      the standardised region features (``d`` the Euclidean distance, ``s``
      the median nonzero distance to those neighbours), divided by the
      largest density among the regions of the same most likely class, so
      that a rare class is not crowded out by a common one. An odd region
      alone in feature space teaches little about the others.

    Only regions a stroke fits in are candidates: no labeled pixel, and an
    inscribed radius (:func:`region_depths`) of at least ``min_depth``
    pixels. The suggestions are then kept diverse. With ``"kmeans"`` (after
    the diverse mini-batch selection of Zhdanov, 2019), the candidates (the
    ``n_candidates * n`` best-scored ones, or all) are clustered into ``n``
    groups by k-means in feature space, each weighted by its score, and the
    candidate nearest each cluster's centre is suggested: one region per
    kind of uncertain region, the one most like the others of its kind.
    With ``"greedy"`` they are chosen one at a time, the best remaining
    score after multiplying each by ``1 - sim``, where ``sim`` is the
    region's largest similarity to a region chosen or labeled already
    (regions like labeled ones would teach what the model was taught). The
    suggestions are returned best score first. When the model is sure of
    every region (all uncertainties 0) the score is the density alone.

    Parameters
    ----------
    model : sklearn.pipeline.Pipeline
        A fitted pipeline ending in a :class:`~semiseg_sk.RegionClassifier`,
        such as :func:`~semiseg_sk.make_segmenter` returns. It is not
        modified.
    images : list of ndarray of shape (H, W) or (H, W, C)
        The images whose regions may be suggested, e.g. the training images,
        labeled and unlabeled. Each goes through ``model[:-1].transform``.
    n : int, default=5
        Number of regions to suggest; fewer when fewer regions are
        candidates.
    labels : list of ndarray of shape (H, W) of int, default=None
        The labels drawn so far on ``images`` (-1 = unlabeled): regions with
        any labeled pixel are never suggested. None allows every region.
    kind : {"margin", "entropy"}, default="margin"
        The measure of uncertainty.
    source : {"both", "pixels", "regions"}, default="both"
        Whose probabilities are uncertain: ``"both"`` the mean of the region
        estimator's and the region's mean final pixel probabilities;
        ``"pixels"`` the final pixel probabilities alone, their uncertainty
        averaged over each region (these two run the refiner on every
        image, as predicting does); ``"regions"`` the region estimator's
        alone, faster, but not those of the masks when the pipeline refines
        them.
    density_weight : float, default=0.5
        Exponent of the density in the score; 0 ranks by uncertainty alone.
    diversity : {"kmeans", "greedy"} or None, default="kmeans"
        How the suggestions are kept apart in feature space (see above);
        None takes the best scores, however alike.
    n_candidates : int, default=None
        With ``diversity="kmeans"``: only the best ``n_candidates * n``
        candidates are clustered. None clusters every candidate, each
        weighted by its score: the centres then sit where much uncertainty
        is, and the suggestions are representative of it; 1 clusters the best
        ``n`` only.
    diversity_width : float, default=1.0
        With ``diversity="greedy"``: width of the similarity kernel, in units
        of ``s``: 1 holds back near duplicates only, larger values spread the
        suggestions over more of the feature space.
    min_depth : float, default=2.0
        Smallest inscribed radius of a candidate, in pixels: 2 leaves out
        regions too thin for more than a dot; 0 allows every region.
    n_neighbors : int, default=10
        Neighbours of a region in its density (fewer when there are fewer
        other regions).
    random_state : int, RandomState instance or None, default=None
        Seeds the k-means and breaks ties between equal scores; the same int
        gives the same suggestions.

    Returns
    -------
    suggestions : sklearn.utils.Bunch
        ``ids``, an (n, 2) int array of (image index, region index) pairs,
        best first (the region index is the value in
        ``regions[image].segments``); ``scores`` (n,), the score of each (with
        ``"greedy"``, after the penalty when it was chosen); ``uncertainty``
        and ``density`` (n,), its two factors;
        ``areas`` (n,), its number of pixels; ``points`` (n, 2), its
        innermost pixel (row, col), where a stroke fits best; ``centroids``
        (n, 2), its mean (row, col); ``bboxes`` (n, 4), its bounding box
        (min_row, min_col, max_row, max_col), the maxima exclusive as in
        :func:`skimage.measure.regionprops`; ``regions``, the list of
        :class:`~semiseg_sk.Regions` of ``images`` (their ``segments`` show
        where each region is).

    Raises
    ------
    TypeError
        If ``model`` is not a Pipeline ending in a RegionClassifier.
    sklearn.exceptions.NotFittedError
        If ``model`` is not fitted.
    ValueError
        For an out-of-range parameter, or ``labels`` that do not match the
        images.

    See Also
    --------
    plot_suggestions : Mark the suggested regions on an image.

    References
    ----------
    .. [1] F. Zhdanov, "Diverse mini-batch active learning", arXiv:1901.05954,
       2019.
    .. [2] B. Settles and M. Craven, "An analysis of active learning
       strategies for sequence labeling tasks", EMNLP 2008 (information
       density).

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk import make_segmenter
    >>> from semiseg_sk.guidance import suggest_regions
    >>> rng = np.random.RandomState(0)
    >>> image = rng.normal(0.2, 0.05, (48, 48)); image[:, 24:] += 0.6
    >>> labels = np.full((48, 48), -1); labels[5, 5] = 0; labels[5, 40] = 1
    >>> seg = make_segmenter(n_segments=16, autoencoder=False, refine=False,
    ...                      random_state=0).fit([image], [labels])
    >>> out = suggest_regions(seg, [image], 3, labels=[labels], random_state=0)
    >>> out.ids.shape, out.scores.shape
    ((3, 2), (3,))
    >>> bool(np.all(out.scores[:-1] >= out.scores[1:]))
    True
    """
    _check_model(model)
    params = dict(
        density_weight=density_weight,
        diversity_width=diversity_width,
        min_depth=min_depth,
        n_candidates=n_candidates,
        n_neighbors=n_neighbors,
    )
    _check_params(n, kind, source, diversity, params)
    rng = check_random_state(random_state)
    regions = model[:-1].transform(images)
    for i, r in enumerate(regions):
        if r.features is None:
            raise ValueError(
                f"images[{i}] gets no region features from model[:-1]; the "
                f"pipeline must compute features before its RegionClassifier."
            )
    labeled = None if labels is None else _labeled_regions(regions, labels)
    uncertainty, classes = _uncertainty(model, regions, kind, source)
    features = StandardScaler().fit_transform(np.vstack([r.features for r in regions]))
    density, scale = _density(features, n_neighbors, classes)
    score = uncertainty * density**density_weight
    if not score.max() > 0:
        score = density**density_weight
    candidate = region_depths(regions) >= min_depth
    if labeled is not None:
        candidate &= ~labeled
    # Ties go to the first in a random order of the regions.
    order = rng.permutation(len(score))
    if diversity == "kmeans":
        chosen = _kmeans_choice(features, score, candidate, order, n, n_candidates, rng)
        chosen_scores = score[chosen]
    else:
        width = diversity_width * scale
        chosen, chosen_scores = _greedy_choice(
            features, score, candidate, order, n, width, labeled, diversity
        )
    chosen = np.asarray(chosen, dtype=np.intp)
    starts = np.cumsum([0] + [r.n_regions for r in regions])
    image_index = np.searchsorted(starts, chosen, side="right") - 1
    ids = np.stack([image_index, chosen - starts[image_index]], axis=1)
    ids = ids.astype(np.intp).reshape(-1, 2)
    return Bunch(
        ids=ids,
        scores=np.asarray(chosen_scores, dtype=float),
        uncertainty=uncertainty[chosen],
        density=density[chosen],
        regions=regions,
        **_where(regions, ids),
    )


def _uncertainty(model, regions, kind, source):
    """Uncertainty and most likely class of every region (all images, in order)."""
    if source != "pixels":
        proba = region_probabilities(model, regions)
    if source != "regions":
        # The pipeline's final pixel probabilities (refined, if it refines).
        pixel_proba = model[-1].predict_proba(regions)
    if source == "pixels":
        # Their uncertainty averaged over each region.
        uncertainty = np.concatenate(
            [
                r.mean_std(uncertainty_map(p, kind=kind))[0][:, 0]
                for r, p in zip(regions, pixel_proba)
            ]
        )
        proba = np.vstack([r.mean_std(p)[0] for r, p in zip(regions, pixel_proba)])
        return uncertainty, proba.argmax(axis=1)
    if source == "both":
        # A committee of two: where regions and pixels disagree, their mean
        # is uncertain even when each is sure.
        pixel_mean = np.vstack([r.mean_std(p)[0] for r, p in zip(regions, pixel_proba)])
        proba = (proba + pixel_mean) / 2
    uncertainty = uncertainty_map(proba[:, None, :], kind=kind)[:, 0]
    return uncertainty, proba.argmax(axis=1)


def _density(features, n_neighbors, classes):
    """Density of every region in feature space, and the kernel's scale.

    Divided by the largest density of the regions of the same most likely
    class, so that a rare class is not crowded out by a common one.
    """
    n_total = len(features)
    k = min(n_neighbors, n_total - 1)
    if k < 1:
        return np.ones(n_total), 1.0
    distances, _ = (
        NearestNeighbors(n_neighbors=k + 1).fit(features).kneighbors(features)
    )
    distances = distances[:, 1:]
    # Median distance between distinct neighbours (duplicates left out).
    positive = distances[distances > 0]
    scale = float(np.median(positive)) if positive.size else 1.0
    density = np.exp(-(distances**2) / (2 * scale**2)).mean(axis=1)
    for c in np.unique(classes):
        members = classes == c
        top = density[members].max()
        density[members] = density[members] / top if top > 0 else 1.0
    return density, scale


def _kmeans_choice(features, score, candidate, order, n, n_candidates, rng):
    """The candidate nearest each of ``n`` score-weighted k-means centres."""
    from sklearn.cluster import KMeans

    ranked = order[np.argsort(-score[order], kind="stable")]
    pool = ranked[candidate[ranked]]
    if n_candidates is not None:
        pool = pool[: n * n_candidates]
    n_clusters = min(n, len(np.unique(features[pool], axis=0)))
    if n_clusters == 0:
        return np.zeros(0, dtype=np.intp)
    km = KMeans(n_clusters, n_init=3, random_state=rng.randint(np.iinfo(np.int32).max))
    assigned = km.fit_predict(features[pool], sample_weight=score[pool] + 1e-12)
    chosen = []
    for c in range(n_clusters):
        members = pool[assigned == c]
        if members.size:
            d2 = ((features[members] - km.cluster_centers_[c]) ** 2).sum(axis=1)
            chosen.append(members[np.argmin(d2)])
    # Duplicate features make fewer clusters than n: the best of the rest.
    rest = pool[~np.isin(pool, chosen)].tolist()
    chosen += rest[: min(n, len(pool)) - len(chosen)]
    chosen = np.asarray(chosen, dtype=np.intp)
    return chosen[np.argsort(-score[chosen], kind="stable")]


def _greedy_choice(features, score, candidate, order, n, width, labeled, diversity):
    """One at a time: the best score held back by similarity to those chosen."""
    candidate = candidate.copy()
    penalty = 0.0 if diversity is None else 1.0
    closest = np.zeros(len(score))  # largest similarity to a labeled or chosen region
    if labeled is not None and penalty:
        # Regions like those labeled already are held back as well.
        norms = (features**2).sum(axis=1)
        rows = np.flatnonzero(labeled)
        for start in range(0, rows.size, 256):
            block = rows[start : start + 256]
            # Squared distances to 256 labeled regions at a time: memory
            # grows with the number of regions, not with its square.
            d2 = (
                norms[:, None]
                + norms[block][None, :]
                - 2 * features @ features[block].T
            )
            d2 = np.maximum(d2, 0.0)
            closest = np.maximum(closest, np.exp(-d2 / (2 * width**2)).max(axis=1))
    chosen, chosen_scores = [], []
    for _ in range(min(n, int(candidate.sum()))):
        adjusted = np.where(candidate, score * (1 - penalty * closest), -np.inf)
        best = order[np.argmax(adjusted[order])]
        chosen.append(best)
        chosen_scores.append(adjusted[best])
        candidate[best] = False
        d2 = ((features - features[best]) ** 2).sum(axis=1)
        closest = np.maximum(closest, np.exp(-d2 / (2 * width**2)))
    return chosen, chosen_scores


def _where(regions, ids):
    """Area, innermost pixel, centroid and bounding box of each suggestion."""
    areas, points, centroids, bboxes = [], [], [], []
    for image, index in ids:
        mask = regions[image].segments == index
        rr, cc = np.nonzero(mask)
        areas.append(rr.size)
        points.append(_inside_point(mask))
        centroids.append((rr.mean(), cc.mean()))
        bboxes.append((rr.min(), cc.min(), rr.max() + 1, cc.max() + 1))
    return dict(
        areas=np.asarray(areas, dtype=np.intp),
        points=np.asarray(points, dtype=np.intp).reshape(-1, 2),
        centroids=np.asarray(centroids, dtype=float).reshape(-1, 2),
        bboxes=np.asarray(bboxes, dtype=np.intp).reshape(-1, 4),
    )


def _inside_point(region_mask):
    """The pixel of a region farthest from its border (row, col)."""
    slices = ndi.find_objects(region_mask.astype(np.int8))[0]
    box = np.pad(region_mask[slices], 1)
    depth = ndi.distance_transform_edt(box)
    r, c = np.unravel_index(np.argmax(depth), depth.shape)
    return r - 1 + slices[0].start, c - 1 + slices[1].start


def plot_suggestions(
    suggestions,
    image_index=0,
    *,
    prediction=None,
    color=(1.0, 0.0, 1.0),
    title=None,
):
    """Mark the suggested regions of one image: bold outlines and numbers.

    The image is shown with every region boundary thin and half
    transparent, the suggested regions outlined in ``color`` and numbered
    by rank (1 = best, over all images) at their innermost pixel; images
    smaller than 480 pixels are enlarged without smoothing. Save the
    figure with :func:`semiseg_sk.plotting.save_figure`, which writes it
    atomically.

    Parameters
    ----------
    suggestions : sklearn.utils.Bunch
        What :func:`suggest_regions` returned.
    image_index : int, default=0
        Which image of the suggestions to show.
    prediction : ndarray of shape (H, W) of int, default=None
        A mask to colour under the outlines, e.g. the model's prediction.
    color : tuple of 3 float, default=(1.0, 0.0, 1.0)
        RGB colour of the outlines and numbers.
    title : str, default=None
        Figure title; None writes how many suggestions the image holds.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from semiseg_sk import make_segmenter
    >>> from semiseg_sk.guidance import plot_suggestions, suggest_regions
    >>> from semiseg_sk.plotting import save_figure
    >>> image = np.zeros((40, 40)); image[:, 20:] = 1.0
    >>> labels = np.full((40, 40), -1); labels[5, 5] = 0; labels[5, 30] = 1
    >>> seg = make_segmenter(n_segments=9, autoencoder=False, refine=False,
    ...                      random_state=0).fit([image], [labels])
    >>> out = suggest_regions(seg, [image], 2, random_state=0)
    >>> fig = plot_suggestions(out, 0)
    >>> path = save_figure(fig, os.path.join(tempfile.mkdtemp(), "next.png"))
    >>> os.path.getsize(path) > 0
    True
    """
    from matplotlib.figure import Figure
    from skimage.segmentation import find_boundaries

    from .plotting import display_rgb, overlay

    try:
        ids, regions = np.asarray(suggestions.ids), suggestions.regions
    except AttributeError as exc:
        raise TypeError(
            "suggestions must be what suggest_regions returned (a Bunch with "
            "ids and regions)."
        ) from exc
    if (
        isinstance(image_index, bool)
        or not isinstance(image_index, Integral)
        or not 0 <= image_index < len(regions)
    ):
        raise ValueError(
            f"image_index must be an int in [0, {len(regions)}); got {image_index!r}."
        )
    r = regions[image_index]
    if prediction is None:
        picture = display_rgb(r.image)
    else:
        prediction = np.asarray(prediction)
        if prediction.shape != r.shape:
            raise ValueError(
                f"prediction has shape {prediction.shape}; image {image_index} "
                f"has shape {r.shape}."
            )
        picture = overlay(r.image, prediction)
    ranks = [k for k in range(len(ids)) if ids[k, 0] == image_index]
    marked = np.zeros(r.shape, dtype=np.int64)
    for k in ranks:
        marked[r.segments == ids[k, 1]] = k + 1
    # Small images are enlarged (nearest neighbour) so that one-pixel lines
    # stay thin next to the regions they outline.
    zoom = max(1, int(np.ceil(480 / max(r.shape))))
    segments, marked = (
        np.kron(a, np.ones((zoom, zoom), int)) for a in (r.segments, marked)
    )
    picture = np.repeat(np.repeat(picture, zoom, axis=0), zoom, axis=1)
    lines = find_boundaries(segments, mode="inner")
    picture[lines] = 0.7 * picture[lines] + 0.3 * np.asarray((1.0, 1.0, 0.0))
    outline = find_boundaries(marked, mode="inner") & (marked > 0)
    if zoom > 1:
        outline = ndi.binary_dilation(outline) & (marked > 0)
    picture[outline] = color

    height, width = marked.shape
    fig = Figure(figsize=(5.0, 5.0 * height / width + 0.4), layout="constrained")
    ax = fig.subplots()
    ax.imshow(picture)
    for k in ranks:
        row, col = _inside_point(marked == k + 1)
        ax.text(
            col,
            row,
            str(k + 1),
            color=color,
            fontsize=11,
            fontweight="bold",
            ha="center",
            va="center",
            bbox=dict(boxstyle="round,pad=0.15", fc="black", alpha=0.6, lw=0),
        )
    ax.set_axis_off()
    ax.set_title(
        title
        if title is not None
        else f"image {image_index}: {len(ranks)} of {len(ids)} suggestions"
    )
    return fig
