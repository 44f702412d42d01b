# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""AutoencoderFeatures: region codes learned from labeled and unlabeled images."""

import time
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.parallel import Parallel, delayed

from ._patches import region_patches
from ._torch import (
    import_torch,
    load_state,
    resolve_device,
    save_state,
    torch_seed,
    torch_threads,
)
from .base import RegionFeatureMixin
from .utils._constraints import N_JOBS
from .utils._docstring import docstring
from .utils._image import as_float_image, channels_last
from .utils.fixes import Interval, StrOptions, _fit_context

__all__ = ["AutoencoderFeatures"]


def build_autoencoder(n_channels, patch_size, latent_dim, width, mode="patch"):
    """A small convolutional autoencoder as two ``nn.Sequential`` halves.

    ``patch_size`` is a power of two >= 8. The encoder halves the patch with
    strided 4x4 convolutions (``width`` channels, doubled at each step) down
    to 4 x 4; the decoder mirrors it with transposed convolutions. In
    ``mode="patch"`` a linear layer maps the 4 x 4 maps to ``latent_dim``; in
    ``mode="image"`` a 1x1 convolution does, so the encoder is fully
    convolutional and turns a whole image into a ``latent_dim``-channel map.
    Small on purpose: it trains in seconds on a laptop CPU.
    """
    torch = import_torch()
    nn = torch.nn
    n_down = int(np.log2(patch_size)) - 2
    chans = [n_channels] + [width * 2**i for i in range(n_down)]
    enc = []
    for i in range(n_down):
        enc += [nn.Conv2d(chans[i], chans[i + 1], 4, stride=2, padding=1), nn.ReLU()]
    if mode == "image":
        enc += [nn.Conv2d(chans[-1], latent_dim, 1)]
        dec = [nn.Conv2d(latent_dim, chans[-1], 1), nn.ReLU()]
    else:
        enc += [nn.Flatten(), nn.Linear(chans[-1] * 16, latent_dim)]
        dec = [
            nn.Linear(latent_dim, chans[-1] * 16),
            nn.ReLU(),
            nn.Unflatten(1, (chans[-1], 4, 4)),
        ]
    for i in reversed(range(n_down)):
        dec += [nn.ConvTranspose2d(chans[i + 1], chans[i], 4, stride=2, padding=1)]
        if i:
            dec.append(nn.ReLU())
    return nn.ModuleDict(
        {"encoder": nn.Sequential(*enc), "decoder": nn.Sequential(*dec)}
    )


@docstring
class AutoencoderFeatures(RegionFeatureMixin, BaseEstimator):
    """Append codes of a convolutional autoencoder trained on region patches.

    A square patch around every region of every image passed to ``fit`` (the
    labeled and the unlabeled images alike; ``y`` is ignored) trains a small
    convolutional autoencoder. ``transform`` encodes each region's patch and
    appends its ``latent_dim`` code to the region's features, so the
    classifier sees what regions look like across the whole image collection.

    Parameters
    ----------
    mode : {"patch", "image"}, default="patch"
        ``"patch"``: each region's patch (its bounding box times ``context``,
        resampled to ``patch_size``) is encoded to a ``latent_dim`` code by a
        convolutional encoder ending in a linear layer. ``"image"``: a fully
        convolutional autoencoder is trained on ``patch_size`` crops at the
        image's own resolution around the regions; ``transform`` encodes each
        whole image once and averages the ``latent_dim`` feature maps over
        every region. ``context`` and ``mask`` do not apply to it, and
        ``normalize`` is always ``"global"``.
    latent_dim : int, default=8
        Length of each region's code.
    patch_size : int, default=16
        Side of the patches in pixels; a power of two, at least 8.
    context : float or tuple of float, default=(1.5, 4.0)
        Side of the sampled square relative to the region's bounding box. A
        tuple samples one patch per value (several scales: the region and its
        surroundings) and stacks them as input channels.
    mask : bool, default=False
        Blank the pixels outside the region (set them to the patch's mean
        after normalisation) in the network's input and target, so codes
        describe the region only; False keeps the surroundings.
    normalize : {"patch", "global"}, default="patch"
        ``"patch"`` standardises each patch by its own mean and standard
        deviation per channel (over the region's pixels with ``mask=True``),
        so codes describe texture and shape and leave brightness to
        :class:`RegionStats`; ``"global"`` uses the statistics of all
        training patches.
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
    max_epochs : int, default=10
        Largest number of passes over the training patches.
    patches_per_epoch : int, default=None
        Training patches each epoch draws at random, anew every epoch, from
        the patches of all regions; None trains on every patch at every
        epoch. Bounds the cost of an epoch however many images are given,
        while every region is still encoded by ``transform``.
    batch_size : int, default=256
        Patches per gradient step.
    width : int, default=16
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
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when
        available). Asking for CUDA where there is none raises at fit.
    warm_start : bool, default=False
        Continue training the fitted network at the next ``fit`` instead of
        starting from new weights.
    callbacks : list of objects, default=None
        Objects with any of the methods ``on_fit_begin(estimator, **kw)``,
        ``on_epoch_end(estimator, record=..., **kw)`` (``record`` is the
        epoch's entry of ``history_``) and ``on_fit_end(estimator, **kw)``.
    verbose : int, default=0
        0 is silent; 1 shows a progress bar over epochs with the losses.
    {random_state}
    n_jobs : int, default=None
        Images whose patches are extracted in parallel. ``None`` means 1
        unless in a :obj:`joblib.parallel_backend` context; ``-1`` means all
        processors. Codes do not depend on ``n_jobs``: torch always trains
        and encodes with one CPU thread (see Notes).

    Attributes
    ----------
    module_ : torch.nn.ModuleDict
        The trained network, with ``"encoder"`` and ``"decoder"``.
    history_ : list of dict
        One dict per epoch: ``epoch``, ``train_loss``, ``valid_loss`` (None
        without validation) and ``duration`` in seconds.
    n_epochs_ : int
        Epochs run by the last fit.
    device_ : torch.device
        The device the network lives on.
    n_features_in_ : int
        Number of feature columns of the Regions seen at fit.
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
    while they wait for each other, so on a 2-core machine busy with other
    work two threads were measured up to ten times slower than one, and on
    an idle one barely faster; one thread also keeps the codes bitwise
    identical whatever ``n_jobs`` is.

    The defaults are the variant that measured best as an addition to
    :class:`RegionStats` (``benchmarks/ablation_autoencoder.py``: scribbled
    texture mosaics, 3 seeds, test mIoU, label spreading and a random
    forest downstream; ``benchmarks/results_autoencoder.md``). With two
    patch scales (``context=(1.5, 4.0)``: the region and its surroundings),
    ``latent_dim=8``, per-patch normalisation and denoising, adding the codes
    to RegionStats gained +0.005 mIoU with label spreading (3/3 seeds) and
    +0.006 with the forest, for 10 epochs as for 30. The former defaults
    (one scale, 16 dimensions) lowered both scores (-0.005, -0.003): with
    more, weaker dimensions the codes dilute the kNN graph. Random crops
    (``jitter=0.25``) lowered both scores (-0.006, -0.006) in a quick trial;
    ``mode="image"`` (encode each image once, average the feature maps per
    region) lowered both (-0.013, -0.025; with ``patch_size=32`` -0.005 and
    +0.014, but several times slower to train), so ``"patch"`` stays the
    default. ``mask=True`` has not been measured yet. The gains are small
    next to the spread over seeds: the codes add little that RegionStats'
    filter statistics do not already say on these mosaics. Scaling the
    code block is left to the classifier: the default one standardises
    every column, which would undo any weight.

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
    >>> ae = AutoencoderFeatures(latent_dim=4, max_epochs=2, random_state=0)
    >>> out = ae.fit_transform(regions)
    >>> out[0].features.shape == (regions[0].n_regions, 4)
    True
    """

    _parameter_constraints = {
        "mode": [StrOptions({"patch", "image"})],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "patch_size": [Interval(Integral, 8, None, closed="left")],
        "context": [Interval(Real, 0, None, closed="neither"), tuple, list],
        "mask": ["boolean"],
        "normalize": [StrOptions({"patch", "global"})],
        "noise": [Interval(Real, 0, None, closed="left")],
        "jitter": [Interval(Real, 0, 1, closed="left")],
        "loss": [StrOptions({"mse", "bce"})],
        "optimizer": [StrOptions({"adam", "sgd"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "patches_per_epoch": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "width": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": [str],
        "warm_start": ["boolean"],
        "callbacks": [list, None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "n_jobs": N_JOBS,
    }

    def __init__(
        self,
        *,
        mode="patch",
        latent_dim=8,
        patch_size=16,
        context=(1.5, 4.0),
        mask=False,
        normalize="patch",
        noise=0.1,
        jitter=0.0,
        loss="mse",
        optimizer="adam",
        learning_rate=1e-3,
        max_epochs=10,
        patches_per_epoch=None,
        batch_size=256,
        width=16,
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
        self.mode = mode
        self.latent_dim = latent_dim
        self.patch_size = patch_size
        self.context = context
        self.mask = mask
        self.normalize = normalize
        self.noise = noise
        self.jitter = jitter
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.patches_per_epoch = patches_per_epoch
        self.batch_size = batch_size
        self.width = width
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.warm_start = warm_start
        self.callbacks = callbacks
        self.verbose = verbose
        self.random_state = random_state
        self.n_jobs = n_jobs

    # -- patches ------------------------------------------------------------

    def _contexts(self):
        if self.mode == "image":
            return (None,)
        if isinstance(self.context, (tuple, list)):
            return tuple(float(c) for c in self.context)
        return (float(self.context),)

    def _check_params(self):
        if self.patch_size & (self.patch_size - 1):
            raise ValueError(
                f"patch_size must be a power of two (8, 16, 32, ...); got "
                f"{self.patch_size}."
            )
        contexts = self._contexts()
        if not contexts or any(c is not None and not c > 0 for c in contexts):
            raise ValueError(
                f"context must be a positive number or a non-empty sequence of "
                f"them; got {self.context!r}."
            )

    def _raw_patches(self, X, seeds=None):
        """Patches (n, C * n_scales, P, P), inside masks of the same shape, counts.

        ``seeds`` (one int per image) turns on random crops (``jitter``). The
        inside masks are None unless ``mask=True`` needs them.
        """
        jitter = self.jitter if seeds is not None else 0.0
        side = self.patch_size if self.mode == "image" else None
        contexts = self._contexts()
        need_inside = self._use_mask()

        def one(regions, seed):
            rng = None if seed is None else np.random.RandomState(seed)
            parts = [
                region_patches(
                    regions,
                    self.patch_size,
                    context=1.0 if c is None else c,
                    side=side,
                    jitter=jitter,
                    rng=rng,
                    return_inside=need_inside,
                )
                for c in contexts
            ]
            patches = np.concatenate([p for p, _ in parts], axis=1)
            if not need_inside:
                return patches, None
            n_ch = parts[0][0].shape[1]
            inside = np.concatenate(
                [np.repeat(m[:, None], n_ch, axis=1) for _, m in parts], axis=1
            )
            return patches, inside

        if seeds is None:
            seeds = [None] * len(X)
        per_image = Parallel(n_jobs=self.n_jobs)(
            delayed(one)(r, s) for r, s in zip(X, seeds)
        )
        patches = np.concatenate([p for p, _ in per_image])
        inside = None
        if need_inside:
            inside = np.concatenate([m for _, m in per_image])
        return patches, inside, [len(p) for p, _ in per_image]

    def _use_mask(self):
        return self.mask and self.mode == "patch"

    def _scale(self, patches, inside):
        """Patches as the network sees them, plus what undoes the scaling."""
        weight = inside.astype(np.float32) if self._use_mask() else None
        if self.loss == "bce":
            lo, hi = self.input_scale_
            out, undo = np.clip((patches - lo) / hi, 0.0, 1.0), (lo, hi)
        elif self.normalize == "patch" and self.mode == "patch":
            if weight is None:
                mean = patches.mean(axis=(2, 3), keepdims=True)
                std = patches.std(axis=(2, 3), keepdims=True) + 1e-3
            else:
                count = weight.sum(axis=(2, 3), keepdims=True) + 1e-6
                mean = (patches * weight).sum(axis=(2, 3), keepdims=True) / count
                var = (((patches - mean) * weight) ** 2).sum(
                    axis=(2, 3), keepdims=True
                ) / count
                std = np.sqrt(var) + 1e-3
            out, undo = (patches - mean) / std, (mean, std)
        else:
            mean, std = self.input_scale_
            out, undo = (patches - mean) / std, (mean, std)
        if weight is not None:
            out = out * weight
        return out.astype(np.float32), undo

    def _fit_scale_params(self, patches):
        n_ch = self.n_channels_
        # One statistic per image channel, shared by the scales.
        flat = patches.reshape(len(patches), -1, n_ch, *patches.shape[2:])
        if self.loss == "bce":
            lo = flat.min(axis=(0, 1, 3, 4))
            hi = flat.max(axis=(0, 1, 3, 4)) - lo
            hi = np.where(hi > 0, hi, 1.0)
            a, b = lo, hi
        else:
            mean = flat.mean(axis=(0, 1, 3, 4))
            std = flat.std(axis=(0, 1, 3, 4))
            a, b = mean, np.where(std > 0, std, 1.0)
        n_scales = patches.shape[1] // n_ch
        shape = (1, patches.shape[1], 1, 1)
        self.input_scale_ = (
            np.tile(a, n_scales).reshape(shape).astype(np.float32),
            np.tile(b, n_scales).reshape(shape).astype(np.float32),
        )

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
            New Regions whose features end with the ``latent_dim`` codes.
        """
        X, inputs, counts = self._fit(X)
        if self.mode == "image":
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
        seed = torch_seed(rng)
        generator = torch.Generator().manual_seed(seed)

        patches, inside, counts = self._raw_patches(X)
        if not continuing:
            self._fit_scale_params(patches)
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
        as_tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
        valid, train = as_tensor(inputs[valid_idx]), as_tensor(inputs[train_idx])

        def augmented():
            # Random crops around every region, new at each epoch.
            seeds = rng.randint(np.iinfo(np.int32).max, size=len(X))
            p, m, _ = self._raw_patches(X, seeds=seeds)
            inside = None if m is None else m[train_idx]
            return as_tensor(self._scale(p[train_idx], inside)[0])

        if not continuing:
            self.n_inputs_ = n_inputs
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self.module_ = self._build()
            self.history_ = []
        self.module_.to(device)
        self.device_ = device
        with torch_threads(1):
            self._train(
                torch, train, valid, generator, augmented if self.jitter else None
            )
        self._block_names = [f"autoencoder{i}" for i in range(self.latent_dim)]
        self.n_features_out_ = self.latent_dim
        return X, inputs, counts

    def _build(self):
        return build_autoencoder(
            self.n_inputs_, self.patch_size, self.latent_dim, self.width, self.mode
        )

    def _criterion(self, torch):
        if self.loss == "bce":
            return torch.nn.BCEWithLogitsLoss()
        return torch.nn.MSELoss()

    def _callback(self, hook, **kwargs):
        for cb in self.callbacks or ():
            method = getattr(cb, hook, None)
            if method is not None:
                method(self, **kwargs)

    def _train(self, torch, train, valid, generator, augmented=None):
        module, device = self.module_, self.device_
        params = module.parameters()
        if self.optimizer == "adam":
            opt = torch.optim.Adam(params, lr=self.learning_rate)
        else:
            opt = torch.optim.SGD(params, lr=self.learning_rate, momentum=0.9)
        criterion = self._criterion(torch)

        def forward(batch):
            return module["decoder"](module["encoder"](batch))

        best_loss, best_state, stale = np.inf, None, 0
        epochs = range(self.max_epochs)
        bar = None
        if self.verbose:
            from tqdm.auto import tqdm

            epochs = bar = tqdm(epochs, desc="autoencoder", unit="epoch")
        start_epoch = len(self.history_)
        self.n_epochs_ = 0
        self._callback("on_fit_begin", X=train, y=None)
        for epoch in epochs:
            tic = time.perf_counter()
            data = train if augmented is None or epoch == 0 else augmented()
            module.train()
            total = 0.0
            perm = torch.randperm(len(data), generator=generator)
            perm = perm[: self.patches_per_epoch]
            for start in range(0, len(perm), self.batch_size):
                clean = data[perm[start : start + self.batch_size]]
                noisy = clean
                if self.noise:
                    noisy = clean + self.noise * torch.randn(
                        clean.shape, generator=generator
                    )
                clean, noisy = clean.to(device), noisy.to(device)
                opt.zero_grad()
                batch_loss = criterion(forward(noisy), clean)
                batch_loss.backward()
                opt.step()
                total += batch_loss.item() * len(clean)
            train_loss = total / len(perm)
            if not np.isfinite(train_loss):
                raise ValueError(
                    f"AutoencoderFeatures training diverged at epoch "
                    f"{start_epoch + epoch + 1} (loss {train_loss}); lower "
                    f"learning_rate={self.learning_rate} or check the images."
                )
            valid_loss = None
            if len(valid):
                valid_loss = self._evaluate(torch, valid, forward, criterion)
            record = {
                "epoch": start_epoch + epoch + 1,
                "train_loss": train_loss,
                "valid_loss": valid_loss,
                "duration": time.perf_counter() - tic,
            }
            self.history_.append(record)
            self.n_epochs_ = epoch + 1
            if bar is not None:
                bar.set_postfix(
                    train=f"{train_loss:.4f}", valid=f"{valid_loss or 0:.4f}"
                )
            self._callback("on_epoch_end", record=record)
            if valid_loss is None:
                continue
            if valid_loss < best_loss * (1 - self.tol):
                best_loss, stale = valid_loss, 0
                best_state = {
                    k: v.detach().clone() for k, v in module.state_dict().items()
                }
            else:
                stale += 1
                if stale >= self.n_iter_no_change:
                    break
        if bar is not None:
            bar.close()
        if best_state is not None:
            module.load_state_dict(best_state)
        module.eval()
        self._callback("on_fit_end", history=self.history_)

    def _evaluate(self, torch, data, forward, criterion):
        self.module_.eval()
        total = 0.0
        with torch.no_grad():
            for start in range(0, len(data), 1024):
                batch = data[start : start + 1024].to(self.device_)
                total += criterion(forward(batch), batch).item() * len(batch)
        return total / len(data)

    # -- inference ----------------------------------------------------------

    def _network_inputs(self, X):
        patches, inside, counts = self._raw_patches(X)
        scaled, undo = self._scale(patches, inside)
        return scaled, counts, undo

    def _run(self, part, inputs):
        torch = import_torch()
        module = self.module_
        module.eval()
        out = []
        with torch.no_grad(), torch_threads(1):
            for start in range(0, len(inputs), 1024):
                batch = torch.from_numpy(inputs[start : start + 1024]).to(self.device_)
                result = module["encoder"](batch)
                if part == "reconstruct":
                    result = module["decoder"](result)
                    if self.loss == "bce":
                        result = torch.sigmoid(result)
                out.append(result.cpu().numpy())
        return np.concatenate(out)

    def _encode_image(self, regions):
        """Mean of the encoder's feature map over each region (mode="image")."""
        torch = import_torch()
        image = channels_last(as_float_image(regions.image)).astype(np.float32)
        x = image.transpose(2, 0, 1)[None]
        if self.loss == "bce":
            lo, hi = self.input_scale_
            x = np.clip((x - lo) / hi, 0.0, 1.0)
        else:
            mean, std = self.input_scale_
            x = (x - mean) / std
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
            New Regions whose features end with the ``latent_dim`` codes.
        """
        X = self._check_transform_input(X)
        self.module_.eval()
        if self.mode == "image":
            blocks = [self._encode_image(r) for r in X]
            return [self._append_block(r, c) for r, c in zip(X, blocks)]
        inputs, counts, _ = self._network_inputs(X)
        return self._append_codes(X, inputs, counts)

    def _append_codes(self, X, inputs, counts):
        codes = self._run("encode", inputs).astype(np.float64)
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
            patch's mean when ``mask=True``.
        reconstructions : list of ndarray of the same shapes
            What the autoencoder makes of them, in the same units.
        """
        X = self._check_transform_input(X)
        inputs, counts, (a, b) = self._network_inputs(X)
        recon = self._run("reconstruct", inputs)
        recon = recon * b + a
        original = inputs * b + a
        cut = np.cumsum(counts)[:-1]
        to_hwc = lambda arr: [p.transpose(0, 2, 3, 1) for p in np.split(arr, cut)]  # noqa: E731
        return to_hwc(original), to_hwc(recon)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "module_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.device != "cpu"
        return tags

    # -- pickling -----------------------------------------------------------

    def __getstate__(self):
        # A copy: object.__getstate__ may hand back the live __dict__.
        state = dict(super().__getstate__())
        module = state.pop("module_", None)
        if module is not None:
            state["_module_bytes"] = save_state(module)
            state["device_"] = str(state["device_"])
        return state

    def __setstate__(self, state):
        data = state.pop("_module_bytes", None)
        super().__setstate__(state)
        if data is not None:
            module = self._build()
            self.device_ = load_state(module, data, self.device_)
            module.eval()
            self.module_ = module
