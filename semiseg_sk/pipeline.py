# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""make_segmenter, the complete pipeline with good defaults, and calls on it.

The data flow, one stage per subpackage: ``superpixels`` (images to
regions) -> ``features`` (region statistics and learned features) ->
``labeling`` (region classifier, label spreading) -> ``refine`` (pixel
classifier and edge snapping).
"""

import itertools
from numbers import Integral

from joblib import parallel_config
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch
from sklearn.utils.parallel import delayed

from .features import AutoencoderFeatures, RegionStats
from .features._torch import TorchModuleMixin
from .io._collection import as_image_items
from .labeling import RegionClassifier
from .labeling._classifier import default_region_estimator
from .refine import PixelRefiner
from .superpixels import Superpixels
from .superpixels._methods import METHODS
from .utils._channels import CHANNEL_CONSTRAINTS
from .utils._parallel import N_JOBS, image_parallel
from .utils._random import RANDOM_STATE
from .utils.fixes import HasMethods, Interval, StrOptions, validate_params
from .utils.validation import check_classifier

__all__ = [
    "iter_fit_predict",
    "iter_predict",
    "make_segmenter",
    "predict_outputs",
    "to_device",
]


# PixelRefiner's settings for volumes (see make_segmenter's refine): a
# 1-voxel band keeps ribbons a few voxels thick, which the 3-pixel band of
# 2-D images erodes along all three axes; 3-D scales up to 8 cover as much
# context as 16 in 2-D, at 5 smoothed volumes instead of 6.
_VOLUME_REFINER = {"snap_width": 1.0, "sigma_max": 8.0}


# make_segmenter checks its arguments when it is called, so that a typo fails
# where it is written rather than at fit, after the pipeline was handed on.
@validate_params(
    {
        "method": [StrOptions(set(METHODS))],
        "n_segments": [Interval(Integral, 1, None, closed="left")],
        "spacing": ["array-like", None],
        "autoencoder": ["boolean", StrOptions({"auto"})],
        "refine": ["boolean"],
        "estimator": [HasMethods(["fit", "predict"]), None],
        "device": [str],
        **CHANNEL_CONSTRAINTS,
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
    spacing=None,
    autoencoder="auto",
    refine=True,
    estimator=None,
    device="cpu",
    channels=None,
    channel_names=None,
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
        Approximate number of superpixels per image (per (Y, X) slice of a
        volume, see :class:`Superpixels`).
    spacing : tuple of 3 float, default=None
        None for 2-D images. The voxel size ``(dz, dy, dx)`` when every image
        is a volume, (Z, Y, X) or (Z, Y, X, C): the regions are then
        supervoxels, the filters have the same physical width along every
        axis and the masks are (Z, Y, X). Scribbles on a few slices are
        enough. See the user guide's page on volumes.
    autoencoder : bool or "auto", default="auto"
        Include :class:`AutoencoderFeatures` (needs torch): codes of an
        autoencoder trained on all images, labeled and unlabeled, for three
        epochs of 1024 patches each on an 8-filter network.
        ``autoencoder=False`` gives the fastest pipeline. ``"auto"`` includes
        it for 2-D images and leaves it out for volumes, where it was measured
        neutral; ``autoencoder=True`` with a ``spacing`` learns it from the
        (Y, X) slices.
    refine : bool, default=True
        Refine the region probabilities at pixel level with
        :class:`PixelRefiner`, then snap class boundaries to the image edges
        within 3 pixels, which also removes specks narrower than about 6
        pixels. For thinner structures (roads, folds, fibres) set
        ``regionclassifier__refiner__snap_width=0``. For volumes the band is
        1 voxel wide (in units of the smallest voxel side) and the pixel
        features' scales reach 8 rather than 16.
    estimator : estimator object, default=None
        Region classifier given to :class:`RegionClassifier`: a classifier
        or a Pipeline ending in one (a regressor or clusterer raises a
        TypeError). None uses sparse label spreading over all regions, with
        spatial edges of weight 0.2, after standardising the features.
    device : str, default="cpu"
        Where the autoencoder trains: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or
        ``"auto"``. Checked by :class:`AutoencoderFeatures` at fit, where
        torch is imported.
    channels : sequence of int or str, default=None
        The channels every step computes from, by index or by name (names
        need ``channel_names``); None means all. Set as the ``channels`` of
        each step (``superpixels__channels``, ``regionstats__channels``, ...,
        ``regionclassifier__refiner__channels``), so a grid may also search
        it. The masks of images with several channels then depend only on
        the selected ones.
    channel_names : sequence of str, default=None
        One name per channel of the images, set on every step like
        ``channels``.
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

    Volumes with voxels 2.5 times deeper than wide:

    >>> seg3d = make_segmenter(spacing=(2.5, 1.0, 1.0), random_state=0)
    >>> [name for name, _ in seg3d.steps]
    ['superpixels', 'regionstats', 'regionclassifier']
    """
    if autoencoder == "auto":
        autoencoder = spacing is None
    superpixels = Superpixels(
        method, n_segments=n_segments, spacing=spacing, n_jobs=n_jobs
    )
    steps = [
        ("superpixels", superpixels),
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
    refiner = None
    if refine:
        refiner = PixelRefiner(random_state=random_state, n_jobs=n_jobs)
        if spacing is not None:
            refiner.set_params(**_VOLUME_REFINER)
    steps.append(("regionclassifier", RegionClassifier(estimator, refiner=refiner)))
    for step in [step for _, step in steps] + [refiner]:
        if step is not None and "channels" in step.get_params(deep=False):
            step.set_params(channels=channels, channel_names=channel_names)
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
    _check_segmenter(segmenter)
    Xt = segmenter[:-1].transform(images)
    final = segmenter[-1]
    out = Bunch(masks=None, proba=None, regions=Xt if regions else None)
    if proba:
        out.proba = final.predict_proba(Xt)
        out.masks = [final.classes_[p.argmax(axis=-1)] for p in out.proba]
    else:
        out.masks = final.predict(Xt)
    return out


def _check_segmenter(segmenter):
    if not isinstance(segmenter, Pipeline) or not isinstance(
        segmenter[-1], RegionClassifier
    ):
        raise TypeError(
            f"segmenter must be a Pipeline ending in a RegionClassifier, such as "
            f"make_segmenter() returns; got {type(segmenter).__name__}."
        )


def _check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, Integral):
        raise TypeError(
            f"batch_size must be a positive int; got {type(batch_size).__name__}."
        )
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive int; got {batch_size}.")


def _progress(verbose, total, desc, unit="image"):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not verbose)


def _outputs(final, regions, results, proba):
    """One Bunch(mask, proba, regions) per image from masks or probabilities."""
    for r, result in zip(regions, results):
        if proba:
            yield Bunch(
                mask=final.classes_[result.argmax(axis=-1)], proba=result, regions=r
            )
        else:
            yield Bunch(mask=result, proba=None, regions=r)


def iter_predict(
    segmenter, images, *, proba=False, batch_size=8, n_jobs=None, verbose=0
):
    """Predict a collection image by image, in bounded memory.

    Images pass through the whole pipeline ``batch_size`` at a time, so
    memory holds the regions, features and pixel features of one batch,
    whatever the length of ``images``. ``images`` may be any iterable (a
    generator that reads files, say): each image is taken from it only when
    its batch is predicted; or a lazy collection (an
    :class:`~semiseg_sk.io.ImageCollection`, paths, a glob pattern, a zarr
    store, a dask array), whose images are read where they are predicted.
    The masks are those of ``segmenter.predict``: prediction is inductive,
    image by image.

    With ``n_jobs``, each image is one task that runs the whole pipeline
    (the steps inside it sequentially), in joblib's workers or, under
    ``joblib.parallel_backend("dask")``, on the cluster's workers: the
    fitted pipeline is sent to each dask worker once, a lazy image is read
    on the worker, and only the outputs come back, in order.

    Parameters
    ----------
    segmenter : sklearn.pipeline.Pipeline
        A fitted pipeline ending in a :class:`RegionClassifier`, such as
        :func:`make_segmenter` returns.
    images : iterable of ndarray of shape (H, W) or (H, W, C)
        The images.
    proba : bool, default=False
        Also give the class probabilities of every pixel.
    batch_size : int, default=8
        Images taken through the pipeline together (each step runs its
        per-image work over a batch in parallel with its own ``n_jobs``);
        ignored with ``n_jobs``.
    n_jobs : int, default=None
        Predict one image per task, with this many tasks at a time (``-1``:
        one per processor). Under the dask backend the cluster's worker
        threads set how many run at once (joblib runs the tasks in the
        calling process when there is one thread, or ``n_jobs=1``). None
        predicts in batches here, each step parallel with its own
        ``n_jobs``.
    verbose : int, default=0
        Show a progress bar over the images (tqdm), with their number when
        ``images`` has a length.

    Yields
    ------
    output : sklearn.utils.Bunch
        Per image, in order: ``mask`` ((H, W) array of classes), ``proba``
        ((H, W, n_classes) array, or None) and ``regions`` (its
        :class:`~semiseg_sk.Regions`, whose ``segments`` are the
        superpixels).

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk import make_segmenter
    >>> from semiseg_sk.pipeline import iter_predict
    >>> image = np.zeros((32, 32)); image[:, 16:] = 1.0
    >>> labels = np.full((32, 32), -1); labels[5, 5] = 0; labels[5, 25] = 1
    >>> seg = make_segmenter(n_segments=8, autoencoder=False, refine=False)
    >>> seg = seg.fit([image], [labels])
    >>> [out.mask.shape for out in iter_predict(seg, (image for _ in range(3)))]
    [(32, 32), (32, 32), (32, 32)]
    """
    _check_segmenter(segmenter)
    _check_batch_size(batch_size)
    images = as_image_items(images)
    total = len(images) if hasattr(images, "__len__") else None
    bar = _progress(verbose, total, "predicting")
    if n_jobs is not None:
        return _iter_predict_tasks(segmenter, images, proba, n_jobs, bar)
    return _iter_predict(segmenter, iter(images), proba, batch_size, bar)


class _Shared:
    """An argument that joblib's dask backend sends to every worker once.

    joblib scatters the arguments that dask's ``sizeof`` finds large; a
    pipeline looks small to it (its size is its attributes'), so it would
    be pickled with every task.
    """

    def __init__(self, value):
        self.value = value

    def __sizeof__(self):
        return 1 << 30


def _predict_one(shared, image, proba):
    """The output of one image, the pipeline's steps run one after the other."""
    segmenter = shared.value
    # In a dask task the dask backend is active: the steps' own parallel
    # calls would otherwise send their work back to the cluster.
    with parallel_config(backend="sequential"):
        Xt = segmenter[:-1].transform([image])
        final = segmenter[-1]
        results = final._iter_predict(Xt, proba=proba)
        return next(_outputs(final, Xt, results, proba))


def _iter_predict_tasks(segmenter, images, proba, n_jobs, bar):
    shared = _Shared(segmenter)
    outputs = image_parallel(n_jobs, return_as="generator")(
        delayed(_predict_one)(shared, image, proba) for image in images
    )
    with bar:
        for output in outputs:
            bar.update()
            yield output


def _iter_predict(segmenter, images, proba, batch_size, bar):
    final = segmenter[-1]
    with bar:
        while batch := list(itertools.islice(images, batch_size)):
            Xt = segmenter[:-1].transform(batch)
            del batch
            results = final._iter_predict(Xt, proba=proba)
            for output in _outputs(final, Xt, results, proba):
                bar.update()
                yield output


def iter_fit_predict(segmenter, images, labels, *, proba=False, verbose=0):
    """Fit on a collection, then give the mask of each of its images in turn.

    The streaming form of ``segmenter.fit_predict(images, labels)``: the
    same masks (the labels that label spreading propagated to the regions of
    the training images, refined at pixel level), made a few images at a
    time and given one by one, so that a caller that writes each mask as it
    comes never holds the masks, probabilities or pixel features of the
    whole collection. Fitting keeps what every image contributes to the
    region graph: its region features and its compressed region map.

    Parameters
    ----------
    segmenter : sklearn.pipeline.Pipeline
        A pipeline ending in a :class:`RegionClassifier`, such as
        :func:`make_segmenter` returns; it is fitted in place.
    images : list of ndarray of shape (H, W) or (H, W, C), or a lazy collection
        The images, scribbled and unlabeled; a lazy collection (see
        :func:`iter_predict`) is read one image at a time where each task
        runs.
    labels : list of ndarray of shape (H, W) of int
        Per-pixel labels, -1 for unlabeled pixels (all -1 for an unlabeled
        image; ``np.broadcast_to(np.int8(-1), shape)`` takes no memory).
    proba : bool, default=False
        Also give the class probabilities of every pixel.
    verbose : int, default=0
        Show progress: the fit's stages, then a bar over the images
        segmented (tqdm).

    Yields
    ------
    output : sklearn.utils.Bunch
        Per image, in order: ``mask``, ``proba`` (or None) and ``regions``,
        as :func:`iter_predict` gives them.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk import make_segmenter
    >>> from semiseg_sk.pipeline import iter_fit_predict
    >>> image = np.zeros((32, 32)); image[:, 16:] = 1.0
    >>> labels = np.full((32, 32), -1); labels[5, 5] = 0; labels[5, 25] = 1
    >>> seg = make_segmenter(n_segments=8, autoencoder=False, refine=False)
    >>> for out in iter_fit_predict(seg, [image, image], [labels, labels]):
    ...     print(int(out.mask[0, 0]), int(out.mask[0, 31]))
    0 1
    0 1
    """
    _check_segmenter(segmenter)
    with _progress(verbose, len(segmenter), "fitting", unit="step") as bar:
        Xt = as_image_items(images)
        for name, step in segmenter.steps[:-1]:
            bar.set_postfix_str(name)
            if step not in (None, "passthrough"):
                Xt = step.fit_transform(Xt, labels)
            bar.update()
        final = segmenter[-1]
        bar.set_postfix_str(segmenter.steps[-1][0])
        results = final._iter_fit_predict(Xt, labels, proba=proba)
        bar.update()
    return _streamed(_outputs(final, Xt, results, proba), len(Xt), verbose)


def _streamed(outputs, total, verbose):
    with _progress(verbose, total, "segmenting") as bar:
        for output in outputs:
            bar.update()
            yield output


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
