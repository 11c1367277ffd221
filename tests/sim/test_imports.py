"""The simulator's modules import one another in one direction only.

Every import counts: at module level, inside functions and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from pathlib import Path

import smsc_sim

PACKAGE = "smsc_sim"
ROOT = Path(smsc_sim.__file__).parent
PURE = ("behaviour", "config", "knobs", "stats")
IO_MODULES = frozenset({"trio", "hypercorn", "socket", "asyncio"})


def _imports(source: str) -> tuple[set[str], set[str]]:
    """(sibling modules, top-level outside modules) that `source` imports anywhere."""
    siblings: set[str] = set()
    outside: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 1:
                if module:
                    siblings.add(module.split(".")[0])
                else:
                    siblings.update(alias.name for alias in node.names)
            elif node.level == 0 and module == PACKAGE:
                siblings.update(alias.name for alias in node.names)
            elif node.level == 0 and module.startswith(PACKAGE + "."):
                siblings.add(module.split(".")[1])
            elif node.level == 0:
                outside.add(module.split(".")[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + "."):
                    siblings.add(alias.name.split(".")[1])
                else:
                    outside.add(alias.name.split(".")[0])
    return siblings, outside


def _graph() -> dict[str, tuple[set[str], set[str]]]:
    modules = {path.stem: path for path in ROOT.glob("*.py")}
    graph: dict[str, tuple[set[str], set[str]]] = {}
    for name, path in modules.items():
        siblings, outside = _imports(path.read_text(encoding="utf-8"))
        graph[name] = ({s for s in siblings if s in modules and s != name}, outside)
    return graph


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path of module names, or None."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return path[path.index(name) :] + [name]
        if name in done:
            return None
        for following in sorted(edges[name]):
            found = visit(following, path + [name])
            if found is not None:
                return found
        done.add(name)
        return None

    for start in sorted(edges):
        found = visit(start, [])
        if found is not None:
            return found
    return None


def test_no_import_cycle_between_simulator_modules() -> None:
    edges = {name: siblings for name, (siblings, _) in _graph().items()}
    assert "connection" in edges and "server" in edges
    assert _cycle(edges) is None, " -> ".join(_cycle(edges) or [])


def test_the_checker_finds_a_planted_cycle() -> None:
    siblings, _ = _imports(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from .server import Simulator\n"
        "def f():\n    from smsc_sim import control\n"
    )
    assert siblings == {"server", "control"}
    edges = {"server": {"connection"}, "connection": {"receipts"}, "receipts": {"server"}}
    assert _cycle(edges) == ["connection", "receipts", "server", "connection"]


def test_decisions_and_records_import_no_io() -> None:
    graph = _graph()
    for name in PURE:
        siblings, outside = graph[name]
        assert not outside & IO_MODULES, name
        assert siblings <= set(PURE), name
