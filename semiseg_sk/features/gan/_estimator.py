# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""GANFeatures: a discriminator's texture maps learned from all images."""

from numbers import Integral, Real

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
from ..autoencoder._callbacks import Callback
from ._augment import AUGMENTATIONS
from ._maps import MapExtractor, fit_input_scale, sample_crops
from ._network import LAYER_STRIDES, build_gan, layer_channels
from ._training import GANProgressBar, GANTrainingLoop

__all__ = ["GANFeatures"]


@docstring
class GANFeatures(TorchModuleMixin, RegionFeatureMixin, BaseEstimator):
    """Append region statistics of a GAN discriminator's feature maps.

    A small DCGAN-style generator and discriminator are trained against each
    other on random crops of every image passed to ``fit`` (the labeled and
    the unlabeled images alike; ``y`` and the regions are ignored). The
    discriminator has spectral normalisation and a hinge loss, and both
    networks see the crops through differentiable augmentation (DiffAugment:
    translation, cutout, brightness), which keeps the discriminator from
    memorising a few images. To tell real crops from generated ones the
    discriminator learns filters that respond to the textures of the
    collection.

    ``transform`` runs the discriminator's convolutions over each whole image
    (they are fully convolutional), at every scale in ``scales``, keeps the
    maps of the layers in ``layers``, rectifies them (ReLU), brings them to
    pixel resolution (bilinear) and appends their mean and standard
    deviation over each region's pixels. :meth:`pixel_features` returns the
    same maps per pixel, for a pixel classifier.

    Parameters
    ----------
    layers : tuple of int, default=(1, 3)
        Discriminator layers whose maps are used, from 0 to 4: a 3x3
        convolution (``n_filters`` channels, stride 1), a strided 4x4
        (``2 * n_filters``, stride 2), a 3x3 (``2 * n_filters``, stride 2), a
        strided 4x4 (``4 * n_filters``, stride 4) and a 3x3 (``4 *
        n_filters``, stride 4).
    scales : tuple of int, default=(1, 2)
        Image scales: at scale ``s`` the crops (in training) and the image
        (in ``transform``) are averaged over ``s x s`` blocks first, so the
        same filters see coarser textures.
    highpass : float or None, default=4.0
        Sigma, in pixels of each scale, of a Gaussian blur subtracted from
        the image before the networks see it: the GAN then models texture,
        not brightness, which :class:`~semiseg_sk.RegionStats` already has.
        None feeds the images as they are (the generator then draws them
        too).
    rectify : {"relu", "abs"}, default="relu"
        How the maps are rectified: their positive part, or their magnitude
        (both signs of each filter).
    crop_size : int, default=32
        Side of the training crops (after averaging), a power of two >= 16.
    n_filters : int, default=8
        Channels of the discriminator's first layer.
    latent_dim : int, default=64
        Length of the generator's noise vector.
    augment : tuple of str or None, default=("translation", "cutout", "brightness")
        Differentiable augmentations applied to the real and the generated
        crops; None or ``()`` disables them.
    learning_rate : float, default=2e-4
        Step size of both Adam optimisers (``betas=(0.5, 0.999)``).
    max_iter : int, default=20
        Number of epochs.
    crops_per_epoch : int, default=512
        Random crops drawn anew at each epoch, from all images.
    batch_size : int, default=32
        Crops per step; each batch makes one discriminator and one generator
        step.
    device : str, default="cpu"
        Where the networks train and run: ``"cpu"``, ``"cuda"``, ``"cuda:N"``
        or ``"auto"`` (CUDA when available). Asking for CUDA where there is
        none raises at fit. :meth:`to_device` moves a fitted network.
    warm_start : bool, default=False
        Continue training the fitted networks at the next ``fit`` instead of
        starting from new weights.
    callbacks : list of Callback, default=None
        :class:`~semiseg_sk.features.Callback` objects told of the events of
        the training loop; each epoch's ``record`` is its ``history_`` entry.
    verbose : int, default=0
        0 is silent; 1 shows a progress bar over epochs with the losses.
    {torch_random_state}
    {channels}
    {channel_names}
    n_jobs : int, default=None
        Images transformed in parallel (threads), never more than there are
        images. ``None`` means 1 unless in a :obj:`joblib.parallel_backend`
        context; ``-1`` means all processors. Features do not depend on
        ``n_jobs``.

    Attributes
    ----------
    module_ : torch.nn.ModuleDict
        The trained ``"generator"`` and ``"discriminator"``.
    history_ : list of dict
        One dict per epoch: ``epoch``, ``d_loss`` and ``g_loss`` (the
        discriminator's and the generator's hinge losses), ``d_real`` and
        ``d_fake`` (mean scores of real and generated crops) and
        ``duration`` in seconds.
    n_iter_ : int
        Epochs run by the last fit.
    device_ : torch.device
        The device the networks live on.
    input_scale_ : tuple of ndarray
        Per-channel offset and scale that map the images to [-1, 1].
    n_features_in_ : int
        Number of feature columns of the Regions seen at fit.
    feature_names_in_ : ndarray of str
        Their names.
    block_feature_names_ : list of str
        Names of the columns this step appends:
        ``gan_s<scale>_l<layer>_<channel>_mean`` and ``..._std``, e.g.
        ``gan_s2_l3_7_mean``.
    n_features_out_ : int
        Number of columns appended, twice the number of maps.
    n_channels_ : int
        Number of image channels seen at fit.
    {channels_attribute}
    {channel_names_attribute}

    See Also
    --------
    AutoencoderFeatures : Region codes of an autoencoder.
    RegionStats : Hand-crafted region features.

    Notes
    -----
    On the CPU, torch runs on one thread during ``fit`` and ``transform``
    (the global setting is restored afterwards), which keeps the features
    bitwise identical for the same ``random_state``. Maps are computed by
    tiles of 256 x 256 pixels with a margin wider than the discriminator's
    receptive field, so the memory of ``transform`` does not grow with the
    image. Fitted models pickle with their weights; a model trained on CUDA
    loads on a CPU-only machine with a
    :class:`~semiseg_sk.exceptions.DeviceWarning`.

    References
    ----------
    .. [1] Radford, Metz and Chintala, "Unsupervised representation learning
       with deep convolutional generative adversarial networks", ICLR 2016.
    .. [2] Miyato, Kataoka, Koyama and Yoshida, "Spectral normalization for
       generative adversarial networks", ICLR 2018.
    .. [3] Zhao, Liu, Lin, Zhu and Han, "Differentiable augmentation for
       data-efficient GAN training", NeurIPS 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk import GANFeatures, Superpixels
    >>> images = [np.random.RandomState(i).rand(32, 32) for i in range(3)]
    >>> regions = Superpixels(n_segments=16).fit_transform(images)
    >>> gan = GANFeatures(n_filters=4, crop_size=16, max_iter=1,
    ...                   crops_per_epoch=32, random_state=0)
    >>> out = gan.fit_transform(regions)
    >>> out[0].features.shape[1] == gan.n_features_out_
    True
    >>> gan.pixel_features(images[0]).shape
    (32, 32, 48)
    """

    _parameter_constraints = {
        "layers": [tuple, list],
        "scales": [tuple, list],
        "highpass": [Interval(Real, 0, None, closed="neither"), None],
        "rectify": [StrOptions({"relu", "abs"})],
        "crop_size": [Interval(Integral, 16, None, closed="left")],
        "n_filters": [Interval(Integral, 1, None, closed="left")],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "augment": [tuple, list, None],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "crops_per_epoch": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
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
        layers=(1, 3),
        scales=(1, 2),
        highpass=4.0,
        rectify="relu",
        crop_size=32,
        n_filters=8,
        latent_dim=64,
        augment=AUGMENTATIONS,
        learning_rate=2e-4,
        max_iter=20,
        crops_per_epoch=512,
        batch_size=32,
        device="cpu",
        warm_start=False,
        callbacks=None,
        verbose=0,
        random_state=None,
        channels=None,
        channel_names=None,
        n_jobs=None,
    ):
        self.layers = layers
        self.scales = scales
        self.highpass = highpass
        self.rectify = rectify
        self.crop_size = crop_size
        self.n_filters = n_filters
        self.latent_dim = latent_dim
        self.augment = augment
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.crops_per_epoch = crops_per_epoch
        self.batch_size = batch_size
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
        n_layers = len(LAYER_STRIDES)
        if (
            not self.layers
            or len(set(self.layers)) != len(self.layers)
            or not all(_is_int(i) and 0 <= i < n_layers for i in self.layers)
        ):
            raise ValueError(
                f"layers must be a non-empty sequence of distinct layer indices "
                f"from 0 to {n_layers - 1}; got layers={self.layers!r}."
            )
        if (
            not self.scales
            or len(set(self.scales)) != len(self.scales)
            or not all(_is_int(s) and s >= 1 for s in self.scales)
        ):
            raise ValueError(
                f"scales must be a non-empty sequence of distinct positive "
                f"integers; got scales={self.scales!r}."
            )
        if self.crop_size & (self.crop_size - 1):
            raise ValueError(
                f"crop_size must be a power of two (16, 32, 64, ...); got "
                f"{self.crop_size}."
            )
        unknown = [a for a in self.augment or () if a not in AUGMENTATIONS]
        if unknown or isinstance(self.augment, str):
            raise ValueError(
                f"augment must be a sequence of {list(AUGMENTATIONS)} or None; got "
                f"augment={self.augment!r}."
            )
        for i, callback in enumerate(self.callbacks or ()):
            if not isinstance(callback, Callback):
                raise TypeError(
                    f"callbacks[{i}] is a {type(callback).__name__}; expected a "
                    f"semiseg_sk.features.Callback (subclass it and override the "
                    f"hooks you need)."
                )

    # -- fitting ------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the GAN on random crops of all images.

        Parameters
        ----------
        {regions}
        y : None
            Ignored: the GAN learns from labeled and unlabeled images alike.
            Accepted so the step fits inside a Pipeline.

        Returns
        -------
        self : GANFeatures
            The fitted step.
        """
        self._check_params()
        torch = import_torch()
        continuing = self.warm_start and hasattr(self, "module_")
        previous = self._n_selected_channels() if continuing else None
        X = self._check_fit_input(X)
        if continuing and previous != self._n_selected_channels():
            raise ValueError(
                f"warm_start=True but X has {self._n_selected_channels()} "
                f"channel(s) selected; the "
                f"first fit had {previous}. Use warm_start=False to train new "
                f"networks."
            )
        rng = check_random_state(self.random_state)
        device = resolve_device(self.device)
        seed = draw_seed(rng)
        generator = torch.Generator().manual_seed(seed)
        images = [r.image for r in self._selected(X)]
        if not continuing:
            self.input_scale_ = fit_input_scale(
                images,
                rng,
                crop_size=self.crop_size,
                scales=self.scales,
                highpass=self.highpass,
            )
            self._fitted_shape = (self.crop_size, self.n_filters, self.latent_dim)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self.module_ = self._build_module()
            self.history_ = []
        elif self._fitted_shape != (self.crop_size, self.n_filters, self.latent_dim):
            raise ValueError(
                "warm_start=True but crop_size, n_filters or latent_dim changed "
                "since the first fit; use warm_start=False to train new networks."
            )
        self.module_.to(device)
        self.device_ = device

        def crops():
            batch = sample_crops(
                images,
                self.crops_per_epoch,
                rng,
                crop_size=self.crop_size,
                scales=self.scales,
                input_scale=self.input_scale_,
                highpass=self.highpass,
            )
            return torch.from_numpy(batch)

        callbacks = list(self.callbacks or ())
        if self.verbose:
            callbacks.append(GANProgressBar(desc="gan"))
        with torch_threads(1):
            GANTrainingLoop(self, crops, generator, callbacks).run()
        # transform follows the parameters of the fit, whatever set_params
        # changes later.
        self._maps_spec = (
            tuple(self.layers),
            tuple(self.scales),
            self.highpass,
            self.rectify,
        )
        names = self.get_pixel_feature_names_out()
        self.block_feature_names_ = [
            f"{n}_{stat}" for stat in ("mean", "std") for n in names
        ]
        self.n_features_out_ = len(self.block_feature_names_)
        return self

    def _build_module(self):
        crop_size, n_filters, latent_dim = self._fitted_shape
        return build_gan(self._n_selected_channels(), crop_size, n_filters, latent_dim)

    # -- inference ----------------------------------------------------------

    def _extractor(self):
        layers, scales, highpass, rectify = self._maps_spec
        return MapExtractor(
            self.module_["discriminator"],
            layers,
            scales,
            self.input_scale_,
            highpass,
            rectify,
            self.device_,
        )

    def get_pixel_feature_names_out(self):
        """Names of the channels of :meth:`pixel_features`.

        Returns
        -------
        names : ndarray of str
            ``gan_s<scale>_l<layer>_<channel>`` for every scale, layer
            and channel, in the order of the maps.
        """
        check_is_fitted(self)
        channels = layer_channels(self._fitted_shape[1])
        layers, scales, _, _ = self._maps_spec
        return np.asarray(
            [
                f"gan_s{s}_l{layer}_{c}"
                for s in scales
                for layer in layers
                for c in range(channels[layer])
            ],
            dtype=object,
        )

    def pixel_features(self, image):
        """The rectified discriminator maps of one image, at pixel resolution.

        Parameters
        ----------
        image : ndarray of shape (H, W) or (H, W, C), or Regions
            One image with the channels seen at fit (a Regions object gives
            its image).

        Returns
        -------
        maps : ndarray of shape (H, W, n_maps) of float32
            One channel per name of :meth:`get_pixel_feature_names_out`.
        """
        image = self._check_pixel_image(image)
        self.module_.eval()
        with _no_grad(), torch_threads(1):
            return self._extractor().pixel_maps(image)

    def transform(self, X):
        """Append the mean and standard deviation of every map over each region.

        Parameters
        ----------
        {regions}

        Returns
        -------
        regions : list of Regions
            New Regions objects whose features end with the
            ``n_features_out_`` columns of ``block_feature_names_``.
        """
        X = self._check_transform_input(X)
        self.module_.eval()
        extractor = self._extractor()

        def pooled(regions):
            with _no_grad(), torch_threads(1):
                mean, std = extractor.region_mean_std(regions)
            return np.hstack([mean, std])

        blocks = image_parallel(self.n_jobs, len(X), prefer="threads")(
            delayed(pooled)(r) for r in self._selected(X)
        )
        return [self._append_block(r, b) for r, b in zip(X, blocks)]

    def generate(self, n_samples=8, *, random_state=None):
        """Images drawn from the generator, in the units of the training images.

        Parameters
        ----------
        n_samples : int, default=8
            Number of images.
        random_state : int, RandomState instance or None, default=None
            Seeds the generator's noise.

        Returns
        -------
        images : ndarray of shape (n_samples, S, S) or (n_samples, S, S, C)
            Generated crops of side ``crop_size``, scaled back with
            ``input_scale_``.
        """
        check_is_fitted(self)
        torch = import_torch()
        seed = draw_seed(check_random_state(random_state))
        z = torch.randn(
            (n_samples, self._fitted_shape[2]),
            generator=torch.Generator().manual_seed(seed),
        )
        generator = self.module_["generator"]
        generator.eval()
        with _no_grad(), torch_threads(1):
            fake = generator(z.to(self.device_)).cpu().numpy()
        offset, scale = self.input_scale_
        images = fake.transpose(0, 2, 3, 1) * scale + offset
        return images[..., 0] if self._n_selected_channels() == 1 else images

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.device != "cpu"
        return tags


def _is_int(value):
    return isinstance(value, Integral) and not isinstance(value, bool)


def _no_grad():
    return import_torch().no_grad()
