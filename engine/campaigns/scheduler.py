"""The campaign scheduler: sole owner of every live campaign's progress and timer.

One task. It sleeps (on trio's clock) until the earliest slot of any live
campaign, or until a command arrives in its bounded inbox (`watch` a new
campaign, `cancel` one). At a slot it asks the campaign's account actor to
release the wave (`ReserveWave`): the actor reserves what the balance covers,
records the slot and the campaign's progress in the same transaction, hands the
covered messages to the dispatcher and answers how many went. The scheduler
awaits that answer; the account actor never waits on the scheduler, so there is
no cycle.

States: PLANIFIEE until the first wave, EN_COURS, SUSPENDUE when a prepaid wave
was not fully covered (the next slot tries again, so a top-up resumes it there),
TERMINEE when every recipient was released or when the last slot of `dateFin`
has passed (the rest end ECHEC / CAMPAGNE_EXPIREE), ANNULEE on `cancel` (the
rest end ECHEC / ANNULE). Recipients already released when a campaign is
cancelled are in the SMSC queue and finish normally.

Restart: the progress is in the store, written with each wave, so `serve`
rebuilds every live campaign from it; the slot of the last wave is never handled
again, and the latest slot missed while the gateway was down is sent on return
if today's window is still open (planner rule 5). Released messages that were
still waiting when the gateway stopped are handed to the dispatcher again.

Cancellation of `serve` (shutdown) may interrupt a wave after the account actor
took it: the actor still commits it, and the next start resumes from the store.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import trio

from engine.accounts.commands import EndCampaign, GetSnapshot, ReserveWave
from engine.actor import Reply
from engine.campaigns.model import Campaign, campaign_of, public_fields
from engine.campaigns.planner import Progress, Wave, advance, last_slot_of, waves
from engine.clock import WallClock
from engine.dispatch.message import OutMessage
from engine.dispatch.recovery import requeue
from engine.errors import Conflict
from engine.model import (
    LIVE,
    AccountId,
    Billing,
    CampaignState,
    MessageId,
    MessageStatus,
    Outcome,
    Reason,
    SendRef,
    iso,
)
from engine.store import Store
from engine.store.writes import CampaignEnd, WaveRecord
from engine.text import EncodedMessage, SenderAddress, encode_message, parse_sender

log = logging.getLogger(__name__)

RETRY_AFTER_FAILURE_S = 30.0
"""A wave the account could not take (store failure) is tried again this much later."""


class Accounts(Protocol):
    """The account registry, as the scheduler uses it."""

    async def tell(self, account_id: AccountId, command: Any) -> None: ...

    async def ask(self, account_id: AccountId, command: Any, reply: Reply[Any]) -> Any: ...

    async def wake(self, account_id: AccountId) -> None: ...


class Outlet(Protocol):
    """The dispatcher, as the scheduler sees it."""

    def offer(self, messages: Sequence[OutMessage]) -> None: ...

    def withdraw(self, account_id: AccountId, ref: SendRef) -> list[OutMessage]: ...


@dataclass(frozen=True, slots=True)
class Watch:
    """A campaign was just accepted: load it and schedule it."""

    ref: SendRef


@dataclass(frozen=True, slots=True)
class Cancel:
    account_id: AccountId
    ref: SendRef
    reply: Reply[int]


@dataclass(frozen=True, slots=True)
class Hold:
    """The account was suspended (`suspended`) or reactivated: its live campaigns
    show SUSPENDUE, or go on (EN_COURS, PLANIFIEE before their first wave)."""

    account_id: AccountId
    suspended: bool
    reply: Reply[int]


@dataclass(frozen=True, slots=True)
class Adopt:
    """On a node of a cluster: these accounts are now this node's (`owned`): take
    up their live campaigns and queue again their released messages still waiting."""

    owned: Callable[[AccountId], bool]
    reply: Reply[int]


@dataclass(frozen=True, slots=True)
class Drop:
    """On a node of a cluster: these accounts moved to another node: forget their
    campaigns (their holder schedules them from the store)."""

    owned: Callable[[AccountId], bool]
    reply: Reply[int]


SchedulerCommand = Watch | Cancel | Hold | Adopt | Drop


@dataclass(frozen=True, slots=True)
class SchedulerStatistics:
    live: int
    suspended: int
    waves: int
    released: int
    expired: int
    cancelled: int
    next_slot: str | None
    mailbox: int


class CampaignScheduler:
    def __init__(
        self,
        store: Store,
        accounts: Accounts,
        outlet: Outlet,
        clock: WallClock,
        *,
        inbox_size: int = 256,
        owned: Callable[[AccountId], bool] | None = None,
    ) -> None:
        """`owned` (a node of a cluster) says which accounts' campaigns this node
        schedules; the others' are their holders'."""
        self._owned = owned or (lambda _account_id: True)
        self._store = store
        self._accounts = accounts
        self._outlet = outlet
        self._clock = clock
        self._send, self._inbox = trio.open_memory_channel[SchedulerCommand](inbox_size)
        self._live: dict[SendRef, Campaign] = {}
        self._timers: list[tuple[float, int, SendRef]] = []
        self._armed: dict[SendRef, int] = {}
        self._order = itertools.count()
        self._texts: dict[SendRef, tuple[SenderAddress, EncodedMessage]] = {}
        self._waves = 0
        self._released = 0
        self._expired = 0
        self._cancelled = 0
        self._recovered = False

    # -- what other tasks call -------------------------------------------------------

    async def watch(self, ref: SendRef) -> None:
        """Schedule a campaign just committed; waits while the inbox is full."""
        await self._send.send(Watch(ref))

    async def cancel(self, account_id: AccountId, ref: SendRef) -> int:
        """Cancel a live campaign of this account; returns how many recipients were
        cancelled. Raises `Conflict` when the campaign has already ended."""
        reply: Reply[int] = Reply()
        await self._send.send(Cancel(account_id, ref, reply))
        return await reply.wait()

    async def hold(self, account_id: AccountId, *, suspended: bool) -> int:
        """Show the account's live campaigns SUSPENDUE (`suspended`) or going on
        again; returns how many changed. While the account is suspended its
        actor releases nothing at a slot, so they stay SUSPENDUE until then."""
        reply: Reply[int] = Reply()
        await self._send.send(Hold(account_id, suspended, reply))
        return await reply.wait()

    async def adopt(self, owned: Callable[[AccountId], bool]) -> int:
        """Take up the live campaigns of the accounts `owned` names (`Adopt`);
        returns how many."""
        reply: Reply[int] = Reply()
        await self._send.send(Adopt(owned, reply))
        return await reply.wait()

    async def drop(self, owned: Callable[[AccountId], bool]) -> int:
        """Forget the campaigns of the accounts `owned` names (`Drop`); returns how many."""
        reply: Reply[int] = Reply()
        await self._send.send(Drop(owned, reply))
        return await reply.wait()

    def statistics(self) -> SchedulerStatistics:
        upcoming = [t for t, seq, ref in self._timers if self._armed.get(ref) == seq]
        next_at = None
        if upcoming:
            wait_s = max(0.0, min(upcoming) - trio.current_time())
            next_at = iso(self._clock.now() + timedelta(seconds=wait_s))
        return SchedulerStatistics(
            live=len(self._live),
            suspended=sum(1 for c in self._live.values() if c.etat is CampaignState.SUSPENDUE),
            waves=self._waves,
            released=self._released,
            expired=self._expired,
            cancelled=self._cancelled,
            next_slot=next_at,
            mailbox=self._inbox.statistics().current_buffer_used,
        )

    # -- the actor ---------------------------------------------------------------------

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Recover live campaigns from the store, then run until cancelled."""
        await self._recover()
        task_status.started(self)
        while True:
            deadline = self._timers[0][0] if self._timers else math.inf
            command: SchedulerCommand | None = None
            with trio.move_on_at(deadline):
                command = await self._inbox.receive()
            if command is not None:
                await self._handle(command)
                continue
            now = trio.current_time()
            while self._timers and self._timers[0][0] <= now:
                _, seq, ref = heapq.heappop(self._timers)
                campaign = self._live.get(ref)
                if campaign is not None and self._armed.get(ref) == seq:
                    del self._armed[ref]
                    await self._on_time(campaign)

    async def _handle(self, command: SchedulerCommand) -> None:
        match command:
            case Watch(ref=ref):
                if ref in self._live:
                    return
                row = await self._store.campaigns.get(ref)
                if row is not None and row.etat in LIVE:
                    watched = campaign_of(row)
                    self._live[ref] = watched
                    self._arm(watched)
            case Cancel(account_id=account_id, ref=ref, reply=reply):
                campaign = self._live.get(ref)
                if campaign is None or campaign.account_id != account_id:
                    reply.fail(
                        Conflict(
                            "Cette campagne est déjà terminée ou annulée.",
                            code="CAMPAGNE_TERMINEE",
                        )
                    )
                    return
                try:
                    count = await self._end(campaign, CampaignState.ANNULEE, Reason.ANNULE)
                except Exception as exc:  # noqa: BLE001 - handed to the caller of the cancel
                    reply.fail(exc)
                    return
                self._cancelled += count
                reply.set(count)
            case Adopt(owned=owned, reply=reply):
                try:
                    reply.set(await self._adopt(owned))
                except Exception as exc:  # noqa: BLE001 - handed to the caller
                    reply.fail(exc)
            case Drop(owned=owned, reply=reply):
                gone = [c for c in self._live.values() if owned(c.account_id)]
                for c in gone:
                    self._drop(c)
                reply.set(len(gone))
            case Hold(account_id=account_id, suspended=suspended, reply=held):
                try:
                    held.set(await self._hold(account_id, suspended))
                except Exception as exc:  # noqa: BLE001 - handed to the caller
                    held.fail(exc)

    async def _hold(self, account_id: AccountId, suspended: bool) -> int:
        changed = 0
        now = self._clock.now()
        for c in [c for c in self._live.values() if c.account_id == account_id]:
            if suspended:
                if c.etat is CampaignState.SUSPENDUE:
                    continue
                etat = CampaignState.SUSPENDUE
            else:
                if c.etat is not CampaignState.SUSPENDUE:
                    continue
                started = c.progress.last_slot is not None
                etat = CampaignState.EN_COURS if started else CampaignState.PLANIFIEE
            wave = next(waves(c.schedule, c.total, c.progress, now), None)
            public = public_fields(
                c.schedule, etat, c.total, c.progress.released, wave.at if wave else None
            )
            await self._store.campaigns.set_state(c.ref, etat.value, public)
            c.etat = etat
            changed += 1
        if changed:
            log.info(
                "account %s %s: %d campaigns %s", account_id,
                "suspended" if suspended else "reactivated", changed,
                "held" if suspended else "going on",
            )
        return changed

    def _arm(self, c: Campaign, *, delay_s: float = 0.0) -> None:
        """Set the campaign's one timer: its next wave, or its expiry."""
        now = self._clock.now()
        wave = next(waves(c.schedule, c.total, c.progress, now), None)
        at: datetime | None
        if wave is not None:
            at = wave.at
        else:
            at = last_slot_of(c.schedule)
        due = trio.current_time() + delay_s
        if at is not None:
            due = max(due, self._clock.trio_time_of(at))
        seq = next(self._order)
        self._armed[c.ref] = seq
        heapq.heappush(self._timers, (due, seq, c.ref))

    async def _on_time(self, c: Campaign) -> None:
        now = self._clock.now()
        wave = next(waves(c.schedule, c.total, c.progress, now), None)
        if wave is None:
            try:
                self._expired += await self._end(c, CampaignState.TERMINEE, Reason.CAMPAGNE_EXPIREE)
            except Exception:
                log.exception("campaign %s: could not end; tried again later", c.ref)
                self._arm(c, delay_s=RETRY_AFTER_FAILURE_S)
            return
        if self._clock.trio_time_of(wave.at) > trio.current_time():
            self._arm(c)
            return
        try:
            await self._release(c, wave)
        except Exception:
            log.exception("campaign %s: the wave of %s failed; tried again later", c.ref, wave.at)
            self._arm(c, delay_s=RETRY_AFTER_FAILURE_S)
            return
        if c.etat is CampaignState.TERMINEE:
            self._drop(c)
        else:
            self._arm(c)

    async def _release(self, c: Campaign, wave: Wave) -> None:
        """Hand one wave to the account actor; update the campaign after its commit."""
        first = c.first_id + wave.first
        rows = await self._store.campaigns.recipients(first, wave.count)
        sender, encoded = self._text(c)
        expires_at = (
            self._clock.now().timestamp() + 60 * c.validite if c.validite is not None else None
        )
        out = tuple(
            OutMessage(
                message_id=mid,
                account_id=c.account_id,
                ref=c.ref,
                destination=number,
                sender=sender,
                encoded=encoded,
                priority=c.urgent,
                expires_at=expires_at,
            )
            for mid, number in rows
        )
        done_at = iso(self._clock.now())

        def record(covered: int) -> WaveRecord:
            p, etat = _after(c, wave, covered)
            return WaveRecord(
                ref=c.ref,
                creneau=wave.at.isoformat(),
                demandes=wave.count,
                lances=covered,
                fait_le=done_at,
                total_lances=p.released,
                jour=p.day.isoformat() if p.day else "",
                lances_jour=p.released_today,
                etat=etat.value,
                public=public_fields(c.schedule, etat, c.total, p.released, _next_at(c, p)),
                finished=etat is CampaignState.TERMINEE,
            )

        reply: Reply[int] = Reply()
        command = ReserveWave(c.ref, out, Billing(c.billing), c.segments, record, reply)
        covered = await self._accounts.ask(c.account_id, command, reply)
        c.progress, c.etat = _after(c, wave, covered)
        self._waves += 1
        self._released += covered
        if covered < wave.count:
            log.info(
                "campaign %s suspended: %d of %d covered at %s", c.ref, covered, wave.count, wave.at
            )

    async def _end(self, c: Campaign, etat: CampaignState, raison: Reason) -> int:
        """End the campaign; its recipients never released end ECHEC / `raison`.

        A cancel also takes back the released recipients still queued in the
        dispatcher (not yet handed to a bind): they end ANNULE too, their credits
        released. Those already with a bind finish as they go."""
        start = c.first_id + c.progress.released
        withdrawn = self._outlet.withdraw(c.account_id, c.ref) if etat is CampaignState.ANNULEE else []
        outcomes = tuple(
            Outcome(MessageId(mid), c.ref, MessageStatus.ECHEC, raison)
            for mid in [*(m.message_id for m in withdrawn), *range(start, c.first_id + c.total)]
        )
        at = iso(self._clock.now())
        public = public_fields(c.schedule, etat, c.total, c.progress.released, None)

        end = CampaignEnd(c.ref, etat.value, at, public)
        reply: Reply[None] = Reply()
        await self._accounts.ask(c.account_id, EndCampaign(outcomes, end, reply), reply)
        c.etat = etat
        self._drop(c)
        log.info("campaign %s %s: %d recipients %s", c.ref, etat.value, len(outcomes), raison.value)
        return len(outcomes)

    def _drop(self, c: Campaign) -> None:
        self._live.pop(c.ref, None)
        self._armed.pop(c.ref, None)
        self._texts.pop(c.ref, None)

    def _text(self, c: Campaign) -> tuple[SenderAddress, EncodedMessage]:
        text = self._texts.get(c.ref)
        if text is None:
            text = self._texts[c.ref] = (parse_sender(c.emetteur), encode_message(c.corps, 0))
        return text

    async def _recover(self) -> None:
        """Rebuild live campaigns from the store; at the first start only, queue
        again released messages that were still waiting when the gateway stopped.

        After a restart of `serve` in the same process (its supervisor's), those
        messages are already with the dispatcher or a bind: they are not queued a
        second time, and the campaigns' timers are rebuilt from the store's progress
        (a wave is recorded with the progress, so none is released twice)."""
        rows = [r for r in await self._store.campaigns.live() if self._owned(r.account_id)]
        if self._recovered:
            # a wave asked of an account before the restart is committed by its
            # actor; its answer to a later question comes after that commit
            for account_id in {row.account_id for row in rows}:
                reply: Reply[Any] = Reply()
                await self._accounts.ask(account_id, GetSnapshot(reply), reply)
            rows = [r for r in await self._store.campaigns.live() if self._owned(r.account_id)]
        else:
            pending = [
                m for m in await self._store.campaigns.released_waiting()
                if self._owned(AccountId(m.account_id))
            ]
            queued, _ = await requeue(
                pending, store=self._store, accounts=self._accounts, outlet=self._outlet
            )
            self._recovered = True
            if queued:
                log.info("campaigns: %d released messages queued again", queued)
        self._live.clear()
        self._timers.clear()
        self._armed.clear()
        for row in rows:
            campaign = campaign_of(row)
            self._live[campaign.ref] = campaign
            self._arm(campaign)
        if rows:
            log.info("campaigns: %d live campaigns resumed", len(rows))


    async def _adopt(self, owned: Callable[[AccountId], bool]) -> int:
        pending = [
            m for m in await self._store.campaigns.released_waiting()
            if owned(AccountId(m.account_id))
        ]
        await requeue(pending, store=self._store, accounts=self._accounts, outlet=self._outlet)
        rows = [r for r in await self._store.campaigns.live() if owned(r.account_id)]
        for row in rows:
            if row.ref not in self._live:
                campaign = campaign_of(row)
                self._live[campaign.ref] = campaign
                self._arm(campaign)
        return len(rows)


def _after(c: Campaign, wave: Wave, covered: int) -> tuple[Progress, CampaignState]:
    """The campaign's progress and state once `covered` of `wave` went (pure)."""
    p = advance(c.progress, wave.at, covered, c.schedule.zone)
    if p.released >= c.total:
        return p, CampaignState.TERMINEE
    if covered < wave.count:
        return p, CampaignState.SUSPENDUE
    return p, CampaignState.EN_COURS


def _next_at(c: Campaign, p: Progress) -> datetime | None:
    """The slot after the last one handled, assuming full coverage (shown to clients)."""
    if p.released >= c.total or p.last_slot is None:
        return None
    wave = next(waves(c.schedule, c.total, p, p.last_slot), None)
    return wave.at if wave is not None else None
