"""Actor building blocks: a one-shot reply and a bounded mailbox.

An actor is one task that owns its state and takes commands from a bounded trio
memory channel (its mailbox); a full mailbox makes the sender wait, which is the
backpressure. A command that needs an answer carries a `Reply`: the actor sets it
once and never blocks doing so; the asker waits on it.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import trio

T = TypeVar("T")


class Reply(Generic[T]):
    """A one-shot answer. `set`/`fail` never block; `wait` returns or raises it."""

    __slots__ = ("_event", "_value", "_error")

    def __init__(self) -> None:
        self._event = trio.Event()
        self._value: T | None = None
        self._error: BaseException | None = None

    def set(self, value: T) -> None:
        if not self._event.is_set():
            self._value = value
            self._event.set()

    def fail(self, error: BaseException) -> None:
        if not self._event.is_set():
            self._error = error
            self._event.set()

    @property
    def done(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> T:
        await self._event.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


class ActorStopped(Exception):
    """The actor that should have answered has stopped."""


class NotHeld(LookupError):
    """On a node of a cluster: another node holds this account, and decides for it."""
