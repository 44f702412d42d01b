# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""make_segmenter: the complete pipeline with good defaults."""

from numbers import Integral

from sklearn.pipeline import Pipeline

from ._classifier import RegionClassifier, default_region_estimator
from ._refine import PixelRefiner
from ._region_stats import RegionStats
from ._superpixels import _METHODS, Superpixels
from .utils._constraints import N_JOBS
from .utils.fixes import HasMethods, Interval, StrOptions, validate_params

__all__ = ["make_segmenter"]


# make_segmenter checks its arguments when it is called, so that a typo fails
# where it is written rather than at fit, after the pipeline was handed on.
@validate_params(
    {
        "method": [StrOptions(set(_METHODS))],
        "n_segments": [Interval(Integral, 1, None, closed="left")],
        "autoencoder": ["boolean"],
        "refine": ["boolean"],
        "estimator": [HasMethods(["fit", "predict"]), None],
        "device": [str],
        "random_state": ["random_state"],
        "n_jobs": N_JOBS,
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def make_segmenter(
    *,
    method="slic",
    n_segments=400,
    autoencoder=True,
    refine=True,
    estimator=None,
    device="cpu",
    random_state=None,
    n_jobs=None,
    verbose=0,
):
    """Build the semi-supervised segmentation pipeline with good defaults.

    The pipeline is ``Superpixels -> RegionStats -> AutoencoderFeatures ->
    RegionClassifier(refine=PixelRefiner())``. It is a plain
    :class:`sklearn.pipeline.Pipeline` whose step names are the lower-cased
    class names, so parameters read ``superpixels__n_segments`` or
    ``regionclassifier__refine__weight``.

    The defaults were chosen on the training seeds of ``benchmarks/accuracy.py``
    (see ``benchmarks/RESULTS.md``): label spreading over the regions of all
    images, labeled and unlabeled, blended at every pixel with a pixel
    classifier on the scribbled pixels, so that structures smaller than a
    superpixel survive, with class boundaries snapped to the nearest image
    edges.

    Parameters
    ----------
    method : {"slic", "felzenszwalb", "quickshift", "watershed"}, default="slic"
        Superpixel algorithm, see :class:`Superpixels`.
    n_segments : int, default=400
        Approximate number of superpixels per image.
    autoencoder : bool, default=True
        Include :class:`AutoencoderFeatures` (needs torch): codes of an
        autoencoder trained on all images, labeled and unlabeled (three
        epochs of 1024 patches each, for an 8-channel network here). On the
        current benchmark (``benchmarks/RESULTS.md``) it is about accuracy
        neutral once pixel refinement is on; ``autoencoder=False`` gives the
        fastest pipeline.
    refine : bool, default=True
        Refine the region probabilities at pixel level with
        :class:`PixelRefiner`: a random forest on multiscale pixel features
        of the scribbled pixels plus pseudo-labeled pixels of all training
        images (confident region labels that a forest of the scribbles
        agrees with), blended with the region probabilities; then class
        boundaries are snapped to the image edges within 3 pixels, which
        also removes specks narrower than about 6 pixels. For thinner
        structures (roads, folds, fibres) set
        ``regionclassifier__refine__snap_width=0``.
    estimator : estimator object, default=None
        Region classifier given to :class:`RegionClassifier`; None uses
        its default, sparse label spreading over all regions (seeded with
        ``random_state`` when one is given).
    device : str, default="cpu"
        Where the autoencoder trains: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or
        ``"auto"``. Checked by :class:`AutoencoderFeatures` at fit, where
        torch is imported.
    random_state : int, RandomState instance or None, default=None
        Seed of the random steps, for reproducible masks.
    n_jobs : int, default=None
        Images processed in parallel by the per-image steps.
    verbose : int, default=0
        Progress output of the autoencoder's training.

    Returns
    -------
    segmenter : sklearn.pipeline.Pipeline
        Unfitted; ``fit(images, labels)`` with -1 for unlabeled pixels, then
        ``predict(images)`` gives one (H, W) mask per image.

    Raises
    ------
    sklearn.utils._param_validation.InvalidParameterError
        At the call, for an unknown ``method`` or an argument of the wrong
        type or range (a subclass of both ``ValueError`` and ``TypeError``).
        Parameters changed later with ``set_params`` are checked by each step
        at fit.

    Examples
    --------
    >>> from semiseg_sk import make_segmenter
    >>> seg = make_segmenter(random_state=0)
    >>> [name for name, _ in seg.steps]
    ['superpixels', 'regionstats', 'autoencoderfeatures', 'regionclassifier']
    >>> seg = seg.set_params(superpixels__n_segments=200)
    """
    steps = [
        ("superpixels", Superpixels(method, n_segments=n_segments, n_jobs=n_jobs)),
        # No quantiles and three filter scales: as accurate as RegionStats'
        # defaults on the benchmark, at a third of the time.
        (
            "regionstats",
            RegionStats(
                quantiles=(), sigma_min=1.0, sigma_max=8.0, num_sigma=3, n_jobs=n_jobs
            ),
        ),
    ]
    if autoencoder:
        from ._autoencoder import AutoencoderFeatures

        steps.append(
            (
                "autoencoderfeatures",
                # Three epochs of a half-width network, each on 1024 patches
                # drawn anew: as accurate as the class defaults on the
                # benchmark (tuning seeds, see RESULTS.md) at a fraction of
                # the training time, which no longer grows with the number
                # of images.
                AutoencoderFeatures(
                    max_epochs=3,
                    patches_per_epoch=1024,
                    width=8,
                    device=device,
                    random_state=random_state,
                    n_jobs=n_jobs,
                    verbose=verbose,
                ),
            )
        )
    if estimator is None:
        estimator = default_region_estimator()
        final = estimator.steps[-1][0]
        # Weaker spatial edges than SparseLabelSpreading's default: measured
        # better on the benchmark's training seeds (small nuclei leak less
        # into their touching background regions).
        estimator.set_params(**{f"{final}__spatial_weight": 0.2})
        if random_state is not None:
            # The default label spreading draws random projections on large
            # region graphs: seed it too, so that random_state fixes the masks.
            estimator.set_params(**{f"{final}__random_state": random_state})
    refiner = PixelRefiner(random_state=random_state) if refine else None
    steps.append(("regionclassifier", RegionClassifier(estimator, refine=refiner)))
    return Pipeline(steps)
