# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The ``channels`` and ``channel_names`` parameters of the image-level steps.

A step that computes features from the image (:class:`~semiseg_sk.Superpixels`,
:class:`~semiseg_sk.RegionStats`, the learned steps,
:class:`~semiseg_sk.PixelRefiner`) takes ``channels=None`` (all channels) or
a sequence of channel indices or names, and ``channel_names=None`` or one
name per channel of the images. The selection is resolved once at fit,
by :func:`resolve_channels`, into the fitted attributes ``channels_`` (the
indices) and ``channel_names_`` (their names, or None); the step then computes
on :func:`select_channels` of each image. The images passed on to the next
step keep all their channels.
"""

import copy
from numbers import Integral

import numpy as np

__all__ = [
    "CHANNEL_CONSTRAINTS",
    "channel_labels",
    "fill_channel_params",
    "has_channel_axis",
    "resolve_channels",
    "select_channels",
    "selected_regions",
]

# The _parameter_constraints entries of the two parameters.
CHANNEL_CONSTRAINTS = {
    "channels": ["array-like", None],
    "channel_names": ["array-like", None],
}


def has_channel_axis(image, ndim=2):
    """Whether the last axis of a checked image holds its channels.

    ``ndim`` is the number of spatial axes: 2 for images, 3 for volumes.
    """
    return image.ndim == ndim + 1


def _n_channels(image, ndim):
    return image.shape[-1] if has_channel_axis(image, ndim) else 1


def _check_names(channel_names, n_channels, where):
    """``channel_names`` as a tuple of str, one per channel, or an explanation."""
    names = list(channel_names)
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise TypeError(
            f"channel_names={list(channel_names)!r} has {bad[0]!r} of type "
            f"{type(bad[0]).__name__}; expected one str per channel."
        )
    if len(names) != n_channels:
        raise ValueError(
            f"channel_names has {len(names)} name(s) but {where} has "
            f"{n_channels} channel(s); expected one name per channel."
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(
            f"channel_names repeats {repeated}; expected a different name for "
            f"each channel."
        )
    return tuple(str(n) for n in names)


def _index(item, names, n_channels, where, channels):
    """The index of one entry of ``channels``."""
    if isinstance(item, str):
        if names is None:
            raise ValueError(
                f"channels={channels!r} names channel {item!r} but channel_names "
                f"is None; give channel_names (one name per channel of the "
                f"images) or select channels by index."
            )
        if item not in names:
            raise ValueError(
                f"channels={channels!r} names channel {item!r}, which is not "
                f"among channel_names={list(names)!r}."
            )
        return names.index(item)
    if isinstance(item, (bool, np.bool_)) or not isinstance(item, Integral):
        raise TypeError(
            f"channels={channels!r} has {item!r} of type {type(item).__name__}; "
            f"expected channel indices (int) or names (str)."
        )
    if not 0 <= item < n_channels:
        raise ValueError(
            f"channels={channels!r} selects channel {item} but {where} has "
            f"{n_channels} channel(s); expected indices from 0 to "
            f"{n_channels - 1}."
        )
    return int(item)


def resolve_channels(
    channels, channel_names, image, *, name="X", index=0, estimator=None, ndim=2
):
    """The channel indices and names that ``channels`` selects in ``image``.

    Parameters
    ----------
    channels : sequence of int or str, or None
        The step's ``channels`` parameter; None selects every channel.
    channel_names : sequence of str, or None
        The step's ``channel_names`` parameter: one name per channel.
    image : ndarray of shape (H, W[, C]) or (Z, Y, X[, C])
        A checked image or volume; every image of the list has its channel
        count.
    ndim : {2, 3}, default=2
        Number of spatial axes of ``image``: 3 for a volume.
    name : str, default="X"
        Name of the argument holding the images, used in errors.
    index : int, default=0
        Index of ``image`` in its list, used in errors.
    estimator : str, default=None
        Name of the step, put before the messages of errors.
    ndim : {2, 3}, default=2
        Number of spatial axes of ``image``: 3 for a (Z, Y, X[, C]) volume.

    Returns
    -------
    channels_ : tuple of int
        The selected channel indices, in the order given (``(0,)`` for a
        grey image or volume).
    channel_names_ : tuple of str or None
        Their names, when ``channel_names`` is given.

    Raises
    ------
    ValueError
        An index out of range, a name not in ``channel_names``, a channel
        selected twice, an empty selection, ``channels`` on a grey image, or
        ``channel_names`` of the wrong length.
    TypeError
        ``channels`` is not a sequence of int or str.

    Examples
    --------
    >>> import numpy as np
    >>> from semiseg_sk.utils._channels import resolve_channels
    >>> image = np.zeros((4, 4, 3))
    >>> resolve_channels([2, 0], None, image)
    ((2, 0), None)
    >>> resolve_channels(["dapi"], ["dapi", "gfp", "rfp"], image)
    ((0,), ('dapi',))
    """
    try:
        return _resolve(channels, channel_names, image, f"{name}[{index}]", ndim)
    except (TypeError, ValueError) as exc:
        if estimator is None:
            raise
        raise type(exc)(f"{estimator}: {exc}") from None


def _resolve(channels, channel_names, image, where, ndim):
    n_channels = _n_channels(image, ndim)
    names = None
    if channel_names is not None:
        names = _check_names(channel_names, n_channels, where)
    if channels is None:
        return tuple(range(n_channels)), names
    if isinstance(channels, (str, bytes)) or not hasattr(channels, "__len__"):
        raise TypeError(
            f"channels={channels!r}: expected None or a sequence of channel "
            f"indices or names, e.g. [{channels!r}]."
        )
    shown = list(channels)
    if not has_channel_axis(image, ndim):
        raise ValueError(
            f"channels={shown!r} but {where} is a grey image of shape "
            f"{image.shape} (no channel axis); expected channels=None for grey "
            f"images."
        )
    if not shown:
        raise ValueError(
            "channels is empty; expected None (all channels) or at least one "
            "channel index or name."
        )
    selected = tuple(_index(c, names, n_channels, where, shown) for c in shown)
    repeated = sorted({c for c in selected if selected.count(c) > 1})
    if repeated:
        raise ValueError(
            f"channels={shown!r} selects channel(s) {repeated} more than once; "
            f"expected each channel at most once."
        )
    return selected, None if names is None else tuple(names[c] for c in selected)


def select_channels(image, channels_, ndim=2):
    """The selected channels of one image; the image itself when all are.

    One selected channel gives a grey ``(H, W)`` image (a view), several an
    ``(H, W, k)`` copy in the order of ``channels_``; the same for a volume
    (``ndim=3``).
    """
    if channels_ is None or not has_channel_axis(image, ndim):
        return image
    channels_ = tuple(channels_)
    if channels_ == tuple(range(image.shape[-1])):
        return image
    if len(channels_) == 1:
        return image[..., channels_[0]]
    return image[..., list(channels_)]


def _selects_all(channels_, image, ndim):
    """Whether ``channels_`` keeps every channel of ``image`` (an array or handle)."""
    if channels_ is None or not has_channel_axis(image, ndim):
        return True
    return tuple(channels_) == tuple(range(image.shape[-1]))


class _SelectedChannels:
    """A lazy image whose ``load()`` reads ``source`` and keeps ``channels_``."""

    def __init__(self, source, channels_, ndim):
        self.source = source
        self.channels_ = tuple(channels_)
        self.spatial_ndim = ndim
        shape = tuple(source.shape[:ndim])
        if len(self.channels_) > 1:
            shape += (len(self.channels_),)
        self.shape, self.dtype = shape, source.dtype

    @property
    def ndim(self):
        return len(self.shape)

    def load(self):
        return select_channels(self.source.load(), self.channels_, self.spatial_ndim)


def selected_regions(X, channels_):
    """Shallow copies of the Regions of ``X`` whose images hold only ``channels_``.

    The copies share the region maps and features of ``X``; what a step
    appends goes to the Regions of ``X`` (whose images keep all channels).
    A Regions is passed as it is when every channel is selected, and the
    image of a lazy Regions stays lazy (its channels are selected at load).
    """
    out = []
    for regions in X:
        source = regions._image
        if _selects_all(channels_, source, regions.ndim):
            out.append(regions)
            continue
        view = copy.copy(regions)
        if isinstance(source, np.ndarray):
            view._image = select_channels(source, channels_, regions.ndim)
        else:
            view._image = _SelectedChannels(source, channels_, regions.ndim)
        out.append(view)
    return out


def channel_labels(channels_, channel_names_):
    """Labels of the selected channels in feature names: names, else ``ch{index}``."""
    if channel_names_ is not None:
        return list(channel_names_)
    return [f"ch{c}" for c in channels_]


def fill_channel_params(cls, state):
    """Give a pickled estimator saved before these parameters existed their defaults.

    ``state`` is the ``__dict__`` being restored by ``__setstate__``; an
    estimator of ``cls`` (whose ``__init__`` takes the parameters) without
    them computed from every channel, as ``channels=None`` does.
    """
    import inspect

    params = inspect.signature(cls.__init__).parameters
    for name in CHANNEL_CONSTRAINTS:
        if name in params and name not in state:
            state[name] = None
    return state
