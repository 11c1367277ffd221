"""Wall time for the engine, mapped onto trio's clock.

Everything that waits uses trio's clock (`trio.current_time`, `trio.sleep_until`),
so tests drive days of schedule with `trio.testing.MockClock`. `WallClock` maps
that clock to UTC wall time: it reads the system time once, when created, and
then advances with trio's clock. How a timestamp is written (`iso`) is the
domain model's (`engine.model.time`), named here too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import trio

from engine.model.time import iso


class WallClock:
    """UTC wall time that advances with trio's clock. Create it inside `trio.run`."""

    def __init__(self, start: datetime | None = None) -> None:
        self._origin_wall = start if start is not None else datetime.now(UTC)
        self._origin_trio = trio.current_time()
        self._next_ms_at = float("-inf")
        self._iso = ""

    def now(self) -> datetime:
        return self._origin_wall + timedelta(seconds=trio.current_time() - self._origin_trio)

    def now_iso(self) -> str:
        """`iso(self.now())`, formatted once per millisecond of wall time:
        requests and outcomes ask for it hundreds of times a millisecond."""
        t = trio.current_time()
        if t >= self._next_ms_at:
            now = self._origin_wall + timedelta(seconds=t - self._origin_trio)
            self._iso = iso(now)
            # a microsecond early: float rounding never serves the last millisecond late
            self._next_ms_at = t + (999 - now.microsecond % 1000) / 1_000_000
        return self._iso

    def shift(self, by: timedelta) -> None:
        """Move wall time by `by` from now on (a clock corrected by its operator;
        tests use it to let a validity pass without waiting for it)."""
        self._origin_wall += by
        self._next_ms_at = float("-inf")

    def trio_time_of(self, when: datetime) -> float:
        """The trio clock reading at which wall time reaches `when`."""
        return self._origin_trio + (when - self._origin_wall).total_seconds()
