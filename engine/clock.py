"""Wall time for the engine, mapped onto trio's clock.

Everything that waits uses trio's clock (`trio.current_time`, `trio.sleep_until`),
so tests drive days of schedule with `trio.testing.MockClock`. `WallClock` maps
that clock to UTC wall time: it reads the system time once, when created, and
then advances with trio's clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import trio


class WallClock:
    """UTC wall time that advances with trio's clock. Create it inside `trio.run`."""

    def __init__(self, start: datetime | None = None) -> None:
        self._origin_wall = start if start is not None else datetime.now(UTC)
        self._origin_trio = trio.current_time()

    def now(self) -> datetime:
        return self._origin_wall + timedelta(seconds=trio.current_time() - self._origin_trio)

    def trio_time_of(self, when: datetime) -> float:
        """The trio clock reading at which wall time reaches `when`."""
        return self._origin_trio + (when - self._origin_wall).total_seconds()


def iso(dt: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the millisecond."""
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
