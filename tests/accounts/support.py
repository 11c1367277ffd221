"""An account engine without HTTP or SMPP: a real store in a folder, the registry
and its actors, and an outlet that keeps what the actors hand over."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import trio

from engine.accounts.commands import Command, SendDraft
from engine.accounts.registry import Registry
from engine.accounts.state import top_up
from engine.actor import Reply
from engine.clock import WallClock
from engine.dispatch.message import OutMessage
from engine.model import AccountId, AccountType, Entry, Ledger, SendType, TokenBucket, iso
from engine.store import Store
from engine.store import accounts as q_accounts
from engine.store.sql import Connection
from engine.text import encode_message, normalize_recipients, parse_sender
from tests.stores import store_at

T = TypeVar("T")


@dataclass
class KeepOutlet:
    """Stands for the dispatcher: keeps offered messages, records rates."""

    offered: list[OutMessage] = field(default_factory=list)
    rates: dict[AccountId, float] = field(default_factory=dict)

    def offer(self, messages: Sequence[OutMessage]) -> None:
        self.offered.extend(messages)

    def set_rate(self, account_id: AccountId, bucket: TokenBucket) -> None:
        self.rates[account_id] = bucket.rate_per_s


@dataclass
class Engine:
    store: Store
    registry: Registry
    outlet: KeepOutlet
    clock: WallClock

    async def ask(self, account_id: int, make: Any, *args: Any) -> Any:
        reply: Reply[Any] = Reply()
        return await self.registry.ask(AccountId(account_id), make(*args, reply), reply)

    async def tell(self, account_id: int, command: Command) -> None:
        await self.registry.tell(AccountId(account_id), command)


@asynccontextmanager
async def open_engine(folder: Path, *, idle_s: float = 300.0) -> AsyncIterator[Engine]:
    async with trio.open_nursery() as nursery:
        store = store_at(folder / "comptes.sqlite3")
        await nursery.start(store.serve)
        clock = WallClock()
        outlet = KeepOutlet()
        registry = Registry(store, outlet, clock, idle_s=idle_s)
        await nursery.start(registry.serve)
        yield Engine(store, registry, outlet, clock)
        nursery.cancel_scope.cancel()


async def create_accounts(
    store: Store, count: int, *, type: AccountType = AccountType.PREPAYE, solde: int = 0
) -> list[AccountId]:
    now = iso(WallClock().now())

    def job(conn: Connection) -> list[AccountId]:
        ids = []
        for n in range(count):
            account_id = q_accounts.insert_account(
                conn, nom=f"Compte {n}", type=type, email=None, password_hash=None,
                debit_max=100.0, now=now,
            )
            if solde:
                ledger, entries = top_up(Ledger(type=type), solde)
                q_accounts.save_ledger(conn, account_id, ledger, entries, now)
            ids.append(account_id)
        return ids

    return await store.transact(job)


def draft(recipients: int, *, long_body: bool = False, first: int = 0) -> SendDraft:
    """A send to `recipients` distinct Gabonese numbers; a long body takes 2 SMS."""
    corps = ("Rappel de rendez-vous. " * 8)[:150] if long_body else "Bonjour"
    if long_body:
        corps = "ê" + corps[:100]  # UCS-2: 101 characters = 2 segments
    numbers = [f"+2410660{first + n:04d}" for n in range(recipients)]
    found = normalize_recipients(numbers, "GA")
    sender = parse_sender("ION-Networking")
    return SendDraft(
        type=SendType.MULDES if recipients > 1 else SendType.UNIDES,
        emetteur="ION-Networking",
        sender=sender,
        corps=corps,
        encoded=encode_message(corps, 0),
        valid=found.valid,
        invalid=found.invalid,
        doublons=found.duplicates,
        avertissements=sender.warnings,
    )


@dataclass(frozen=True)
class Audit:
    row: Ledger
    initial_type: AccountType
    journal: list[Entry]
    totals: Ledger
    held_prepaid: int
    sent_prepaid_segments: int
    sent_postpaid_segments: int
    invoiced: int
    unpaid: int
    pending: int


def audit(conn: Connection, account_id: int) -> Audit:
    """Everything the store says about one account's money."""
    row = q_accounts.get_account(conn, account_id)
    assert row is not None
    totals = q_accounts.journal_totals(conn, account_id)
    assert totals is not None

    def one(sql: str) -> int:
        return int(conn.execute(sql, (account_id,)).fetchone()[0])

    return Audit(
        row=row.ledger,
        initial_type=row.initial_type,
        journal=q_accounts.journal_entries(conn, account_id),
        totals=totals,
        held_prepaid=one(
            "SELECT COALESCE(SUM(reserve), 0) FROM messages WHERE account_id = ?"
            " AND statut = 'EN_ATTENTE' AND billing = 'PREPAYE'"
        ),
        sent_prepaid_segments=one(
            "SELECT COALESCE(SUM(segments), 0) FROM messages WHERE account_id = ?"
            " AND statut = 'ENVOYE' AND billing = 'PREPAYE'"
        ),
        sent_postpaid_segments=one(
            "SELECT COALESCE(SUM(segments), 0) FROM messages WHERE account_id = ?"
            " AND statut = 'ENVOYE' AND billing = 'POSTPAYE'"
        ),
        invoiced=one("SELECT COALESCE(SUM(montant), 0) FROM invoices WHERE account_id = ?"),
        unpaid=one(
            "SELECT COALESCE(SUM(montant), 0) FROM invoices WHERE account_id = ?"
            " AND regle_le IS NULL"
        ),
        pending=one(
            "SELECT COUNT(*) FROM messages WHERE account_id = ? AND statut = 'EN_ATTENTE'"
        ),
    )


def assert_books_balance(a: Audit) -> None:
    """The store's account row is what its journal adds up to, and both agree
    with the messages and invoices they account for."""
    from engine.accounts.state import replay

    assert replay(a.journal, a.initial_type) == a.row
    assert a.totals == a.row
    led = a.row
    assert led.solde >= 0 and led.reserve >= 0
    assert led.credite == led.debite + led.reserve + led.solde
    assert led.reserve == a.held_prepaid, "no orphan reservation"
    assert led.debite == a.sent_prepaid_segments, "each prepaid SMS sent is debited once"
    assert led.consommation + a.invoiced == a.sent_postpaid_segments
    assert led.du == a.unpaid
