"""Sphinx configuration of the semiseg_sk documentation."""

import os
import re
import sys
from datetime import date

sys.path.insert(0, os.path.abspath(".."))

import semiseg_sk  # noqa: E402

project = "semiseg_sk"
author = "The semiseg_sk developers"
copyright = f"{date.today().year}, {author}"
release = semiseg_sk.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
# scikit-learn's metadata-routing methods are generated per class and link
# into scikit-learn's own glossary: leave them out of our API pages.
_ROUTING = [
    "set_fit_request",
    "set_predict_request",
    "set_predict_proba_request",
    "set_score_request",
    "set_transform_request",
    "set_output",
]
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    "exclude-members": ",".join(_ROUTING),
}
numpydoc_show_class_members = False
templates_path = ["_templates"]
exclude_patterns = ["_build", "whats_new/v0.*.rst"]
html_theme = "alabaster"

intersphinx_mapping = {}  # offline builds: no inventories are fetched

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "reference_url": {"semiseg_sk": None},
}


def _unlink_sklearn_refs(app, what, name, obj, options, lines):
    """Inherited scikit-learn docstrings cite labels of scikit-learn's own docs
    (``:ref:`accuracy <accuracy_score>```), which an offline build cannot
    resolve: keep their text, drop the link."""
    if not getattr(obj, "__module__", "").startswith("sklearn"):
        return
    for i, line in enumerate(lines):
        lines[i] = re.sub(r":ref:`([^<`]+?)\s*<[^>`]+>`", r"\1", line)


def setup(app):
    app.connect("autodoc-process-docstring", _unlink_sklearn_refs)
