"""Docstrings render as written: shared snippets are filled, and true where used."""

import importlib
import inspect
import re

import pytest

from semiseg_sk.features._torch import TorchModuleMixin
from semiseg_sk.utils._docstring import _DOCS, Substitution

PUBLIC_MODULES = [
    "semiseg_sk",
    "semiseg_sk.superpixels",
    "semiseg_sk.features",
    "semiseg_sk.labeling",
    "semiseg_sk.refine",
    "semiseg_sk.pipeline",
    "semiseg_sk.metrics",
    "semiseg_sk.model_selection",
    "semiseg_sk.datasets",
    "semiseg_sk.plotting",
    "semiseg_sk.io",
    "semiseg_sk.exceptions",
    "semiseg_sk.utils",
    "semiseg_sk.baselines",
]


def _public_objects():
    seen = {}
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                seen[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return sorted(seen.items())


def _docstrings(obj):
    """The docstring of obj and of the methods its class defines."""
    yield obj.__qualname__, obj.__doc__ or ""
    if inspect.isclass(obj):
        for name, member in vars(obj).items():
            if callable(member) and member.__doc__:
                yield f"{obj.__qualname__}.{name}", member.__doc__


OBJECTS = _public_objects()


def test_there_are_public_objects_to_check():
    names = [name for name, _ in OBJECTS]
    assert any(n.endswith("SparseLabelSpreading") for n in names)
    assert len(names) > 40


@pytest.mark.parametrize("name, obj", OBJECTS, ids=[n for n, _ in OBJECTS])
def test_no_unfilled_or_escaped_fields(name, obj):
    fields = re.compile(r"\{(" + "|".join(_DOCS) + r")\}")
    for where, doc in _docstrings(obj):
        assert "{{" not in doc and "}}" not in doc, where
        assert not fields.search(doc), where


@pytest.mark.parametrize("name, obj", OBJECTS, ids=[n for n, _ in OBJECTS])
def test_torch_is_mentioned_only_where_torch_is_used(name, obj):
    uses_torch = inspect.isclass(obj) and issubclass(obj, TorchModuleMixin)
    for where, doc in _docstrings(obj):
        if "torch seeds" in doc:
            assert uses_torch, where


def test_substitution_fills_known_fields_with_indentation():
    @Substitution(extra="extra : int\n    An extra parameter.")
    def f():
        """Summary.

        Parameters
        ----------
        {n_jobs}
        {extra}
        braces {like_these} stay
        """

    doc = f.__doc__
    assert "        n_jobs : int, default=None\n            Number of images" in doc
    assert "        extra : int\n            An extra parameter." in doc
    assert "braces {like_these} stay" in doc


def test_substitution_fills_the_methods_of_a_class():
    @Substitution()
    class Step:
        """Step.

        {random_state}
        """

        def fit(self):
            """Fit.

            {regions}
            """

    assert "random_state : int, RandomState instance" in Step.__doc__
    assert "X : list of Regions" in Step.fit.__doc__
