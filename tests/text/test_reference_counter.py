"""Per-destination concatenation references: cycling, independence, bounded memory."""

from __future__ import annotations

import pytest

from engine.text import ReferenceCounter


def test_first_destination_starts_at_zero() -> None:
    assert ReferenceCounter().next("+24106123456") == 0


def test_references_of_one_destination_cycle_through_every_octet() -> None:
    counter = ReferenceCounter()
    first_cycle = [counter.next("+24106123456") for _ in range(256)]
    assert sorted(first_cycle) == list(range(256))
    assert first_cycle == [(first_cycle[0] + i) % 256 for i in range(256)]
    assert counter.next("+24106123456") == first_cycle[0]


def test_each_destination_has_its_own_counter() -> None:
    counter = ReferenceCounter()
    a = [counter.next("+24106123456") for _ in range(3)]
    b = [counter.next("+24107456789") for _ in range(3)]
    a_next = counter.next("+24106123456")
    assert a == [a[0], a[0] + 1, a[0] + 2]
    assert b == [b[0], b[0] + 1, b[0] + 2]
    assert a_next == a[0] + 3


def test_new_destinations_start_at_staggered_values() -> None:
    counter = ReferenceCounter()
    starts = [counter.next(f"+2410612{i:04d}") for i in range(300)]
    assert starts == [i % 256 for i in range(300)]


def test_memory_holds_only_the_most_recent_destinations() -> None:
    counter = ReferenceCounter(max_destinations=2)
    counter.next("a")
    counter.next("b")
    counter.next("a")
    counter.next("c")
    assert len(counter) == 2
    assert counter.next("a") == 2, "a was used recently, so it was kept"
    assert counter.next("b") == 3, "b was the least recently used, so it restarts"


def test_max_destinations_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_destinations"):
        ReferenceCounter(max_destinations=0)
