"""The import graph of the installed package: one floor per folder, no cycles.

- The base (`pyjaeger.*` outside `pyjaeger.cmd`) imports no component and not `pyjaeger.cmd`:
  it is what components stand on. `pyjaeger.__main__` is the door of `python -m pyjaeger` and
  belongs to the commands.
- The components import no command; `agent`, `collector` and `query` import one another not at all
  (they meet only in storage and the base), and storage imports none of them.
- No two modules import each other, directly or around a loop.

Every import counts: at module level, inside functions and under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOTS = ("pyjaeger", "pyjaeger.agent", "pyjaeger.collector", "pyjaeger.query", "pyjaeger.storage")
COMPONENTS = ("agent", "collector", "query", "storage")
GENERATED = ("pyjaeger.idl.gen_thrift",)  # Apache Thrift's output: not ours to arrange


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for root in ROOTS:
        pkg = importlib.import_module(root)
        found[root] = Path(pkg.__file__ or "")
        for info in pkgutil.walk_packages(pkg.__path__, root + "."):
            if info.name.startswith(GENERATED) or info.name in found:
                continue
            spec = importlib.util.find_spec(info.name)
            assert spec is not None and spec.origin is not None, info.name
            found[info.name] = Path(spec.origin)
    return found


MODULES = _modules()


def _targets(name: str, path: Path) -> Iterator[str]:
    """The modules of ours that `name` imports, each named once."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bases = [alias.name for alias in node.names]
            names: list[str] = []
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                bases = [f"{base}.{node.module}" if node.module else base]
            else:
                bases = [node.module or ""]
            names = [alias.name for alias in node.names]
        else:
            continue
        for base in bases:
            if not base.startswith("pyjaeger"):
                continue
            submodules = [f"{base}.{n}" for n in names if f"{base}.{n}" in MODULES]
            if submodules:
                yield from submodules
                continue
            while base and base not in MODULES:
                base = base.rpartition(".")[0]
            if base:
                yield base


GRAPH = {name: sorted(set(_targets(name, path)) - {name}) for name, path in MODULES.items()}


def _floor(module: str) -> str:
    """cmd, one of COMPONENTS, or base."""
    if module == "pyjaeger.__main__" or module == "pyjaeger.cmd" or module.startswith("pyjaeger.cmd."):
        return "cmd"
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in COMPONENTS:
        return parts[1]
    return "base"


def _violations(graph: dict[str, list[str]]) -> list[str]:
    out = []
    for module, targets in graph.items():
        floor = _floor(module)
        for target in targets:
            to = _floor(target)
            if floor == "cmd" or to == floor or to == "base":
                continue
            if to == "cmd":
                out.append(f"{module} ({floor}) imports the commands: {target}")
            elif floor == "base":
                out.append(f"{module} (base) imports a component: {target}")
            elif to != "storage" or floor == "storage":
                out.append(f"{module} ({floor}) imports {to}: {target}")
    return sorted(out)


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                out.append(sorted(scc))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_covers_the_package() -> None:
    # A broken walk would make the checks below pass on nothing.
    assert len(MODULES) > 120
    for expected in ("pyjaeger.cmd.app", "pyjaeger.codecs.otlp", "pyjaeger.storage.sqlite.store"):
        assert expected in GRAPH
    assert "pyjaeger.collector.processor" in GRAPH["pyjaeger.cmd.app"]
    # function-level imports are seen too
    assert "pyjaeger.storage.elasticsearch.rollover" in GRAPH["pyjaeger.cmd.es_rollover"]


def test_each_folder_is_one_floor() -> None:
    assert _violations(GRAPH) == []


def test_no_import_cycles() -> None:
    assert _cycles(GRAPH) == []


@pytest.mark.parametrize(
    ("edge", "complaint"),
    [
        (("pyjaeger.model", "pyjaeger.storage.base"), "pyjaeger.model (base) imports a component"),
        (("pyjaeger.codecs.otlp", "pyjaeger.cmd.flags"), "pyjaeger.codecs.otlp (base) imports the commands"),
        (("pyjaeger.collector.processor", "pyjaeger.cmd.app"), "imports the commands"),
        (("pyjaeger.query.service", "pyjaeger.collector.processor"), "(query) imports collector"),
        (("pyjaeger.agent.udp", "pyjaeger.query.params"), "(agent) imports query"),
        (("pyjaeger.storage.base", "pyjaeger.collector.config"), "(storage) imports collector"),
    ],
)
def test_the_floor_check_bites(edge: tuple[str, str], complaint: str) -> None:
    source, target = edge
    graph = {**GRAPH, source: [*GRAPH[source], target]}
    found = _violations(graph)
    assert any(complaint in line and target in line for line in found), found


def test_the_cycle_check_bites() -> None:
    # storage.base already imports model: model importing storage.base closes a loop.
    graph = {**GRAPH, "pyjaeger.model": [*GRAPH["pyjaeger.model"], "pyjaeger.storage.base"]}
    assert any({"pyjaeger.model", "pyjaeger.storage.base"} <= set(scc) for scc in _cycles(graph))
