"""The order in which a bind's waiting parts leave, from tables (no socket):
parts to send again first, in message order, retries once due, then fresh parts
in the order taken."""

from __future__ import annotations

from engine.dispatch.message import OutMessage
from engine.dispatch.parts import PartQueue
from engine.model import AccountId, MessageId, SendRef
from engine.text import encode_message, parse_sender

_SHORT = encode_message("Bonjour", 0)
_LONG = encode_message("x" * 200, 0)  # two parts


def _message(message_id: int, long: bool = False) -> OutMessage:
    sender = parse_sender("ION-Networking")
    return OutMessage(
        MessageId(message_id), AccountId(1), SendRef(1), "+24106000000", sender,
        _LONG if long else _SHORT,
    )


def _drain(queue: PartQueue, now: float) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    while (work := queue.pop(now)) is not None:
        out.append((work[0].message_id, work[1]))
    return out


def test_fresh_parts_leave_in_the_order_taken() -> None:
    queue = PartQueue()
    for m in (_message(3), _message(1, long=True), _message(2)):
        queue.take(m)
    assert len(queue) == 4
    assert _drain(queue, 0.0) == [(3, 0), (1, 0), (1, 1), (2, 0)]
    assert not queue


def test_a_part_put_back_leaves_before_fresh_ones_in_message_order() -> None:
    queue = PartQueue()
    first, second, third = _message(1), _message(2), _message(3)
    queue.take(third)
    queue.put_back((second, 0))
    queue.put_back((first, 0))
    assert _drain(queue, 0.0) == [(1, 0), (2, 0), (3, 0)]


def test_a_retry_waits_until_due_then_joins_the_parts_sent_again() -> None:
    queue = PartQueue()
    early, late, fresh = _message(1), _message(5), _message(9)
    queue.take(fresh)
    queue.retry_at(2.0, (early, 0))
    queue.put_back((late, 0))
    assert queue.next_due == 2.0
    assert _drain(queue, 1.0) == [(5, 0), (9, 0)]
    assert queue and queue.pop(1.999) is None
    assert _drain(queue, 2.0) == [(1, 0)]
    assert queue.next_due == float("inf")


def test_accepted_parts_are_not_taken_again() -> None:
    queue = PartQueue()
    message = _message(1, long=True)
    message.part_ids = ["a", None]
    queue.take(message)
    assert _drain(queue, 0.0) == [(1, 1)]


def test_clearing_lets_go_of_every_part_and_names_their_messages() -> None:
    queue = PartQueue()
    a, b, c = _message(1, long=True), _message(2), _message(3)
    queue.take(a)
    queue.put_back((b, 0))
    queue.retry_at(5.0, (c, 0))
    assert [m.message_id for m in queue.clear()] == [2, 1, 1, 3]
    assert not queue and len(queue) == 0
