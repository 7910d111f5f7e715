"""The layer picture of docs/architecture.md, enforced: import-linter's contracts (pyproject.toml,
[tool.importlinter]) and no import cycle among sse modules.

This is how `.ci/run` runs `lint-imports`: it is an ordinary test of the suite.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import grimp
from importlinter.cli import lint_imports

import sse

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"


def test_sse_is_this_checkout() -> None:
    """The contracts are checked on the code beside this test, not on another install."""
    assert Path(sse.__file__).resolve().parent == ROOT / "sse"


def test_import_contracts_kept() -> None:
    """`lint-imports`: layers only point down; executors never import the run layer or the graph;
    only the graph imports doit."""
    assert lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True) == 0


def _contract(contract_id: str) -> dict:
    contracts = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]
    return next(c for c in contracts if c["id"] == contract_id)


def test_executor_contract_names_every_layer_above_it() -> None:
    """Executors receive plain values: neither the run layer nor the graph."""
    assert set(_contract("executors")["forbidden_modules"]) == {"sse.run", "sse.graph"}


def test_every_package_is_in_a_layer() -> None:
    """A new top-level package must be placed in the picture, not left outside every contract."""
    layers = {name.strip("() ") for entry in _contract("layers")["layers"] for name in entry.split("|")}
    packages = {f"sse.{p.name}" for p in (ROOT / "sse").iterdir() if (p / "__init__.py").is_file()}
    modules = {f"sse.{p.stem}" for p in (ROOT / "sse").glob("*.py") if p.name != "__init__.py"}
    assert packages | modules <= layers, f"not in any layer: {sorted((packages | modules) - layers)}"


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    component.append(m)
                    if m == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_among_sse_modules() -> None:
    """Every import that runs (module level or inside a function; `if TYPE_CHECKING:` ones never
    run) forms no cycle, so each module can be understood from the ones below it."""
    graph = grimp.build_graph("sse", exclude_type_checking_imports=True, cache_dir=None)
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle() -> None:
    """The check above can fail: a two-module cycle added to a copy of the graph is reported."""
    graph = grimp.build_graph("sse", exclude_type_checking_imports=True, cache_dir=None)
    graph.add_import(importer="sse.core.errors", imported="sse.cli.main")
    assert any({"sse.core.errors", "sse.cli.main"} <= set(c) for c in _cycles(graph))
