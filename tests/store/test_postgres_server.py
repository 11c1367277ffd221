"""The tests' throwaway PostgreSQL server answers, and commits durably by default."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.pg import PostgresUnavailable, find_bin_dir, running_postgres


def test_the_tests_postgresql_answers_and_commits_synchronously_without_flushing(
    postgres_dsn: str,
) -> None:
    with psycopg.connect(postgres_dsn, autocommit=True, connect_timeout=10) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)
        assert conn.execute("SHOW fsync").fetchone() == ("off",)
        assert conn.info.server_version >= 150000


def test_a_durable_throwaway_server_flushes_at_commit() -> None:
    with running_postgres() as dsn, psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SHOW fsync").fetchone() == ("on",)
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)


def test_without_server_binaries_the_failure_says_what_to_install(tmp_path: Path) -> None:
    (tmp_path / "14" / "bin").mkdir(parents=True)  # an old or half-installed version
    with pytest.raises(PostgresUnavailable, match=r"PostgreSQL 15\+.*apt-get install postgresql"):
        find_bin_dir(path=str(tmp_path), debian=tmp_path)


def test_the_binaries_of_this_machine_are_found() -> None:
    folder = find_bin_dir()
    assert (folder / "initdb").is_file() and (folder / "pg_ctl").is_file()
