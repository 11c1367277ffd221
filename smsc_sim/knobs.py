"""Parsing and validating the simulator's knobs from user input.

One set of rules for every entry point: command-line flags (strings), the TOML file
and `PATCH /config` (JSON values). Every failure raises `KnobError` naming the knob.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from engine.smpp.constants import Status

from .config import (
    Behaviour,
    Distribution,
    DistributionKind,
    PrefixRule,
    ReceiptMix,
    SimulatorSettings,
)


class KnobError(ValueError):
    """A knob has a bad value. `knob` names it; str() is a full sentence."""

    def __init__(self, knob: str, message: str) -> None:
        super().__init__(f"{knob}: {message}")
        self.knob = knob
        self.message = message


def _number(value: object, knob: str, *, minimum: float = 0.0, maximum: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise KnobError(knob, f"expected a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise KnobError(knob, f"expected a number, got {value!r}") from None
    if not math.isfinite(number) or not minimum <= number <= maximum:
        raise KnobError(knob, f"must be between {minimum:g} and {maximum:g}, got {value!r}")
    return number


def _integer(value: object, knob: str, *, minimum: int = 0, maximum: int = 2**63) -> int:
    if isinstance(value, bool):
        raise KnobError(knob, f"expected an integer, got {value!r}")
    if isinstance(value, str):
        try:
            value = int(value, 0)
        except ValueError:
            raise KnobError(knob, f"expected an integer, got {value!r}") from None
    if not isinstance(value, int):
        raise KnobError(knob, f"expected an integer, got {value!r}")
    if not minimum <= value <= maximum:
        raise KnobError(knob, f"must be between {minimum} and {maximum}, got {value}")
    return value


def _boolean(value: object, knob: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {
        "true",
        "on",
        "yes",
        "1",
        "false",
        "off",
        "no",
        "0",
    }:
        return value.lower() in {"true", "on", "yes", "1"}
    raise KnobError(knob, f"expected true or false, got {value!r}")


def parse_status(value: object, knob: str) -> int:
    """A command_status: an SMPP name (`ESME_RTHROTTLED`) or a number (88, "0x58")."""
    if isinstance(value, str) and value.upper().startswith("ESME_"):
        try:
            return int(Status[value.upper()])
        except KeyError:
            raise KnobError(knob, f"unknown command_status name {value!r}") from None
    return _integer(value, knob, minimum=0, maximum=0xFFFFFFFF)


def status_name(status: int) -> str | int:
    try:
        return Status(status).name
    except ValueError:
        return status


def parse_distribution(value: object, knob: str) -> Distribution:
    """A delay in ms: a number (fixed), "fixed:MS", "uniform:MIN,MAX",
    "lognormal:MEDIAN,SIGMA", or a mapping with `kind` and the matching fields."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Distribution(fixed_ms=_number(value, knob))
    if isinstance(value, str):
        kind, _, args = value.partition(":")
        if not args:
            return Distribution(fixed_ms=_number(kind, knob))
        parts = args.split(",")
        if kind == "fixed" and len(parts) == 1:
            return Distribution(fixed_ms=_number(parts[0], knob))
        if kind == "uniform" and len(parts) == 2:
            value = {"kind": kind, "min_ms": parts[0], "max_ms": parts[1]}
        elif kind == "lognormal" and len(parts) == 2:
            value = {"kind": kind, "median_ms": parts[0], "sigma": parts[1]}
        else:
            raise KnobError(
                knob,
                f"expected fixed:MS, uniform:MIN,MAX or lognormal:MEDIAN,SIGMA, got {value!r}",
            )
    if not isinstance(value, Mapping):
        raise KnobError(knob, f"expected a delay in ms or a distribution, got {value!r}")
    try:
        kind = DistributionKind(value.get("kind", "fixed"))
    except ValueError:
        raise KnobError(knob, "kind must be fixed, uniform or lognormal") from None
    allowed = {"kind"} | {
        DistributionKind.FIXED: {"fixed_ms"},
        DistributionKind.UNIFORM: {"min_ms", "max_ms"},
        DistributionKind.LOGNORMAL: {"median_ms", "sigma"},
    }[kind]
    unknown = set(value) - allowed
    if unknown:
        raise KnobError(knob, f"unexpected field(s) {sorted(unknown)} for kind {kind.value}")
    fields = {name: _number(value.get(name, 0.0), f"{knob}.{name}") for name in allowed - {"kind"}}
    dist = Distribution(kind=kind, **fields)
    if dist.min_ms > dist.max_ms:
        raise KnobError(knob, "min_ms must not exceed max_ms")
    if kind is DistributionKind.LOGNORMAL and dist.median_ms <= 0:
        raise KnobError(knob, "median_ms must be positive for a log-normal delay")
    return dist


def distribution_json(dist: Distribution) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": dist.kind.value}
    if dist.kind is DistributionKind.FIXED:
        out["fixed_ms"] = dist.fixed_ms
    elif dist.kind is DistributionKind.UNIFORM:
        out.update(min_ms=dist.min_ms, max_ms=dist.max_ms)
    else:
        out.update(median_ms=dist.median_ms, sigma=dist.sigma)
    return out


def parse_mix(value: object, knob: str = "receipt_mix") -> ReceiptMix:
    """Outcome weights: a mapping {"DELIVRD": 0.9, ...} (names in any case) or the text
    "DELIVRD=0.9,UNDELIV=0.1". Outcomes not named weigh 0."""
    if isinstance(value, str):
        pairs: dict[str, object] = {}
        for item in filter(None, (part.strip() for part in value.split(","))):
            name, sep, weight = item.partition("=")
            if not sep:
                raise KnobError(knob, f"expected OUTCOME=WEIGHT, got {item!r}")
            pairs[name] = weight
        value = pairs
    if not isinstance(value, Mapping):
        raise KnobError(knob, f"expected outcome weights, got {value!r}")
    weights: dict[str, float] = {}
    for name, weight in value.items():
        key = str(name).lower()
        if key not in {"delivrd", "undeliv", "expired", "rejectd"}:
            raise KnobError(knob, f"unknown outcome {name!r} (DELIVRD, UNDELIV, EXPIRED, REJECTD)")
        weights[key] = _number(weight, f"{knob}.{name}")
    mix = ReceiptMix(
        **{k: weights.get(k, 0.0) for k in ("delivrd", "undeliv", "expired", "rejectd")}
    )
    if sum(w for _, w in mix.weights()) <= 0:
        raise KnobError(knob, "at least one outcome needs a positive weight")
    return mix


def mix_json(mix: ReceiptMix) -> dict[str, float]:
    return {outcome.value: weight for outcome, weight in mix.weights()}


def parse_rule(value: object, knob: str = "rules") -> PrefixRule:
    """A mapping {"prefix", "status"?, "latency"?} or the text "PREFIX=ITEM[;ITEM]" where
    an ITEM is a command_status or a distribution (fixed:/uniform:/lognormal:)."""
    if isinstance(value, str):
        prefix, sep, items = value.partition("=")
        if not sep:
            raise KnobError(knob, f"expected PREFIX=STATUS or PREFIX=DISTRIBUTION, got {value!r}")
        rule: dict[str, object] = {"prefix": prefix}
        for item in filter(None, items.split(";")):
            is_delay = item.partition(":")[0] in {kind.value for kind in DistributionKind}
            rule["latency" if is_delay else "status"] = item
        value = rule
    if not isinstance(value, Mapping):
        raise KnobError(knob, f"expected a rule, got {value!r}")
    unknown = set(value) - {"prefix", "status", "latency"}
    if unknown:
        raise KnobError(knob, f"unexpected field(s) {sorted(unknown)} in a rule")
    rule_prefix = value.get("prefix")
    if not isinstance(rule_prefix, str) or not rule_prefix:
        raise KnobError(f"{knob}.prefix", "a rule needs a non-empty prefix")
    status = value.get("status")
    latency = value.get("latency")
    if status is None and latency is None:
        raise KnobError(knob, f"rule {rule_prefix!r} needs a status, a latency or both")
    return PrefixRule(
        prefix=rule_prefix,
        status=None if status is None else parse_status(status, f"{knob}.status"),
        latency=None if latency is None else parse_distribution(latency, f"{knob}.latency"),
    )


def rule_json(rule: PrefixRule) -> dict[str, Any]:
    out: dict[str, Any] = {"prefix": rule.prefix}
    if rule.status is not None:
        out["status"] = status_name(rule.status)
    if rule.latency is not None:
        out["latency"] = distribution_json(rule.latency)
    return out


def _rules(value: object, knob: str) -> tuple[PrefixRule, ...]:
    if isinstance(value, str | Mapping):
        value = [value]
    if not isinstance(value, list | tuple):
        raise KnobError(knob, f"expected a list of rules, got {value!r}")
    return tuple(parse_rule(item, knob) for item in value)


def _seed(value: object, knob: str) -> int | None:
    return None if value is None else _integer(value, knob, minimum=-(2**63))


_PARSERS: dict[str, Any] = {
    "latency": parse_distribution,
    "throughput_cap_per_s": lambda v, k: _number(v, k, maximum=1e9),
    "window_size": lambda v, k: _integer(v, k, maximum=1_000_000),
    "error_rate": lambda v, k: _number(v, k, maximum=1.0),
    "error_status": parse_status,
    "rules": _rules,
    "receipts": _boolean,
    "receipt_delay": parse_distribution,
    "receipt_mix": parse_mix,
    "seed": _seed,
}

BEHAVIOUR_KNOBS = tuple(_PARSERS)


def apply_changes(base: Behaviour, changes: Mapping[str, object]) -> Behaviour:
    """`base` with `changes` applied, all validated first (nothing applies on error)."""
    parsed: dict[str, Any] = {}
    for knob, value in changes.items():
        parser = _PARSERS.get(knob)
        if parser is None:
            raise KnobError(knob, f"unknown knob (known: {', '.join(BEHAVIOUR_KNOBS)})")
        parsed[knob] = parser(value, knob)
    return dataclasses.replace(base, **parsed)


def behaviour_json(behaviour: Behaviour) -> dict[str, Any]:
    return {
        "latency": distribution_json(behaviour.latency),
        "throughput_cap_per_s": behaviour.throughput_cap_per_s,
        "window_size": behaviour.window_size,
        "error_rate": behaviour.error_rate,
        "error_status": status_name(behaviour.error_status),
        "rules": [rule_json(rule) for rule in behaviour.rules],
        "receipts": behaviour.receipts,
        "receipt_delay": distribution_json(behaviour.receipt_delay),
        "receipt_mix": mix_json(behaviour.receipt_mix),
        "seed": behaviour.seed,
    }


_SETTING_PARSERS: dict[str, Any] = {
    "host": lambda v, k: v if isinstance(v, str) and v else _fail(k, "expected a host name"),
    "smpp_port": lambda v, k: _integer(v, k, maximum=65535),
    "control_port": lambda v, k: _integer(v, k, maximum=65535),
    "system_id": lambda v, k: _text(v, k, 16),
    "password": lambda v, k: _text(v, k, 9),
    "max_connections": lambda v, k: _integer(v, k, minimum=1, maximum=100_000),
    "submitted_max": lambda v, k: _integer(v, k, minimum=1, maximum=100_000_000),
    "first_message_id": lambda v, k: None if v is None else _integer(v, k, minimum=1),
    "held_receipts_max": lambda v, k: _integer(v, k, maximum=100_000_000),
}


def _fail(knob: str, message: str) -> Any:
    raise KnobError(knob, message)


def _text(value: object, knob: str, max_length: int) -> str:
    if not isinstance(value, str) or len(value) > max_length:
        raise KnobError(knob, f"expected a text of at most {max_length} characters")
    return value


def settings_from_mapping(
    mapping: Mapping[str, object], base: SimulatorSettings | None = None
) -> SimulatorSettings:
    """Settings from a TOML-shaped mapping: top-level settings and a `behaviour`
    table, optionally wrapped in a `simulator` table."""
    base = base or SimulatorSettings()
    inner = mapping.get("simulator")
    if isinstance(inner, Mapping):
        mapping = inner
    parsed: dict[str, Any] = {}
    for key, value in mapping.items():
        if key == "behaviour":
            if not isinstance(value, Mapping):
                raise KnobError("behaviour", "expected a table of knobs")
            parsed["behaviour"] = apply_changes(base.behaviour, value)
            continue
        parser = _SETTING_PARSERS.get(key)
        if parser is None:
            raise KnobError(key, "unknown setting")
        parsed[key] = parser(value, key)
    return dataclasses.replace(base, **parsed)
