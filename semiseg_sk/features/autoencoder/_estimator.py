# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""AutoencoderFeatures: a texture filter bank learned from all images."""

import warnings
from numbers import Integral, Real
from types import SimpleNamespace

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.parallel import delayed
from sklearn.utils.validation import check_is_fitted

from ...base import RegionFeatureMixin
from ...utils._channels import CHANNEL_CONSTRAINTS
from ...utils._docstring import docstring
from ...utils._parallel import N_JOBS, image_parallel
from ...utils._random import RANDOM_STATE, draw_seed
from ...utils.fixes import Interval, StrOptions, _fit_context
from .._torch import TorchModuleMixin, import_torch, resolve_device, torch_threads
from ._callbacks import Callback, ProgressBar
from ._kmeans import kmeans_filters, sample_windows
from ._maps import RegionPooler, response_strips, rows_per_strip
from ._network import build_autoencoder, decode, rectified, responses, target
from ._scaling import fit_input_scale, pyramid
from ._training import INFERENCE_BATCH, TrainingLoop

__all__ = ["AutoencoderFeatures"]

# Windows clustered by k-means, drawn from the training crops.
_KMEANS_WINDOWS = 10000
# Largest pool of training crops cut at fit; each epoch draws
# ``patches_per_epoch`` of them.
_MAX_POOL = 8192


@docstring
class AutoencoderFeatures(TorchModuleMixin, RegionFeatureMixin, BaseEstimator):
    """Append texture energy of a filter bank learned from all images.

    A bank of ``n_filters`` convolution filters is learned from random crops
    of every image passed to ``fit`` (the labeled and the unlabeled images
    alike; ``y`` is ignored), at each of several ``scales`` (the image
    block-averaged by 1, 2, 4, ...): the filters start from k-means on
    contrast-normalised, whitened ``kernel_size`` windows of the crops (Coates
    & Ng, 2011) and are then fine-tuned as the encoder of a sparse denoising
    convolutional autoencoder, whose one-layer decoder redraws the
    contrast-normalised crops from the rectified responses.

    ``transform`` filters every image at every scale, rectifies the
    responses, averages them over a small box (energy maps), interpolates
    them back to the image's pixels and pools them over each region's pixels
    (the mean; the standard deviation and maximum on request): each region
    gets the energy of each oriented, frequency-tuned filter, the texture cue
    that intensity statistics miss. The same maps, at
    pixel resolution, come from :meth:`pixel_features`.

    On volumes (Regions with a ``spacing``, e.g. from
    ``Superpixels(spacing=...)``) the filter bank is learned from crops of
    the (Y, X) slices, every slice is filtered on its own and the maps are
    pooled over each supervoxel's voxels.

    Parameters
    ----------
    n_filters : int, default=16
        Filters of the bank, shared by all scales.
    kernel_size : int, default=7
        Side of the filters in pixels of their scale; odd, at least 3.
    scales : tuple of int, default=(1, 2, 4)
        Block-averaging factors of the image the bank runs on; the bank sees
        ``kernel_size * s`` pixels at scale ``s``.
    rectify : {"abs", "split"}, default="abs"
        ``"abs"``: one map per filter and scale, the response's magnitude;
        ``"split"``: two, its positive and negative parts (twice the
        columns; keeps the sign, e.g. dark against bright lines).
    smooth : int, default=5
        Side of the box filter that averages the rectified responses at
        each scale, in pixels of that scale, before they are pooled: energy
        maps that also carry a little context around each pixel. 0 or 1
        pools the rectified responses themselves.
    pooling : tuple of {"mean", "std", "max"}, default=("mean",)
        Statistics of each map over each region's pixels. Each adds
        ``n_maps_`` columns; more columns weigh more in the classifier's
        neighbour graph.
    latent_dim : int, default=None
        Project the pooled block of each region (standardised) onto its
        first ``latent_dim`` principal components over all regions seen at
        fit, and append those instead: fewer columns for the classifier's
        neighbour graph. None appends every pooled map.
    init : {"kmeans", "random"}, default="kmeans"
        Start of the filters: k-means on whitened windows, or random.
    patch_size : int, default=16
        Side of the training crops, in pixels of their scale.
    noise : float, default=0.1
        Standard deviation of the Gaussian noise added to the (standardised)
        crops the encoder sees while training: a denoising autoencoder.
    sparsity : float, default=0.01
        Weight of the mean rectified response in the loss: a sparse
        autoencoder. 0 disables it.
    optimizer : {"adam", "sgd"}, default="adam"
        Optimiser (SGD uses momentum 0.9).
    learning_rate : float, default=1e-3
        Step size of the optimiser.
    max_iter : int, default=3
        Largest number of fine-tuning epochs. In the first epoch of a run of
        more than one only the decoder learns. 0 keeps the k-means filters
        as they are (no training; ``history_`` is empty).
    patches_per_epoch : int, default=512
        Training crops each epoch draws at random from the pool cut at fit
        (``patches_per_epoch * max_iter`` crops, at most 8192, spread over
        all images by their areas and over the scales); None draws the whole
        pool every epoch.
    batch_size : int, default=64
        Crops per gradient step.
    validation_fraction : float, default=0.1
        Fraction of the crops held out to stop early. 0 disables early
        stopping.
    n_iter_no_change : int, default=5
        Stop when the validation loss has not improved by ``tol`` for this
        many epochs; the best weights are kept.
    tol : float, default=1e-4
        Smallest relative improvement of the validation loss that counts.
    device : str, default="cpu"
        Where the network trains and filters: ``"cpu"``, ``"cuda"``,
        ``"cuda:N"`` or ``"auto"`` (CUDA when available). Asking for CUDA
        where there is none raises at fit. :meth:`to_device` moves a fitted
        network.
    warm_start : bool, default=False
        Continue training the fitted filters at the next ``fit`` instead of
        starting from k-means again.
    callbacks : list of Callback, default=None
        :class:`~semiseg_sk.features.Callback` objects told of the events of
        the training loop (epochs, batches, begin and end).
    verbose : int, default=0
        0 is silent; 1 shows a progress bar over epochs with the losses.
    {torch_random_state}
    {channels}
    {channel_names}
    n_jobs : int, default=None
        Images cropped at fit and filtered at transform in parallel (in
        threads), never more than there are images. ``None`` means 1 unless
        in a :obj:`joblib.parallel_backend` context; ``-1`` means all
        processors. Features do not depend on ``n_jobs``: torch always runs
        on one CPU thread per image (see Notes).

    Attributes
    ----------
    module_ : torch.nn.ModuleDict
        The trained network, with ``"encoder"`` (the filter bank, a
        ``Conv2d``) and ``"decoder"``.
    history_ : list of dict
        One dict per epoch: ``epoch``, ``train_loss``, ``valid_loss`` (None
        without validation) and ``duration`` in seconds.
    n_iter_ : int
        Epochs run by the last fit.
    device_ : torch.device
        The device the network lives on.
    n_features_in_ : int
        Number of feature columns of the Regions seen at fit.
    feature_names_in_ : ndarray of str
        Their names.
    block_feature_names_ : list of str
        Names of the columns this step appends, e.g.
        ``"autoencoder_s2_f5_mean"`` (filter 5 at scale 2, region mean), or
        ``"autoencoder0"``, ... with ``latent_dim``.
    n_features_out_ : int
        Number of columns appended: ``n_maps_`` times ``len(pooling)``, or
        ``latent_dim`` (at most the number of regions and of pooled maps).
    projection_ : sklearn.pipeline.Pipeline or None
        The standardisation and PCA of the pooled blocks with
        ``latent_dim``; None without.
    n_maps_ : int
        Response maps per pixel: ``n_filters * len(scales)``, twice that
        with ``rectify="split"``.
    n_channels_ : int
        Number of image channels seen at fit.
    {channels_attribute}
    {channel_names_attribute}
    input_scale_ : tuple of ndarray
        Per-channel mean and standard deviation of all pixels seen at fit,
        which standardise the images.

    See Also
    --------
    RegionStats : Hand-crafted region features.

    Notes
    -----
    Each ``kernel_size`` window is normalised by its own mean and standard
    deviation before it is filtered, so the maps describe the structure of
    the texture, not its brightness or contrast (which
    :class:`~semiseg_sk.RegionStats` measures).

    Images are filtered in strips of rows: memory grows with the width of an
    image and the number of maps, not with its area, besides the image's
    pyramid (a third more than the image, in float32).

    On the CPU, torch runs on one thread during ``fit`` and ``transform``
    (the global setting is restored afterwards). Its OpenMP threads spin
    while they wait for each other, so on a busy machine several threads
    can be much slower than one; one thread also keeps the features bitwise
    identical whatever ``n_jobs`` is.

    The same ``random_state`` gives bitwise identical features on the CPU.
    Fitted models pickle with their weights as a state dict; a model trained
    on CUDA loads on a CPU-only machine with a
    :class:`~semiseg_sk.exceptions.DeviceWarning`.

    References
    ----------
    A. Coates and A. Y. Ng, "The importance of encoding versus training with
    sparse coding and vector quantization", ICML 2011.

    A. Coates, H. Lee and A. Y. Ng, "An analysis of single-layer networks in
    unsupervised feature learning", AISTATS 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk import Superpixels, AutoencoderFeatures
    >>> images = [np.random.RandomState(i).rand(32, 32) for i in range(3)]
    >>> regions = Superpixels(n_segments=16).fit_transform(images)
    >>> ae = AutoencoderFeatures(n_filters=4, max_iter=2, random_state=0)
    >>> out = ae.fit_transform(regions)
    >>> out[0].features.shape == (regions[0].n_regions, 4 * 3)
    True
    >>> ae.pixel_features(images[0]).shape
    (32, 32, 12)
    """

    _supports_volumes = True

    _parameter_constraints = {
        "n_filters": [Interval(Integral, 1, None, closed="left")],
        "kernel_size": [Interval(Integral, 3, None, closed="left")],
        "scales": [tuple, list],
        "rectify": [StrOptions({"abs", "split"})],
        "smooth": [Interval(Integral, 0, None, closed="left")],
        "pooling": [tuple, list],
        "latent_dim": [Interval(Integral, 1, None, closed="left"), None],
        "init": [StrOptions({"kmeans", "random"})],
        "patch_size": [Interval(Integral, 4, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "sparsity": [Interval(Real, 0, None, closed="left")],
        "optimizer": [StrOptions({"adam", "sgd"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "patches_per_epoch": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": [str],
        "warm_start": ["boolean"],
        "callbacks": [list, None],
        "verbose": ["verbose"],
        "random_state": RANDOM_STATE,
        **CHANNEL_CONSTRAINTS,
        "n_jobs": N_JOBS,
    }

    def __init__(
        self,
        *,
        n_filters=16,
        kernel_size=7,
        scales=(1, 2, 4),
        rectify="abs",
        smooth=5,
        pooling=("mean",),
        latent_dim=None,
        init="kmeans",
        patch_size=16,
        noise=0.1,
        sparsity=0.01,
        optimizer="adam",
        learning_rate=1e-3,
        max_iter=3,
        patches_per_epoch=512,
        batch_size=64,
        validation_fraction=0.1,
        n_iter_no_change=5,
        tol=1e-4,
        device="cpu",
        warm_start=False,
        callbacks=None,
        verbose=0,
        random_state=None,
        channels=None,
        channel_names=None,
        n_jobs=None,
    ):
        self.n_filters = n_filters
        self.kernel_size = kernel_size
        self.scales = scales
        self.rectify = rectify
        self.smooth = smooth
        self.pooling = pooling
        self.latent_dim = latent_dim
        self.init = init
        self.patch_size = patch_size
        self.noise = noise
        self.sparsity = sparsity
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.patches_per_epoch = patches_per_epoch
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.warm_start = warm_start
        self.callbacks = callbacks
        self.verbose = verbose
        self.random_state = random_state
        self.channels = channels
        self.channel_names = channel_names
        self.n_jobs = n_jobs

    # -- parameters ---------------------------------------------------------

    def _check_params(self):
        name = type(self).__name__
        if self.kernel_size % 2 == 0:
            raise ValueError(
                f"kernel_size must be odd, so that each map is centred on its "
                f"pixel; got {self.kernel_size}."
            )
        scales = tuple(self.scales)
        if not scales or not all(
            isinstance(s, Integral) and not isinstance(s, bool) and s >= 1
            for s in scales
        ):
            raise ValueError(
                f"scales must be a non-empty tuple of ints >= 1 (block-averaging "
                f"factors, e.g. (1, 2, 4)); got {self.scales!r}."
            )
        if len(set(scales)) != len(scales):
            raise ValueError(f"scales has repeated values: {self.scales!r}.")
        pooling = tuple(self.pooling)
        allowed = ("mean", "std", "max")
        if not pooling or any(p not in allowed for p in pooling):
            raise ValueError(
                f"pooling must be a non-empty tuple of {allowed}; got {self.pooling!r}."
            )
        if len(set(pooling)) != len(pooling):
            raise ValueError(f"pooling has repeated values: {self.pooling!r}.")
        for callback in self.callbacks or ():
            if not isinstance(callback, Callback):
                raise TypeError(
                    f"callbacks of {name} must hold semiseg_sk.features.Callback "
                    f"objects; got a {type(callback).__name__}."
                )

    def _map_names(self):
        parts = ("",) if self.rectify == "abs" else ("_pos", "_neg")
        return [
            f"autoencoder_s{s}_f{j}{p}"
            for s in self.scales
            for p in parts
            for j in range(self.n_filters)
        ]

    # -- fitting ------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the filter bank from random crops of all images.

        Parameters
        ----------
        {regions}
        y : None
            Ignored: the filters are learned from labeled and unlabeled
            images alike. Accepted so the step fits inside a Pipeline.

        Returns
        -------
        self : AutoencoderFeatures
            The fitted step.
        """
        self._fit(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Learn the filter bank from all images, then append the pooled maps.

        The same as ``fit(X).transform(X)``; with ``latent_dim`` the images
        are filtered once.

        Parameters
        ----------
        {regions}
        y : None
            Ignored.

        Returns
        -------
        regions : list of Regions
            New Regions objects whose features end with the
            ``n_features_out_`` columns of this step.
        """
        X, blocks = self._fit(X)
        if blocks is None:
            return self.transform(X)
        return [self._append_block(r, b) for r, b in zip(X, blocks)]

    def _fit(self, X):
        """Fit; return the checked X and, with ``latent_dim``, its blocks."""
        self._check_params()
        torch = import_torch()
        continuing = self.warm_start and hasattr(self, "module_")
        previous = self._n_selected_channels() if continuing else None
        shapes = (previous, getattr(self, "n_maps_", None))
        X = self._check_fit_input(X)
        selected = self._selected(X)
        if continuing and shapes != (self._n_selected_channels(), self._n_maps()):
            raise ValueError(
                f"warm_start=True but X has {self._n_selected_channels()} "
                f"channel(s) selected and "
                f"the parameters give {self._n_maps()} maps; the first fit had "
                f"{shapes[0]} channel(s) and {shapes[1]} maps. Use "
                f"warm_start=False to train a new network."
            )
        rng = check_random_state(self.random_state)
        device = resolve_device(self.device)
        seed = draw_seed(rng)
        generator = torch.Generator().manual_seed(seed)
        if not continuing:
            self.input_scale_ = fit_input_scale(r.image for r in _slices(selected))
        crops = self._training_crops(_slices(selected), rng)

        if not continuing:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self.module_ = self._build_module()
            if self.init == "kmeans":
                self._init_kmeans(crops, rng)
            self.history_ = []
        self.module_.to(device)
        self.device_ = device
        self.n_iter_ = 0
        if self.max_iter:
            train, valid = self._split(crops, rng)
            callbacks = list(self.callbacks or ())
            if self.verbose:
                callbacks.append(ProgressBar(desc="autoencoder"))
            loop = TrainingLoop(self, generator, callbacks)
            with torch_threads(1):
                loop.run(train, valid)
        self.module_.eval()
        self.n_maps_ = self._n_maps()
        names = self._map_names()
        self.block_feature_names_ = [f"{n}_{p}" for p in self.pooling for n in names]
        self.projection_ = None
        blocks = None
        if self.latent_dim is not None:
            blocks = self._pooled_blocks(selected)
            self._fit_projection(np.vstack(blocks), rng)
            blocks = [self.projection_.transform(b) for b in blocks]
        self.n_features_out_ = len(self.block_feature_names_)
        return X, blocks

    def _fit_projection(self, pooled, rng):
        from sklearn.decomposition import PCA
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        k = min(self.latent_dim, *pooled.shape)
        self.projection_ = make_pipeline(
            StandardScaler(),
            PCA(k, svd_solver="full", random_state=draw_seed(rng)),
        ).fit(pooled)
        self.block_feature_names_ = [f"autoencoder{i}" for i in range(k)]

    def _n_maps(self):
        per_scale = self.n_filters * (1 if self.rectify == "abs" else 2)
        return per_scale * len(tuple(self.scales))

    def _build_module(self):
        return build_autoencoder(
            self._n_selected_channels(), self.n_filters, self.kernel_size
        )

    def _training_crops(self, X, rng):
        """The pool of crops, ``(n, C, P + k - 1, P + k - 1)`` float32."""
        per_epoch = self.patches_per_epoch or _MAX_POOL
        n_pool = min(per_epoch * max(self.max_iter, 1), max(per_epoch, _MAX_POOL))
        if self.patches_per_epoch is None:
            n_pool = _MAX_POOL
        areas = np.array([r.shape[0] * r.shape[1] for r in X], float)
        per_image = rng.multinomial(n_pool, areas / areas.sum())
        per_scale = [
            rng.multinomial(n, [1 / len(self.scales)] * len(self.scales))
            for n in per_image
        ]
        seeds = draw_seed(rng, size=len(X))
        parts = image_parallel(self.n_jobs, len(X), prefer="threads")(
            delayed(_regions_crops)(
                r,  # its image is read in the task (a lazy one, where it runs)
                self.input_scale_,
                tuple(self.scales),
                self.kernel_size // 2,
                self.patch_size,
                counts,
                seed,
            )
            for r, counts, seed in zip(X, per_scale, seeds)
        )
        return np.concatenate(parts)

    def _init_kmeans(self, crops, rng):
        torch = import_torch()
        windows = sample_windows(crops, self.kernel_size, _KMEANS_WINDOWS, rng)
        weight, bias = kmeans_filters(
            windows, self.n_filters, self._n_selected_channels(), self.kernel_size, rng
        )
        encoder = self.module_["encoder"]
        with torch.no_grad():
            encoder.weight.copy_(torch.from_numpy(weight))
            encoder.bias.copy_(torch.from_numpy(bias))

    def _split(self, crops, rng):
        n = len(crops)
        n_valid = int(round(self.validation_fraction * n))
        if self.validation_fraction > 0 and (n_valid < 1 or n - n_valid < 1):
            warnings.warn(
                f"validation_fraction={self.validation_fraction} leaves no "
                f"training or no validation crop out of {n}; training on all "
                f"of them without early stopping.",
                UserWarning,
                stacklevel=3,
            )
            n_valid = 0
        order = rng.permutation(n)
        torch = import_torch()
        return (
            torch.from_numpy(crops[order[n_valid:]]),
            torch.from_numpy(crops[order[:n_valid]]),
        )

    # -- inference ----------------------------------------------------------

    def _levels(self, image):
        return pyramid(
            image, self.input_scale_, tuple(self.scales), self.kernel_size // 2
        )

    def _strips(self, image):
        height, width = image.shape[:2]
        return response_strips(
            self.module_["encoder"],
            self._levels(image),
            (height, width),
            tuple(self.scales),
            rectify=self.rectify,
            smooth=self.smooth,
            rows=rows_per_strip(width, self.n_maps_),
            device=self.device_,
        )

    def _pooled(self, regions):
        """The appended block of one Regions: its maps pooled per region.

        A volume's slices are filtered one by one; its region map is read as
        one tall image, the slices one under the other, so that the rows of
        slice ``z`` start at ``z * Y``.
        """
        torch = import_torch()
        segments = regions.segments
        slices = [regions.image] if regions.spacing is None else list(regions.image)
        segments = segments.reshape(-1, segments.shape[-1])
        pooler = RegionPooler(
            segments, regions.n_regions, self.n_maps_, tuple(self.pooling)
        )
        with torch.no_grad():
            for z, image in enumerate(slices):
                offset = z * image.shape[0]
                for start, stop, maps in self._strips(image):
                    pooler.add(offset + start, offset + stop, maps)
        return pooler.result()

    def transform(self, X):
        """Append the pooled response maps of each region to its features.

        Parameters
        ----------
        {regions}

        Returns
        -------
        regions : list of Regions
            New Regions objects whose features end with the
            ``n_features_out_`` columns of this step.
        """
        X = self._check_transform_input(X)
        blocks = self._pooled_blocks(self._selected(X))
        if self.projection_ is not None:
            blocks = [self.projection_.transform(b) for b in blocks]
        return [self._append_block(r, b) for r, b in zip(X, blocks)]

    def _pooled_blocks(self, X):
        self.module_.eval()
        with torch_threads(1):
            return image_parallel(self.n_jobs, len(X), prefer="threads")(
                delayed(self._pooled)(r) for r in X
            )

    def pixel_features(self, image):
        """The rectified response maps of one image at pixel resolution.

        Parameters
        ----------
        image : ndarray of shape (H, W) or (H, W, C), or Regions
            One image with the channels seen at fit (a Regions object gives
            its image).

        Returns
        -------
        maps : ndarray of shape (H, W, n_maps), float32
            One map per name of :meth:`get_pixel_feature_names_out`
            (``n_maps_`` of them).
        """
        image = self._check_pixel_image(image)
        torch = import_torch()
        out = np.empty(image.shape[:2] + (self.n_maps_,), dtype=np.float32)
        with torch.no_grad(), torch_threads(1):
            for start, stop, maps in self._strips(image):
                out[start:stop] = maps.permute(1, 2, 0).numpy()
        return out

    def get_pixel_feature_names_out(self):
        """Names of the maps returned by :meth:`pixel_features`.

        Returns
        -------
        names : ndarray of str
            ``"autoencoder_s{scale}_f{filter}"``, with ``_pos`` / ``_neg``
            for ``rectify="split"``.
        """
        check_is_fitted(self)
        return np.asarray(self._map_names(), dtype=object)

    def filters(self):
        """The filter bank as an image stack, channels last.

        Returns
        -------
        filters : ndarray of shape (n_filters, kernel_size, kernel_size, C)
            The encoder's weights, for display.
        """
        check_is_fitted(self)
        weight = self.module_["encoder"].weight.detach().cpu().numpy()
        return weight.transpose(0, 2, 3, 1).copy()

    def reconstruct(self, X):
        """Crops around every region, normalised, and the decoder's redrawing.

        Parameters
        ----------
        {regions}

        Returns
        -------
        patches : list of ndarray of shape (n_regions, P, P, C)
            The contrast-normalised crop of side ``patch_size`` centred on
            each region (scale 1), the autoencoder's target.
        reconstructions : list of ndarray of the same shapes
            What the decoder redraws from the encoder's rectified responses.
        """
        X = self._check_transform_input(X)
        if X[0].spacing is not None:
            raise ValueError(
                "AutoencoderFeatures.reconstruct draws crops of 2-D images; X[0] "
                f"is a volume (spacing={X[0].spacing}). Pass Regions of 2-D "
                "images, e.g. of slices."
            )
        torch = import_torch()
        pad, half = self.kernel_size // 2, self.patch_size // 2
        side = self.patch_size + 2 * pad
        patches, recons = [], []
        for regions in self._selected(X):
            level = pyramid(regions.image, self.input_scale_, (1,), pad + half)[0]
            corner = np.round(regions.centroids()).astype(np.intp)
            crops = np.stack([level[:, r : r + side, c : c + side] for r, c in corner])
            p, q = [], []
            with torch.no_grad(), torch_threads(1):
                for start in range(0, len(crops), INFERENCE_BATCH):
                    batch = torch.from_numpy(crops[start : start + INFERENCE_BATCH])
                    batch = batch.to(self.device_)
                    codes = rectified(responses(self.module_["encoder"], batch))
                    q.append(decode(self.module_["decoder"], codes).cpu().numpy())
                    p.append(target(batch, self.kernel_size).cpu().numpy())
            patches.append(np.concatenate(p).transpose(0, 2, 3, 1))
            recons.append(np.concatenate(q).transpose(0, 2, 3, 1))
        return patches, recons

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.device != "cpu"
        return tags


def _slices(X):
    """What the filter bank learns from: 2-D Regions, or the XY slices of volumes."""
    out = []
    for regions in X:
        if regions.spacing is None:
            out.append(regions)
        else:
            out.extend(
                SimpleNamespace(image=image, shape=image.shape[:2])
                for image in regions.image
            )
    return out


def _regions_crops(regions, *args):
    """``_image_crops`` of the image of one Regions (read where the task runs)."""
    return _image_crops(regions.image, *args)


def _image_crops(image, input_scale, scales, pad, patch_size, counts, seed):
    """Random crops of one image: ``counts[i]`` of them at ``scales[i]``."""
    rng = np.random.RandomState(seed)
    side = patch_size + 2 * pad
    levels = pyramid(image, input_scale, scales, pad, min_side=side)
    crops = []
    for level, n in zip(levels, counts):
        rows = rng.randint(level.shape[1] - side + 1, size=n)
        cols = rng.randint(level.shape[2] - side + 1, size=n)
        crops += [level[:, r : r + side, c : c + side] for r, c in zip(rows, cols)]
    shape = (0, levels[0].shape[0], side, side)
    return np.stack(crops) if crops else np.zeros(shape, np.float32)
