"""Driving days of campaign on trio's mock clock with the real stack.

Measured: under `MockClock(autojump_threshold=0)` the clock leaps to the next
deadline whenever every task is blocked, and a task waiting for the store's
writer thread or for bytes on a socket is blocked. One 1 ms commit is then
enough for the clock to leap an hour to the next slot, or past an HTTP
client's timeout; a ticking task does not help, since the loop ticks and leaps
again many times within that millisecond.

So these tests use `mock_clock()`: the clock leaps only after `AUTOJUMP_S` of
real idleness (no thread or socket work pending), and `heartbeat` keeps a
deadline at most `STEP_S` ahead while real work is in progress, so mock time
runs on in steps of at most one second, like wall time passing, only faster.
Between slots nothing runs and the clock jumps straight to the next one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager

import trio
import trio.testing

STEP_S = 1.0
AUTOJUMP_S = 0.002


def mock_clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=AUTOJUMP_S)


class Pacer:
    """A heartbeat that keeps a deadline at most `step_s` ahead while it is on."""

    def __init__(self, step_s: float = STEP_S) -> None:
        self.step_s = step_s
        self._on = True
        self._resumed = trio.Event()

    def off(self) -> None:
        self._on = False

    def on(self) -> None:
        self._on = True
        self._resumed.set()

    async def run(self) -> None:
        while True:
            if self._on:
                await trio.sleep(self.step_s)
            else:
                self._resumed = trio.Event()
                await self._resumed.wait()

    async def slots(self, slots: Iterable[tuple[float, int]], reached: Callable[[], int]) -> None:
        """For each slot (trio time, recipients), in order: jump straight to just
        before it, then let mock time run in steps until `reached()` (the SMSC's
        count of accepted messages) covers every wave so far."""
        expected = reached()
        for at, count in slots:
            if trio.current_time() < at - self.step_s:
                self.off()
                await trio.sleep_until(at - self.step_s)
                self.on()
            expected += count
            while trio.current_time() < at or reached() < expected:  # noqa: ASYNC110 - steps the mock clock
                await trio.sleep(self.step_s)

    async def until(self, moment: float) -> None:
        """Jump straight to trio time `moment` (nothing is expected to run meanwhile)."""
        self.off()
        await trio.sleep_until(moment)
        self.on()


@asynccontextmanager
async def paced(step_s: float = STEP_S) -> AsyncIterator[Pacer]:
    """A running `Pacer`, on from the start (stacks start and stop under it)."""
    pacer = Pacer(step_s)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(pacer.run)
        yield pacer
        nursery.cancel_scope.cancel()
