"""A heap of items due at trio times, handed out in batches by one task."""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import trio

T = TypeVar("T")


class TimerQueue(Generic[T]):
    """Items scheduled for a time (`trio.current_time()` scale).

    `serve(handler, gate)` runs until cancelled: whenever items fall due it calls the
    synchronous `handler(items, now)` once with all of them, in due order. Before each
    batch it awaits `gate()` (the simulator's stall switch). Scheduling never blocks;
    items still queued when `serve` is cancelled are dropped with the queue.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, T]] = []
        self._order = itertools.count()
        self._wake = trio.Event()

    def __len__(self) -> int:
        return len(self._heap)

    def schedule(self, due: float, item: T) -> None:
        heap = self._heap
        heapq.heappush(heap, (due, next(self._order), item))
        if heap[0][2] is item:
            self._wake.set()

    def drain(self) -> list[T]:
        """Remove and return every queued item, due or not."""
        items = [entry[2] for entry in sorted(self._heap)]
        self._heap.clear()
        return items

    async def serve(
        self,
        handler: Callable[[list[T], float], None],
        gate: Callable[[], Awaitable[None]],
    ) -> None:
        heap = self._heap
        while True:
            await gate()
            now = trio.current_time()
            if heap and heap[0][0] <= now:
                due: list[T] = []
                while heap and heap[0][0] <= now:
                    due.append(heapq.heappop(heap)[2])
                handler(due, now)
                await trio.lowlevel.checkpoint()
                continue
            self._wake = trio.Event()
            with trio.move_on_at(heap[0][0] if heap else math.inf):
                await self._wake.wait()
