"""What each answer does to a bind's parts, from tables (no socket, no trio run):
the book of one bind against a fake link to the dispatcher."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
import trio

from engine.dispatch.book import PartBook
from engine.dispatch.message import OutMessage
from engine.dispatch.parts import Work
from engine.dispatch.policy.outcomes import RetryPolicy
from engine.dispatch.policy.pacing import Pacing
from engine.dispatch.results import Ended, Event, Receipt
from engine.model import AccountId, MessageId, MessageStatus, Reason, SendRef
from engine.smpp.constants import ESM_DELIVERY_RECEIPT, MessageState, Status, Tag
from engine.smpp.pdu import DeliverSm, Tlv
from engine.text import ReferenceCounter, encode_message, parse_sender

SHORT = encode_message("Bonjour", 0)
LONG = encode_message("x" * 200, 0)  # two parts
AT = "2026-01-01T12:00:00Z"
SEQUENCES = itertools.count(1000)


class FakeLink:
    """The dispatcher's end as the book sees it: a channel, ends and a loss."""

    def __init__(self, *messages: OutMessage) -> None:
        self.channel = deque(messages)
        self.ended: list[int] = []
        self.handed_back: list[int] = []

    def receive_nowait(self) -> OutMessage:
        if not self.channel:
            raise trio.WouldBlock
        return self.channel.popleft()

    def finished(self, message: OutMessage) -> None:
        self.ended.append(message.message_id)

    def lost(self, held: Sequence[OutMessage]) -> None:
        self.handed_back.extend(m.message_id for m in held)


class FixedClock:
    def __init__(self) -> None:
        self.wall = datetime.fromisoformat(AT)

    def now_iso(self) -> str:
        return AT

    def now(self) -> datetime:
        return self.wall


def _message(message_id: int, long: bool = False) -> OutMessage:
    return OutMessage(
        MessageId(message_id), AccountId(1), SendRef(7), "+24106000000",
        parse_sender("ION-Networking"), LONG if long else SHORT,
    )


def _book(link: FakeLink, max_retries: int = 2) -> PartBook:
    return PartBook(link, Pacing(0), RetryPolicy(max_retries, 0.05, 5.0), FixedClock())


def _write(book: PartBook, now: float = 0.0) -> list[int]:
    """Write every part ready at `now`, as the sender's writer does; their sequences."""
    seqs: list[int] = []
    while (work := book.next_work(now)) is not None:
        seq = next(SEQUENCES)
        book.in_flight[seq] = work
        seqs.append(seq)
    return seqs


def _ended(events: list[Event]) -> list[tuple[int, MessageStatus, Reason | None, int | None]]:
    return [
        (e.outcome.message_id, e.outcome.statut, e.outcome.raison, e.outcome.code_smsc)
        for e in events if isinstance(e, Ended)
    ]


@pytest.mark.parametrize(
    ("status", "ended", "waiting"),
    [
        (Status.ESME_ROK, [(1, MessageStatus.ENVOYE, None, None)], 0),
        (Status.ESME_RINVDSTADR, [(1, MessageStatus.ECHEC, Reason.REJET_SMSC, 0x0B)], 0),
        (0x00000400, [(1, MessageStatus.ECHEC, Reason.REJET_SMSC, 0x400)], 0),
        (Status.ESME_RTHROTTLED, [], 1),  # sent again first
        (Status.ESME_RSYSERR, [], 1),  # sent again after its backoff
        (Status.ESME_RMSGQFUL, [], 1),
    ],
)
def test_one_answer_ends_the_message_or_keeps_its_part_waiting(
    status: int, ended: list[tuple[int, MessageStatus, Reason | None, int | None]], waiting: int
) -> None:
    link = FakeLink(_message(1))
    book = _book(link)
    (seq,) = _write(book)
    out: list[Event] = []
    book.answered(seq, status, "abc", 0.001, out)
    assert _ended(out) == ended
    assert link.ended == [m for m, *_ in ended]
    assert len(book.waiting) == waiting and not book.in_flight


def test_a_sent_message_carries_the_smsc_id_of_every_part_once_all_are_accepted() -> None:
    link = FakeLink(_message(1, long=True))
    book = _book(link)
    first, second = _write(book)
    out: list[Event] = []
    book.answered(second, Status.ESME_ROK, "b2", 0.001, out)
    assert out == []
    book.answered(first, Status.ESME_ROK, "a1", 0.002, out)
    book.answered(first, Status.ESME_ROK, "again", 0.003, out)  # an unknown sequence now
    (event,) = out
    assert isinstance(event, Ended)
    assert (event.outcome.statut, event.outcome.smsc_ids, event.outcome.at) == (
        MessageStatus.ENVOYE, ("a1", "b2"), AT)
    assert book.accepted == 1 and not book


def _send(book: PartBook, seq: int, now: float = 0.0) -> Work:
    """Write the next part as sequence `seq`."""
    work = book.next_work(now)
    assert work is not None
    book.in_flight[seq] = work
    return work


def test_a_throttled_part_goes_again_before_parts_not_sent_yet() -> None:
    link = FakeLink(_message(1), _message(2))
    book = _book(link)
    assert _send(book, 7)[0].message_id == 1
    book.answered(7, Status.ESME_RTHROTTLED, "", 0.001, [])
    assert [w[0].message_id for w in iter(lambda: book.next_work(0.002), None)] == [1, 2]
    assert book.throttled == 1


def test_transient_errors_back_off_then_fail_as_a_network_error() -> None:
    link = FakeLink(_message(1))
    book = _book(link, max_retries=2)
    out: list[Event] = []
    now = 0.0
    for delay_s in (0.05, 0.1):
        (seq,) = _write(book, now)
        book.answered(seq, Status.ESME_RSYSERR, "", now, out)
        assert book.next_work(now + delay_s - 0.001) is None, "waits out its backoff"
        now += delay_s
    (seq,) = _write(book, now)
    book.answered(seq, Status.ESME_RSYSERR, "", now, out)
    assert _ended(out) == [(1, MessageStatus.ECHEC, Reason.ERREUR_RESEAU, Status.ESME_RSYSERR)]
    assert book.retries == 2 and book.failed == 1


def test_an_expired_submit_is_a_possible_duplicate_retried_then_failed_without_a_code() -> None:
    link = FakeLink(_message(1))
    book = _book(link, max_retries=0)
    (seq,) = _write(book)
    out: list[Event] = []
    book.expired(seq, 10.0, out)
    assert _ended(out) == [(1, MessageStatus.ECHEC, Reason.ERREUR_RESEAU, None)]
    (event,) = out
    assert isinstance(event, Ended) and event.outcome.doublon_possible


def test_a_lost_connection_hands_back_each_unfinished_message_once() -> None:
    done, flying, throttled, fresh = _message(1), _message(2, long=True), _message(3), _message(4)
    link = FakeLink(done, flying, throttled)
    book = _book(link)
    for seq in (1, 2, 3, 4):  # done, both parts of flying, throttled
        _send(book, seq)
    book.waiting.take(fresh)
    book.answered(1, Status.ESME_ROK, "a", 0.001, [])
    book.answered(4, Status.ESME_RTHROTTLED, "", 0.001, [])
    book.hand_back()
    assert link.handed_back == [2, 3, 4]
    assert (flying.possible_duplicate, throttled.possible_duplicate, fresh.possible_duplicate) == (
        True, False, False), "only what was in flight may have reached the SMSC"
    assert not book and link.ended == [1]


def _deliver(esm_class: int, *tlvs: Tlv) -> DeliverSm:
    return DeliverSm(esm_class=esm_class, tlvs=tlvs)


def test_a_receipt_goes_to_the_router_and_an_inbound_message_does_not() -> None:
    book = _book(FakeLink())
    out: list[Event] = []
    state = Tlv(Tag.MESSAGE_STATE, bytes((MessageState.DELIVERED,)))
    book.delivered(_deliver(ESM_DELIVERY_RECEIPT, Tlv(Tag.RECEIPTED_MESSAGE_ID, b"12\0"), state), out)
    book.delivered(_deliver(0, Tlv(Tag.RECEIPTED_MESSAGE_ID, b"13\0"), state), out)
    assert out == [Receipt("12", "LIVRE", AT)]
    assert book.receipts == 1


def test_a_message_past_its_validity_ends_expire_unless_the_smsc_took_a_part() -> None:
    """validite: a message not accepted in time ends ECHEC / EXPIRE when the bind
    would write it or retry it; one whose part was accepted goes on; each carries
    its validity to the SMSC (validity_period, absolute UTC)."""
    start = datetime.fromisoformat(AT).timestamp()
    fresh, retried, late = _message(1), _message(2), _message(3, long=True)
    for m in (fresh, retried, late):
        m.expires_at = start + 60
    assert fresh.submit_sm(0, 1, ReferenceCounter()).validity_period == "260101120100000+"
    link = FakeLink(fresh, retried, late)
    clock = FixedClock()
    book = PartBook(link, Pacing(0), RetryPolicy(5, 0.05, 5.0), clock)
    first_seq, second_seq = _write(book)[:2]
    third_first_part = next(s for s, (m, p) in book.in_flight.items() if m is late and p == 0)
    out: list[Event] = []
    book.answered(first_seq, Status.ESME_ROK, "a1", 0.01, out)
    book.answered(third_first_part, Status.ESME_ROK, "c1", 0.01, out)
    clock.wall += timedelta(seconds=61)
    book.answered(second_seq, Status.ESME_RSYSERR, "", 0.02, out)  # would be retried
    assert _ended(out) == [
        (1, MessageStatus.ENVOYE, None, None),
        (2, MessageStatus.ECHEC, Reason.EXPIRE, None),
    ]
    waiting = _message(4)
    waiting.expires_at = start + 60
    link.channel.append(waiting)
    assert book.next_work(1.0, out) is None, "past its validity: never written"
    assert _ended(out)[-1] == (4, MessageStatus.ECHEC, Reason.EXPIRE, None)
    assert book.in_flight, "the long message with an accepted part is still awaited"
