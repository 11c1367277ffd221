"""The parts one bind holds and has not submitted yet, in the order they leave
(pure: no trio, no socket; time is passed in).

Three kinds wait: fresh parts, in the order their messages were taken from the
bind's channel; parts to send again at once (a throttled part), kept in message
order; and parts waiting out a retry's backoff, by due time. A part to send again
goes before every fresh part, and a retry that falls due joins those, in message
order: so a part put back keeps its place among its account's parts not yet sent.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections import deque

from engine.dispatch.message import OutMessage

Work = tuple[OutMessage, int]
"""One part of one message: (message, part index)."""


def _order(work: Work) -> tuple[int, int]:
    return work[0].message_id, work[1]


class PartQueue:
    """Owned by one bind's sender: what it has taken and not yet written. Never
    blocks; `pop` returns None when nothing is ready (the sender then takes the
    next message from its channel, or waits until `next_due`)."""

    __slots__ = ("_again", "_fresh", "_later", "_tie")

    def __init__(self) -> None:
        self._fresh: deque[Work] = deque()
        self._again: list[Work] = []
        self._later: list[tuple[float, int, OutMessage, int]] = []
        self._tie = itertools.count()

    def __bool__(self) -> bool:
        return bool(self._fresh or self._again or self._later)

    def __len__(self) -> int:
        return len(self._fresh) + len(self._again) + len(self._later)

    def take(self, message: OutMessage) -> None:
        """Own a message from the channel: queue each of its parts not yet accepted."""
        part_ids = message.part_ids
        if part_ids is None:
            parts = len(message.common.encoded.parts)
            message.part_ids = [None] * parts
            if parts == 1:  # the commonest message: one part, none sent yet
                self._fresh.append((message, 0))
                return
            part_ids = message.part_ids
        self._fresh.extend((message, i) for i, sid in enumerate(part_ids) if sid is None)

    def pop(self, now: float) -> Work | None:
        """The next part to write at `now`: parts to send again first (message
        order, retries due by `now` among them), then fresh ones; None if none."""
        later = self._later
        if later:
            while later and later[0][0] <= now:
                _, _, message, part = heapq.heappop(later)
                bisect.insort(self._again, (message, part), key=_order)
        if self._again:
            return self._again.pop(0)
        return self._fresh.popleft() if self._fresh else None

    def put_back(self, work: Work) -> None:
        """Send `work` again before every fresh part, in message order."""
        bisect.insort(self._again, work, key=_order)

    def retry_at(self, due: float, work: Work) -> None:
        """Send `work` again once `due` has come (then as `put_back`)."""
        heapq.heappush(self._later, (due, next(self._tie), *work))

    @property
    def next_due(self) -> float:
        """When the first retry falls due (infinity if none waits)."""
        return self._later[0][0] if self._later else float("inf")

    def clear(self) -> list[OutMessage]:
        """Let go of every part; returns their messages, once per part held (to
        send again, fresh, then waiting for a retry)."""
        held = [m for m, _ in itertools.chain(self._again, self._fresh)]
        held.extend(m for _, _, m, _ in self._later)
        self._fresh.clear()
        self._again.clear()
        self._later.clear()
        return held
