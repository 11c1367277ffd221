"""The per-key request rate limit of the REST API (contract section 5).

One token bucket per API key, kept in memory and keyed by the key's SHA-256
(the key itself is never kept): `rate_per_s` tokens a second, at most `burst`.
Owned by the application; used only from the trio thread, so it needs no lock.
Buckets that have refilled are forgotten when the table grows past
`max_keys`, so memory stays bounded whatever keys clients invent.
"""

from __future__ import annotations

import math

import trio

from engine.model import TokenBucket


class KeyRateLimiter:
    def __init__(self, rate_per_s: float, burst: int, *, max_keys: int = 100_000) -> None:
        self.rate_per_s = rate_per_s
        self.burst = max(1, burst)
        self._max_keys = max_keys
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, digest: str) -> float:
        """Spend one token of `digest`'s bucket; return 0 when allowed, else the
        seconds to wait before a token is back."""
        if self.rate_per_s <= 0:
            return 0.0
        now = trio.current_time()
        bucket = self._buckets.get(digest)
        if bucket is None:
            bucket = self._buckets[digest] = TokenBucket.full(self.rate_per_s, now, self.burst)
        if not bucket.take(1, now):
            return bucket.next_token_at(now) - now
        if len(self._buckets) > self._max_keys:
            self._forget_full(now)
        return 0.0

    def retry_after_s(self, wait_s: float) -> int:
        """The Retry-After header value (whole seconds, at least 1)."""
        return max(1, math.ceil(wait_s))

    def _forget_full(self, now: float) -> None:
        refill_s = self.burst / self.rate_per_s
        for digest, bucket in list(self._buckets.items()):
            if now - bucket.updated >= refill_s:
                del self._buckets[digest]
        while len(self._buckets) > self._max_keys:
            self._buckets.pop(next(iter(self._buckets)))

    def __len__(self) -> int:
        return len(self._buckets)
