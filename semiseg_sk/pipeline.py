# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""make_segmenter, the complete pipeline with good defaults, and calls on it.

The data flow, one stage per subpackage: ``superpixels`` (images to
regions) -> ``features`` (region statistics and learned features) ->
``labeling`` (region classifier, label spreading) -> ``refine`` (pixel
classifier and edge snapping).
"""

from numbers import Integral

from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch

from .features import AutoencoderFeatures, RegionStats
from .features._torch import TorchModuleMixin
from .labeling import RegionClassifier
from .labeling._classifier import default_region_estimator
from .refine import PixelRefiner
from .superpixels import Superpixels
from .superpixels._methods import METHODS
from .utils._parallel import N_JOBS
from .utils._random import RANDOM_STATE
from .utils.fixes import HasMethods, Interval, StrOptions, validate_params
from .utils.validation import check_classifier

__all__ = ["make_segmenter", "predict_outputs", "to_device"]


# make_segmenter checks its arguments when it is called, so that a typo fails
# where it is written rather than at fit, after the pipeline was handed on.
@validate_params(
    {
        "method": [StrOptions(set(METHODS))],
        "n_segments": [Interval(Integral, 1, None, closed="left")],
        "autoencoder": ["boolean"],
        "refine": ["boolean"],
        "estimator": [HasMethods(["fit", "predict"]), None],
        "device": [str],
        "random_state": RANDOM_STATE,
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
    RegionClassifier(refiner=PixelRefiner())``. It is a plain
    :class:`sklearn.pipeline.Pipeline` whose step names are the lower-cased
    class names, so parameters read ``superpixels__n_segments`` or
    ``regionclassifier__refiner__region_weight``.

    Label spreading runs over the regions of all images, labeled and
    unlabeled; its region probabilities are blended at every pixel with a
    pixel classifier trained on the scribbled pixels and on confident
    pseudo-labels, so that structures smaller than a superpixel survive, and
    class boundaries are snapped to the nearest image edges. How these
    defaults were chosen, and what each part contributes, is in the user
    guide and ``benchmarks/RESULTS.md``.

    Images may be grey or channels last, of any integer or float dtype:
    unsigned integers are divided by their dtype's maximum, other dtypes keep
    their values. Fit and predict images of one dtype and range: the
    pipeline warns with :class:`~semiseg_sk.exceptions.PixelScaleWarning`
    when they are scaled 10 times apart (see :class:`Superpixels`).

    Parameters
    ----------
    method : {"slic", "felzenszwalb", "quickshift", "watershed"}, default="slic"
        Superpixel algorithm, see :class:`Superpixels`.
    n_segments : int, default=400
        Approximate number of superpixels per image.
    autoencoder : bool, default=True
        Include :class:`AutoencoderFeatures` (needs torch): codes of an
        autoencoder trained on all images, labeled and unlabeled, for three
        epochs of 1024 patches each on an 8-filter network.
        ``autoencoder=False`` gives the fastest pipeline.
    refine : bool, default=True
        Refine the region probabilities at pixel level with
        :class:`PixelRefiner`, then snap class boundaries to the image edges
        within 3 pixels, which also removes specks narrower than about 6
        pixels. For thinner structures (roads, folds, fibres) set
        ``regionclassifier__refiner__snap_width=0``.
    estimator : estimator object, default=None
        Region classifier given to :class:`RegionClassifier`: a classifier
        or a Pipeline ending in one (a regressor or clusterer raises a
        TypeError). None uses sparse label spreading over all regions, with
        spatial edges of weight 0.2, after standardising the features.
    device : str, default="cpu"
        Where the autoencoder trains: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or
        ``"auto"``. Checked by :class:`AutoencoderFeatures` at fit, where
        torch is imported.
    random_state : int, RandomState instance or None, default=None
        Seed of every random step, for reproducible masks.
    n_jobs : int, default=None
        Parallel work in every step: images in the per-image steps, the
        neighbour search of label spreading and the trees of the pixel
        forests; never more workers than there are tasks. ``None`` means 1
        unless in a :obj:`joblib.parallel_backend` context, ``-1`` means all
        processors. Masks do not depend on it.
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
    TypeError
        At the call, when ``estimator`` is not a classifier (a regressor or a
        clusterer, say).

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
        (
            "regionstats",
            RegionStats(
                quantiles=(), sigma_min=1.0, sigma_max=8.0, num_sigma=3, n_jobs=n_jobs
            ),
        ),
    ]
    if autoencoder:
        steps.append(
            (
                "autoencoderfeatures",
                AutoencoderFeatures(
                    max_iter=3,
                    patches_per_epoch=1024,
                    n_filters=8,
                    device=device,
                    random_state=random_state,
                    n_jobs=n_jobs,
                    verbose=verbose,
                ),
            )
        )
    if estimator is not None:
        check_classifier(estimator, "estimator", "make_segmenter")
    else:
        estimator = default_region_estimator(
            spatial_weight=0.2, random_state=random_state, n_jobs=n_jobs
        )
    refiner = PixelRefiner(random_state=random_state, n_jobs=n_jobs) if refine else None
    steps.append(("regionclassifier", RegionClassifier(estimator, refiner=refiner)))
    return Pipeline(steps)


def predict_outputs(segmenter, images, *, proba=False, regions=False):
    """Masks and, on request, probabilities and regions, computed once.

    ``segmenter.predict`` followed by ``segmenter.predict_proba`` computes
    the regions and features of every image twice; this call computes them
    once and gives what the command line writes.

    Parameters
    ----------
    segmenter : sklearn.pipeline.Pipeline
        A fitted pipeline ending in a :class:`RegionClassifier`, such as
        :func:`make_segmenter` returns.
    images : list of ndarray of shape (H, W) or (H, W, C)
        The images.
    proba : bool, default=False
        Also return the class probabilities of every pixel.
    regions : bool, default=False
        Also return the Regions object of every image (its ``segments`` are
        the superpixels, for pictures).

    Returns
    -------
    outputs : sklearn.utils.Bunch
        ``masks`` (list of (H, W) int arrays), and ``proba`` (list of
        (H, W, n_classes) arrays) and ``regions`` (list of Regions) when asked
        for; each is None otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk import make_segmenter
    >>> from semiseg_sk.pipeline import predict_outputs
    >>> image = np.zeros((32, 32)); image[:, 16:] = 1.0
    >>> labels = np.full((32, 32), -1); labels[5, 5] = 0; labels[5, 25] = 1
    >>> seg = make_segmenter(n_segments=8, autoencoder=False, refine=False)
    >>> out = predict_outputs(seg.fit([image], [labels]), [image], proba=True)
    >>> out.masks[0].shape, out.proba[0].shape
    ((32, 32), (32, 32, 2))
    """
    if not isinstance(segmenter, Pipeline) or not isinstance(
        segmenter[-1], RegionClassifier
    ):
        raise TypeError(
            f"segmenter must be a Pipeline ending in a RegionClassifier, such as "
            f"make_segmenter() returns; got {type(segmenter).__name__}."
        )
    Xt = segmenter[:-1].transform(images)
    final = segmenter[-1]
    out = Bunch(masks=None, proba=None, regions=Xt if regions else None)
    if proba:
        out.proba = final.predict_proba(Xt)
        out.masks = [final.classes_[p.argmax(axis=-1)] for p in out.proba]
    else:
        out.masks = final.predict(Xt)
    return out


def to_device(segmenter, device):
    """Move every fitted torch network of a pipeline to ``device``.

    Parameters
    ----------
    segmenter : estimator object
        A fitted pipeline (or a single step).
    device : str
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.

    Returns
    -------
    segmenter : estimator object
        The same object.
    """
    steps = segmenter.steps if isinstance(segmenter, Pipeline) else [(None, segmenter)]
    for _, step in steps:
        if isinstance(step, TorchModuleMixin):
            step.to_device(device)
    return segmenter
