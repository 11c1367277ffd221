"""Parsing and validation of the knobs (CLI text, TOML and JSON share the rules)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.smpp.constants import Status
from smsc_sim.config import Behaviour, Distribution, DistributionKind, PrefixRule, ReceiptMix
from smsc_sim.knobs import (
    KnobError,
    apply_changes,
    behaviour_json,
    parse_distribution,
    parse_mix,
    parse_rule,
    parse_status,
    settings_from_mapping,
)


def test_distribution_text_forms() -> None:
    assert parse_distribution("5", "x") == Distribution(fixed_ms=5)
    assert parse_distribution(7, "x") == Distribution(fixed_ms=7)
    assert parse_distribution("uniform:1,10", "x") == Distribution(
        kind=DistributionKind.UNIFORM, min_ms=1, max_ms=10
    )
    assert parse_distribution("lognormal:20,0.5", "x") == Distribution(
        kind=DistributionKind.LOGNORMAL, median_ms=20, sigma=0.5
    )


@pytest.mark.parametrize(
    "bad",
    ["uniform:10,1", "lognormal:0,1", "gauss:1,2", "-3", {"kind": "fixed", "min_ms": 1}, True],
)
def test_bad_distributions_are_refused(bad: object) -> None:
    with pytest.raises(KnobError) as caught:
        parse_distribution(bad, "latency")
    assert caught.value.knob.startswith("latency")


def test_status_by_name_or_number() -> None:
    assert parse_status("ESME_RTHROTTLED", "s") == Status.ESME_RTHROTTLED
    assert parse_status("esme_rinvdstadr", "s") == Status.ESME_RINVDSTADR
    assert parse_status("0x58", "s") == 0x58
    assert parse_status(11, "s") == 11
    with pytest.raises(KnobError):
        parse_status("ESME_NOPE", "s")


def test_mix_and_rule_text_forms() -> None:
    assert parse_mix("DELIVRD=3,undeliv=1") == ReceiptMix(delivrd=3, undeliv=1)
    with pytest.raises(KnobError):
        parse_mix({"DELIVRD": 0})
    assert parse_rule("0033=ESME_RINVDSTADR") == PrefixRule("0033", status=Status.ESME_RINVDSTADR)
    assert parse_rule("44=uniform:100,200;ESME_RSYSERR") == PrefixRule(
        "44",
        status=Status.ESME_RSYSERR,
        latency=Distribution(kind=DistributionKind.UNIFORM, min_ms=100, max_ms=200),
    )
    with pytest.raises(KnobError):
        parse_rule({"prefix": "33"})


def test_apply_changes_validates_everything_before_applying() -> None:
    base = Behaviour()
    with pytest.raises(KnobError) as caught:
        apply_changes(base, {"error_rate": 0.5, "window_size": -1})
    assert caught.value.knob == "window_size"
    with pytest.raises(KnobError):
        apply_changes(base, {"error_rate": 1.5})
    with pytest.raises(KnobError):
        apply_changes(base, {"no_such_knob": 1})
    changed = apply_changes(base, {"error_rate": "0.25", "receipts": "off", "seed": 9})
    assert (changed.error_rate, changed.receipts, changed.seed) == (0.25, False, 9)


def test_behaviour_json_round_trips_through_apply_changes() -> None:
    behaviour = Behaviour(
        latency=Distribution(kind=DistributionKind.LOGNORMAL, median_ms=20, sigma=0.4),
        throughput_cap_per_s=100,
        window_size=10,
        error_rate=0.1,
        error_status=Status.ESME_RTHROTTLED,
        rules=(PrefixRule("33", status=Status.ESME_RINVDSTADR, latency=Distribution(fixed_ms=3)),),
        receipts=False,
        receipt_delay=Distribution(kind=DistributionKind.UNIFORM, min_ms=1, max_ms=2),
        receipt_mix=ReceiptMix(delivrd=1, expired=2),
        seed=4,
    )
    assert apply_changes(Behaviour(), behaviour_json(behaviour)) == behaviour


def test_settings_from_toml_shaped_mapping() -> None:
    settings = settings_from_mapping(
        {"simulator": {"smpp_port": 0, "password": "pw", "behaviour": {"latency": "fixed:2"}}}
    )
    assert settings.smpp_port == 0
    assert settings.password == "pw"  # noqa: S105
    assert settings.behaviour.latency == Distribution(fixed_ms=2)
    with pytest.raises(KnobError):
        settings_from_mapping({"smpp_port": 70000})
    with pytest.raises(KnobError):
        settings_from_mapping({"colour": "blue"})


_delays = st.one_of(
    st.builds(Distribution, fixed_ms=st.floats(0, 1e5)),
    st.builds(
        lambda a, b: Distribution(
            kind=DistributionKind.UNIFORM, min_ms=min(a, b), max_ms=max(a, b)
        ),
        st.floats(0, 1e5),
        st.floats(0, 1e5),
    ),
    st.builds(
        lambda m, s: Distribution(kind=DistributionKind.LOGNORMAL, median_ms=m, sigma=s),
        st.floats(0.001, 1e5),
        st.floats(0, 5),
    ),
)
_behaviours = st.builds(
    Behaviour,
    latency=_delays,
    throughput_cap_per_s=st.floats(0, 1e6),
    window_size=st.integers(0, 1_000_000),
    error_rate=st.floats(0, 1),
    error_status=st.sampled_from(list(Status)),
    rules=st.lists(
        st.builds(
            PrefixRule,
            prefix=st.text("0123456789+", min_size=1, max_size=8),
            status=st.sampled_from(list(Status)),
            latency=st.none() | _delays,
        ),
        max_size=3,
    ).map(tuple),
    receipts=st.booleans(),
    receipt_delay=_delays,
    receipt_mix=st.builds(
        ReceiptMix,
        delivrd=st.floats(0.001, 100),
        undeliv=st.floats(0, 100),
        expired=st.floats(0, 100),
        rejectd=st.floats(0, 100),
    ),
    seed=st.none() | st.integers(-(2**63), 2**63 - 1),
)


@given(_behaviours)
def test_any_behaviour_survives_the_json_round_trip(behaviour: Behaviour) -> None:
    as_json = json.loads(json.dumps(behaviour_json(behaviour)))
    assert apply_changes(Behaviour(), as_json) == behaviour
