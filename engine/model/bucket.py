"""A token bucket with time passed in (pure): the pacing rule the account actors,
the dispatcher and the API's per-key limit share. Mutable, unlike the rest of the
model: each bucket belongs to the one owner that takes from it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    """`rate_per_s` tokens a second, holding at most `burst`. Time is passed in."""

    rate_per_s: float
    burst: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, rate_per_s: float, now: float, burst: float | None = None) -> TokenBucket:
        size = burst if burst is not None else max(1.0, rate_per_s)
        return cls(rate_per_s, size, size, now)

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate_per_s)
            self.updated = now

    def available(self, now: float) -> float:
        """Tokens in the bucket at `now`."""
        self._refill(now)
        return self.tokens

    def take(self, wanted: int, now: float) -> int:
        """Take up to `wanted` whole tokens; return how many were taken."""
        self._refill(now)
        got = min(wanted, int(self.tokens))
        self.tokens -= got
        return got

    def next_token_at(self, now: float) -> float:
        """When at least one whole token will be available."""
        self._refill(now)
        if self.tokens >= 1:
            return now
        return now + (1 - self.tokens) / self.rate_per_s
