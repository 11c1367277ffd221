"""The store writer's CPU per message: inserts, attempt marks and settlements.

    .venv/bin/python bench/bench_store.py [--bulk-sends N] [--singles N] [--data-url URL]

Runs the store alone (a SQLite file in a temporary folder, sync FULL;
`--data-url postgresql://...` on an empty database; `--postgres` on a throwaway
PostgreSQL server started for the run) and hands it what account
actors hand it during a run, from several callers at once so that the writer
folds them into group commits:

1. bulk: `--bulk-sends` sends of 100 recipients (one send per actor batch, with
   its reservation), from 10 accounts at once; then every message marked as
   attempted in runs of 64, then settled ENVOYE with an SMSC id in batches of 64
   outcomes (one per actor batch);
2. single: `--singles` sends of one recipient from 50 accounts at once, each one
   actor batch; then each settled alone.

The figure is the writer thread's CPU time (user + system, read in the thread
itself with `time.thread_time`, before and after each phase) divided by the
messages: what the writer holds of the interpreter's lock and of a core. The
wall time of each phase is shown too, but it depends on the disk and the
machine's load. The table is printed and appended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trio  # noqa: E402

from config.settings import SyncMode  # noqa: E402
from devcluster.postgres import create_database, running_postgres  # noqa: E402
from engine.accounts import state  # noqa: E402
from engine.model import (  # noqa: E402
    Accepted,
    AccountId,
    AccountType,
    Billing,
    Ledger,
    MessageId,
    MessageStatus,
    NewRecipient,
    NewSendRow,
    Outcome,
    SendRef,
    SendType,
)
from engine.store import Store, backend_for  # noqa: E402
from engine.store.writes import AccountBatch, SendWrite  # noqa: E402

NOW = "2026-12-04T06:00:00.000Z"
BULK = 100
CHUNK = 64


def send_write(account_id: AccountId, numbers: list[str]) -> SendWrite:
    kind = SendType.MULDES if len(numbers) > 1 else SendType.UNIDES
    row = NewSendRow(
        account_id=account_id,
        type=kind.value,
        emetteur="BENCH",
        corps="Bonjour, ceci est un message de test.",
        encodage="GSM7",
        segments=1,
        billing=Billing.PREPAYE,
        doublons=0,
        avertissements=(),
        recipients=[NewRecipient(n, MessageStatus.EN_ATTENTE, None, 1) for n in numbers],
        cree_le=NOW,
    )
    accepted = Accepted(SendRef(0), kind, MessageStatus.EN_ATTENTE, 1, "GSM7", len(numbers), 0, ())
    return SendWrite(row, accepted)


class Account:
    """One account as its actor would drive it: its ledger, its messages."""

    def __init__(self, store: Store, account_id: AccountId, ledger: Ledger) -> None:
        self.store = store
        self.id = account_id
        self.ledger = ledger
        self.messages: list[tuple[MessageId, SendRef]] = []

    async def send(self, numbers: list[str]) -> None:
        reserved = state.reserve(self.ledger, len(numbers))
        assert reserved is not None
        ledger, entries = reserved
        done = await self.store.ledger.apply(
            AccountBatch(self.id, NOW, 0.0, ledger, entries, [send_write(self.id, numbers)], [], []),
            state.settle,
        )
        self.ledger = done.ledger
        ref, first = done.created[0]
        self.messages.extend((MessageId(first + i), ref) for i in range(len(numbers)))

    async def settle(self, messages: list[tuple[MessageId, SendRef]], serial: int) -> None:
        outcomes = [
            Outcome(mid, ref, MessageStatus.ENVOYE, smsc_ids=(format(serial + i, "x"),), at=NOW)
            for i, (mid, ref) in enumerate(messages)
        ]
        done = await self.store.ledger.apply(
            AccountBatch(self.id, NOW, 0.0, self.ledger, [], [], [], outcomes), state.settle
        )
        self.ledger = done.ledger


async def writer_cpu(store: Store) -> float:
    """The writer thread's CPU seconds so far (read in the thread itself)."""
    return await store.transact(lambda _conn: time.thread_time())


async def open_accounts(store: Store, count: int) -> list[Account]:
    accounts = []
    for i in range(count):
        ledger, entries = state.top_up(Ledger(AccountType.PREPAYE), 10_000_000)
        account_id = await store.accounts.create(
            nom=f"bench {i}", type=AccountType.PREPAYE, email=None, password_hash=None,
            debit_max=1000.0, opening=(ledger, entries), key_hash=f"bench-{count}-{i}",
            key_expiry="2099-01-01T00:00:00.000Z", now=NOW,
        )
        assert account_id is not None
        accounts.append(Account(store, account_id, ledger))
    return accounts


async def phase(store: Store, name: str, messages: int, work: Any, rows: list[list[str]]) -> None:
    before, commits, started = await writer_cpu(store), store.statistics().commits, time.perf_counter()
    await work()
    wall = time.perf_counter() - started
    cpu = await writer_cpu(store) - before
    groups = store.statistics().commits - commits - 1
    rows.append([
        name, f"{messages:,}", f"{cpu:.2f}", f"{cpu / messages * 1e6:.1f}", f"{wall:.1f}",
        f"{groups:,}",
    ])


async def run(store: Store, bulk_sends: int, singles: int) -> list[list[str]]:
    rows: list[list[str]] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(store.serve)
        bulk = await open_accounts(store, 10)
        single = await open_accounts(store, 50)
        serial = 0

        async def bulk_insert() -> None:
            async def one(account: Account, k: int) -> None:
                for s in range(k):
                    base = 24106000000 + account.id * 10_000_000 + s * BULK
                    await account.send([f"+{base + j}" for j in range(BULK)])

            async with trio.open_nursery() as inner:
                for i, account in enumerate(bulk):
                    inner.start_soon(one, account, bulk_sends // 10 + (i < bulk_sends % 10))

        async def bulk_attempts() -> None:
            async def one(account: Account) -> None:
                ids = [mid for mid, _ in account.messages]
                for start in range(0, len(ids), CHUNK):
                    await store.messages.mark_attempt(ids[start : start + CHUNK], "defaut")

            async with trio.open_nursery() as inner:
                for account in bulk:
                    inner.start_soon(one, account)

        async def settle_all(accounts: list[Account], size: int) -> None:
            async def one(account: Account) -> None:
                nonlocal serial
                for start in range(0, len(account.messages), size):
                    chunk = account.messages[start : start + size]
                    serial += len(chunk)
                    await account.settle(chunk, serial)

            async with trio.open_nursery() as inner:
                for account in accounts:
                    inner.start_soon(one, account)

        async def single_sends() -> None:
            async def one(account: Account, k: int) -> None:
                for s in range(k):
                    await account.send([f"+2410{account.id:03d}{s:06d}"])

            async with trio.open_nursery() as inner:
                for i, account in enumerate(single):
                    inner.start_soon(one, account, singles // 50 + (i < singles % 50))

        total = sum(bulk_sends // 10 + (i < bulk_sends % 10) for i in range(10)) * BULK
        await phase(store, f"bulk: insert (sends of {BULK})", total, bulk_insert, rows)
        await phase(store, f"bulk: attempt marks (runs of {CHUNK})", total, bulk_attempts, rows)

        async def bulk_settle() -> None:
            await settle_all(bulk, CHUNK)

        await phase(store, f"bulk: settle ENVOYE ({CHUNK} a batch)", total, bulk_settle, rows)
        await phase(store, "single: insert (one a batch, 50 callers)", singles, single_sends, rows)

        async def single_settle() -> None:
            await settle_all(single, 1)

        await phase(store, "single: settle ENVOYE (one a batch)", singles, single_settle, rows)
        nursery.cancel_scope.cancel()
    return rows


def table(rows: list[list[str]]) -> str:
    head = ["phase", "messages", "writer CPU s", "µs a message", "wall s", "group commits"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bulk-sends", type=int, default=500)
    parser.add_argument("--singles", type=int, default=5000)
    parser.add_argument("--data-url", default="")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL server")
    parser.add_argument("--sync", choices=["FULL", "NORMAL"], default="FULL")
    parser.add_argument("--label", default="")
    parser.add_argument("--no-record", action="store_true", help="print only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        url = args.data_url
        if args.postgres:
            url = create_database(stack.enter_context(running_postgres()), "bench_store")
        store = Store(backend_for(url, Path(folder), SyncMode[args.sync]))
        rows = trio.run(run, store, args.bulk_sends, args.singles)
        where = f"PostgreSQL, sync {args.sync}" if url else f"SQLite, sync {args.sync}"
    stamp = datetime.datetime.now(datetime.UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
    command = "python bench/bench_store.py " + shlex.join(
        a for a in sys.argv[1:] if not a.startswith("postgresql")
    )
    text = (
        f"## Store writer{' (' + args.label + ')' if args.label else ''}: CPU a message"
        f" ({stamp})\n\nCommand: `{command}` ({where})\n\n{table(rows)}\n"
    )
    print(text)
    if not args.no_record:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write("\n" + text)


if __name__ == "__main__":
    cli()
