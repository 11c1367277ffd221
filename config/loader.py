"""Build `Settings` from defaults, an optional TOML file and the environment.

Precedence, lowest first: `config/default.toml`, the file given to
`run.py --config`, then `SMSGW_<SECTION>_<KEY>` variables. Any unknown section or
key, and any value of the wrong type or out of range, raises `ConfigError` whose
message is one line naming the setting and where it came from.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from collections.abc import Mapping
from datetime import time
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from config.settings import DEFAULT_CONNECTION, ConnectionSettings, Settings

DEFAULTS_FILE = Path(__file__).with_name("default.toml")
ENV_PREFIX = "SMSGW_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(ValueError):
    """A setting is unknown or has a bad value; the message names it."""


def load_settings(
    config_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Return the validated settings; raise `ConfigError` on the first bad setting."""
    env = os.environ if environ is None else environ
    values: dict[str, dict[str, tuple[Any, str]]] = {}
    _merge_toml(values, DEFAULTS_FILE)
    if config_file is not None:
        _merge_toml(values, config_file)
    _merge_env(values, env)
    settings = _build(values)
    _check(settings)
    return settings


def _section_types() -> dict[str, type]:
    hints = typing.get_type_hints(Settings)
    return {f.name: hints[f.name] for f in dataclasses.fields(Settings)}


def _merge_toml(values: dict[str, dict[str, tuple[Any, str]]], path: Path) -> None:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from None
    sections = _section_types()
    for section, table in data.items():
        if section not in sections or not isinstance(table, dict):
            raise ConfigError(f"unknown configuration section [{section}] in {path}")
        for key, value in table.items():
            values.setdefault(section, {})[key] = (value, str(path))


def _merge_env(values: dict[str, dict[str, tuple[Any, str]]], env: Mapping[str, str]) -> None:
    sections = _section_types()
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        rest = name[len(ENV_PREFIX):].lower()
        section, _, key = rest.partition("_")
        if section not in sections or not key:
            raise ConfigError(f"unknown setting {name} (no section [{section}])")
        values.setdefault(section, {})[key] = (raw, f"environment variable {name}")


def _build(values: dict[str, dict[str, tuple[Any, str]]]) -> Settings:
    built: dict[str, Any] = {}
    for section, section_type in _section_types().items():
        hints = typing.get_type_hints(section_type)
        known = {f.name for f in dataclasses.fields(section_type)}
        kwargs: dict[str, Any] = {}
        for key, (value, origin) in values.get(section, {}).items():
            if key not in known:
                raise ConfigError(f"unknown setting {section}.{key} ({origin})")
            if section == "smsc" and key == "connections":
                kwargs[key] = _connections(value, origin)
                continue
            kwargs[key] = _coerce(value, hints[key], f"{section}.{key}", origin)
        built[section] = section_type(**kwargs)
    return Settings(**built)


def _connections(tables: Any, origin: str) -> tuple[ConnectionSettings, ...]:
    """`[smsc.connections.NAME]` tables as `ConnectionSettings`, in file order."""
    if not isinstance(tables, dict):
        raise ConfigError(f"setting smsc.connections must be tables [smsc.connections.NAME] ({origin})")
    if not tables:
        raise ConfigError(
            f"[smsc.connections] names no connection: add [smsc.connections.NAME] ({origin})"
        )
    hints = typing.get_type_hints(ConnectionSettings)
    known = {f.name for f in dataclasses.fields(ConnectionSettings)} - {"name"}
    built: list[ConnectionSettings] = []
    for name, table in tables.items():
        where = f"smsc.connections.{name}"
        if not isinstance(table, dict):
            raise ConfigError(f"setting {where} must be a table [{where}] ({origin})")
        kwargs: dict[str, Any] = {}
        for key, value in table.items():
            if key not in known:
                raise ConfigError(f"unknown setting {where}.{key} ({origin})")
            if key == "prefixes":
                if not isinstance(value, list) or not all(
                    isinstance(p, str) and p.isdigit() and p.isascii() for p in value
                ):
                    raise ConfigError(
                        f"setting {where}.prefixes must be a list of digit strings such as "
                        f'["24106"], got {value!r} ({origin})'
                    )
                kwargs[key] = tuple(value)
            else:
                kwargs[key] = _coerce(value, hints[key], f"{where}.{key}", origin)
        built.append(ConnectionSettings(name=name, **kwargs))
    return tuple(built)


def _coerce(value: Any, target: Any, name: str, origin: str) -> Any:
    def bad(expected: str) -> ConfigError:
        return ConfigError(f"setting {name} must be {expected}, got {value!r} ({origin})")

    if target is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise bad("true or false")
    if target is int:
        if isinstance(value, bool):
            raise bad("an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                raise bad("an integer") from None
        raise bad("an integer")
    if target is float:
        if isinstance(value, bool):
            raise bad("a number")
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                raise bad("a number") from None
        raise bad("a number")
    if target is Path:
        if isinstance(value, str) and value:
            return Path(value)
        raise bad("a path")
    if target is str:
        if isinstance(value, str):
            return value
        raise bad("a string")
    if isinstance(target, type) and issubclass(target, StrEnum):
        choices = [member.value for member in target]
        if isinstance(value, str) and value.strip().lower() in choices:
            return target(value.strip().lower())
        raise bad(" or ".join(choices))
    raise bad(str(target))


def _check(s: Settings) -> None:
    def need(ok: bool, name: str, what: str) -> None:
        if not ok:
            raise ConfigError(f"setting {name} {what}")

    for name, port in (
        ("http.port", s.http.port),
        ("smsc.port", s.smsc.port),
        ("simulator.smpp_port", s.simulator.smpp_port),
        ("simulator.control_port", s.simulator.control_port),
    ):
        need(0 <= port <= 65535, name, f"must be a TCP port (0-65535), got {port}")
    need(s.http.max_body_bytes >= 1024, "http.max_body_bytes", "must be at least 1024")
    need(s.http.rate_limit_per_s > 0, "http.rate_limit_per_s", "must be positive")
    need(s.http.rate_limit_burst >= 1, "http.rate_limit_burst", "must be at least 1")
    need(s.http.body_timeout_s > 0, "http.body_timeout_s", "must be positive")
    need(s.http.max_header_bytes >= 1024, "http.max_header_bytes", "must be at least 1024")
    need(s.http.max_connections >= 1, "http.max_connections", "must be at least 1")
    need(1 <= s.billing.invoice_day <= 28, "billing.invoice_day", "must be a day from 1 to 28")
    try:
        ZoneInfo(s.gateway.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"setting gateway.timezone is not a known time zone: {s.gateway.timezone!r}"
        ) from None
    need(
        len(s.gateway.default_region) == 2 and s.gateway.default_region.isalpha(),
        "gateway.default_region",
        f"must be a two-letter region code, got {s.gateway.default_region!r}",
    )
    need(s.gateway.max_recipients >= 1, "gateway.max_recipients", "must be at least 1")
    need(s.gateway.key_validity_days >= 1, "gateway.key_validity_days", "must be at least 1")
    need(s.gateway.backlog_max >= 1, "gateway.backlog_max", "must be at least 1")
    need(s.gateway.idempotency_ttl_s >= 1, "gateway.idempotency_ttl_s", "must be at least 1")
    start = parse_clock(s.campaigns.window_start, "campaigns.window_start")
    end = parse_clock(s.campaigns.window_end, "campaigns.window_end")
    need(start < end, "campaigns.window_end", "must be after campaigns.window_start")
    need(1 <= s.smsc.binds <= 64, "smsc.binds", f"must be between 1 and 64, got {s.smsc.binds}")
    need(1 <= s.smsc.window <= 10_000, "smsc.window", f"must be between 1 and 10000, got {s.smsc.window}")
    need(s.smsc.response_timeout_s > 0, "smsc.response_timeout_s", "must be positive")
    need(s.smsc.enquire_link_s > 0, "smsc.enquire_link_s", "must be positive")
    need(s.smsc.max_retries >= 0, "smsc.max_retries", "must be 0 or more")
    need(s.smsc.probe_submits >= 0, "smsc.probe_submits", "must be 0 or more")
    need(0 < s.smsc.reconnect_min_s <= s.smsc.reconnect_max_s, "smsc.reconnect_min_s",
         "must be positive and at most smsc.reconnect_max_s")
    need(len(s.smsc.system_id) <= 15, "smsc.system_id", "must be at most 15 characters")
    need(len(s.smsc.password) <= 8, "smsc.password", "must be at most 8 characters")
    need(s.engine.inbox_size >= 1, "engine.inbox_size", "must be at least 1")
    need(s.engine.dispatch_queue >= 1, "engine.dispatch_queue", "must be at least 1")
    need(s.engine.account_idle_s > 0, "engine.account_idle_s", "must be positive")
    need(s.engine.gc_threshold >= 100, "engine.gc_threshold", "must be at least 100")
    need(s.callbacks.max_age_s >= 1, "callbacks.max_age_s", "must be at least 1")
    need(s.callbacks.timeout_s > 0, "callbacks.timeout_s", "must be positive")
    need(s.callbacks.concurrency >= 1, "callbacks.concurrency", "must be at least 1")
    need(s.log.level.upper() in {"DEBUG", "INFO", "WARNING", "ERROR"}, "log.level",
         f"must be DEBUG, INFO, WARNING or ERROR, got {s.log.level!r}")
    need(s.cluster.lease_s >= 0.5, "cluster.lease_s", "must be at least 0.5")
    need(1 <= s.cluster.shards <= 4096, "cluster.shards", "must be between 1 and 4096")
    if s.cluster.secret and s.data.url:
        need(len(s.cluster.secret) >= 16, "cluster.secret", "must have at least 16 characters")
        need(bool(s.admin.token), "admin.token",
             "must be set, the same on every node, when cluster.secret is set")
    if not s.simulator.enabled and not s.smsc.connections:
        need(bool(s.smsc.host) and s.smsc.port > 0, "smsc.host",
             "and smsc.port must name an SMSC when simulator.enabled is false")
    _check_connections(s)


def _check_connections(s: Settings) -> None:
    """The named connections and `[routing]`: each connection sound, a prefix on
    one connection only, a default that names a connection."""
    named = s.smsc.connections
    names = [c.name for c in named]
    if not named:
        if s.routing.default not in ("", DEFAULT_CONNECTION):
            raise ConfigError(
                f"setting routing.default names the connection {s.routing.default!r}, but no "
                "[smsc.connections.NAME] is configured"
            )
        return
    owner: dict[str, str] = {}
    for c in named:
        where = f"smsc.connections.{c.name}"
        if not (1 <= len(c.name) <= 32 and c.name.replace("_", "").replace("-", "").isalnum()):
            raise ConfigError(f"connection name {c.name!r} must be 1-32 letters, digits, - or _")
        if not 0 <= c.port <= 65535:
            raise ConfigError(f"setting {where}.port must be a TCP port (0-65535), got {c.port}")
        if not 1 <= c.binds <= 64:
            raise ConfigError(f"setting {where}.binds must be between 1 and 64, got {c.binds}")
        if not 1 <= c.window <= 10_000:
            raise ConfigError(f"setting {where}.window must be between 1 and 10000, got {c.window}")
        if c.max_rate < 0:
            raise ConfigError(f"setting {where}.max_rate must be 0 (none) or more, got {c.max_rate}")
        if len(c.system_id) > 15:
            raise ConfigError(f"setting {where}.system_id must be at most 15 characters")
        if len(c.password) > 8:
            raise ConfigError(f"setting {where}.password must be at most 8 characters")
        if not s.simulator.enabled and not (c.host and c.port > 0):
            raise ConfigError(
                f"setting {where}.host and {where}.port must name an SMSC when "
                "simulator.enabled is false"
            )
        for prefix in c.prefixes:
            if prefix in owner and owner[prefix] != c.name:
                raise ConfigError(
                    f"prefix {prefix!r} is on two connections: smsc.connections.{owner[prefix]} "
                    f"and {where}"
                )
            owner[prefix] = c.name
    if s.routing.default and s.routing.default not in names:
        raise ConfigError(
            f"setting routing.default names no connection: {s.routing.default!r} "
            f"(connections: {', '.join(names)})"
        )
    if not s.routing.default and len(named) > 1:
        raise ConfigError(
            f"setting routing.default must name the connection of unmatched numbers "
            f"(one of {', '.join(names)})"
        )


def parse_clock(text: str, name: str) -> time:
    """Parse "HH:MM" into a `time`; raise `ConfigError` naming the setting."""
    try:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ConfigError(f"setting {name} must be a time HH:MM, got {text!r}") from None
