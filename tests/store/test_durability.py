"""How hard the store's commits wait for the disk: FULL unless NORMAL is chosen,
as the writer connection itself reports it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

from config.settings import SyncMode
from engine.store import Durability, Store
from tests.stores import BACKEND, store_at


@asynccontextmanager
async def open_store(path: Path, sync: SyncMode | None = None) -> AsyncIterator[Store]:
    async with trio.open_nursery() as nursery:
        store = store_at(path) if sync is None else store_at(path, sync=sync)
        await nursery.start(store.serve)
        yield store
        nursery.cancel_scope.cancel()


async def test_a_store_opened_without_a_mode_commits_with_full_sync(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with open_store(tmp_path / "defaut.sqlite3") as store:
            assert await store.durability() == Durability(BACKEND, "wal", 2)
            stats = store.statistics()
            assert (stats.backend, stats.sync) == (BACKEND, SyncMode.FULL)


@pytest.mark.parametrize(("mode", "level"), [(SyncMode.FULL, 2), (SyncMode.NORMAL, 1)])
async def test_each_sync_mode_is_what_the_writer_connection_reports(
    tmp_path: Path, mode: SyncMode, level: int
) -> None:
    with trio.fail_after(10):
        async with open_store(tmp_path / f"{mode}.sqlite3", sync=mode) as store:
            assert await store.durability() == Durability(BACKEND, "wal", level)
            stats = store.statistics()
            assert (stats.backend, stats.sync) == (BACKEND, mode)
            assert stats.commits >= 1 and stats.last_commit_ms >= 0.0


async def test_reopening_a_database_in_another_mode_takes_the_new_mode(tmp_path: Path) -> None:
    path = tmp_path / "rouvert.sqlite3"
    with trio.fail_after(10):
        async with open_store(path, sync=SyncMode.NORMAL) as store:
            assert (await store.durability()).synchronous == 1
        async with open_store(path) as store:
            assert (await store.durability()).synchronous == 2
