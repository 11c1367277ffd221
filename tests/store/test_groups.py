"""A group commit whose jobs fail: each failing job's caller hears its own error,
the other jobs of the group commit (both backends run a group without a savepoint
or a wait between its jobs and, when one fails, roll the group back and run it
again job by job)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import trio

from engine.store import Store
from engine.store.sql import Connection
from tests.harness import eventually
from tests.stores import store_at


def insert(key: str, value: str) -> Any:
    def job(conn: Connection) -> str:
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
        return key

    return job


def refuse(conn: Connection) -> None:
    conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", ("refus", "avant l'erreur"))
    raise LookupError("refused by the job itself")


def stored(conn: Connection) -> dict[str, str]:
    rows = conn.execute("SELECT key, value FROM meta WHERE key LIKE ? OR key = ?", ("g-%", "refus"))
    return {key: value for key, value in rows}


async def run_as_one_group(store: Store, jobs: list[Any]) -> list[Any]:
    """Queue every job behind one that holds the writer until all are queued,
    so that they are taken as one group; return each result or error."""
    held, release = threading.Event(), threading.Event()

    def hold(conn: Connection) -> None:
        held.set()
        release.wait(10)

    answers: list[Any] = [None] * len(jobs)

    async def one(i: int, job: Any) -> None:
        try:
            answers[i] = await store.transact(job)
        except Exception as exc:  # noqa: BLE001 - the answer under test
            answers[i] = exc

    async with trio.open_nursery() as nursery:
        nursery.start_soon(store.transact, hold)
        await trio.to_thread.run_sync(held.wait, 10)
        for i, job in enumerate(jobs):
            nursery.start_soon(one, i, job)
        await trio.testing.wait_all_tasks_blocked()
        assert store.statistics().queue_depth == len(jobs) + 1
        release.set()
    return answers


async def test_failing_jobs_are_refused_alone_and_the_rest_of_their_group_commits(
    tmp_path: Path,
) -> None:
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            store = store_at(tmp_path / "groupes.sqlite3")
            await nursery.start(store.serve)
            await store.transact(insert("g-x", "0"))
            commits = store.statistics().commits
            answers = await run_as_one_group(store, [
                insert("g-a", "1"), insert("g-x", "2"), refuse, insert("g-d", "4"),
            ])
            assert answers[0] == "g-a" and answers[3] == "g-d"
            assert isinstance(answers[1], Exception) and not isinstance(answers[1], LookupError)
            assert isinstance(answers[2], LookupError)
            assert await store.transact(stored) == {"g-x": "0", "g-a": "1", "g-d": "4"}
            stats = store.statistics()
            # the holding job's group, the group under test, the read above
            assert stats.commits - commits == 3
            assert stats.replayed_groups == 1
            nursery.cancel_scope.cancel()


@pytest.mark.parametrize("size", [2, 50])
async def test_a_group_of_good_jobs_commits_once_and_is_never_replayed(
    tmp_path: Path, size: int
) -> None:
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            store = store_at(tmp_path / "groupes.sqlite3")
            await nursery.start(store.serve)
            answers = await run_as_one_group(store, [insert(f"g-{i}", str(i)) for i in range(size)])
            assert answers == [f"g-{i}" for i in range(size)]
            assert len(await store.transact(stored)) == size
            assert store.statistics().replayed_groups == 0
            assert store.statistics().last_group_size == 1
            nursery.cancel_scope.cancel()


async def test_a_job_alone_in_its_group_that_fails_writes_nothing_and_its_caller_hears_why(
    tmp_path: Path,
) -> None:
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            store = store_at(tmp_path / "groupes.sqlite3")
            await nursery.start(store.serve)
            with pytest.raises(LookupError, match="refused by the job itself"):
                await store.transact(refuse)
            assert await store.transact(insert("g-apres", "1")) == "g-apres"
            assert await store.transact(stored) == {"g-apres": "1"}
            assert store.statistics().replayed_groups == 0
            assert store.writable
            nursery.cancel_scope.cancel()


def break_connection(conn: Any) -> None:
    conn.close()  # the writer's connection lost under the group: its COMMIT fails


async def test_a_store_left_unwritable_by_a_failed_group_takes_writes_again_without_traffic(
    tmp_path: Path,
) -> None:
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            store = store_at(tmp_path / "groupes.sqlite3")
            await nursery.start(store.serve)
            with pytest.raises(Exception):  # noqa: B017, PT011 - the driver's own error
                await store.transact(break_connection)
            assert not store.writable, "a group that failed whole: the store is reported unwritable"
            # nobody writes: the writer's own empty transaction (on a new connection)
            # finds the store writable again, as health reports it
            async def writable() -> bool:  # the writer's retry runs on its thread's own clock
                return store.writable

            await eventually(writable, bool, within_s=15)
            assert store.writable, "still unwritable with nothing to write"
            assert await store.transact(insert("g-apres", "1")) == "g-apres"
            assert await store.transact(stored) == {"g-apres": "1"}
            nursery.cancel_scope.cancel()
