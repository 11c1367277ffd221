"""Account actors: reservations per second, group commit, memory of live actors.

    .venv/bin/python bench/bench_accounts.py [--sends N] [--callers C]

Runs the account engine alone (store in a temporary folder, registry, actors;
the dispatcher replaced by a counting sink), in one trio process:

1. `--sends` single-recipient sends from `--callers` concurrent callers to ONE
   prepaid account: each is a reservation committed before its answer.
2. The same spread over 1,000 accounts (round robin).
3. 10,000 accounts each brought to life (one snapshot each): the RSS delta and
   the tracemalloc delta of the live actors.

Beside each rate: store commits per second, transactions per commit (group
commit across accounts, from `Store.statistics()`) and reservations per commit
(an actor also folds the sends waiting in its mailbox into one transaction). The
table is printed and appended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import resource
import shlex
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trio  # noqa: E402

from engine.accounts.commands import AccountSnapshot, GetSnapshot, SendDraft, Submit  # noqa: E402
from engine.accounts.registry import Registry  # noqa: E402
from engine.accounts.state import top_up  # noqa: E402
from engine.actor import Reply  # noqa: E402
from engine.clock import WallClock  # noqa: E402
from engine.dispatch.message import OutMessage  # noqa: E402
from engine.model import Accepted, AccountId, AccountType, Ledger, MessageStatus, SendType, TokenBucket, iso  # noqa: E402
from engine.store import Store  # noqa: E402
from engine.store import accounts as q_accounts  # noqa: E402
from engine.store.sql import Connection  # noqa: E402
from engine.text import encode_message, normalize_recipients, parse_sender  # noqa: E402


class CountingSink:
    """Stands for the dispatcher: counts what accounts hand over, keeps nothing."""

    def __init__(self) -> None:
        self.offered = 0

    def offer(self, messages: Sequence[OutMessage]) -> None:
        self.offered += len(messages)

    def set_rate(self, account_id: AccountId, bucket: TokenBucket) -> None:
        pass


def rss_kb() -> int:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() // 1024


def one_send() -> SendDraft:
    found = normalize_recipients(["+24106123456"], "GA")
    sender = parse_sender("ION-Networking")
    return SendDraft(
        type=SendType.UNIDES, emetteur="ION-Networking", sender=sender, corps="Bonjour",
        encoded=encode_message("Bonjour", 0), valid=found.valid, invalid=found.invalid,
        doublons=0, avertissements=(),
    )


async def create(store: Store, count: int, solde: int) -> list[AccountId]:
    now = iso(WallClock().now())

    def job(conn: Connection) -> list[AccountId]:
        ids = []
        for n in range(count):
            account_id = q_accounts.insert_account(
                conn, nom=f"Banc {n}", type=AccountType.PREPAYE, email=None,
                password_hash=None, debit_max=100.0, now=now,
            )
            if solde:
                ledger, entries = top_up(Ledger(), solde)
                q_accounts.save_ledger(conn, account_id, ledger, entries, now)
            ids.append(account_id)
        return ids

    return await store.transact(job)


async def reservations(
    store: Store, registry: Registry, ids: list[AccountId], sends: int, callers: int
) -> dict[str, float]:
    draft = one_send()
    # bring the actors to life first: the phase measures reservations only
    for account_id in ids:
        reply: Reply[AccountSnapshot] = Reply()
        await registry.ask(account_id, GetSnapshot(reply), reply)
    before = store.statistics()
    accepted = 0

    async def caller(index: int) -> None:
        nonlocal accepted
        for n in range(index, sends, callers):
            reply: Reply[Accepted] = Reply()
            result = await registry.ask(ids[n % len(ids)], Submit(draft, None, reply), reply)
            accepted += result.statut is MessageStatus.EN_ATTENTE

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for index in range(callers):
            nursery.start_soon(caller, index)
    elapsed = time.perf_counter() - started
    after = store.statistics()
    assert accepted == sends, f"{accepted} of {sends} reserved"
    commits = after.commits - before.commits
    transactions = after.transactions - before.transactions
    return {
        "rate": sends / elapsed,
        "commits_per_s": commits / elapsed,
        "per_commit": transactions / max(commits, 1),
        "seconds": elapsed,
    }


async def live_actors(store: Store, registry: Registry, count: int) -> dict[str, float]:
    ids = await create(store, count, 10)
    gc.collect()
    tracemalloc.start()
    traced_before = tracemalloc.get_traced_memory()[0]
    rss_before = rss_kb()

    async def caller(mine: list[AccountId]) -> None:
        for account_id in mine:
            reply: Reply[AccountSnapshot] = Reply()
            await registry.ask(account_id, GetSnapshot(reply), reply)

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for index in range(100):
            nursery.start_soon(caller, ids[index::100])
    elapsed = time.perf_counter() - started
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0] - traced_before
    tracemalloc.stop()
    assert registry.live >= count
    return {
        "rss_kb": rss_kb() - rss_before,
        "traced_kb": traced / 1024,
        "seconds": elapsed,
    }


async def main(sends: int, callers: int) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory() as folder:
        async with trio.open_nursery() as nursery:
            store = Store(Path(folder) / "bench.sqlite3")
            await nursery.start(store.serve)
            registry = Registry(store, CountingSink(), WallClock())
            await nursery.start(registry.serve)

            one = await create(store, 1, sends * 2)
            r = await reservations(store, registry, one, sends, callers)
            rows.append((
                f"{sends:,} sends, {callers} callers, 1 account",
                f"{r['rate']:,.0f} reservations/s",
                f"{r['commits_per_s']:,.0f} commits/s",
                f"{r['per_commit']:.1f} transactions and "
                f"{r['rate'] / max(r['commits_per_s'], 1e-9):,.0f} reservations per commit",
            ))
            many = await create(store, 1_000, sends)
            r = await reservations(store, registry, many, sends, callers)
            rows.append((
                f"{sends:,} sends, {callers} callers, 1,000 accounts",
                f"{r['rate']:,.0f} reservations/s",
                f"{r['commits_per_s']:,.0f} commits/s",
                f"{r['per_commit']:.1f} transactions and "
                f"{r['rate'] / max(r['commits_per_s'], 1e-9):,.0f} reservations per commit",
            ))
            m = await live_actors(store, registry, 10_000)
            rows.append((
                "10,000 live account actors",
                f"RSS +{m['rss_kb'] / 1024:,.1f} MB",
                f"tracemalloc +{m['traced_kb'] / 1024:,.1f} MB",
                f"{m['traced_kb'] * 1024 / 10_000:,.0f} B/actor, started in {m['seconds']:.2f} s",
            ))
            nursery.cancel_scope.cancel()
    return rows


def report(rows: list[tuple[str, str, str, str]], command: str) -> str:
    date = datetime.datetime.now(datetime.UTC).strftime("%a %b %e %H:%M:%S UTC %Y")
    lines = [
        f"## Account actors ({date})",
        "",
        f"Command: `{command}`",
        "",
        "Account engine alone in one trio process (store with group commit in a temporary "
        "folder, registry, actors; a counting sink instead of the dispatcher). Each send is "
        "one reservation, committed before its answer. The memory row is measured while "
        "tracemalloc traces (slower start-up than without).",
        "",
        "| phase | rate / memory | store | detail |",
        "|---|---|---|---|",
        *(f"| {' | '.join(row)} |" for row in rows),
        "",
    ]
    return "\n".join(lines)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=20_000)
    parser.add_argument("--callers", type=int, default=200)
    args = parser.parse_args()
    rows = trio.run(main, args.sends, args.callers)
    text = report(rows, ".venv/bin/python bench/bench_accounts.py " + shlex.join(sys.argv[1:]))
    print(text)
    with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as fh:
        fh.write("\n" + text)


if __name__ == "__main__":
    cli()
