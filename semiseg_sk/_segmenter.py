# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""make_segmenter: the complete pipeline with good defaults."""

from sklearn.pipeline import Pipeline

from ._classifier import RegionClassifier
from ._region_stats import RegionStats
from ._superpixels import Superpixels

__all__ = ["make_segmenter"]


def make_segmenter(
    *,
    method="slic",
    n_segments=400,
    autoencoder=True,
    estimator=None,
    device="cpu",
    random_state=None,
    n_jobs=None,
    verbose=0,
):
    """Build the semi-supervised segmentation pipeline with good defaults.

    The pipeline is ``Superpixels -> RegionStats -> AutoencoderFeatures ->
    RegionClassifier``. It is a plain :class:`sklearn.pipeline.Pipeline`
    whose step names are the lower-cased class names, so parameters read
    ``superpixels__n_segments`` or ``autoencoderfeatures__latent_dim``.

    Parameters
    ----------
    method : str, default="slic"
        Superpixel algorithm, see :class:`Superpixels`.
    n_segments : int, default=400
        Approximate number of superpixels per image.
    autoencoder : bool, default=True
        Include :class:`AutoencoderFeatures` (needs torch).
    estimator : estimator object, default=None
        Region classifier given to :class:`RegionClassifier`; None uses
        its default, sparse label spreading over all regions.
    device : str, default="cpu"
        Where the autoencoder trains: ``"cpu"``, ``"cuda"`` or ``"auto"``.
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
        ("regionstats", RegionStats(n_jobs=n_jobs)),
    ]
    if autoencoder:
        from ._autoencoder import AutoencoderFeatures

        steps.append(
            (
                "autoencoderfeatures",
                AutoencoderFeatures(
                    device=device,
                    random_state=random_state,
                    n_jobs=n_jobs,
                    verbose=verbose,
                ),
            )
        )
    steps.append(("regionclassifier", RegionClassifier(estimator)))
    return Pipeline(steps)
