"""The router's memory of recent SMSC ids: what it gives back, and its bound."""

from __future__ import annotations

from engine.dispatch.results import RecentIds


def test_gives_back_each_id_with_its_message_under_its_own_spelling() -> None:
    recent = RecentIds(100)
    recent.put("123", 2**62 + 5, 2**63 - 1, 255)
    recent.put("1a2b", 7, 3, 1)
    recent.put("0123x", 8, 3, 2)
    assert recent.get("123") == (2**62 + 5, 2**63 - 1, 255)
    assert recent.get("1a2b") == (7, 3, 1)
    assert recent.get("0123x") == (8, 3, 2)
    assert recent.get("0123") is None  # not a spelling put: no number is confused with it
    assert recent.get("12") is None
    recent.put("123", 9, 4, 1)  # the same id routed again: the latest wins
    assert recent.get("123") == (9, 4, 1)


def test_keeps_at_least_half_its_capacity_and_never_more_than_it() -> None:
    recent = RecentIds(1000)
    for i in range(1, 5001):
        recent.put(str(i), i, i, 1)
        assert len(recent) <= 1000
    assert all(recent.get(str(i)) == (i, i, 1) for i in range(4501, 5001))
    assert recent.get("1") is None
