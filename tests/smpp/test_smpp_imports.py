"""`engine.smpp` is sans-IO: its modules import the standard library and one another only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import engine.smpp

ROOT = Path(engine.smpp.__file__).parent
IO_MODULES = frozenset({"asyncio", "socket", "selectors", "ssl", "threading"})


def _outside_imports(source: str) -> set[str]:
    """Top-level names of the absolute imports anywhere in `source` (functions and
    TYPE_CHECKING blocks included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
    return names


def test_smpp_modules_import_only_the_standard_library() -> None:
    modules = sorted(ROOT.glob("*.py"))
    assert len(modules) > 5
    for path in modules:
        outside = _outside_imports(path.read_text(encoding="utf-8"))
        assert outside <= sys.stdlib_module_names, (path.name, outside - sys.stdlib_module_names)
        assert not outside & IO_MODULES, (path.name, outside & IO_MODULES)


def test_the_checker_sees_a_planted_trio_import() -> None:
    planted = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import trio.lowlevel\n"
    assert _outside_imports(planted) == {"typing", "trio"}
