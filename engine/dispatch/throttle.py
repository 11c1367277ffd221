"""The adaptive send rate of one bind, after ESME_RTHROTTLED (pure, time passed in).

A bind starts unlimited. The first throttle sets its rate just under what the SMSC
accepted over the last second; each further throttle cuts it by `cut`; every second
without a throttle raises it by `grow`, and once it passes `ceiling_per_s` the bind is
unlimited again (multiplicative decrease, multiplicative increase).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from itertools import repeat

from engine.model import TokenBucket


@dataclass(slots=True)
class AdaptiveRate:
    cut: float = 0.8
    grow: float = 1.1
    ceiling_per_s: float = 100_000.0
    bucket: TokenBucket | None = None
    last_change: float = 0.0
    _accepted: deque[list[float]] = field(default_factory=deque)
    """[time, count] of the submits accepted over the last second: the answers of
    one read share their time, so they share one entry."""

    @property
    def rate_per_s(self) -> float | None:
        """The current limit, or None while unlimited."""
        return self.bucket.rate_per_s if self.bucket is not None else None

    def accepted(self, now: float) -> None:
        """The SMSC accepted one submit at `now`."""
        accepted = self._accepted
        if accepted and accepted[-1][0] == now:
            accepted[-1][1] += 1
            return
        accepted.append([now, 1])
        horizon = now - 1.0
        while accepted[0][0] < horizon:
            accepted.popleft()

    def throttled(self, now: float) -> None:
        """The SMSC answered ESME_RTHROTTLED at `now`: slow down."""
        horizon = now - 1.0
        while self._accepted and self._accepted[0][0] < horizon:
            self._accepted.popleft()
        observed = max(1.0, sum(count for _, count in self._accepted) * 0.9)
        if self.bucket is None:
            rate = observed
        elif now - self.last_change < 0.1:
            return  # the same burst of refusals: one cut is enough
        else:
            rate = max(1.0, min(observed, self.bucket.rate_per_s * self.cut))
        self.bucket = TokenBucket.full(rate, now, burst=max(1.0, rate / 50))
        self.bucket.tokens = 0.0
        self.last_change = now

    def take(self, now: float) -> bool:
        """Whether one submit may leave at `now` (takes its token)."""
        return self.take_upto(now, 1) == 1

    def take_upto(self, now: float, wanted: int) -> int:
        """How many of `wanted` submits may leave at `now` (takes their tokens)."""
        bucket = self.bucket
        if bucket is None:
            return wanted
        if now - self.last_change >= 1.0:
            self.last_change = now
            bucket.rate_per_s *= self.grow
            bucket.burst = max(1.0, bucket.rate_per_s / 50)
            if bucket.rate_per_s > self.ceiling_per_s:
                self.bucket = None
                return wanted
        return bucket.take(wanted, now)

    def untake(self, count: int = 1) -> None:
        """Return the tokens of `count` submits that did not leave after all."""
        if self.bucket is not None:
            self.bucket.tokens = min(self.bucket.burst, self.bucket.tokens + count)

    def next_at(self, now: float) -> float:
        """When the next submit may leave."""
        return now if self.bucket is None else self.bucket.next_token_at(now)


CAP_WINDOW_S = 1.05
"""The span a connection's `max_rate` counts over: a second and a twentieth, so an
SMSC that sees the submits a little later and unevenly never counts more in one
of its own seconds."""


class ConnectionPace:
    """The submits of one SMSC connection, shared by all its binds (pure, time passed
    in): a bucket of `max_rate_per_s` tokens where each token taken comes back
    `CAP_WINDOW_S` after it was used, so no span of that length ever holds more than
    `max_rate_per_s` submits, whatever the binds do together. `max_rate_per_s` 0:
    no cap, only counted. `per_s` is the throughput over the last second."""

    __slots__ = ("_sent", "max_rate_per_s")

    def __init__(self, max_rate_per_s: int = 0) -> None:
        self.max_rate_per_s = max_rate_per_s
        self._sent: deque[float] = deque()

    def _forget(self, now: float) -> None:
        sent, horizon = self._sent, now - CAP_WINDOW_S
        while sent and sent[0] <= horizon:
            sent.popleft()

    def take(self, now: float) -> bool:
        """Whether one submit may leave at `now` (and count it)."""
        return self.take_upto(now, 1) == 1

    def take_upto(self, now: float, wanted: int) -> int:
        """How many of `wanted` submits may leave at `now` (and count them)."""
        self._forget(now)
        if self.max_rate_per_s:
            wanted = max(0, min(wanted, self.max_rate_per_s - len(self._sent)))
        self._sent.extend(repeat(now, wanted))
        return wanted

    def untake(self, count: int = 1) -> None:
        """Forget the last `count` submits counted: they did not leave after all."""
        sent = self._sent
        for _ in range(min(count, len(sent))):
            sent.pop()

    def next_at(self, now: float) -> float:
        """When the next submit may leave."""
        self._forget(now)
        if not self.max_rate_per_s or len(self._sent) < self.max_rate_per_s:
            return now
        return self._sent[0] + CAP_WINDOW_S

    def per_s(self, now: float) -> int:
        """Submits counted over the last second."""
        self._forget(now)
        horizon = now - 1.0
        return sum(1 for t in reversed(self._sent) if t > horizon) if self._sent else 0
