# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""AutoencoderFeatures: region codes learned from labeled and unlabeled images."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.parallel import Parallel, delayed

from ...base import RegionFeatureMixin
from ...utils._docstring import docstring
from ...utils._image import as_float_image, channels_last
from ...utils._parallel import N_JOBS, capped_n_jobs
from ...utils._random import RANDOM_STATE, draw_seed
from ...utils.fixes import Interval, StrOptions, _fit_context
from .._patches import region_patches
from .._torch import TorchModuleMixin, import_torch, resolve_device, torch_threads
from ._callbacks import Callback, ProgressBar
from ._network import build_autoencoder
from ._scaling import fit_input_scale, scale_image, scale_patches
from ._training import INFERENCE_BATCH, TrainingLoop

__all__ = ["AutoencoderFeatures"]


@docstring
class AutoencoderFeatures(TorchModuleMixin, RegionFeatureMixin, BaseEstimator):
    """Append codes of a convolutional autoencoder trained on region patches.

    A square patch around every region of every image passed to ``fit`` (the
    labeled and the unlabeled images alike; ``y`` is ignored) trains a small
    convolutional autoencoder. ``transform`` encodes each region's patch and
    appends its ``latent_dim`` code to the region's features, so the
    classifier sees what regions look like across the whole image collection.

    Parameters
    ----------
    encoding : {"patch", "image"}, default="patch"
        ``"patch"``: each region's patch (its bounding box times ``context``,
        resampled to ``patch_size``) is encoded to a ``latent_dim`` code by a
        convolutional encoder ending in a linear layer. ``"image"``: a fully
        convolutional autoencoder is trained on ``patch_size`` crops at the
        image's own resolution around the regions; ``transform`` encodes each
        whole image once and averages the ``latent_dim`` feature maps over
        every region. ``context`` and ``mask_outside`` do not apply to it,
        and ``normalize`` is always ``"global"``.
    latent_dim : int, default=8
        Length of each region's code.
    patch_size : int, default=16
        Side of the patches in pixels; a power of two, at least 8.
    context : float or tuple of float, default=(1.5, 4.0)
        Side of the sampled square relative to the region's bounding box. A
        tuple samples one patch per value (several scales: the region and its
        surroundings) and stacks them as input channels.
    mask_outside : bool, default=False
        Blank the pixels outside the region (set them to the patch's mean
        after normalisation) in the network's input and target, so codes
        describe the region only; False keeps the surroundings.
    normalize : {"patch", "global"}, default="patch"
        ``"patch"`` standardises each patch by its own mean and standard
        deviation per channel (over the region's pixels with
        ``mask_outside=True``), so codes describe texture and shape and leave
        brightness to :class:`~semiseg_sk.RegionStats`; ``"global"`` uses the
        statistics of all training patches.
    noise : float, default=0.1
        Standard deviation of the Gaussian noise added to the (normalised)
        input while training: a denoising autoencoder. 0 disables it.
    jitter : float, default=0.0
        Training-time augmentation: from the second epoch on, every epoch
        samples new random crops around each training region, their centre
        shifted and their side rescaled by up to this fraction of the side.
        0 trains on the centred patches only.
    loss : {"mse", "bce"}, default="mse"
        Reconstruction loss. ``"bce"`` rescales patches to [0, 1] with the
        minimum and maximum seen at fit and uses binary cross-entropy on the
        decoder's logits; it ignores ``normalize``.
    optimizer : {"adam", "sgd"}, default="adam"
        Optimiser (SGD uses momentum 0.9).
    learning_rate : float, default=1e-3
        Step size of the optimiser.
    max_iter : int, default=10
        Largest number of epochs (passes over the training patches).
    patches_per_epoch : int, default=None
        Training patches each epoch draws at random, anew every epoch, from
        the patches of all regions; None trains on every patch at every
        epoch. Bounds the cost of an epoch however many images are given,
        while every region is still encoded by ``transform``.
    batch_size : int, default=256
        Patches per gradient step.
    n_filters : int, default=16
        Channels of the first convolution; doubled at each downsampling.
    validation_fraction : float, default=0.1
        Fraction of the patches held out to stop early. 0 disables early
        stopping.
    n_iter_no_change : int, default=5
        Stop when the validation loss has not improved by ``tol`` for this
        many epochs; the best weights are kept.
    tol : float, default=1e-4
        Smallest relative improvement of the validation loss that counts.
    device : str, default="cpu"
        Where the network trains: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or
        ``"auto"`` (CUDA when available). Asking for CUDA where there is none
        raises at fit. :meth:`to_device` moves a fitted network.
    warm_start : bool, default=False
        Continue training the fitted network at the next ``fit`` instead of
        starting from new weights.
    callbacks : list of Callback, default=None
        :class:`~semiseg_sk.features.Callback` objects told of the events of
        the training loop (epochs, batches, begin and end).
    verbose : int, default=0
        0 is silent; 1 shows a progress bar over epochs with the losses.
    {torch_random_state}
    n_jobs : int, default=None
        Images whose patches are extracted in parallel, never more than
        there are images. ``None`` means 1 unless in a
        :obj:`joblib.parallel_backend` context; ``-1`` means all processors.
        Codes do not depend on ``n_jobs``: torch always trains and encodes
        with one CPU thread (see Notes).

    Attributes
    ----------
    module_ : torch.nn.ModuleDict
        The trained network, with ``"encoder"`` and ``"decoder"``.
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
        Names of the columns this step appends.
    n_features_out_ : int
        Number of columns appended, ``latent_dim``.
    n_channels_ : int
        Number of image channels seen at fit.
    n_inputs_ : int
        Input channels of the network: ``n_channels_`` times the number of
        ``context`` values.
    input_scale_ : tuple of ndarray
        Global offset and scale of the network's inputs, per input channel.

    See Also
    --------
    RegionStats : Hand-crafted region features.

    Notes
    -----
    On the CPU, torch runs on one thread during ``fit`` and ``transform``
    (the global setting is restored afterwards). Its OpenMP threads spin
    while they wait for each other, so on a busy machine several threads
    can be much slower than one; one thread also keeps the codes bitwise
    identical whatever ``n_jobs`` is.

    Scaling the code block is left to the classifier: the default one
    standardises every column. How the defaults compare with other settings
    is measured in ``benchmarks/`` (see the user guide).

    The same ``random_state`` gives bitwise identical codes on the CPU with
    the same number of torch threads. Fitted models pickle with their weights
    as a state dict; a model trained on CUDA loads on a CPU-only machine with
    a :class:`~semiseg_sk.exceptions.DeviceWarning`.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk import Superpixels, AutoencoderFeatures
    >>> images = [np.random.RandomState(i).rand(32, 32) for i in range(3)]
    >>> regions = Superpixels(n_segments=16).fit_transform(images)
    >>> ae = AutoencoderFeatures(latent_dim=4, max_iter=2, random_state=0)
    >>> out = ae.fit_transform(regions)
    >>> out[0].features.shape == (regions[0].n_regions, 4)
    True
    """

    _parameter_constraints = {
        "encoding": [StrOptions({"patch", "image"})],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "patch_size": [Interval(Integral, 8, None, closed="left")],
        "context": [Interval(Real, 0, None, closed="neither"), tuple, list],
        "mask_outside": ["boolean"],
        "normalize": [StrOptions({"patch", "global"})],
        "noise": [Interval(Real, 0, None, closed="left")],
        "jitter": [Interval(Real, 0, 1, closed="left")],
        "loss": [StrOptions({"mse", "bce"})],
        "optimizer": [StrOptions({"adam", "sgd"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "patches_per_epoch": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_filters": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": [str],
        "warm_start": ["boolean"],
        "callbacks": [list, None],
        "verbose": ["verbose"],
        "random_state": RANDOM_STATE,
        "n_jobs": N_JOBS,
    }

    def __init__(
        self,
        *,
        encoding="patch",
        latent_dim=8,
        patch_size=16,
        context=(1.5, 4.0),
        mask_outside=False,
        normalize="patch",
        noise=0.1,
        jitter=0.0,
        loss="mse",
        optimizer="adam",
        learning_rate=1e-3,
        max_iter=10,
        patches_per_epoch=None,
        batch_size=256,
        n_filters=16,
        validation_fraction=0.1,
        n_iter_no_change=5,
        tol=1e-4,
        device="cpu",
        warm_start=False,
        callbacks=None,
        verbose=0,
        random_state=None,
        n_jobs=None,
    ):
        self.encoding = encoding
        self.latent_dim = latent_dim
        self.patch_size = patch_size
        self.context = context
        self.mask_outside = mask_outside
        self.normalize = normalize
        self.noise = noise
        self.jitter = jitter
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.patches_per_epoch = patches_per_epoch
        self.batch_size = batch_size
        self.n_filters = n_filters
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.warm_start = warm_start
        self.callbacks = callbacks
        self.verbose = verbose
        self.random_state = random_state
        self.n_jobs = n_jobs

    # -- parameters ---------------------------------------------------------

    def _contexts(self):
        if self.encoding == "image":
            return (None,)
        if isinstance(self.context, (tuple, list)):
            return tuple(self.context)
        return (self.context,)

    def _check_params(self):
        if self.patch_size & (self.patch_size - 1):
            raise ValueError(
                f"patch_size must be a power of two (8, 16, 32, ...); got "
                f"{self.patch_size}."
            )
        contexts = self._contexts()
        valid = all(
            c is None
            or isinstance(c, Real)
            and not isinstance(c, bool)
            and np.isfinite(c)
            and c > 0
            for c in contexts
        )
        if not contexts or not valid:
            raise ValueError(
                f"context must be a positive number or a non-empty sequence of "
                f"positive numbers; got context={self.context!r}."
            )
        for i, callback in enumerate(self.callbacks or ()):
            if not isinstance(callback, Callback):
                raise TypeError(
                    f"callbacks[{i}] is a {type(callback).__name__}; expected a "
                    f"semiseg_sk.features.Callback (subclass it and override the "
                    f"hooks you need)."
                )

    def _uses_inside(self):
        return self.mask_outside and self.encoding == "patch"

    # -- patches ------------------------------------------------------------

    def _raw_patches(self, X, seeds=None):
        """Patches (n, C * n_scales, P, P), inside masks of the same shape, counts.

        ``seeds`` (one int per image) turns on random crops (``jitter``). The
        inside masks are None unless ``mask_outside=True`` needs them.
        """
        if seeds is None:
            seeds = [None] * len(X)
        per_image = Parallel(n_jobs=capped_n_jobs(self.n_jobs, len(X)))(
            delayed(_image_patches)(
                regions,
                seed,
                patch_size=self.patch_size,
                contexts=self._contexts(),
                side=self.patch_size if self.encoding == "image" else None,
                jitter=self.jitter if seed is not None else 0.0,
                return_inside=self._uses_inside(),
            )
            for regions, seed in zip(X, seeds)
        )
        patches = np.concatenate([p for p, _ in per_image])
        inside = None
        if self._uses_inside():
            inside = np.concatenate([m for _, m in per_image])
        return patches, inside, [len(p) for p, _ in per_image]

    def _scale(self, patches, inside):
        per_patch = self.normalize == "patch" and self.encoding == "patch"
        return scale_patches(
            patches, inside, self.input_scale_, loss=self.loss, per_patch=per_patch
        )

    def _network_inputs(self, X):
        patches, inside, counts = self._raw_patches(X)
        scaled, undo = self._scale(patches, inside)
        return scaled, counts, undo

    # -- fitting ------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder on the patches of all regions of all images.

        Parameters
        ----------
        {regions}
        y : None
            Ignored: the autoencoder learns from labeled and unlabeled images
            alike. Accepted so the step fits inside a Pipeline.

        Returns
        -------
        self : AutoencoderFeatures
            The fitted step.
        """
        self._fit(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Train on all regions of all images, then append their codes.

        The same as ``fit(X).transform(X)``, with each region's patch cut
        out of its image once.

        Parameters
        ----------
        {regions}
        y : None
            Ignored.

        Returns
        -------
        regions : list of Regions
            New Regions objects whose features end with the ``latent_dim``
            codes.
        """
        X, inputs, counts = self._fit(X)
        if self.encoding == "image":
            return self.transform(X)
        return self._append_codes(X, inputs, counts)

    def _fit(self, X):
        """Fit; return the checked X, its network inputs and patch counts."""
        self._check_params()
        torch = import_torch()
        continuing = self.warm_start and hasattr(self, "module_")
        previous = getattr(self, "n_channels_", None)
        X = self._check_fit_input(X)
        n_inputs = self.n_channels_ * len(self._contexts())
        if continuing and (previous != self.n_channels_ or n_inputs != self.n_inputs_):
            raise ValueError(
                f"warm_start=True but X has {self.n_channels_} channel(s) and "
                f"{len(self._contexts())} context scale(s); the first fit had "
                f"{previous} channel(s) and {self.n_inputs_} network input(s). "
                f"Use warm_start=False to train a new network."
            )
        rng = check_random_state(self.random_state)
        device = resolve_device(self.device)
        seed = draw_seed(rng)
        generator = torch.Generator().manual_seed(seed)

        patches, inside, counts = self._raw_patches(X)
        if not continuing:
            self.input_scale_ = fit_input_scale(patches, self.n_channels_, self.loss)
        inputs, _ = self._scale(patches, inside)

        n = len(inputs)
        n_valid = int(round(self.validation_fraction * n))
        if self.validation_fraction > 0 and (n_valid < 1 or n - n_valid < 1):
            warnings.warn(
                f"validation_fraction={self.validation_fraction} leaves no "
                f"training or no validation patch out of {n} regions; training "
                f"on all of them without early stopping.",
                UserWarning,
                stacklevel=2,
            )
            n_valid = 0
        order = rng.permutation(n)
        valid_idx, train_idx = order[:n_valid], order[n_valid:]
        valid, train = _tensor(inputs[valid_idx]), _tensor(inputs[train_idx])

        def random_crops():
            # Random crops around every training region, new at each epoch.
            p, m, _ = self._raw_patches(X, seeds=draw_seed(rng, size=len(X)))
            m = None if m is None else m[train_idx]
            return _tensor(self._scale(p[train_idx], m)[0])

        if not continuing:
            self.n_inputs_ = n_inputs
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self.module_ = self._build_module()
            self.history_ = []
        self.module_.to(device)
        self.device_ = device
        callbacks = list(self.callbacks or ())
        if self.verbose:
            callbacks.append(ProgressBar(desc="autoencoder"))
        loop = TrainingLoop(
            self, generator, callbacks, augment=random_crops if self.jitter else None
        )
        with torch_threads(1):
            loop.run(train, valid)
        self.block_feature_names_ = [f"autoencoder{i}" for i in range(self.latent_dim)]
        self.n_features_out_ = self.latent_dim
        return X, inputs, counts

    def _build_module(self):
        return build_autoencoder(
            self.n_inputs_,
            self.patch_size,
            self.latent_dim,
            self.n_filters,
            self.encoding,
        )

    # -- inference ----------------------------------------------------------

    def _forward(self, inputs, *, decode):
        """Encode (and with ``decode`` reconstruct) inputs in batches."""
        torch = import_torch()
        module = self.module_
        module.eval()
        out = []
        with torch.no_grad(), torch_threads(1):
            for start in range(0, len(inputs), INFERENCE_BATCH):
                batch = inputs[start : start + INFERENCE_BATCH]
                result = module["encoder"](torch.from_numpy(batch).to(self.device_))
                if decode:
                    result = module["decoder"](result)
                    if self.loss == "bce":
                        result = torch.sigmoid(result)
                out.append(result.cpu().numpy())
        return np.concatenate(out)

    def _encode_image(self, regions):
        """Mean of the encoder's feature map over each region (encoding="image")."""
        torch = import_torch()
        image = channels_last(as_float_image(regions.image)).astype(np.float32)
        x = scale_image(image.transpose(2, 0, 1)[None], self.input_scale_, self.loss)
        height, width = regions.shape
        stride = self.patch_size // 4
        pad_h, pad_w = (-height) % stride, (-width) % stride
        x = np.pad(x, ((0, 0), (0, 0), (0, pad_h), (0, pad_w)), mode="symmetric")
        with torch.no_grad(), torch_threads(1):
            batch = torch.from_numpy(np.ascontiguousarray(x)).to(self.device_)
            fmap = self.module_["encoder"](batch)
            fmap = torch.nn.functional.interpolate(
                fmap, size=x.shape[2:], mode="bilinear", align_corners=False
            )
            fmap = fmap[0, :, :height, :width].cpu().numpy()
        mean, _ = regions.mean_std(fmap.transpose(1, 2, 0))
        return mean

    def transform(self, X):
        """Append each region's code to its features.

        Parameters
        ----------
        {regions}

        Returns
        -------
        regions : list of Regions
            New Regions objects whose features end with the ``latent_dim``
            codes.
        """
        X = self._check_transform_input(X)
        self.module_.eval()
        if self.encoding == "image":
            blocks = [self._encode_image(r) for r in X]
            return [self._append_block(r, c) for r, c in zip(X, blocks)]
        inputs, counts, _ = self._network_inputs(X)
        return self._append_codes(X, inputs, counts)

    def _append_codes(self, X, inputs, counts):
        codes = self._forward(inputs, decode=False).astype(np.float64)
        blocks = np.split(codes, np.cumsum(counts)[:-1])
        return [self._append_block(r, c) for r, c in zip(X, blocks)]

    def reconstruct(self, X):
        """Patches of every region and the autoencoder's reconstructions.

        Parameters
        ----------
        {regions}

        Returns
        -------
        patches : list of ndarray of shape (n_regions, P, P, C * n_scales)
            The patch of each region (one per ``context`` stacked on the last
            axis), in the image's units; pixels outside the region are at the
            patch's mean when ``mask_outside=True``.
        reconstructions : list of ndarray of the same shapes
            What the autoencoder makes of them, in the same units.
        """
        X = self._check_transform_input(X)
        inputs, counts, (offset, scale) = self._network_inputs(X)
        recon = self._forward(inputs, decode=True) * scale + offset
        original = inputs * scale + offset
        cut = np.cumsum(counts)[:-1]
        return _channels_last(original, cut), _channels_last(recon, cut)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.device != "cpu"
        return tags


def _tensor(array):
    return import_torch().from_numpy(np.ascontiguousarray(array))


def _channels_last(patches, cut):
    return [p.transpose(0, 2, 3, 1) for p in np.split(patches, cut)]


def _image_patches(regions, seed, *, patch_size, contexts, side, jitter, return_inside):
    """Patches of one image's regions at every context, and the inside masks."""
    rng = None if seed is None else np.random.RandomState(seed)
    parts = [
        region_patches(
            regions,
            patch_size,
            context=1.0 if c is None else float(c),
            side=side,
            jitter=jitter,
            rng=rng,
            return_inside=return_inside,
        )
        for c in contexts
    ]
    patches = np.concatenate([p for p, _ in parts], axis=1)
    if not return_inside:
        return patches, None
    n_ch = parts[0][0].shape[1]
    inside = np.concatenate(
        [np.repeat(m[:, None], n_ch, axis=1) for _, m in parts], axis=1
    )
    return patches, inside
