"""The real account actor and store under random command sequences: whatever the
interleaving and batching, the accounts row equals the replay of its journal and
agrees with the messages and invoices it accounts for."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.accounts.commands import (
    ChangeType,
    CloseInvoice,
    GetSnapshot,
    Settle,
    SettleInvoice,
    Submit,
    TopUp,
)
from engine.accounts.state import LedgerError
from engine.model import AccountType, MessageStatus, Outcome, Reason
from tests.accounts.support import assert_books_balance, audit, create_accounts, draft, open_engine

OPS = st.one_of(
    st.tuples(st.just("submit"), st.integers(1, 4), st.booleans()),
    st.tuples(st.just("end"), st.integers(0, 1000), st.integers(1, 4), st.booleans(), st.booleans()),
    st.tuples(st.just("topup"), st.integers(-2, 12)),
    st.tuples(st.just("type")),
    st.tuples(st.just("invoice")),
    st.tuples(st.just("pay"), st.integers(0, 5)),
)
GROUPS = st.lists(st.lists(OPS, min_size=1, max_size=5), min_size=1, max_size=20)

EXPECTED_REFUSALS = {
    "topup": {"MONTANT_INVALIDE", "COMPTE_POSTPAYE"},
    "type": set(),
    "invoice": {"COMPTE_PREPAYE"},
    "pay": {"FACTURE_DEJA_REGLEE"},
}


async def _drive(folder: Path, kind: AccountType, groups: list[list[tuple[Any, ...]]]) -> None:
    with trio.fail_after(20):
        async with open_engine(folder) as engine:
            (account_id,) = await create_accounts(
                engine.store, 1, type=kind, solde=10 if kind is AccountType.PREPAYE else 0
            )
            ended: set[int] = set()
            invoices: list[int] = []
            current = {"type": kind}
            numbers = iter(range(100_000))

            async def run(op: tuple[Any, ...]) -> None:
                name = op[0]
                try:
                    if name == "submit":
                        d = draft(op[1], long_body=op[2], first=next(numbers) * 10)
                        accepted = await engine.ask(account_id, Submit, d, None)
                        assert accepted.statut in (MessageStatus.EN_ATTENTE, MessageStatus.ECHEC)
                    elif name == "end":
                        pending = [m for m in engine.outlet.offered if m.message_id not in ended]
                        if not pending:
                            return
                        start = op[1] % len(pending)
                        chosen = pending[start : start + op[2]]
                        statut = MessageStatus.ENVOYE if op[3] else MessageStatus.ECHEC
                        outcomes = [
                            Outcome(m.message_id, m.ref, statut,
                                    None if op[3] else Reason.ERREUR_RESEAU)
                            for m in chosen
                        ]
                        ended.update(m.message_id for m in chosen)
                        await engine.tell(account_id, Settle(tuple(outcomes)))
                        if op[4]:  # the same messages reported again, the other way
                            flipped = MessageStatus.ECHEC if op[3] else MessageStatus.ENVOYE
                            again = [Outcome(o.message_id, o.ref, flipped) for o in outcomes]
                            await engine.tell(account_id, Settle(tuple(again)))
                    elif name == "topup":
                        await engine.ask(account_id, TopUp, op[1])
                        assert op[1] > 0
                    elif name == "type":
                        new = (AccountType.POSTPAYE if current["type"] is AccountType.PREPAYE
                               else AccountType.PREPAYE)
                        current["type"] = new
                        await engine.ask(account_id, ChangeType, new)
                    elif name == "invoice":
                        invoices.append(await engine.ask(account_id, CloseInvoice))
                    elif name == "pay" and invoices:
                        await engine.ask(account_id, SettleInvoice, invoices[op[1] % len(invoices)])
                except LedgerError as exc:
                    assert exc.code in EXPECTED_REFUSALS[name], (name, exc.code)

            for group in groups:
                # "type" ops in one group would race on the expected type: keep one
                seen_type = False
                kept = []
                for op in group:
                    if op[0] == "type":
                        if seen_type:
                            continue
                        seen_type = True
                    kept.append(op)
                async with trio.open_nursery() as nursery:
                    for op in kept:
                        nursery.start_soon(run, op)
            snap = await engine.ask(account_id, GetSnapshot)
            books = await engine.store.read(lambda conn: audit(conn, account_id))
            assert_books_balance(books)
            assert (snap.solde, snap.reserve, snap.consommation, snap.du) == (
                books.row.solde, books.row.reserve, books.row.consommation, books.row.du
            )
            assert snap.type == books.row.type.value
            assert snap.in_flight == books.pending


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(AccountType), groups=GROUPS)
def test_store_books_agree_with_the_journal_after_random_commands(
    kind: AccountType, groups: list[list[tuple[Any, ...]]]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        trio.run(_drive, Path(folder), kind, groups)
