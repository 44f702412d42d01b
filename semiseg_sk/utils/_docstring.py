# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Shared wording for parameters that many estimators take."""

_DOCS = {
    "random_state": """random_state : int, RandomState instance or None, default=None
        Controls the randomness of the estimator. Pass an int for results that
        are the same from run to run; torch seeds are derived from it.""",
    "n_jobs": """n_jobs : int, default=None
        Number of images processed in parallel. ``None`` means 1 unless in a
        :obj:`joblib.parallel_backend` context. ``-1`` means using all
        processors. Results do not depend on ``n_jobs``.""",
    "images": """X : list of ndarray of shape (H, W) or (H, W, C)
        Images, grey or with the channels last. uint8, uint16 and float
        images are accepted and images in one list may differ in size.""",
    "regions": """X : list of :class:`~semiseg_sk.Regions`
        One :class:`~semiseg_sk.Regions` per image, as returned by
        :class:`~semiseg_sk.Superpixels` or an earlier feature step.""",
    "labels": """y : list of ndarray of shape (H, W) of int, default=None
        Per-pixel labels of each image; ``-1`` marks unlabeled pixels and an
        image whose map is all ``-1`` is an unlabeled image.""",
}


class Substitution:
    """Fill ``{random_state}``-style fields of a docstring with shared text.

    The shared texts are indented for a class or function docstring whose
    parameters sit four spaces deep. Only the known ``{name}`` fields are
    replaced, so braces elsewhere in a docstring need no escaping.
    """

    def __init__(self, **params):
        self.params = {**_DOCS, **params}

    def __call__(self, obj):
        if obj.__doc__:
            doc = obj.__doc__
            for name, text in self.params.items():
                doc = doc.replace("{" + name + "}", text)
            obj.__doc__ = doc
        return obj


docstring = Substitution()
