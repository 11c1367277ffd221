"""The throwaway PostgreSQL server of the tests and benchmarks: `smsgw_cli.postgres`."""

from smsgw_cli.postgres import (
    PostgresUnavailable,
    create_database,
    find_bin_dir,
    free_port,
    running_postgres,
)

__all__ = ["PostgresUnavailable", "create_database", "find_bin_dir", "free_port", "running_postgres"]
