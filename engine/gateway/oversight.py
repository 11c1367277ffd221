"""What the operator console and the client space's pages need beyond the admin
API: finding accounts, noting who did what in an account's journal, the
journal's latest entries, and postpaid consumption per day.

An operator's action is noted as an ACTION entry of the account's journal
(amount 0: it moves no balance), beside the entries the action itself wrote
(CREDIT, TYPE, FACTURE, REGLEMENT), so the journal says who did it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from engine.errors import NotFound
from engine.gateway.runtime import Runtime
from engine.model import AccountId, AccountRow, JournalRow, iso

SEARCH_LIMIT = 50
"""Accounts listed at most for one search."""


@dataclass(frozen=True, slots=True)
class DailyConsumption:
    """Postpaid segments consumed on one day of the gateway's time zone."""

    day: date
    segments: int


class Oversight:
    """Reads and notes for the pages; owns nothing (the store keeps it all)."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._store = runtime.store
        self._zone = ZoneInfo(runtime.settings.gateway.timezone)

    async def search_accounts(self, text: str, limit: int = SEARCH_LIMIT) -> list[AccountRow]:
        """Accounts whose id is `text` or whose name or e-mail holds it; every
        account (by id, at most `limit`) when `text` is empty."""
        return await self._store.console.search_accounts(text, limit)

    async def record_action(self, account_id: AccountId, action: str, by: str) -> None:
        """Note in the account's journal that `by` did `action` (404 COMPTE_INCONNU)."""
        detail = f"{action} · par {by}"
        if not await self._store.console.note_action(account_id, detail, self._runtime.clock.now_iso()):
            raise NotFound("Ce compte n'existe pas.", code="COMPTE_INCONNU")

    async def latest_entries(self, account_id: AccountId, limit: int = 30) -> list[JournalRow]:
        """The account's last journal entries, newest first."""
        return await self._store.console.latest_entries(account_id, limit)

    async def daily_consumption(self, account_id: AccountId, days: int = 30) -> list[DailyConsumption]:
        """Segments consumed (postpaid) on each of the last `days` days, today
        included, in the gateway's time zone; days without any show 0."""
        today = self._runtime.clock.now().astimezone(self._zone).date()
        first = today - timedelta(days=days - 1)
        start = datetime.combine(first, datetime.min.time(), self._zone)
        totals = dict.fromkeys((first + timedelta(days=n) for n in range(days)), 0)
        for hour, segments in await self._store.console.consumption_by_hour(account_id, iso(start)[:13]):
            moment = datetime.fromisoformat(hour + ":00:00").replace(tzinfo=UTC)
            day = moment.astimezone(self._zone).date()
            if day in totals:
                totals[day] += segments
        return [DailyConsumption(day, segments) for day, segments in totals.items()]
