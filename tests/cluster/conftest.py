"""Two gateway nodes as an operator runs them: real `run.py` processes on one
throwaway PostgreSQL server and one standalone SMSC simulator (`smsgw_cli.cluster`).

The server and the simulator are shared by the package's tests (started once), and
so are two nodes (`cluster`) for the tests that leave them running, each test on
accounts of its own; a test that kills or freezes a node gets two fresh nodes on a
fresh database (test_failover.py's `cluster`), killed at its end. Leases last 1 s.
These tests start their own PostgreSQL whatever `TEST_STORE` says: `make test` runs
them in its SQLite pass only. A node's log is printed when its test ends (pytest
shows it when the test failed).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smsgw_cli.cluster import Cluster, SimulatorProcess, running_simulator
from smsgw_cli.postgres import PostgresUnavailable, running_postgres
from tests.cluster.nodes import DEFAULT_KNOBS, ready, two_nodes


@pytest.fixture(scope="package")
def cluster_dsn() -> Iterator[str]:
    try:
        with running_postgres(fsync=False) as dsn:
            yield dsn
    except PostgresUnavailable as exc:
        pytest.fail(f"the throwaway PostgreSQL server failed: {exc}", pytrace=False)


@pytest.fixture(scope="package")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    with running_simulator(["--no-receipts"], workdir=tmp_path_factory.mktemp("simulator")) as sim:
        yield sim


@pytest.fixture
def smsc(simulator: SimulatorProcess) -> SimulatorProcess:
    """The simulator back to its default knobs, its counters zeroed."""
    simulator.configure(**DEFAULT_KNOBS)
    simulator.reset()
    return simulator


@pytest.fixture(scope="package")
def shared_cluster(cluster_dsn: str, simulator: SimulatorProcess) -> Iterator[Cluster]:
    """Two nodes for the tests that leave them running as they found them (each test
    on accounts of its own)."""
    with two_nodes(cluster_dsn, simulator, "shared") as nodes:
        yield nodes


@pytest.fixture
def cluster(shared_cluster: Cluster, smsc: SimulatorProcess) -> Iterator[Cluster]:
    """The shared two nodes, both running and sharing the shards (test_failover.py
    overrides it with two fresh nodes on a fresh database: its tests kill or
    freeze one)."""
    assert all(n.alive for n in shared_cluster.nodes), "a node of the shared cluster exited"
    ready(shared_cluster)
    logged = {n.name: len(n.log()) for n in shared_cluster.nodes}
    yield shared_cluster
    for node in shared_cluster.nodes:
        during = node.log()[logged[node.name]:].splitlines()[-80:]
        print(f"----- {node.name} (pid {node.pid}, {node.url}) during the test -----", *during, sep="\n")


