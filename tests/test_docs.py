"""The code users copy from the README and the gallery must run."""

import re
import runpy
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from semiseg_sk.exceptions import UnseenClassWarning

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("plot_*.py"))


def _python_blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.DOTALL)


@pytest.mark.slow
def test_readme_quick_start_runs():
    pytest.importorskip("torch")
    (block,) = _python_blocks(ROOT / "README.md")
    namespace = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102
    assert len(namespace["masks"]) == len(namespace["data"].test_images)
    grid = namespace["grid"]
    assert set(grid.param_grid) <= set(namespace["seg"].get_params())


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_gallery_example_runs(script, monkeypatch):
    pytest.importorskip("torch")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "show", lambda *a, **k: None)
    runpy.run_path(str(script), run_name="__main__")
    plt.close("all")


DESIGN = ROOT.parent / "shared" / "DESIGN.md"


@pytest.mark.slow
def test_design_snippet_runs(tmp_path, monkeypatch):
    # DESIGN.md's public-API snippet, unchanged, on small images: its names
    # are a contract that users and benchmarks depend on.
    if not DESIGN.is_file():
        pytest.skip(f"{DESIGN} is not beside this checkout")
    pytest.importorskip("torch")
    import joblib
    from sklearn.model_selection import GridSearchCV

    from semiseg_sk.datasets import make_scribbled_dataset

    (block,) = _python_blocks(DESIGN)
    data = make_scribbled_dataset(
        n_labeled=3, n_unlabeled=2, n_test=1, size=48, random_state=0
    )
    image = data.images[0]
    namespace = {
        "GridSearchCV": GridSearchCV,
        "joblib": joblib,
        "image": image,
        "segments": np.arange(image.size).reshape(image.shape) // 200,
        "images": data.images,
        "labels": data.labels,
        "new_images": data.test_images,
        "test_images": data.test_images,
        "test_labels": data.test_truths,
    }
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenClassWarning)
        exec(compile(block, str(DESIGN), "exec"), namespace)  # noqa: S102
    assert len(namespace["masks"]) == len(data.test_images)
    assert (tmp_path / "model.joblib").is_file()
