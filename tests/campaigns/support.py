"""Helpers shared by the campaign tests: settings for long runs, API reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from tests.harness import Stack

LONG_RUN_ENV = {
    # A month of mock time must not wake periodic timers a hundred thousand times
    # (each leap of the clock costs AUTOJUMP_S of real time): links stay quiet
    # between slots, idle accounts and idempotency records are swept daily.
    "SMSGW_SMSC_ENQUIRE_LINK_S": "86400",
    "SMSGW_SMSC_RESPONSE_TIMEOUT_S": "86400",
    "SMSGW_ENGINE_ACCOUNT_IDLE_S": "86400",
    "SMSGW_GATEWAY_IDEMPOTENCY_TTL_S": "2592000",
}


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def no_client_timeout(stack: Stack) -> None:
    """On the mock clock an HTTP timeout measures leaps, not waiting: the test's
    own `trio.fail_after` bounds it instead."""
    stack.client.timeout = httpx.Timeout(None)


async def all_messages(stack: Stack, ref: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every recipient of a send, in list order, walking the cursor."""
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limite": 1000}
        if cursor:
            params["curseur"] = cursor
        r = await stack.client.get(f"/api/V1/sms/{ref}/messages", params=params, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        out.extend(page["messages"])
        cursor = page["curseurSuivant"]
        if not cursor:
            return out


async def get_json(stack: Stack, path: str, headers: dict[str, str]) -> Any:
    r = await stack.client.get(path, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()
