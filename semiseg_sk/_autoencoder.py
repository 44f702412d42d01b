# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""AutoencoderFeatures: region codes learned from labeled and unlabeled images."""

import time
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.parallel import Parallel, delayed

from ._patches import region_patches
from ._torch import import_torch, load_state, resolve_device, save_state, torch_seed
from .base import RegionFeatureMixin
from .utils._docstring import docstring
from .utils.fixes import Interval, StrOptions, _fit_context

__all__ = ["AutoencoderFeatures"]


def build_autoencoder(n_channels, patch_size, latent_dim, width):
    """A small convolutional autoencoder as two ``nn.Sequential`` halves.

    ``patch_size`` is a power of two >= 8. The encoder halves the patch with
    strided 4x4 convolutions (``width`` channels, doubled at each step) down
    to 4 x 4 and a linear layer maps to ``latent_dim``; the decoder mirrors
    it with transposed convolutions. Small on purpose: it trains in seconds on
    a laptop CPU.
    """
    torch = import_torch()
    nn = torch.nn
    n_down = int(np.log2(patch_size)) - 2
    chans = [n_channels] + [width * 2**i for i in range(n_down)]
    enc = []
    for i in range(n_down):
        enc += [nn.Conv2d(chans[i], chans[i + 1], 4, stride=2, padding=1), nn.ReLU()]
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
    latent_dim : int, default=16
        Length of each region's code.
    patch_size : int, default=16
        Side of the patches in pixels; a power of two, at least 8.
    context : float, default=1.5
        Side of the sampled square relative to the region's bounding box.
    normalize : {"patch", "global"}, default="patch"
        ``"patch"`` standardises each patch by its own mean and standard
        deviation per channel, so codes describe texture and shape and leave
        brightness to :class:`RegionStats`; ``"global"`` uses the statistics
        of all training patches.
    noise : float, default=0.1
        Standard deviation of the Gaussian noise added to the (normalised)
        input while training: a denoising autoencoder. 0 disables it.
    loss : {"mse", "bce"}, default="mse"
        Reconstruction loss. ``"bce"`` rescales patches to [0, 1] with the
        minimum and maximum seen at fit and uses binary cross-entropy on the
        decoder's logits; it ignores ``normalize``.
    optimizer : {"adam", "sgd"}, default="adam"
        Optimiser (SGD uses momentum 0.9).
    learning_rate : float, default=1e-3
        Step size of the optimiser.
    max_epochs : int, default=30
        Largest number of passes over the training patches.
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
    verbose : int, default=0
        0 is silent; 1 shows a progress bar over epochs with the losses.
    {random_state}
    {n_jobs}

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

    See Also
    --------
    RegionStats : Hand-crafted region features.

    Notes
    -----
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
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "patch_size": [Interval(Integral, 8, None, closed="left")],
        "context": [Interval(Real, 0, None, closed="neither")],
        "normalize": [StrOptions({"patch", "global"})],
        "noise": [Interval(Real, 0, None, closed="left")],
        "loss": [StrOptions({"mse", "bce"})],
        "optimizer": [StrOptions({"adam", "sgd"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "width": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": [str],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        *,
        latent_dim=16,
        patch_size=16,
        context=1.5,
        normalize="patch",
        noise=0.1,
        loss="mse",
        optimizer="adam",
        learning_rate=1e-3,
        max_epochs=30,
        batch_size=256,
        width=16,
        validation_fraction=0.1,
        n_iter_no_change=5,
        tol=1e-4,
        device="cpu",
        warm_start=False,
        verbose=0,
        random_state=None,
        n_jobs=None,
    ):
        self.latent_dim = latent_dim
        self.patch_size = patch_size
        self.context = context
        self.normalize = normalize
        self.noise = noise
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.width = width
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.warm_start = warm_start
        self.verbose = verbose
        self.random_state = random_state
        self.n_jobs = n_jobs

    # -- patches ------------------------------------------------------------

    def _raw_patches(self, X):
        per_image = Parallel(n_jobs=self.n_jobs)(
            delayed(region_patches)(r, self.patch_size, context=self.context) for r in X
        )
        patches = np.concatenate([p for p, _ in per_image])
        return patches, [len(p) for p, _ in per_image]

    def _scale(self, patches):
        """Patches as the network sees them, plus what undoes the scaling."""
        if self.loss == "bce":
            lo, hi = self.input_scale_
            return np.clip((patches - lo) / hi, 0.0, 1.0), (lo, hi)
        if self.normalize == "patch":
            mean = patches.mean(axis=(2, 3), keepdims=True)
            std = patches.std(axis=(2, 3), keepdims=True) + 1e-3
            return (patches - mean) / std, (mean, std)
        mean, std = self.input_scale_
        return (patches - mean) / std, (mean, std)

    def _fit_scale_params(self, patches):
        if self.loss == "bce":
            lo = patches.min(axis=(0, 2, 3), keepdims=True)
            hi = patches.max(axis=(0, 2, 3), keepdims=True) - lo
            self.input_scale_ = (lo, np.where(hi > 0, hi, 1.0))
        else:
            mean = patches.mean(axis=(0, 2, 3), keepdims=True)
            std = patches.std(axis=(0, 2, 3), keepdims=True)
            self.input_scale_ = (mean, np.where(std > 0, std, 1.0))

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
        if self.patch_size & (self.patch_size - 1):
            raise ValueError(
                f"patch_size must be a power of two (8, 16, 32, ...); got "
                f"{self.patch_size}."
            )
        torch = import_torch()
        continuing = self.warm_start and hasattr(self, "module_")
        X = self._check_fit_input(X)
        if continuing and self.n_channels_ != self.module_["encoder"][0].in_channels:
            raise ValueError(
                "warm_start=True but the images have a different number of "
                "channels than at the first fit."
            )
        rng = check_random_state(self.random_state)
        device = resolve_device(self.device)
        seed = torch_seed(rng)
        generator = torch.Generator().manual_seed(seed)

        patches, _ = self._raw_patches(X)
        if not continuing:
            self._fit_scale_params(patches)
        inputs, _ = self._scale(patches)
        inputs = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))

        n = len(inputs)
        n_valid = int(round(self.validation_fraction * n))
        if self.validation_fraction > 0 and (n_valid < 1 or n - n_valid < 1):
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves no "
                f"training or no validation patch out of {n} regions; use 0 to "
                f"disable early stopping."
            )
        order = rng.permutation(n)
        valid, train = inputs[order[:n_valid]], inputs[order[n_valid:]]

        if not continuing:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self.module_ = build_autoencoder(
                    self.n_channels_, self.patch_size, self.latent_dim, self.width
                )
            self.history_ = []
        self.module_.to(device)
        self.device_ = device
        self._train(torch, train, valid, generator)
        self._block_names = [f"autoencoder{i}" for i in range(self.latent_dim)]
        self.n_features_out_ = self.latent_dim
        return self

    def _criterion(self, torch):
        if self.loss == "bce":
            return torch.nn.BCEWithLogitsLoss()
        return torch.nn.MSELoss()

    def _train(self, torch, train, valid, generator):
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
        for epoch in epochs:
            tic = time.perf_counter()
            module.train()
            total = 0.0
            perm = torch.randperm(len(train), generator=generator)
            for start in range(0, len(train), self.batch_size):
                clean = train[perm[start : start + self.batch_size]]
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
            train_loss = total / len(train)
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
        patches, counts = self._raw_patches(X)
        scaled, undo = self._scale(patches)
        return scaled.astype(np.float32), counts, undo

    def _run(self, part, inputs):
        torch = import_torch()
        module = self.module_
        module.eval()
        out = []
        with torch.no_grad():
            for start in range(0, len(inputs), 1024):
                batch = torch.from_numpy(inputs[start : start + 1024]).to(self.device_)
                result = module["encoder"](batch)
                if part == "reconstruct":
                    result = module["decoder"](result)
                    if self.loss == "bce":
                        result = torch.sigmoid(result)
                out.append(result.cpu().numpy())
        return np.concatenate(out)

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
        inputs, counts, _ = self._network_inputs(X)
        codes = self._run("encode", inputs).astype(np.float64)
        splits = np.split(codes, np.cumsum(counts)[:-1])
        return [self._append_block(r, c) for r, c in zip(X, splits)]

    def reconstruct(self, X):
        """Patches of every region and the autoencoder's reconstructions.

        Parameters
        ----------
        {regions}

        Returns
        -------
        patches : list of ndarray of shape (n_regions, patch_size, patch_size, C)
            The patch of each region, in the image's units.
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
        state = super().__getstate__()
        module = state.pop("module_", None)
        if module is not None:
            state["_module_bytes"] = save_state(module)
            state["device_"] = str(state["device_"])
        return state

    def __setstate__(self, state):
        data = state.pop("_module_bytes", None)
        super().__setstate__(state)
        if data is not None:
            module = build_autoencoder(
                self.n_channels_, self.patch_size, self.latent_dim, self.width
            )
            self.device_ = load_state(module, data, self.device_)
            module.eval()
            self.module_ = module
