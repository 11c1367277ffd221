"""The monthly automatic close of postpaid periods, through the whole stack on
trio's mock clock: across a month boundary, with restarts before and after it,
every postpaid account gets exactly one invoice for the period."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import trio
import trio.testing

from engine.clock import WallClock
from engine.gateway import runtime as gateway_module
from engine.gateway.billing import latest_boundary, next_boundary
from tests.campaigns.pacing import mock_clock, paced
from tests.campaigns.support import LONG_RUN_ENV, no_client_timeout
from tests.harness import Stack, eventually, open_stack

ZONE = ZoneInfo("Africa/Libreville")


def local(day: date, hhmm: str) -> datetime:
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), ZONE).astimezone(UTC)


class Wall:
    """The wall time the next gateway built starts at."""

    def __init__(self, start: datetime) -> None:
        self.start = start


@pytest.fixture
def clock() -> trio.testing.MockClock:
    return mock_clock()


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> Wall:
    holder = Wall(local(date(2031, 3, 30), "10:00"))
    monkeypatch.setattr(gateway_module, "WallClock", lambda: WallClock(holder.start))
    return holder


def test_boundaries_are_midnight_of_the_invoice_day_in_the_gateway_zone() -> None:
    now = local(date(2031, 3, 30), "10:00")
    assert latest_boundary(now, 1, ZONE) == local(date(2031, 3, 1), "00:00")
    assert next_boundary(now, 1, ZONE) == local(date(2031, 4, 1), "00:00")
    midnight = local(date(2031, 4, 1), "00:00")
    assert latest_boundary(midnight, 1, ZONE) == midnight, "the boundary itself has passed"
    assert next_boundary(midnight, 1, ZONE) == local(date(2031, 5, 1), "00:00")
    january = local(date(2032, 1, 10), "12:00")
    assert latest_boundary(january, 15, ZONE) == local(date(2031, 12, 15), "00:00")
    assert next_boundary(local(date(2031, 12, 20), "12:00"), 15, ZONE) == local(
        date(2032, 1, 15), "00:00")


def _has_count(expected: int, invoices: list[dict[str, Any]]) -> bool:
    return len(invoices) == expected


async def _invoices(stack: Stack, account_id: int) -> list[dict[str, Any]]:
    r = await stack.client.get(f"/api/V1/admin/comptes/{account_id}/factures", headers=stack.admin)
    assert r.status_code == 200, r.text
    invoices: list[dict[str, Any]] = r.json()["factures"]
    return invoices


async def test_each_postpaid_account_gets_one_invoice_per_month_across_restarts(
    tmp_path: Path, clock: trio.testing.MockClock, wall: Wall
) -> None:
    boundary = local(date(2031, 4, 1), "00:00")
    with trio.fail_after(10 * 86400):
        async with paced() as pacer:
            async with open_stack(tmp_path, **LONG_RUN_ENV) as stack:
                no_client_timeout(stack)
                busy, busy_key = await stack.new_account(nom="Banque", type="POSTPAYE")
                idle, _ = await stack.new_account(nom="Assurance", type="POSTPAYE")
                prepaid, _ = await stack.new_account(nom="Boutique", solde=10)
                headers = {"X-API-Key": busy_key}
                for n in range(2):
                    r = await stack.client.post("/api/V1/sms/unides", headers=headers, json={
                        "emetteur": "BANQUE", "destinataire": f"+2410612345{n}", "corps": "Relevé"})
                    assert r.status_code == 202, r.text
                await eventually(partial(stack.client.get, "/api/V1/compte", headers=headers),
                                 lambda r: r.json()["consommation"] == 2, within_s=3600)

            # down for a day; back up before the boundary, which passes while it runs
            wall.start = local(date(2031, 3, 31), "12:00")
            async with open_stack(tmp_path, **LONG_RUN_ENV) as stack:
                no_client_timeout(stack)
                assert await _invoices(stack, busy) == [], "no close before the boundary"
                await pacer.until(stack.gateway.clock.trio_time_of(boundary + timedelta(minutes=1)))
                first = await eventually(partial(_invoices, stack, busy), lambda i: len(i) == 1,
                                         within_s=3600)
                assert first[0]["montant"] == 2 and first[0]["fin"] >= boundary.isoformat()[:10]
                zero = await eventually(partial(_invoices, stack, idle), lambda i: len(i) == 1,
                                        within_s=3600)
                assert zero[0]["montant"] == 0
                assert await _invoices(stack, prepaid) == []
                me = (await stack.client.get("/api/V1/compte", headers=headers)).json()
                assert (me["consommation"], me["du"]) == (0, 2)

            # restarted after the boundary, within the same month: nothing closes twice
            wall.start = local(date(2031, 4, 1), "02:00")
            async with open_stack(tmp_path, **LONG_RUN_ENV) as stack:
                no_client_timeout(stack)
                late, _ = await stack.new_account(nom="Arrivé après", type="POSTPAYE")
                await pacer.until(trio.current_time() + 6 * 3600)
                for account_id in (busy, idle):
                    assert len(await _invoices(stack, account_id)) == 1, account_id
                assert await _invoices(stack, late) == [], "created after the boundary"
                assert await _invoices(stack, prepaid) == []

            # the next month's boundary closes the next period, once
            wall.start = local(date(2031, 4, 30), "23:00")
            async with open_stack(tmp_path, **LONG_RUN_ENV) as stack:
                no_client_timeout(stack)
                may = local(date(2031, 5, 1), "00:00")
                await pacer.until(stack.gateway.clock.trio_time_of(may + timedelta(minutes=1)))
                for account_id, expected in ((busy, 2), (idle, 2), (late, 1)):
                    await eventually(partial(_invoices, stack, account_id),
                                     partial(_has_count, expected), within_s=3600)
                await pacer.until(trio.current_time() + 3600)
                counts = [len(await _invoices(stack, a)) for a in (busy, idle, late, prepaid)]
                assert counts == [2, 2, 1, 0]
