"""Fixtures every test package may ask for.

`postgres_dsn`: a throwaway PostgreSQL server for the whole session (`tests.pg`),
started on first use and stopped at the end; a test asking for it fails, never
skips, when the server cannot start, and the failure says what to install.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pg import PostgresUnavailable, running_postgres


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    try:
        with running_postgres() as dsn:
            yield dsn
    except PostgresUnavailable as exc:
        pytest.fail(f"the throwaway PostgreSQL server failed: {exc}", pytrace=False)
