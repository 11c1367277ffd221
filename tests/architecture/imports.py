"""The product's import walls, read from its source with the standard library's `ast`.

`scan(root)` parses every module under `engine/`, `api/`, `config/`, `smsc_sim/`,
`smsgw_cli/`, `devcluster/` and `run.py` (nothing is imported or executed) and
records each import with its line:
top-level ones, those inside functions and those under `if TYPE_CHECKING:` alike,
relative ones resolved against their package. Each `check_*` function holds one
contract over that picture and returns its violations; an empty list means the wall
stands. A violation names the file, the line and the contract it breaks.

The lists of modules a contract covers are the constants below; globs are allowed and
a path that does not exist (yet) is skipped, so a module added later under a covered
path is held as soon as it exists.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SOURCES = ("engine", "api", "config", "smsc_sim", "smsgw_cli", "devcluster", "run.py")
"""What the product is made of, relative to the project root."""

SANS_IO = ("engine/smpp/**/*.py", "engine/text/**/*.py")
"""The protocol and text packages: bytes and strings in and out, no event loop."""

PURE_CORES = (
    "engine/errors.py",
    "engine/model/**/*.py",
    "engine/accounts/state.py",
    "engine/campaigns/planner.py",
    "engine/campaigns/model.py",
    "engine/campaigns/plan.py",
    "engine/dispatch/throttle.py",
    "engine/dispatch/policy.py",
    "engine/dispatch/policies.py",
    "engine/dispatch/policy/**/*.py",
    "engine/dispatch/policies/**/*.py",
)
"""Decisions as functions of their inputs: the domain model, the ledger's transitions,
the campaign planner, a campaign's calendar and plan, the pacing buckets and the
sender's policies. Not listed: `engine/clock.py` (maps trio's clock to wall time,
trio by design)."""

NO_TRIO = SANS_IO + PURE_CORES

ASYNC_LIBRARIES = frozenset({"trio"})

STORE = "engine/store"
"""The one package that owns the database: its driver and its SQL text."""

DATABASE_DRIVERS = frozenset({"sqlite3", "psycopg", "psycopg2", "psycopg_pool", "aiosqlite"})

SQL = re.compile(
    r"\b(SELECT\b|INSERT\s+(OR\s+[A-Z]+\s+)?INTO|REPLACE\s+INTO|UPDATE\s+\w+\s+SET"
    r"|DELETE\s+FROM|(CREATE|ALTER|DROP)\s+(TABLE|INDEX|VIEW|TRIGGER)|PRAGMA\s+\w+)"
)
"""SQL keywords as a query writes them: upper case (French or English prose never
writes `SELECT` or `DELETE FROM` in capitals)."""

API = "api"

API_MAY_IMPORT = (
    "engine.gateway",  # the facade: the one object api/ talks to
    "engine.gateway.*",  # the facade's own modules
    "engine.model",  # the shared domain model: every name api/ shows or hands over
    "engine.model.*",
    "engine.errors",  # domain errors, mapped to HTTP answers in api/
)
"""Every engine module `api/` may import: the facade, the domain model (records,
vocabulary, and the pure helpers the API shares with the engine: `iso`, an API key's
digest, the token bucket) and the domain errors. The list is the contract: it only
shrinks."""

CLI = "smsgw_cli"
"""The `smsgw` command: a client of the gateway's public HTTP API, like any integrator."""

MODEL = "engine/model"
"""The domain model: the standard library and its own modules, nothing else."""

SPLIT_PACKAGES = ("engine",)
"""Each sub-package of these (`engine.dispatch`, `engine.store`...) is one unit of the
package graph, and so is each module directly inside them (`engine.gateway`); any
other top-level package (`api`, `config`, `smsc_sim`) or module (`run`) is one unit."""

MODULE_ACYCLIC = ("smsc_sim",)
"""Packages whose modules must not import each other in a cycle."""


@dataclass(frozen=True, slots=True)
class Import:
    """One import: `target` is the absolute dotted module it loads."""

    target: str
    line: int
    base: str = ""


@dataclass(slots=True)
class Module:
    """A parsed source file: its dotted name, its path and what it imports."""

    name: str
    path: Path
    relpath: str
    is_package: bool
    imports: list[Import] = field(default_factory=list)
    strings: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken wall: where it is broken, which contract, and what was found."""

    path: str
    line: int
    contract: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.contract}: {self.detail}"


@dataclass(slots=True)
class Tree:
    """Every product module of one checkout, by dotted name."""

    root: Path
    modules: dict[str, Module]

    def project_target(self, target: str) -> str | None:
        """The longest prefix of `target` that is a product module, or None."""
        parts = target.split(".")
        for end in range(len(parts), 0, -1):
            name = ".".join(parts[:end])
            if name in self.modules:
                return name
        return None

    def matching(self, patterns: Iterable[str]) -> list[Module]:
        """The modules whose files match `patterns` (globs relative to the root)."""
        paths: set[Path] = set()
        for pattern in patterns:
            paths.update(p.resolve() for p in self.root.glob(pattern) if p.is_file())
        return sorted((m for m in self.modules.values() if m.path.resolve() in paths),
                      key=lambda m: m.relpath)


def scan(root: Path) -> Tree:
    """Parse the product under `root` (files only: nothing is imported)."""
    modules: dict[str, Module] = {}
    for path in _source_files(root):
        rel = path.relative_to(root)
        parts = list(rel.with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join(parts)
        module = Module(name, path, rel.as_posix(), is_package)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        module.imports = list(_imports(tree, module))
        module.strings = list(_strings(tree))
        modules[name] = module
    found = Tree(root, modules)
    for module in modules.values():
        # `from m import a, b` names module m twice: keep one import per module and line
        module.imports = list(dict.fromkeys(_to_module(found, imp) for imp in module.imports))
    return found


def _source_files(root: Path) -> Iterator[Path]:
    for entry in SOURCES:
        path = root / entry
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(tree: ast.AST, module: Module) -> Iterator[Import]:
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".") if package else []
                anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                base = ".".join([*anchor, base] if base else anchor)
            if base == "__future__":
                continue
            for alias in node.names:
                # `from pkg import name`: the module pkg.name if there is one, else pkg;
                # `_to_module` settles which once every file is known.
                name = f"{base}.{alias.name}" if alias.name != "*" else base
                yield Import(name, node.lineno, base)


def _to_module(tree: Tree, imp: Import) -> Import:
    """Product imports named by their module; anything else by the module written."""
    found = tree.project_target(imp.target)
    return Import(found if found is not None else imp.base, imp.line, imp.base)


def _strings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """String constants with their line, docstrings left out (they are prose);
    an f-string's holes read as a placeholder word."""
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    inside_fstring: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "x"
                for v in node.values
            )
            inside_fstring.update(id(v) for v in node.values)
            yield node.lineno, text
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in docstrings and id(node) not in inside_fstring):
            yield node.lineno, node.value


def _top(name: str) -> str:
    return name.partition(".")[0]


def _under(module: Module, folder: str) -> bool:
    return module.relpath == folder or module.relpath.startswith(folder.rstrip("/") + "/")


def _loaded_with(tree: Tree, name: str) -> list[str]:
    """What importing product module `name` runs first: its parent packages, then it."""
    parts = name.split(".")
    loaded = [".".join(parts[:end]) for end in range(1, len(parts) + 1)]
    return [n for n in loaded if n in tree.modules]


def check_no_async_library(tree: Tree, patterns: Sequence[str] = NO_TRIO) -> list[Violation]:
    """The sans-IO packages and the pure cores reach no trio, directly or through
    another product module (parent packages included, as Python loads them). A module
    reached through another held module is reported once, where trio is imported."""
    contract = "sans-IO and pure cores import no trio"
    reaches = _reaches_async(tree)
    held = tree.matching(patterns)
    guarded = {m.name for m in held}
    violations = []
    for module in held:
        for imp in module.imports:
            if _top(imp.target) in ASYNC_LIBRARIES:
                violations.append(Violation(module.relpath, imp.line, contract,
                                            f"imports {imp.target}"))
            elif imp.target in tree.modules:
                for loaded in _loaded_with(tree, imp.target):
                    chain = reaches.get(loaded)
                    if loaded in guarded:
                        continue  # reported where it imports trio itself
                    if chain is not None:
                        via = " -> ".join(chain)
                        violations.append(Violation(
                            module.relpath, imp.line, contract,
                            f"imports {imp.target}, which reaches trio: {via}"))
                        break
    return violations


def _reaches_async(tree: Tree) -> dict[str, list[str]]:
    """For each product module that loads trio when imported, one chain that does it,
    ending with `path:line imports trio`."""
    chains: dict[str, list[str]] = {}
    for module in tree.modules.values():
        for imp in module.imports:
            if _top(imp.target) in ASYNC_LIBRARIES:
                chains[module.name] = [f"{module.relpath}:{imp.line} imports {imp.target}"]
                break
    changed = True
    while changed:
        changed = False
        for module in tree.modules.values():
            if module.name in chains:
                continue
            for imp in module.imports:
                if imp.target not in tree.modules:
                    continue
                hit = next((n for n in _loaded_with(tree, imp.target)
                            if n in chains and n != module.name), None)
                if hit is not None:
                    chains[module.name] = [f"{module.relpath}:{imp.line} imports {hit}", *chains[hit]]
                    changed = True
                    break
    return chains


def check_database_drivers(tree: Tree) -> list[Violation]:
    """Only `engine/store` imports a database driver."""
    contract = "only engine.store imports a database driver"
    return [
        Violation(module.relpath, imp.line, contract,
                  f"imports {imp.target}; call a named operation of engine.store instead")
        for module in sorted(tree.modules.values(), key=lambda m: m.relpath)
        if not _under(module, STORE)
        for imp in module.imports
        if _top(imp.target) in DATABASE_DRIVERS
    ]


def check_sql_text(tree: Tree) -> list[Violation]:
    """No module outside `engine/store` holds SQL text."""
    contract = "only engine.store holds SQL text"
    violations = []
    for module in sorted(tree.modules.values(), key=lambda m: m.relpath):
        if _under(module, STORE):
            continue
        for line, text in sorted(module.strings):
            match = SQL.search(text)
            if match is not None:
                excerpt = " ".join(text[match.start():].split())[:60]
                violations.append(Violation(
                    module.relpath, line, contract,
                    f"SQL {excerpt!r}; move the query into engine/store as a named operation"))
    return violations


def _allowed_for_api(target: str, allowed: Sequence[str]) -> bool:
    for entry in allowed:
        if entry.endswith(".*"):
            if target.startswith(entry[:-1]):
                return True
        elif target == entry:
            return True
    return False


def check_api_reach(tree: Tree, allowed: Sequence[str] = API_MAY_IMPORT) -> list[Violation]:
    """`api/` imports only the engine modules of `allowed` (the facade and the model)."""
    contract = "api reaches the engine only through the facade and the domain model"
    violations = []
    for module in sorted(tree.modules.values(), key=lambda m: m.relpath):
        if not _under(module, API):
            continue
        for imp in module.imports:
            if _top(imp.target) == "engine" and not _allowed_for_api(imp.target, allowed):
                violations.append(Violation(
                    module.relpath, imp.line, contract,
                    f"imports {imp.target}, which is not in API_MAY_IMPORT "
                    f"(tests/architecture/imports.py)"))
    return violations


def check_cli_over_http(tree: Tree) -> list[Violation]:
    """`smsgw_cli/` imports no other product module: it reaches the gateway only
    through its HTTP API, so it works against any gateway, local or remote."""
    contract = "the smsgw command reaches the gateway only over HTTP"
    return [
        Violation(module.relpath, imp.line, contract,
                  f"imports {imp.target}; call the gateway's REST API instead")
        for module in sorted(tree.modules.values(), key=lambda m: m.relpath)
        if _under(module, CLI)
        for imp in module.imports
        if imp.target in tree.modules and _top(imp.target) != CLI
    ]


def check_model_stands_alone(tree: Tree) -> list[Violation]:
    """`engine/model` imports only the standard library and its own modules."""
    contract = "the domain model imports nothing of the engine's"
    own = MODEL.replace("/", ".")
    violations = []
    for module in sorted(tree.modules.values(), key=lambda m: m.relpath):
        if not _under(module, MODEL):
            continue
        for imp in module.imports:
            if imp.target == own or imp.target.startswith(own + "."):
                continue
            if imp.target not in tree.modules and _top(imp.target) in sys.stdlib_module_names:
                continue
            violations.append(Violation(module.relpath, imp.line, contract, f"imports {imp.target}"))
    return violations


def unit_of(name: str) -> str:
    """The package-graph unit of product module `name`."""
    parts = name.split(".")
    if parts[0] in SPLIT_PACKAGES:
        return ".".join(parts[:2])
    return parts[0]


def check_package_cycles(tree: Tree) -> list[Violation]:
    """No cycle in the graph of units (`engine.accounts`, `engine.gateway`, `api`...)."""
    edges: dict[str, dict[str, tuple[str, int, str]]] = {}
    for module in tree.modules.values():
        source = unit_of(module.name)
        for imp in module.imports:
            if imp.target not in tree.modules:
                continue
            target = unit_of(imp.target)
            if target != source:
                edges.setdefault(source, {}).setdefault(
                    target, (module.relpath, imp.line, imp.target))
    return _cycles(edges, "no import cycle between packages")


def check_module_cycles(tree: Tree, packages: Sequence[str] = MODULE_ACYCLIC) -> list[Violation]:
    """No cycle between the modules of each package of `packages`."""
    edges: dict[str, dict[str, tuple[str, int, str]]] = {}
    for module in tree.modules.values():
        if _top(module.name) not in packages:
            continue
        for imp in module.imports:
            if imp.target in tree.modules and imp.target != module.name and (
                    _top(imp.target) == _top(module.name)):
                edges.setdefault(module.name, {}).setdefault(
                    imp.target, (module.relpath, imp.line, imp.target))
    return _cycles(edges, "no import cycle between modules of " + ", ".join(packages))


def _cycles(edges: dict[str, dict[str, tuple[str, int, str]]], contract: str) -> list[Violation]:
    """One violation per import that closes a cycle: every edge of every strongly
    connected component, so each import to cut is named."""
    violations = []
    for component in _strongly_connected(edges):
        members = set(component)
        ring = " <-> ".join(sorted(members))
        for source in sorted(members):
            for target, (path, line, imported) in sorted(edges.get(source, {}).items()):
                if target in members:
                    violations.append(Violation(
                        path, line, contract,
                        f"{source} imports {imported} ({target}); cycle {ring}"))
    return violations


def _strongly_connected(edges: dict[str, dict[str, tuple[str, int, str]]]) -> list[list[str]]:
    """Tarjan's components of more than one node, in a stable order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    nodes = sorted(set(edges) | {t for targets in edges.values() for t in targets})

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, {})):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in nodes:
        if node not in index:
            visit(node)
    return sorted(found)
