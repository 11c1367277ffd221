"""The monthly automatic close of postpaid periods.

At 00:00 (gateway time zone) on day `billing.invoice_day` of each month, every
postpaid account's period becomes an invoice, as an admin's close would make
it. The close of one boundary is named by its local date (`periode`, for
example "2031-04-01") and recorded with each invoice it makes, so a restart
never closes an account twice for one boundary: `MonthlyClose.serve` first
closes what the latest boundary passed still owes (accounts created before it
with no invoice of that name), then sleeps on trio's clock until the next one.
Accounts created after a boundary are not closed for it, nor is a boundary
before the first start of the close on this database (an upgrade does not
invoice a period an admin may already have closed by hand).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import trio

from engine.accounts.commands import CloseInvoiceFor
from engine.errors import GatewayError
from engine.gateway.runtime import Runtime
from engine.model import AccountId, iso

log = logging.getLogger(__name__)

RETRY_S = 60.0
"""An account whose close failed (unavailable actor, store failure) is tried again this much later."""


def _boundary(year: int, month: int, day: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(date(year, month, day), time(0, 0), zone).astimezone(UTC)


def latest_boundary(now: datetime, day: int, zone: ZoneInfo) -> datetime:
    """The last close at or before `now`: 00:00 local on `day` of this month or
    the month before (UTC, aware). Pure."""
    local = now.astimezone(zone)
    this_month = _boundary(local.year, local.month, day, zone)
    if this_month <= now:
        return this_month
    year, month = (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)
    return _boundary(year, month, day, zone)


def next_boundary(now: datetime, day: int, zone: ZoneInfo) -> datetime:
    """The first close strictly after `now` (UTC, aware). Pure."""
    latest = latest_boundary(now, day, zone).astimezone(zone)
    year, month = (latest.year + 1, 1) if latest.month == 12 else (latest.year, latest.month + 1)
    return _boundary(year, month, day, zone)


def period_name(boundary: datetime, zone: ZoneInfo) -> str:
    """The name of a close: its local date."""
    return boundary.astimezone(zone).date().isoformat()


class MonthlyClose:
    """Closes postpaid periods each month; owns no state but its timer."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._store = runtime.store
        self._clock = runtime.clock
        self._day = runtime.settings.billing.invoice_day
        self._zone = ZoneInfo(runtime.settings.gateway.timezone)

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Close what the latest boundary still owes, then each boundary as it
        comes, until cancelled."""
        first_run = await self._store.controls.monthly_close_from(iso(self._clock.now()))
        task_status.started()
        while True:
            now = self._clock.now()
            latest = latest_boundary(now, self._day, self._zone)
            failed = await self.close_period(latest) if iso(latest) > first_run else 0
            if failed:
                await trio.sleep(RETRY_S)
                continue
            upcoming = next_boundary(now, self._day, self._zone)
            await trio.sleep_until(self._clock.trio_time_of(upcoming))

    async def close_period(self, boundary: datetime) -> int:
        """Invoice every postpaid account created before `boundary` that has no
        invoice for it yet; returns how many could not be closed now."""
        periode = period_name(boundary, self._zone)
        due = await self._store.controls.postpaid_due(periode, iso(boundary))
        holds = self._runtime.cluster.holds  # on a node of a cluster, its accounts only
        due = [a for a in due if holds(AccountId(a))]
        closed = failed = 0
        for account_id in due:
            try:
                invoice_id = await self._runtime.ask(account_id, CloseInvoiceFor, periode)
            except GatewayError as exc:
                log.warning("account %s: period %s not closed (%s)", account_id, periode, exc.code)
                failed += 1
                continue
            closed += invoice_id is not None
        if closed:
            log.info("period %s: %d postpaid accounts invoiced", periode, closed)
        return failed
