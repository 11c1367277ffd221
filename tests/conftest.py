"""Fixtures every test package may ask for.

`postgres_dsn`: a throwaway PostgreSQL server for the whole session (`tests.pg`),
started on first use and stopped at the end; a test asking for it fails, never
skips, when the server cannot start, and the failure says what to install.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pg import PostgresUnavailable
from tests.stores import BACKEND, SERVER


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    try:
        yield SERVER.dsn()
    except PostgresUnavailable as exc:
        pytest.fail(f"the throwaway PostgreSQL server failed: {exc}", pytrace=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    SERVER.stop()


def pytest_report_header(config: pytest.Config) -> str:
    return f"store: {BACKEND} (TEST_STORE)"
