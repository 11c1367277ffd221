"""A bind's pace from tables (no socket, time passed in): what a run of writes,
answers and instants does to its mode (probe, one at a time, window) and to the
submits it may keep outstanding."""

from __future__ import annotations

import pytest

from engine.dispatch.policy.pacing import PROBE_MAX_S, Pacing
from engine.dispatch.throttle import AdaptiveRate
from engine.model import BindMode

PROBE, ONE, WINDOW = BindMode.PROBE, BindMode.ONE_AT_A_TIME, BindMode.WINDOW
Step = tuple[float, str, BindMode]
"""At time t, the bind `write`s a submit, hears `ok` or `throttled`, or only
looks (`tick`); then the writer asks `one_at_a_time(t)`, and the bind is in mode."""


def _play(pacing: Pacing, steps: list[Step]) -> list[tuple[BindMode, int]]:
    seen: list[tuple[BindMode, int]] = []
    for t, event, _ in steps:
        match event:
            case "write":
                pacing.wrote(t)
            case "ok":
                pacing.accepted(t)
            case "throttled":
                pacing.throttled(t)
            case "tick":
                pass
            case _:
                raise AssertionError(event)
        single = pacing.one_at_a_time(t)
        assert single == (pacing.mode is not WINDOW)
        seen.append((pacing.mode, pacing.window_size(200)))
    return seen


SCENARIOS: dict[str, tuple[int, list[Step]]] = {
    "no probe: the window is open at once": (0, [
        (0.0, "tick", WINDOW), (0.0, "write", WINDOW), (0.001, "ok", WINDOW),
    ]),
    "a probe that meets no cap opens the window once its submits are accepted": (3, [
        (0.0, "tick", PROBE),
        (0.0, "write", PROBE), (0.001, "ok", PROBE),
        (0.001, "write", PROBE), (0.002, "ok", PROBE),
        (0.002, "write", PROBE), (0.003, "ok", WINDOW),
        (0.003, "write", WINDOW), (5.0, "tick", WINDOW),
    ]),
    "a probe lasts PROBE_MAX_S from its first submit, not from the bind": (500, [
        (5.0, "tick", PROBE),
        (10.0, "write", PROBE), (10.5, "ok", PROBE),
        (10.5, "write", PROBE),  # a later write does not move the end
        (10.0 + PROBE_MAX_S - 0.001, "tick", PROBE),
        (10.0 + PROBE_MAX_S, "tick", WINDOW),
        (20.0, "ok", WINDOW),
    ]),
    "a cap met while probing keeps the bind one at a time past the probe's end": (500, [
        (0.0, "write", PROBE), (0.0005, "ok", PROBE),
        (0.001, "write", PROBE), (0.0015, "throttled", ONE),
        (0.0015, "write", ONE), (0.5, "ok", ONE),
        (2.0, "tick", ONE), (60.0, "tick", ONE),
    ]),
    "a cap met with the window open slows the bind but keeps its window": (2, [
        (0.0, "write", PROBE), (0.001, "ok", PROBE),
        (0.001, "write", PROBE), (0.002, "ok", WINDOW),
        (0.002, "write", WINDOW), (0.003, "throttled", WINDOW), (3.0, "tick", WINDOW),
    ]),
    "throttled before its first probe submit is answered, the bind holds": (500, [
        (0.0, "write", PROBE), (0.001, "throttled", ONE),
    ]),
}


@pytest.mark.parametrize(("probe_submits", "steps"), SCENARIOS.values(), ids=SCENARIOS.keys())
def test_the_mode_and_window_follow_the_probe_and_the_cap(
    probe_submits: int, steps: list[Step]
) -> None:
    pacing = Pacing(probe_submits)
    pacing.bound()
    expected = [(mode, 200 if mode is WINDOW else 1) for _, _, mode in steps]
    assert _play(pacing, steps) == expected


def test_a_throttle_sets_a_rate_just_under_what_was_accepted_over_the_last_second() -> None:
    pacing = Pacing(0)
    pacing.bound()
    assert pacing.rate_limit_per_s is None
    for i in range(100):
        pacing.accepted(0.5 + i / 200)
    pacing.throttled(1.0)
    assert pacing.rate_limit_per_s == pytest.approx(90.0)
    assert pacing.mode is WINDOW


def test_a_held_bind_opens_its_window_once_its_rate_outgrows_the_ceiling() -> None:
    pacing = Pacing(500)
    pacing.bound()
    pacing.rate = AdaptiveRate(ceiling_per_s=2.0)
    assert _play(pacing, [(0.0, "write", PROBE), (0.5, "throttled", ONE)]) == [(PROBE, 1), (ONE, 1)]
    assert pacing.rate_limit_per_s == 1.0
    # each second without a throttle, the writer's take raises the rate by 10%
    seconds = 0
    while pacing.rate_limit_per_s is not None:
        seconds += 1
        pacing.rate.take(0.5 + seconds)
        assert pacing.one_at_a_time(0.5 + seconds) == (pacing.rate_limit_per_s is not None)
    assert seconds == 8  # 1.1 ** 8 > 2
    assert (pacing.mode, pacing.window_size(200)) == (WINDOW, 200)


def test_a_new_connection_starts_over_unlimited_and_probing() -> None:
    pacing = Pacing(500)
    pacing.bound()
    _play(pacing, [(0.0, "write", PROBE), (0.001, "throttled", ONE)])
    assert pacing.rate_limit_per_s is not None
    pacing.bound()
    assert pacing.rate_limit_per_s is None
    assert pacing.one_at_a_time(10.0) and pacing.mode is PROBE
    assert pacing.probe_left == 500 and pacing.probe_ends is None


def test_the_first_throttle_sets_the_rate_under_what_was_accepted_in_the_last_second() -> None:
    """Answers read together share their instant: they still count one each, and
    only those of the last second count."""
    rate = AdaptiveRate()
    for t in (0.0, 0.5):
        for _ in range(300):
            rate.accepted(t)  # too old by the throttle at 1.6
    for t in (1.0, 1.2, 1.4):
        for _ in range(50):
            rate.accepted(t)
    rate.throttled(1.6)
    assert rate.rate_per_s == pytest.approx(135.0)  # 150 accepted in [0.6, 1.6], × 0.9
