"""The pure decision core: order of checks, token bucket, draws, repeatability."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from engine.smpp.constants import Status
from smsc_sim.behaviour import Decision, TokenBucket, decide, draw_outcome, sample_delay_s
from smsc_sim.config import (
    Behaviour,
    Distribution,
    DistributionKind,
    Outcome,
    PrefixRule,
    ReceiptMix,
)


def _decide(
    behaviour: Behaviour, rng: random.Random | None = None, **overrides: object
) -> Decision:
    args: dict[str, object] = {
        "destination": "33612345678",
        "registered_delivery": 1,
        "pending_responses": 0,
        "bucket": None,
        "now_s": 0.0,
    }
    args.update(overrides)
    return decide(behaviour, rng or random.Random(1), **args)  # type: ignore[arg-type]  # noqa: S311


def test_default_behaviour_accepts_at_once_with_an_immediate_receipt() -> None:
    decision = _decide(Behaviour())
    assert decision.status == Status.ESME_ROK
    assert decision.latency_s == 0.0
    assert decision.receipt is not None
    assert decision.receipt.outcome is Outcome.DELIVRD
    assert decision.receipt.delay_s == 0.0


def test_no_receipt_unless_registered_delivery_asks() -> None:
    assert _decide(Behaviour(), registered_delivery=0).receipt is None
    assert _decide(Behaviour(receipts=False)).receipt is None


def test_failure_only_receipts_skip_delivered_outcomes() -> None:
    assert _decide(Behaviour(), registered_delivery=2).receipt is None
    failing = Behaviour(receipt_mix=ReceiptMix(delivrd=0, undeliv=1))
    plan = _decide(failing, registered_delivery=2).receipt
    assert plan is not None and plan.outcome is Outcome.UNDELIV


def test_window_full_wins_over_everything() -> None:
    behaviour = Behaviour(window_size=3, rules=(PrefixRule("33", status=Status.ESME_RINVDSTADR),))
    assert _decide(behaviour, pending_responses=3).status == Status.ESME_RMSGQFUL
    assert _decide(behaviour, pending_responses=2).status == Status.ESME_RINVDSTADR


def test_throttle_before_rules_and_answered_at_once() -> None:
    behaviour = Behaviour(latency=Distribution(fixed_ms=50))
    bucket = TokenBucket(2, now_s=0.0)
    statuses = [_decide(behaviour, bucket=bucket).status for _ in range(3)]
    assert statuses == [Status.ESME_ROK, Status.ESME_ROK, Status.ESME_RTHROTTLED]
    assert _decide(behaviour, bucket=bucket).latency_s == 0.0


def test_first_matching_rule_sets_status_and_latency() -> None:
    behaviour = Behaviour(
        rules=(
            PrefixRule("336", latency=Distribution(fixed_ms=250)),
            PrefixRule("33", status=Status.ESME_RINVDSTADR),
        )
    )
    slow = _decide(behaviour, destination="33612")
    assert (slow.status, slow.latency_s) == (Status.ESME_ROK, 0.25)
    assert _decide(behaviour, destination="33712").status == Status.ESME_RINVDSTADR
    assert _decide(behaviour, destination="44712").status == Status.ESME_ROK


def test_rejected_submits_get_no_receipt() -> None:
    behaviour = Behaviour(error_rate=1.0, error_status=Status.ESME_RSYSERR)
    decision = _decide(behaviour)
    assert decision.status == Status.ESME_RSYSERR
    assert decision.receipt is None


def test_seeded_draws_repeat() -> None:
    behaviour = Behaviour(
        error_rate=0.3,
        latency=Distribution(kind=DistributionKind.UNIFORM, min_ms=1, max_ms=9),
        receipt_mix=ReceiptMix(delivrd=1, undeliv=1, expired=1, rejectd=1),
    )
    first, second = random.Random(7), random.Random(7)  # noqa: S311
    assert [_decide(behaviour, first) for _ in range(200)] == [
        _decide(behaviour, second) for _ in range(200)
    ]


def test_token_bucket_refills_with_time_up_to_one_second() -> None:
    bucket = TokenBucket(10, now_s=0.0)
    assert sum(bucket.try_take(0.0) for _ in range(20)) == 10
    assert sum(bucket.try_take(0.5) for _ in range(20)) == 5
    assert sum(bucket.try_take(100.0) for _ in range(20)) == 10


@given(
    rate=st.floats(min_value=0.5, max_value=10_000),
    steps=st.lists(st.floats(min_value=0, max_value=2), min_size=1, max_size=50),
)
def test_token_bucket_never_exceeds_capacity_plus_refill(rate: float, steps: list[float]) -> None:
    bucket = TokenBucket(rate, now_s=0.0)
    now = 0.0
    taken = 0
    for step in steps:
        now += step
        while bucket.try_take(now):
            taken += 1
    assert taken <= max(1.0, rate) + rate * now + 1e-6


@given(seed=st.integers(), kind=st.sampled_from(list(DistributionKind)))
def test_delays_are_never_negative(seed: int, kind: DistributionKind) -> None:
    dist = Distribution(kind=kind, fixed_ms=5, min_ms=1, max_ms=3, median_ms=20, sigma=1.5)
    assert sample_delay_s(dist, random.Random(seed)) >= 0.0  # noqa: S311


def test_outcome_mix_follows_weights() -> None:
    rng = random.Random(3)  # noqa: S311
    mix = ReceiptMix(delivrd=0.7, undeliv=0.2, expired=0.1, rejectd=0)
    draws = [draw_outcome(mix, rng) for _ in range(20_000)]
    assert abs(draws.count(Outcome.DELIVRD) / 20_000 - 0.7) < 0.02
    assert abs(draws.count(Outcome.UNDELIV) / 20_000 - 0.2) < 0.02
    assert draws.count(Outcome.REJECTD) == 0
