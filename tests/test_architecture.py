"""The package's import graph: no cycle, and no module imports the package root.

Every import statement of every module counts, also those inside functions
(a function-local import that hides a cycle is still a cycle).
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "semiseg_sk"
ROOT = "semiseg_sk"


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py") if p.name != "_version.py"}


def _resolve(module, node):
    """Modules of the package that an Import / ImportFrom node refers to."""
    is_package = MODULES[module].name == "__init__.py"
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == ROOT]
    base = module if is_package else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        base = base.rpartition(".")[0]
    target = (
        (base + "." + node.module if node.module else base)
        if node.level
        else (node.module or "")
    )
    if target.split(".")[0] != ROOT:
        return []
    found = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        found.append(sub if sub in MODULES else target)
    return found


def _graph():
    graph = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        edges = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges.update(t for t in _resolve(module, node) if t != module)
        graph[module] = edges
    return graph


def test_the_graph_sees_the_whole_package():
    graph = _graph()
    assert {"semiseg_sk.pipeline", "semiseg_sk.labeling._classifier"} <= set(graph)
    assert "semiseg_sk._regions" in graph["semiseg_sk.base"]


def test_no_module_imports_the_package_root():
    offenders = sorted(
        m for m, edges in _graph().items() if ROOT in edges and m != ROOT
    )
    assert offenders == []


def test_import_graph_has_no_cycle():
    graph = _graph()
    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == [], " / ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize(
    "stage", ["superpixels", "features", "labeling", "refine", "io", "cli"]
)
def test_each_stage_is_a_subpackage(stage):
    assert (PACKAGE / stage / "__init__.py").is_file()
