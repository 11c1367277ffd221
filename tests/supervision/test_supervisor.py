"""The supervisor on its own, under trio's mock clock: a task that raises is logged,
counted and started again with doubling pauses; cancellation still ends everything."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import trio
import trio.testing

from engine.supervise import Supervisor


class Flaky:
    """A task that raises `failures` times, then reports readiness and runs."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.starts: list[float] = []
        self.running = trio.Event()

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        self.starts.append(trio.current_time())
        if len(self.starts) <= self.failures:
            raise RuntimeError(f"fault {len(self.starts)}")
        task_status.started("ready")
        self.running.set()
        await trio.sleep_forever()


async def test_a_task_that_raises_is_restarted_with_doubling_pauses_and_counted(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    supervisor = Supervisor(backoff_min_s=1.0, backoff_max_s=4.0)
    flaky = Flaky(failures=4)
    caplog.set_level(logging.ERROR, logger="engine.supervise")
    async with trio.open_nursery() as nursery:
        ready = await supervisor.start(nursery, "routeur", flaky.serve)
        assert ready == "ready", "the caller of start waits for the first run that starts"
        pauses = [b - a for a, b in zip(flaky.starts, flaky.starts[1:], strict=False)]
        assert pauses == [1.0, 2.0, 4.0, 4.0], "the pause doubles up to its cap"
        [stats] = supervisor.statistics()
        assert (stats.name, stats.restarts, stats.running) == ("routeur", 4, True)
        assert stats.last_error == "RuntimeError: fault 4"
        logged = [r for r in caplog.records if r.name == "engine.supervise"]
        assert len(logged) == 4, "each failure is logged once"
        assert all(r.exc_info is not None for r in logged), "with its traceback"
        nursery.cancel_scope.cancel()
    assert supervisor.statistics()[0].running is False


async def test_a_failure_of_one_task_leaves_the_others_running(
    autojump_clock: trio.testing.MockClock,
) -> None:
    supervisor = Supervisor(backoff_min_s=0.5, backoff_max_s=0.5)
    ticks = 0

    async def steady(*, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        nonlocal ticks
        task_status.started()
        while True:
            await trio.sleep(1)
            ticks += 1

    async def failing_every_second(*, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await trio.sleep(1)
        raise ValueError("again")

    with trio.move_on_after(30):
        async with trio.open_nursery() as nursery:
            await supervisor.start(nursery, "steady", steady)
            await supervisor.start(nursery, "failing", failing_every_second)
    assert ticks == 29
    assert supervisor.restarts("failing") == 20, "one failure every 1.5 s over 30 s"
    assert supervisor.restarts("steady") == 0


async def test_cancellation_during_the_pause_before_a_restart_ends_the_task(
    autojump_clock: trio.testing.MockClock,
) -> None:
    supervisor = Supervisor(backoff_min_s=100.0, backoff_max_s=100.0)
    flaky = Flaky(failures=10)
    with trio.move_on_after(50) as scope:
        async with trio.open_nursery() as nursery:
            supervisor.start_soon(nursery, "campagnes", flaky.serve)
    assert scope.cancelled_caught
    assert len(flaky.starts) == 1, "no restart once cancelled"
    assert trio.current_time() == pytest.approx(50.0)


async def test_a_task_that_returns_is_over_and_not_restarted(
    autojump_clock: trio.testing.MockClock,
) -> None:
    supervisor = Supervisor()
    runs = 0

    async def once(*, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        nonlocal runs
        runs += 1
        task_status.started()

    async with trio.open_nursery() as nursery:
        await supervisor.start(nursery, "idempotence", once)
    assert runs == 1
    assert supervisor.statistics()[0].running is False


async def test_cancellation_inside_a_task_is_not_taken_for_a_failure(
    autojump_clock: trio.testing.MockClock,
) -> None:
    supervisor = Supervisor(backoff_min_s=0.01, backoff_max_s=0.01)

    async def nested(*, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        async with trio.open_nursery() as inner:
            inner.start_soon(trio.sleep_forever)
            await trio.sleep_forever()

    with trio.move_on_after(5):
        async with trio.open_nursery() as nursery:
            await supervisor.start(nursery, "rappels", nested)
    assert supervisor.restarts("rappels") == 0


async def test_a_name_is_supervised_once() -> None:
    supervisor = Supervisor()
    async with trio.open_nursery() as nursery:
        await supervisor.start(nursery, "x", Flaky(failures=0).serve)
        with pytest.raises(ValueError, match="already supervised"):
            supervisor.start_soon(nursery, "x", Flaky(failures=0).serve)
        nursery.cancel_scope.cancel()
    assert supervisor.restarts("x") == 0
