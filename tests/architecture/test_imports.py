"""The import walls: the checker on planted trees first, then the product itself.

A planted tree is a small fake checkout in `tmp_path`: a clean one passes every
contract, and each planted crossing is reported with its file, its line and the
contract it breaks. The last tests hold the contracts on this checkout.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest

from tests.architecture.imports import (
    Tree,
    Violation,
    check_api_reach,
    check_database_drivers,
    check_model_stands_alone,
    check_module_cycles,
    check_no_async_library,
    check_package_cycles,
    check_sql_text,
    scan,
)

ROOT = Path(__file__).resolve().parents[2]

CLEAN = {
    "run.py": "from engine.gateway import Gateway\n",
    "engine/__init__.py": "",
    "engine/model.py": '''
        """Ids and statuses. The store runs SELECT and INSERT INTO behind named operations."""
        from enum import StrEnum
    ''',
    "engine/clock.py": "import trio\n",
    "engine/gateway.py": """
        from engine.dispatch.dispatcher import Dispatcher
        from engine.store import Store
        REFUSED = "Sélectionnez un compte : la mise à jour du solde a échoué, supprimez le brouillon."
    """,
    "engine/smpp/__init__.py": "from .codec import decode\n",
    "engine/smpp/codec.py": "import struct\nfrom engine.smpp.pdu import Pdu\n",
    "engine/smpp/pdu.py": "from dataclasses import dataclass\n",
    "engine/accounts/__init__.py": "",
    "engine/accounts/state.py": "from engine.model import AccountType\n",
    "engine/accounts/actor.py": "import trio\nfrom engine.accounts.state import Ledger\n",
    "engine/dispatch/__init__.py": "",
    "engine/dispatch/dispatcher.py": """
        import trio
        from ..accounts import actor
        from . import throttle
    """,
    "engine/dispatch/throttle.py": "from collections import deque\n",
    "engine/store/__init__.py": "from engine.store.store import Store\n",
    "engine/store/store.py": """
        import sqlite3
        import trio
        SCHEMA = "CREATE TABLE accounts (id INTEGER PRIMARY KEY)"
        def get(conn: Connection) -> None:
            conn.execute("SELECT id FROM accounts")
    """,
    "api/__init__.py": "",
    "api/app.py": """
        from engine.gateway import Gateway
        from engine.model import AccountType
        from engine import errors
    """,
    "engine/errors.py": "",
    "config/__init__.py": "",
    "smsc_sim/__init__.py": "",
    "smsc_sim/server.py": "from .connection import Connection\n",
    "smsc_sim/connection.py": "from smsc_sim import config\n",
    "smsc_sim/config.py": "",
}


def plant(root: Path, files: dict[str, str]) -> Tree:
    """Write `files` (path -> source) under `root` over the clean tree and scan it."""
    for name, source in {**CLEAN, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(source).lstrip("\n"), encoding="utf-8")
    return scan(root)


Check = Callable[[Tree], list[Violation]]
ALL_CHECKS: list[Check] = [
    check_no_async_library,
    check_database_drivers,
    check_sql_text,
    check_api_reach,
    check_package_cycles,
    check_module_cycles,
    check_model_stands_alone,
]


def report(violations: list[Violation]) -> str:
    return "\n".join(str(v) for v in violations)


# ---------------------------------------------------------------- the checker


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
def test_a_clean_planted_tree_passes(tmp_path: Path, check: Check) -> None:
    assert check(plant(tmp_path, {})) == []


def test_a_driver_imported_outside_the_store_is_named_with_its_line(tmp_path: Path) -> None:
    bad = "from __future__ import annotations\n\nimport sqlite3\n"
    violations = check_database_drivers(plant(tmp_path, {"engine/dispatch/bad.py": bad}))
    contract = "only engine.store imports a database driver"
    assert violations == [Violation("engine/dispatch/bad.py", 3, contract,
                                    "imports sqlite3; call a named operation of engine.store instead")]
    assert str(violations[0]).startswith(f"engine/dispatch/bad.py:3: {contract}: imports sqlite3")


def test_every_driver_is_held_even_inside_a_function(tmp_path: Path) -> None:
    tree = plant(tmp_path, {"engine/accounts/actor.py": """
        import trio
        def connect() -> None:
            import psycopg
            from psycopg_pool import AsyncConnectionPool
            from aiosqlite import connect
    """})
    found = [(v.path, v.line, v.detail.split(";")[0]) for v in check_database_drivers(tree)]
    assert found == [
        ("engine/accounts/actor.py", 3, "imports psycopg"),
        ("engine/accounts/actor.py", 4, "imports psycopg_pool"),
        ("engine/accounts/actor.py", 5, "imports aiosqlite"),
    ]


def test_sql_text_outside_the_store_is_named_with_its_line(tmp_path: Path) -> None:
    tree = plant(tmp_path, {"engine/accounts/actor.py": '''
        """Owns one account. Prose may say SELECT in a docstring."""
        import trio
        REMEMBER = (
            "INSERT INTO idempotency (account_id, key)"
            " VALUES (?, ?)"
        )
        def job(table: str) -> str:
            return f"UPDATE {table} SET solde = ?"
        PURGE = """DELETE
            FROM idempotency"""
    '''})
    violations = check_sql_text(tree)
    assert [(v.path, v.line, v.contract) for v in violations] == [
        ("engine/accounts/actor.py", 4, "only engine.store holds SQL text"),
        ("engine/accounts/actor.py", 8, "only engine.store holds SQL text"),
        ("engine/accounts/actor.py", 9, "only engine.store holds SQL text"),
    ]
    assert "INSERT INTO idempotency" in violations[0].detail


@pytest.mark.parametrize("text", [
    "Sélectionnez le compte à débiter",
    "Mise à jour du solde impossible : update refusée",
    "select a file, then insert into the list",
    "SELECTION DES DESTINATAIRES",
    "Supprimer (DELETE) le brouillon",
])
def test_french_and_english_ui_text_is_not_sql(tmp_path: Path, text: str) -> None:
    tree = plant(tmp_path, {"api/app.py": f"from engine.gateway import Gateway\nMESSAGE = {text!r}\n"})
    assert check_sql_text(tree) == []


def test_a_trio_import_in_the_sans_io_codec_fails(tmp_path: Path) -> None:
    tree = plant(tmp_path, {"engine/smpp/pdu.py": "from dataclasses import dataclass\nimport trio\n"})
    assert check_no_async_library(tree) == [
        Violation("engine/smpp/pdu.py", 2, "sans-IO and pure cores import no trio", "imports trio"),
    ]


def test_trio_reached_through_another_module_is_traced_to_its_import(tmp_path: Path) -> None:
    tree = plant(tmp_path, {"engine/accounts/state.py": """
        from typing import TYPE_CHECKING
        from engine.model import AccountType
        if TYPE_CHECKING:
            from engine.clock import now
    """})
    violations = check_no_async_library(tree)
    assert [(v.path, v.line) for v in violations] == [("engine/accounts/state.py", 4)]
    assert violations[0].detail == "imports engine.clock, which reaches trio: engine/clock.py:1 imports trio"


def test_a_pure_core_added_later_under_a_covered_path_is_held(tmp_path: Path) -> None:
    tree = plant(tmp_path, {
        "engine/model/__init__.py": "",
        "engine/model/sends.py": "def later() -> None:\n    from trio import lowlevel\n",
        "engine/dispatch/policies/__init__.py": "",
        "engine/dispatch/policies/pacing.py": "import trio\n",
    })
    assert [(v.path, v.line, v.detail) for v in check_no_async_library(tree)] == [
        ("engine/dispatch/policies/pacing.py", 1, "imports trio"),
        ("engine/model/sends.py", 2, "imports trio"),
    ]


def test_a_two_package_cycle_names_both_imports(tmp_path: Path) -> None:
    tree = plant(tmp_path, {"engine/accounts/actor.py": """
        import trio
        from engine.accounts.state import Ledger
        from ..dispatch.dispatcher import Dispatcher
    """})
    violations = check_package_cycles(tree)
    assert [(v.path, v.line) for v in violations] == [
        ("engine/accounts/actor.py", 3),
        ("engine/dispatch/dispatcher.py", 2),
    ]
    assert all(v.contract == "no import cycle between packages" for v in violations)
    assert violations[0].detail == (
        "engine.accounts imports engine.dispatch.dispatcher (engine.dispatch); "
        "cycle engine.accounts <-> engine.dispatch"
    )


def test_a_cycle_through_the_facade_module_counts(tmp_path: Path) -> None:
    tree = plant(tmp_path, {
        "engine/campaigns/__init__.py": "",
        "engine/campaigns/facade.py": """
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                from engine.gateway import Gateway
        """,
        "engine/gateway.py": "from engine.campaigns.facade import Campaigns\n",
    })
    assert {(v.path, v.line) for v in check_package_cycles(tree)} == {
        ("engine/campaigns/facade.py", 3), ("engine/gateway.py", 1),
    }


def test_a_module_cycle_inside_the_simulator_fails(tmp_path: Path) -> None:
    tree = plant(tmp_path, {"smsc_sim/config.py": "from .server import Simulator\n"})
    violations = check_module_cycles(tree)
    assert {(v.path, v.line) for v in violations} == {
        ("smsc_sim/config.py", 1), ("smsc_sim/connection.py", 1), ("smsc_sim/server.py", 1),
    }
    assert "cycle smsc_sim.config <-> smsc_sim.connection <-> smsc_sim.server" in violations[0].detail


def test_api_reaching_past_the_facade_is_named(tmp_path: Path) -> None:
    routes = "from engine.store.store import Store\nfrom engine.gateway import Gateway\n"
    tree = plant(tmp_path, {"api/routes.py": routes})
    assert check_api_reach(tree, allowed=("engine.gateway", "engine.model", "engine.errors")) == [
        Violation("api/routes.py", 1, "api reaches the engine only through the facade and the domain model",
                  "imports engine.store.store, which is not in API_MAY_IMPORT "
                  "(tests/architecture/imports.py)"),
    ]


def test_api_may_use_the_domain_model_and_not_the_store_engine(tmp_path: Path) -> None:
    tree = plant(tmp_path, {
        "engine/model/__init__.py": "",
        "engine/model/sends.py": "",
        "engine/store/store.py": "import trio\n",
        "api/views.py": "from engine.model.sends import Accepted\nfrom engine.store import store\n",
    })
    assert [(v.path, v.line) for v in check_api_reach(tree)] == [("api/views.py", 2)]


def test_the_domain_model_importing_the_engine_or_a_third_party_is_named(tmp_path: Path) -> None:
    tree = plant(tmp_path, {
        "engine/model/__init__.py": "from engine.model.sends import Accepted\n",
        "engine/model/sends.py": """
            from dataclasses import dataclass
            from engine.model import vocabulary
            from engine.store.store import Store
            import attrs
            from engine import errors
        """,
        "engine/model/vocabulary.py": "from enum import StrEnum\n",
    })
    contract = "the domain model imports nothing of the engine's"
    assert check_model_stands_alone(tree) == [
        Violation("engine/model/sends.py", 3, contract, "imports engine.store.store"),
        Violation("engine/model/sends.py", 4, contract, "imports attrs"),
        Violation("engine/model/sends.py", 5, contract, "imports engine.errors"),
    ]


# ---------------------------------------------------------------- the product


@pytest.fixture(scope="module")
def product() -> Tree:
    return scan(ROOT)


def test_the_scan_sees_the_whole_product(product: Tree) -> None:
    seen = {"run", "engine.gateway", "engine.smpp.codec", "api.app", "config.settings", "smsc_sim.server"}
    assert seen <= set(product.modules)


def test_sans_io_packages_and_pure_cores_import_no_trio(product: Tree) -> None:
    violations = check_no_async_library(product)
    assert not violations, report(violations)


def test_only_the_store_imports_a_database_driver(product: Tree) -> None:
    violations = check_database_drivers(product)
    assert not violations, report(violations)


def test_only_the_store_holds_sql_text(product: Tree) -> None:
    violations = check_sql_text(product)
    assert not violations, report(violations)


def test_api_reaches_the_engine_only_through_the_facade_and_the_model(product: Tree) -> None:
    violations = check_api_reach(product)
    assert not violations, report(violations)


def test_no_import_cycle_between_packages(product: Tree) -> None:
    violations = check_package_cycles(product)
    assert not violations, report(violations)


def test_no_import_cycle_between_the_simulator_modules(product: Tree) -> None:
    violations = check_module_cycles(product)
    assert not violations, report(violations)


def test_the_domain_model_imports_nothing_of_the_engines(product: Tree) -> None:
    violations = check_model_stands_alone(product)
    assert not violations, report(violations)
