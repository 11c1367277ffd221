"""What the simulator answers to one submit_sm: pure decisions, no I/O, no clock.

Callers pass the knobs, a seeded `random.Random`, the bind's state (its token bucket
and how many submits still wait for their response) and the current time. The order
of the checks is part of the contract:

1. window full (`window_size` pending responses) -> ESME_RMSGQFUL, answered at once;
2. over the cap (token bucket empty) -> ESME_RTHROTTLED, answered at once;
3. the first prefix rule matching the destination: its status, its latency;
4. `error_rate` -> `error_status`;
5. otherwise ESME_ROK, and a receipt plan when receipts are on and
   registered_delivery asks for one (bit 0: always; value 2: on failure only).

Steps 3-5 answer after the latency (the rule's, else the global one).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from engine.smpp.constants import Status

from .config import Behaviour, Distribution, DistributionKind, Outcome, ReceiptMix


@dataclass(frozen=True, slots=True)
class ReceiptPlan:
    """Send a receipt with `outcome`, `delay_s` after the submit_sm_resp."""

    delay_s: float
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class Decision:
    status: int
    latency_s: float
    receipt: ReceiptPlan | None


_THROTTLED = Decision(Status.ESME_RTHROTTLED, 0.0, None)
_QUEUE_FULL = Decision(Status.ESME_RMSGQFUL, 0.0, None)
_ACCEPT_NOW = Decision(Status.ESME_ROK, 0.0, None)


class TokenBucket:
    """`rate_per_s` tokens per second, holding at most one second's worth (at least 1).
    Time is passed in, in seconds, from any monotonic source."""

    __slots__ = ("rate_per_s", "capacity", "tokens", "updated_s")

    def __init__(self, rate_per_s: float, now_s: float) -> None:
        self.rate_per_s = rate_per_s
        self.capacity = max(1.0, rate_per_s)
        self.tokens = self.capacity
        self.updated_s = now_s

    def try_take(self, now_s: float) -> bool:
        elapsed = now_s - self.updated_s
        if elapsed > 0:
            self.tokens = min(self.capacity, self.tokens + elapsed * self.rate_per_s)
            self.updated_s = now_s
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def sample_delay_s(dist: Distribution, rng: random.Random) -> float:
    """One draw from `dist`, in seconds (never negative)."""
    if dist.kind is DistributionKind.FIXED:
        return dist.fixed_ms / 1000.0
    if dist.kind is DistributionKind.UNIFORM:
        return rng.uniform(dist.min_ms, dist.max_ms) / 1000.0
    return rng.lognormvariate(math.log(dist.median_ms), dist.sigma) / 1000.0


def draw_outcome(mix: ReceiptMix, rng: random.Random) -> Outcome:
    weights = mix.weights()
    point = rng.random() * sum(w for _, w in weights)
    for outcome, weight in weights:
        if point < weight:
            return outcome
        point -= weight
    return next(outcome for outcome, weight in reversed(weights) if weight > 0)


def decide(
    behaviour: Behaviour,
    rng: random.Random,
    *,
    destination: str,
    registered_delivery: int,
    pending_responses: int,
    bucket: TokenBucket | None,
    now_s: float,
) -> Decision:
    """The answer to one submit_sm (see the module docstring for the order)."""
    if behaviour.window_size and pending_responses >= behaviour.window_size:
        return _QUEUE_FULL
    if bucket is not None and not bucket.try_take(now_s):
        return _THROTTLED
    status: int = Status.ESME_ROK
    latency = behaviour.latency
    for rule in behaviour.rules:
        if destination.startswith(rule.prefix):
            if rule.status is not None:
                status = rule.status
            if rule.latency is not None:
                latency = rule.latency
            break
    if status == Status.ESME_ROK and behaviour.error_rate and rng.random() < behaviour.error_rate:
        status = behaviour.error_status
    latency_s = 0.0 if latency.is_zero else sample_delay_s(latency, rng)
    receipt = None
    wanted = registered_delivery & 0x03
    if status == Status.ESME_ROK and behaviour.receipts and wanted in (1, 2):
        outcome = draw_outcome(behaviour.receipt_mix, rng)
        if wanted == 1 or outcome is not Outcome.DELIVRD:
            delay = behaviour.receipt_delay
            receipt = ReceiptPlan(0.0 if delay.is_zero else sample_delay_s(delay, rng), outcome)
    if status == Status.ESME_ROK and latency_s == 0.0 and receipt is None:
        return _ACCEPT_NOW
    return Decision(status, latency_s, receipt)
