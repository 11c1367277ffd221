"""A token bucket with time passed in (pure). It is the domain model's
(`engine.model.bucket`), named here for the engine modules that pace with it."""

from __future__ import annotations

from engine.model.bucket import TokenBucket as TokenBucket
