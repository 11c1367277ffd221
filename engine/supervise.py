"""Supervision of the engine's long-lived tasks: a task that raises is restarted.

A `Supervisor` runs each task it is given (`start`) in the caller's nursery, as
a permanent child: when the task raises an `Exception`, the exception is logged
once with its traceback, counted, and the task is started again after a pause
that doubles from `backoff_min_s` up to `backoff_max_s` (back to the minimum
once a run has lasted `backoff_max_s`). No exception of a supervised task ends
the nursery. A task that returns is over and is not restarted.

Cancellation is not an error: a cancelled task (the nursery's scope, a
shutdown) ends at once, during a run or during the pause before a restart, and
the cancellation goes on as it would without the supervisor.

A task is an async callable taking `task_status`, like `trio.Nursery.start`'s.
Its first run reports readiness to the caller of `start`; later runs report
nothing (their `task_status.started` is accepted and ignored). What a restarted
task reads again, and what it must not do twice, is its owner's business: each
owner's `serve` says what it keeps across runs.

Pure trio: no store, no engine imports.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import trio

log = logging.getLogger(__name__)

Serve = Callable[..., Awaitable[Any]]
"""`async def serve(*, task_status=trio.TASK_STATUS_IGNORED)`."""


@dataclass(frozen=True, slots=True)
class TaskStatistics:
    """One supervised task, as the operator snapshot shows it (`taches[]`)."""

    name: str
    restarts: int
    """Times the task raised and was started again."""
    last_error: str
    """The last exception's type and message ("" until one)."""
    running: bool
    """False once the task returned, or while it waits to be restarted."""


class _Record:
    __slots__ = ("name", "restarts", "last_error", "running")

    def __init__(self, name: str) -> None:
        self.name = name
        self.restarts = 0
        self.last_error = ""
        self.running = False


class _Once:
    """Passes the first `started` on to the real task status, ignores the rest."""

    __slots__ = ("_status", "_done")

    def __init__(self, status: Any) -> None:
        self._status = status
        self._done = False

    def started(self, value: Any = None) -> None:
        if not self._done:
            self._done = True
            self._status.started(value)


class Supervisor:
    """Owns the restart records of the tasks it started; the tasks themselves
    run in the nurseries given to `start`."""

    def __init__(self, *, backoff_min_s: float = 0.05, backoff_max_s: float = 10.0) -> None:
        if not 0 < backoff_min_s <= backoff_max_s:
            raise ValueError("need 0 < backoff_min_s <= backoff_max_s")
        self._min_s = backoff_min_s
        self._max_s = backoff_max_s
        self._records: dict[str, _Record] = {}

    async def start(self, nursery: trio.Nursery, name: str, serve: Serve) -> Any:
        """Run `serve` in `nursery` under supervision; return what its first run
        passed to `task_status.started` (waits until then). `name` must be unique."""
        if name in self._records:
            raise ValueError(f"a task named {name!r} is already supervised")
        record = self._records[name] = _Record(name)
        return await nursery.start(self._run, record, serve)

    def start_soon(self, nursery: trio.Nursery, name: str, serve: Serve) -> None:
        """Like `start`, without waiting for the task to report readiness."""
        if name in self._records:
            raise ValueError(f"a task named {name!r} is already supervised")
        record = self._records[name] = _Record(name)
        nursery.start_soon(self._run, record, serve)

    def restarts(self, name: str) -> int:
        """Times the task `name` was restarted (0 for an unknown name)."""
        record = self._records.get(name)
        return record.restarts if record is not None else 0

    def statistics(self) -> tuple[TaskStatistics, ...]:
        """Every supervised task, in the order they were started; never blocks."""
        return tuple(
            TaskStatistics(r.name, r.restarts, r.last_error, r.running)
            for r in self._records.values()
        )

    async def _run(
        self, record: _Record, serve: Serve, *, task_status: Any = trio.TASK_STATUS_IGNORED
    ) -> None:
        status = _Once(task_status)
        backoff_s = self._min_s
        while True:
            began = trio.current_time()
            record.running = True
            try:
                await serve(task_status=status)
                return
            except Exception as exc:
                if trio.current_time() - began >= self._max_s:
                    backoff_s = self._min_s  # it had been running well: start again soon
                record.restarts += 1
                record.last_error = f"{type(exc).__name__}: {exc}"[:500]
                log.exception(
                    "task %s failed (restart %d in %.2f s)",
                    record.name, record.restarts, backoff_s,
                )
            finally:
                record.running = False
            await trio.sleep(backoff_s)
            backoff_s = min(backoff_s * 2, self._max_s)
