"""The engine's wall clock: ISO stamps to the millisecond, on trio's clock."""

from __future__ import annotations

from datetime import UTC, datetime

import trio
import trio.testing

from engine.clock import WallClock
from engine.model import iso


async def test_now_iso_is_the_iso_stamp_of_now_at_every_step(
    autojump_clock: trio.testing.MockClock,
) -> None:
    clock = WallClock(datetime(2026, 11, 25, 23, 59, 59, 998_500, tzinfo=UTC))
    stamps = set()
    for step in range(20_000):
        assert clock.now_iso() == iso(clock.now()), step
        stamps.add(clock.now_iso())
        await trio.sleep(0.000_037 * (step % 7))
    # the walk crossed midnight and a couple of thousand milliseconds, each stamped once
    assert "2026-11-26T00:00:00.000Z" in stamps
    assert len(stamps) > 1_000
