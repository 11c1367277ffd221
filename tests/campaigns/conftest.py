"""Fixtures for campaigns on trio's mock clock with the real stack.

`clock`: the mock clock the test runs on (see tests/campaigns/pacing.py).
`wall`: the wall time the gateway starts at. `WallClock` reads the system time
when the gateway is built; these tests set it instead (a Monday 06:00 in
Libreville, before the 08:00 window), so a schedule does not depend on the hour
the suite runs at, and a restart can begin hours after the previous stop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import trio.testing

from engine.clock import WallClock
from engine.gateway import runtime as gateway_module
from tests.campaigns.pacing import mock_clock

ZONE = ZoneInfo("Africa/Libreville")
FIRST_DAY = date(2031, 3, 10)


@dataclass
class Wall:
    """The wall time the next gateway built starts at."""

    start: datetime


def local(day: date, hhmm: str) -> datetime:
    """A time of day in Libreville, as an aware UTC datetime."""
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), ZONE).astimezone(UTC)


@pytest.fixture
def clock() -> trio.testing.MockClock:
    return mock_clock()


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> Wall:
    holder = Wall(local(FIRST_DAY, "06:00"))
    monkeypatch.setattr(gateway_module, "WallClock", lambda: WallClock(holder.start))
    return holder
