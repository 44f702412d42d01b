# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Shared wording for parameters that many estimators take."""

import re

# The first line of each text is the numpydoc "name : type" line; the lines
# after it are its description and are indented four spaces deeper wherever
# the text is placed.
_DOCS = {
    "random_state": [
        "random_state : int, RandomState instance or None, default=None",
        "Controls the randomness of the estimator. Pass an int for results that",
        "are the same from run to run.",
    ],
    "torch_random_state": [
        "random_state : int, RandomState instance or None, default=None",
        "Controls the randomness of the estimator. Pass an int for results that",
        "are the same from run to run; torch seeds are derived from it.",
    ],
    "n_jobs": [
        "n_jobs : int, default=None",
        "Number of images processed in parallel, never more than there are",
        "images. ``None`` means 1 unless in a :obj:`joblib.parallel_backend`",
        "context. ``-1`` means using all processors. Results do not depend on",
        "``n_jobs``.",
    ],
    "channels": [
        "channels : sequence of int or str, default=None",
        "The channels of the images that this step computes from, by index",
        "or by name (names need ``channel_names``), in the order given.",
        "None means every channel. Checked at fit and recorded in",
        "``channels_``; the images passed to the next step keep all their",
        "channels. Grey images take None only.",
    ],
    "channel_names": [
        "channel_names : sequence of str, default=None",
        "One name per channel of the images, so that ``channels`` can name",
        "them; the names also label the channels in feature names.",
    ],
    "channels_attribute": [
        "channels_ : tuple of int",
        "Indices of the channels the step computes from (``(0,)`` for grey",
        "images).",
    ],
    "channel_names_attribute": [
        "channel_names_ : tuple of str or None",
        "Names of those channels, when ``channel_names`` was given.",
    ],
    "images": [
        "X : list of ndarray of shape (H, W) or (H, W, C)",
        "Images, grey or with the channels last. uint8, uint16 and float",
        "images are accepted and images in one list may differ in size.",
    ],
    "regions": [
        "X : list of Regions",
        "One :class:`~semiseg_sk.Regions` object per image, as returned by",
        ":class:`~semiseg_sk.Superpixels` or an earlier feature step.",
    ],
    "labels": [
        "y : list of ndarray of shape (H, W) of int",
        "Per-pixel labels of each image; ``-1`` marks unlabeled pixels and an",
        "image whose map is all ``-1`` is an unlabeled image.",
    ],
}


class Substitution:
    """Fill ``{random_state}``-style fields in docstrings with shared text.

    A field stands alone on its line; the text is indented to match it.
    Applied to a class, it fills the class docstring and those of the methods
    the class defines. Only the known ``{name}`` fields are replaced, so braces
    elsewhere in a docstring need no escaping.
    """

    def __init__(self, **params):
        # A text may be given as one string; its first line is the
        # "name : type" line, the rest the description (any indentation).
        params = {
            name: [ln.strip() for ln in text.strip().splitlines()]
            if isinstance(text, str)
            else list(text)
            for name, text in params.items()
        }
        self.params = {**_DOCS, **params}

    def _fill(self, doc):
        for name, lines in self.params.items():
            pattern = re.compile(r"^([ \t]*)\{" + name + r"\}[ \t]*$", re.MULTILINE)

            def repl(match, lines=lines):
                indent = match.group(1)
                return "\n".join(
                    [indent + lines[0]] + [indent + "    " + ln for ln in lines[1:]]
                )

            doc = pattern.sub(repl, doc)
        return doc

    def __call__(self, obj):
        if obj.__doc__:
            obj.__doc__ = self._fill(obj.__doc__)
        if isinstance(obj, type):
            for attr in vars(obj).values():
                if callable(attr) and getattr(attr, "__doc__", None):
                    attr.__doc__ = self._fill(attr.__doc__)
        return obj


docstring = Substitution()
