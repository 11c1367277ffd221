"""Two operators, a simulator each, over real sockets: each recipient leaves on the
connection of its prefix (else the default), records it, and a connection's
max_rate holds across its binds."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.dispatch.routes import longest_prefix
from engine.dispatch.throttle import CAP_WINDOW_S, ConnectionPace
from tests.harness import eventually
from tests.operators.support import messages, muldes, numbers, open_operators, until_settled


async def test_a_mixed_send_reaches_each_operator_by_prefix_and_unmatched_go_to_the_default(
    tmp_path: Path,
) -> None:
    with trio.fail_after(60):
        async with open_operators(tmp_path) as ops:
            stack = ops.stack
            airtel_numbers = numbers("24107", 20) + numbers("24177", 5)
            moov_numbers = numbers("24106", 20) + numbers("24162", 5)
            others = ["+33612345678", "+24111000001", "+237650000001"]
            mixed = [n for trio_ in zip(airtel_numbers, moov_numbers, strict=True) for n in trio_]
            _, key = await stack.new_account(solde=1000)
            ref = await muldes(stack, key, mixed + others)
            ended = await until_settled(stack, key, ref)

            assert {m["statut"] for m in ended} == {"ENVOYE"}
            left_on = {m["destinataire"]: m["smsc"] for m in ended}
            assert left_on == {
                **dict.fromkeys(airtel_numbers, "airtel"),
                **dict.fromkeys(moov_numbers, "moov"),
                **dict.fromkeys(others, "airtel"),
            }
            assert Counter(ops.airtel.destinations()) == Counter(airtel_numbers + others)
            assert Counter(ops.moov.destinations()) == Counter(moov_numbers)


def test_the_longest_prefix_wins_else_the_default() -> None:
    prefixes = {"24107": "airtel", "241077": "moov", "24106": "moov"}
    assert longest_prefix(prefixes, "24107000001", "airtel") == "airtel"
    assert longest_prefix(prefixes, "24107700001", "airtel") == "moov"
    assert longest_prefix(prefixes, "24106000001", "airtel") == "moov"
    assert longest_prefix(prefixes, "33612345678", "airtel") == "airtel"
    assert longest_prefix(prefixes, "2410", "autre") == "autre"


def test_the_pace_never_lets_more_than_its_rate_into_any_span() -> None:
    pace = ConnectionPace(200)
    sent: list[float] = []
    now = 0.0
    while now < 5.0:
        if pace.take(now):
            sent.append(now)
        else:
            now = max(now + 0.0001, pace.next_at(now))
    for i, t in enumerate(sent):
        inside = [u for u in sent[i:] if u < t + 1.0]
        assert len(inside) <= 200
    assert len(sent) >= 4 * 190  # and it does send at about its rate


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 300), st.integers(0, 300), st.floats(0.0, 0.2)),
                min_size=1, max_size=200))
def test_writes_that_take_many_tokens_and_give_back_the_unused_never_pass_the_rate(
    writes: list[tuple[int, int, float]],
) -> None:
    """A bind takes tokens for a whole write, then gives back those its queue did not
    use: whatever the sizes, no span of the cap's length holds more than its rate."""
    pace = ConnectionPace(100)
    sent: list[float] = []
    now = 0.0
    for wanted, unused, step in writes:
        got = pace.take_upto(now, wanted)
        assert 0 <= got <= wanted
        back = min(unused, got)
        pace.untake(back)
        sent.extend([now] * (got - back))
        now += step
    end = 0
    for i, t in enumerate(sent):  # the submits in [t, t + CAP_WINDOW_S), for each t
        while end < len(sent) and sent[end] < t + CAP_WINDOW_S:
            end += 1
        assert end - i <= 100


async def test_max_rate_holds_across_the_binds_and_everything_is_sent(tmp_path: Path) -> None:
    with trio.fail_after(90):
        async with open_operators(tmp_path, airtel_rate=200, airtel_binds=2) as ops:
            stack = ops.stack
            _, key = await stack.new_account(solde=2000, debitMax=5000)
            _, other = await stack.new_account(solde=2000, debitMax=5000)
            first = await muldes(stack, key, numbers("24107", 700))
            second = await muldes(stack, other, numbers("24104", 300))

            async def submitted() -> int:  # cheap to ask: the API is asked once at the end
                return len(ops.airtel.sim.submitted)

            await eventually(submitted, lambda n: n >= 1000, within_s=30)
            ended = await until_settled(stack, key, first, within_s=30)
            ended += await until_settled(stack, other, second, within_s=30)

            assert {m["statut"] for m in ended} == {"ENVOYE"} and len(ended) == 1000
            assert len(ops.airtel.sim.submitted) == 1000
            per_second = ops.airtel.per_second()
            assert max(per_second.values()) <= 200, sorted(per_second.items())
            # at the cap, not far under it: 1,000 submits span at least five seconds
            assert len(per_second) >= 5, sorted(per_second.items())
            snapshot = await ops.connections()
            assert snapshot["airtel"]["debit_max_par_s"] == 200
            assert snapshot["airtel"]["soumis"] == 1000


async def test_without_a_cap_the_same_send_goes_faster_than_the_cap(tmp_path: Path) -> None:
    """The cap is what holds the rate: the same 1,000 without it exceed 200 in a second."""
    with trio.fail_after(90):
        async with open_operators(tmp_path, airtel_rate=0, SMSGW_SMSC_PROBE_SUBMITS="0") as ops:
            stack = ops.stack
            _, key = await stack.new_account(solde=2000, debitMax=5000)
            ref = await muldes(stack, key, numbers("24107", 1000))
            ended = await until_settled(stack, key, ref, within_s=30)
            assert {m["statut"] for m in ended} == {"ENVOYE"}
            assert max(ops.airtel.per_second().values()) > 200


async def test_messages_list_the_connection_they_left_on_after_a_restart(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with open_operators(tmp_path) as ops:
            stack = ops.stack
            _, key = await stack.new_account(solde=10)
            ref = await muldes(stack, key, ["+24106000001", "+24107000001"])
            await until_settled(stack, key, ref)
            listed = {m["destinataire"]: m["smsc"] for m in await messages(stack, key, ref)}
            assert listed == {"+24106000001": "moov", "+24107000001": "airtel"}
