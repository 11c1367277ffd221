"""Epoch fencing in the store: a node's writes for an account count only while it
holds the account's shard under the epoch it took it with (engine/store/fence.py).

One throwaway PostgreSQL server for the module; each test its own database. Two
nodes are played by two lease books on the same database: "a" takes a shard,
"b" takes it over once a's lease has run out; a's account batch is then refused
with nothing written, and its attempts are not recorded."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
import trio

from engine.accounts import state
from engine.cluster.node import shares
from engine.model import AccountId, AccountType, shard_of
from engine.store import Store, backend_for
from engine.store.fence import Fence, StaleShard
from engine.store.leases import LeaseBook
from engine.store.postgres import parse_url
from engine.store.writes import AccountBatch
from smsgw_cli.postgres import create_database, running_postgres

SHARDS = 8


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running_postgres(fsync=False) as dsn:
        yield dsn


@pytest.fixture
def url(server: str) -> str:
    return create_database(server, "fence_" + uuid.uuid4().hex[:12])


@pytest.fixture
async def store(url: str, tmp_path: Path) -> AsyncIterator[Store]:
    s = Store(backend_for(url, tmp_path))
    async with trio.open_nursery() as nursery:
        await nursery.start(s.serve)
        yield s
        nursery.cancel_scope.cancel()


async def _account(store: Store) -> AccountId:
    led, entries = state.top_up(state.Ledger(AccountType.PREPAYE), 100)
    account = await store.accounts.create(
        nom="Fenced", type=AccountType.PREPAYE, email=None, password_hash=None,
        debit_max=100.0, opening=(led, entries), key_hash=uuid.uuid4().hex,
        key_expiry="2099-01-01T00:00:00.000Z", now="2026-12-04T00:00:00.000Z",
    )
    assert account is not None
    return account


async def _top_up(store: Store, account: AccountId, amount: int) -> None:
    row = await store.accounts.get(account)
    assert row is not None
    led, entries = state.top_up(row.ledger, amount)
    await store.ledger.apply(
        AccountBatch(account, "2026-12-04T00:00:01.000Z", 0.0, led, entries, [], [], []),
        state.settle,
    )


def _expire(url: str, shard: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE cluster_shards SET expire_le = 0 WHERE shard = %s", (shard,))


async def test_a_node_that_lost_the_shard_writes_nothing_for_its_accounts(
    store: Store, url: str
) -> None:
    account = await _account(store)
    shard = shard_of(account, SHARDS)
    a, b = LeaseBook(parse_url(url)), LeaseBook(parse_url(url))
    try:
        await a.register("a", "http://a", SHARDS, 10.0)
        await b.register("b", "http://b", SHARDS, 10.0)
        taken = await a.acquire("a", [shard], 10.0)
        assert set(taken) == {shard}
        fence = store.fence = Fence("a", SHARDS)
        fence.epochs[shard] = taken[shard]

        await _top_up(store, account, 5)  # held: written
        assert await b.acquire("b", [shard], 10.0) == {}  # a's lease still runs

        _expire(url, shard)  # a froze past its lease; b takes the shard over
        over = await b.acquire("b", [shard], 10.0)
        assert over == {shard: taken[shard] + 1}

        before = await store.accounts.journal(account)
        with pytest.raises(StaleShard):
            await _top_up(store, account, 7)
        assert await store.accounts.journal(account) == before
        row = await store.accounts.get(account)
        assert row is not None and row.ledger.solde == 105
        assert fence.refused == 1

        refused = await store.messages.mark_attempt([1, 2], "defaut", accounts=[account, account])
        assert refused == {account}
    finally:
        a.close()
        b.close()


async def test_attempts_are_recorded_for_the_shards_still_held(store: Store, url: str) -> None:
    first, second = await _account(store), await _account(store)
    book = LeaseBook(parse_url(url))
    try:
        await book.register("a", "http://a", SHARDS, 10.0)
        held = await book.acquire("a", [shard_of(first, SHARDS)], 10.0)
        fence = store.fence = Fence("a", SHARDS)
        fence.epochs.update(held)
        refused = await store.messages.mark_attempt(
            [10, 11], "defaut", accounts=[first, second]
        )
        assert refused == {second}
    finally:
        book.close()


def test_shards_are_shared_evenly_the_first_nodes_by_name_taking_the_rest() -> None:
    assert shares(["b", "a"], 64) == {"a": 32, "b": 32}
    assert shares(["c", "a", "b"], 64) == {"a": 22, "b": 21, "c": 21}
    assert shares(["solo"], 8) == {"solo": 8}
    assert sum(shares([f"n{i}" for i in range(5)], 64).values()) == 64
