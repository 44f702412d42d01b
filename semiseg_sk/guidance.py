# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Label next: which regions a fitted segmenter would learn most from.

:func:`suggest_regions` ranks the regions of some images by how uncertain
the region classifier is about them, weighted by how representative each
region is of the others (its density in feature space) and kept diverse, so
that a few strokes go where they teach the most; :func:`plot_suggestions`
marks them on an image. This is pool-based active learning with
information density (Settles and Craven, 2008) and a greedy diversity
penalty.
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

__all__ = ["plot_suggestions", "region_probabilities", "suggest_regions"]


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


def _check_params(
    n, kind, source, density_weight, diversity, diversity_width, n_neighbors
):
    if isinstance(n, bool) or not isinstance(n, Integral) or n < 1:
        raise ValueError(f"n must be an int >= 1; got {n!r}.")
    if kind not in ("margin", "entropy"):
        raise ValueError(f"kind must be 'margin' or 'entropy'; got {kind!r}.")
    if source not in ("regions", "pixels"):
        raise ValueError(f"source must be 'regions' or 'pixels'; got {source!r}.")
    if (
        isinstance(density_weight, bool)
        or not isinstance(density_weight, Real)
        or not density_weight >= 0
    ):
        raise ValueError(
            f"density_weight must be a float >= 0; got {density_weight!r}."
        )
    if isinstance(diversity, bool) or not isinstance(diversity, Real):
        raise ValueError(f"diversity must be a float in [0, 1]; got {diversity!r}.")
    if not 0 <= diversity <= 1:
        raise ValueError(f"diversity must be a float in [0, 1]; got {diversity!r}.")
    if (
        isinstance(diversity_width, bool)
        or not isinstance(diversity_width, Real)
        or not diversity_width > 0
    ):
        raise ValueError(
            f"diversity_width must be a float > 0; got {diversity_width!r}."
        )
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, Integral):
        raise ValueError(f"n_neighbors must be an int >= 1; got {n_neighbors!r}.")
    if n_neighbors < 1:
        raise ValueError(f"n_neighbors must be an int >= 1; got {n_neighbors!r}.")


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
    source="regions",
    density_weight=1.0,
    diversity=1.0,
    diversity_width=1.0,
    n_neighbors=10,
    random_state=None,
):
    """Rank the regions of some images to label next.

    Every region of ``images`` gets the score ``uncertainty * density **
    density_weight``:

    - *uncertainty* from the class probabilities the fitted region
      estimator gives the region (:func:`region_probabilities`), as
      :func:`~semiseg_sk.metrics.uncertainty_map` measures it: ``"margin"``
      is ``1 - max proba``, ``"entropy"`` the normalised Shannon entropy;
    - *density*, how representative the region is: the mean similarity
      ``exp(-d**2 / (2 s**2))`` to its ``n_neighbors`` nearest regions in
      the standardised region features (``d`` the Euclidean distance, ``s``
      the median nonzero distance to those neighbours), divided by its largest
      value. An odd region alone in feature space teaches little about the
      others.

    Regions are then chosen one at a time, greedily: the best remaining
    score, after multiplying each score by ``1 - diversity * sim``, where
    ``sim`` is the region's largest similarity to a region already chosen.
    Five suggestions thus land on five different kinds of uncertain region,
    not on five neighbours along one boundary. With ``labels``, regions
    like those labeled already are held back in the same way from the
    start: they would teach what the model was taught. When the classifier is sure
    of every region (all uncertainties 0) the score is the density alone.

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
        any labeled pixel are never suggested, and regions similar to them
        are held back (see ``diversity``). None allows every region.
    kind : {"margin", "entropy"}, default="margin"
        The measure of uncertainty.
    source : {"regions", "pixels"}, default="regions"
        Whose probabilities are uncertain: ``"regions"`` those of the region
        estimator (:func:`region_probabilities`); ``"pixels"`` the
        pipeline's final pixel probabilities (after the pixel refiner, when
        there is one), their uncertainty averaged over each region. Slower:
        it runs the refiner on every image.
    density_weight : float, default=1.0
        Exponent of the density in the score; 0 ranks by uncertainty alone.
    diversity : float, default=1.0
        In [0, 1]: how strongly a region similar to one already chosen is
        held back; 0 turns the diversity penalty off.
    diversity_width : float, default=1.0
        Width of the similarity kernel of the diversity penalty, in units of
        ``s``: 1 holds back near duplicates of a chosen region only, larger
        values spread the suggestions over more of the feature space.
    n_neighbors : int, default=10
        Neighbours of a region in its density (fewer when there are fewer
        other regions).
    random_state : int, RandomState instance or None, default=None
        Breaks ties between equal scores; the same int gives the same
        suggestions.

    Returns
    -------
    suggestions : sklearn.utils.Bunch
        ``ids``, an (n, 2) int array of (image index, region index) pairs,
        best first (the region index is the value in
        ``regions[image].segments``); ``scores`` (n,), the score of each when
        it was chosen; ``uncertainty`` and ``density`` (n,), its two factors;
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
    _check_params(
        n, kind, source, density_weight, diversity, diversity_width, n_neighbors
    )
    rng = check_random_state(random_state)
    regions = model[:-1].transform(images)
    for i, r in enumerate(regions):
        if r.features is None:
            raise ValueError(
                f"images[{i}] gets no region features from model[:-1]; the "
                f"pipeline must compute features before its RegionClassifier."
            )
    if source == "regions":
        proba = region_probabilities(model, regions)
        uncertainty = uncertainty_map(proba[:, None, :], kind=kind)[:, 0]
    else:
        # The pipeline's final pixel probabilities (refined, if it refines),
        # their uncertainty averaged over each region.
        pixel_proba = model[-1].predict_proba(regions)
        uncertainty = np.concatenate(
            [
                r.mean_std(uncertainty_map(p, kind=kind))[0][:, 0]
                for r, p in zip(regions, pixel_proba)
            ]
        )
    features = StandardScaler().fit_transform(np.vstack([r.features for r in regions]))
    n_total = len(features)

    k = min(n_neighbors, n_total - 1)
    if k >= 1:
        distances, _ = (
            NearestNeighbors(n_neighbors=k + 1).fit(features).kneighbors(features)
        )
        distances = distances[:, 1:]
        # Median distance between distinct neighbours (duplicates left out).
        positive = distances[distances > 0]
        scale = float(np.median(positive)) if positive.size else 1.0
        density = np.exp(-(distances**2) / (2 * scale**2)).mean(axis=1)
        density = density / density.max() if density.max() > 0 else np.ones(n_total)
    else:
        scale, density = 1.0, np.ones(n_total)

    score = uncertainty * density**density_weight
    if not score.max() > 0:
        score = density**density_weight
    candidate = np.ones(n_total, dtype=bool)
    closest = np.zeros(n_total)  # largest similarity to a labeled or chosen region
    width = diversity_width * scale
    if labels is not None:
        labeled = _labeled_regions(regions, labels)
        candidate &= ~labeled
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
            similar = np.exp(-d2 / (2 * width**2)).max(axis=1)
            closest = np.maximum(closest, similar)

    # Ties go to the first in a random order of the regions.
    order = rng.permutation(n_total)
    chosen, chosen_scores = [], []
    for _ in range(min(n, int(candidate.sum()))):
        adjusted = np.where(candidate, score * (1 - diversity * closest), -np.inf)
        best = order[np.argmax(adjusted[order])]
        chosen.append(best)
        chosen_scores.append(adjusted[best])
        candidate[best] = False
        d2 = ((features - features[best]) ** 2).sum(axis=1)
        closest = np.maximum(closest, np.exp(-d2 / (2 * width**2)))

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
