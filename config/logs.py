"""The process's logging: text lines or one JSON object a line (`log.format`),
each record carrying what is known of the request it belongs to.

`start_request()` gives the running task a fresh context (a new request id) and
`bind(account=..., ref=...)` adds to it as the request is served (api/app.py,
api/lean.py, the send intake, the account lookups). The context lives in a
`ContextVar`: a trio task inherits its parent's context when it is started, a
thread of `trio.to_thread` the caller's; nothing is shared between requests.

What a record says is written by the code that logs it, and no record carries a
key, a password, the admin token, a session or a signing secret: the request
record names the method, the path (never the query string) and the status,
and nothing from headers or bodies (tests/e2e/test_json_logs.py greps a whole
run for every secret it used).
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
import traceback
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import IO, Any

from config.settings import LogFormat, LogSettings

_NOTHING: Mapping[str, object] = MappingProxyType({})
_CONTEXT: ContextVar[Mapping[str, object]] = ContextVar("smsgw_log_context", default=_NOTHING)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
requests_log = logging.getLogger("smsgw.requests")
"""One INFO record per HTTP request when `log.requests` is on."""


def start_request() -> str:
    """A new request: its id, and a context holding only it."""
    request_id = secrets.token_hex(8)
    _CONTEXT.set({"request_id": request_id})
    return request_id


def bind(**fields: object) -> None:
    """Add `fields` (those not None) to the running request's context."""
    given = {name: value for name, value in fields.items() if value is not None}
    if given:
        _CONTEXT.set({**_CONTEXT.get(), **given})


def context() -> Mapping[str, object]:
    """What the records of the running task carry."""
    return _CONTEXT.get()


class JsonFormatter(logging.Formatter):
    """One JSON object a record: `time` (UTC, ms), `level`, `logger`, `message`, the
    request's context (`request_id`, `account`, `ref`), the record's own `extra`
    fields under the names they were given, `exception` (the traceback) if any."""

    _STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
        "message", "asctime", "taskName"}

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **context(),
        }
        for name, value in record.__dict__.items():
            if name not in self._STANDARD and not name.startswith("_"):
                out[name] = value
        if record.exc_info:
            out["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(out, ensure_ascii=False, default=str)


def configure(settings: LogSettings, stream: IO[str] | None = None) -> None:
    """Send every record (the root logger's) to `stream` (stderr) in the configured
    format and level; `log.requests` turns the request records on."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if settings.format is LogFormat.JSON:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level.upper())
    requests_log.disabled = not settings.requests
    # httpx (callbacks, requests forwarded between nodes) logs every request at
    # INFO: those are the gateway's own traffic, counted in /metrics instead
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))


def log_request(method: str, path: str, status: int, seconds: float) -> None:
    """The record of one HTTP request (when `log.requests` is on)."""
    if requests_log.disabled or not requests_log.isEnabledFor(logging.INFO):
        return
    requests_log.info("%s %s %d", method, path, status, extra={
        "method": method, "path": path, "status": status,
        "duration_ms": round(seconds * 1000, 1)})
