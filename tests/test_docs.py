"""The code users copy from the README and the gallery must run."""

import re
import runpy
from pathlib import Path

import matplotlib
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("plot_*.py"))


def _python_blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.DOTALL)


def test_readme_quick_start_runs():
    (block,) = _python_blocks(ROOT / "README.md")
    namespace = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102
    assert len(namespace["masks"]) == len(namespace["data"].test_images)
    grid = namespace["grid"]
    assert set(grid.param_grid) <= set(namespace["seg"].get_params())


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_gallery_example_runs(script, monkeypatch):
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "show", lambda *a, **k: None)
    runpy.run_path(str(script), run_name="__main__")
    plt.close("all")
