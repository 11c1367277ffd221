"""What outcomes cost, decided by the pure ledger (`state.settle`): tables of the
billing rules, then a property over random batches."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.accounts import state
from engine.model import (
    AccountType,
    Billing,
    Entry,
    EntryKind,
    Ledger,
    MessageId,
    MessageStatus,
    Outcome,
    PendingCharge,
    Reason,
    SendRef,
)

PREPAID = Ledger(AccountType.PREPAYE, solde=10, reserve=6, debite=0, credite=16)
POSTPAID = Ledger(AccountType.POSTPAYE)


def sent(message_id: int, ref: int = 1) -> Outcome:
    return Outcome(MessageId(message_id), SendRef(ref), MessageStatus.ENVOYE, at="2025-01-01T00:00:00.000Z")


def failed(message_id: int, ref: int = 1) -> Outcome:
    return Outcome(MessageId(message_id), SendRef(ref), MessageStatus.ECHEC, Reason.REJET_SMSC)


def test_a_prepaid_message_sent_is_debited_its_segments() -> None:
    done = state.settle(PREPAID, {1: ("PREPAYE", 2, 2)}, [sent(1)])
    assert done.ledger == PREPAID.plus(reserve=-2, debite=2)
    assert done.entries == (Entry(EntryKind.DEBIT, 2, 1),)
    assert done.settled == (sent(1),)


def test_a_prepaid_message_sent_gives_back_what_was_held_beyond_its_segments() -> None:
    done = state.settle(PREPAID, {1: ("PREPAYE", 2, 3)}, [sent(1)])
    assert done.ledger == PREPAID.plus(reserve=-3, debite=2, solde=1)
    assert done.entries == (Entry(EntryKind.DEBIT, 2, 1), Entry(EntryKind.LIBERATION, 1, 1))


def test_a_postpaid_message_sent_counts_as_consumption() -> None:
    done = state.settle(POSTPAID, {1: ("POSTPAYE", 3, 0)}, [sent(1)])
    assert done.ledger == POSTPAID.plus(consommation=3)
    assert done.entries == (Entry(EntryKind.CONSOMMATION, 3, 1),)


def test_a_failed_message_gives_back_everything_held() -> None:
    done = state.settle(PREPAID, {1: ("PREPAYE", 2, 2)}, [failed(1)])
    assert done.ledger == PREPAID.plus(reserve=-2, solde=2)
    assert done.entries == (Entry(EntryKind.LIBERATION, 2, 1),)


def test_a_failed_postpaid_message_costs_nothing() -> None:
    done = state.settle(POSTPAID, {1: ("POSTPAYE", 2, 0)}, [failed(1)])
    assert done.ledger == POSTPAID
    assert done.entries == ()
    assert done.settled == (failed(1),)


def test_a_message_no_longer_waiting_is_left_out() -> None:
    done = state.settle(PREPAID, {}, [sent(1), failed(2)])
    assert done == state.settle(PREPAID, {}, [])
    assert done.ledger == PREPAID and done.settled == ()


def test_a_repeated_outcome_in_one_batch_bills_once() -> None:
    pending: dict[int, PendingCharge] = {1: ("PREPAYE", 1, 1)}
    done = state.settle(PREPAID, pending, [sent(1), sent(1), failed(1)])
    assert done.settled == (sent(1),)
    assert done.ledger == PREPAID.plus(reserve=-1, debite=1)
    assert pending == {1: ("PREPAYE", 1, 1)}, "what was read is not changed"


def test_entries_are_grouped_per_send_and_billing() -> None:
    led = Ledger(AccountType.PREPAYE, solde=0, reserve=6, credite=6, consommation=0)
    pending: dict[int, PendingCharge] = {
        1: ("PREPAYE", 1, 1),
        2: ("PREPAYE", 1, 1),
        3: ("POSTPAYE", 1, 0),
        4: ("PREPAYE", 1, 1),
        5: ("PREPAYE", 1, 1),
    }
    done = state.settle(led, pending, [sent(1, 7), sent(2, 7), sent(3, 7), failed(4, 7), failed(5, 8)])
    assert done.entries == (
        Entry(EntryKind.DEBIT, 2, 7),
        Entry(EntryKind.CONSOMMATION, 1, 7),
        Entry(EntryKind.LIBERATION, 1, 7),
        Entry(EntryKind.LIBERATION, 1, 8),
    )


@st.composite
def batches(draw: st.DrawFn) -> tuple[Ledger, dict[int, PendingCharge], list[Outcome]]:
    """A prepaid or postpaid ledger holding exactly what its waiting messages hold,
    and outcomes for some of them, some repeated, some unknown."""
    count = draw(st.integers(0, 12))
    pending: dict[int, PendingCharge] = {}
    for message_id in range(1, count + 1):
        billing = draw(st.sampled_from(list(Billing)))
        segments = draw(st.integers(1, 4))
        held = segments + draw(st.integers(0, 2)) if billing is Billing.PREPAYE else 0
        pending[message_id] = (billing.value, segments, held)
    reserved = sum(held for _, _, held in pending.values())
    solde = draw(st.integers(0, 20))
    led = Ledger(
        draw(st.sampled_from(list(AccountType))),
        solde=solde,
        reserve=reserved,
        credite=solde + reserved,
    )
    ids = st.integers(1, count + 3)
    outcomes = draw(
        st.lists(
            st.builds(
                lambda i, ok, ref: sent(i, ref) if ok else failed(i, ref),
                ids,
                st.booleans(),
                st.integers(1, 3),
            ),
            max_size=20,
        )
    )
    return led, pending, outcomes


@given(batches())
def test_each_waiting_message_is_billed_at_most_once_and_the_books_balance(
    batch: tuple[Ledger, dict[int, PendingCharge], list[Outcome]],
) -> None:
    led, pending, outcomes = batch
    done = state.settle(led, pending, outcomes)
    settled_ids = [o.message_id for o in done.settled]
    assert len(settled_ids) == len(set(settled_ids)), "one outcome per message"
    assert set(settled_ids) <= set(pending)
    assert set(settled_ids) == {o.message_id for o in outcomes} & set(pending)
    new = done.ledger
    assert new.credite == new.debite + new.reserve + new.solde
    assert new.solde >= 0 and new.reserve >= 0
    still_held = sum(held for mid, (_, _, held) in pending.items() if mid not in settled_ids)
    assert new.reserve == still_held, "what ended holds nothing any more"
    replayed = led
    for entry in done.entries:
        replayed = state.apply_entry(replayed, entry)
    assert replayed == new, "the entries explain the new ledger"
