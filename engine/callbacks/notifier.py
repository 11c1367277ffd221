"""The callback notifier: delivers the store's callback outbox (contract section 11).

Events are written to the outbox by the transactions that make the changes they
report (`engine.store.outbox`), so nothing is lost when the process dies: the
notifier only reads what is due and settles what became of it. Account actors
(`ended`) and the result router (`receipts`) wake it after their commits when
these wrote events; it also looks again when the next retry falls due (and
`poll_s` after the store failed to answer).

A round reads up to `batch` due events (each the oldest of its recipient's, so a
recipient's events arrive in order), groups them by target (URL, account) into
bodies of at most 100 events, POSTs them signed (`X-SMSGW-Signature`, the
account's secret), at most `concurrency` at once, over one httpx client (TLS
verified, timeouts, connections kept alive; made, and httpx imported, with the
first due events), and settles them in one store
transaction: a 2xx answer deletes them; otherwise each is tried again after 1,
2, 4 ... seconds (at most 10 minutes apart) until it is `max_age_s` old, then
dropped and counted. A target whose host is, or resolves to, a private address
is refused (unless `allow_private`): its events are dropped and counted.
Delivery is at least once: a crash between a POST and its settlement sends it
again, with the same event ids.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Protocol

import trio

from engine.callbacks.guard import forbidden
from engine.callbacks.signing import SIGNATURE_HEADER, sign
from engine.clock import WallClock
from engine.model import AccountId, Outcome, PendingCallback, format_ref
from engine.store import store_failures

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

_STATUT = attrgetter("statut.value")
"""An outcome's status as the counters name it (counted in C, one an outcome)."""

EVENTS_PER_POST = 100
MAX_BACKOFF_S = 600.0


class Outbox(Protocol):
    """The store's outbox operations (`Store.outbox`)."""

    async def due(self, now: float, limit: int) -> list[PendingCallback]: ...

    async def next_due(self) -> float | None: ...

    async def settle(self, done: Sequence[int], retry: Sequence[tuple[float, int]]) -> None: ...

    @property
    def recorded(self) -> int:
        """Events written so far by this process's transactions."""


@dataclass(frozen=True, slots=True)
class AccountCallbackFailures:
    """One account's callback failures since the process started."""

    compte: int
    attempts_failed: int
    events_abandoned: int


@dataclass(frozen=True, slots=True)
class CallbackStatistics:
    """Counters for operators (`/api/V1/admin/acteurs`, `/metrics`): events read
    due in the last round, events waiting for a retry, POSTs acknowledged, events
    delivered, failed attempts, events dropped past their age (`events_abandoned`)
    or for a forbidden target (`events_dropped`), and failures per account."""

    queue_depth: int
    waiting_retry: int
    posts_ok: int
    events_delivered: int
    attempts_failed: int
    posts_abandoned: int
    events_abandoned: int
    events_dropped: int
    par_compte: tuple[AccountCallbackFailures, ...]


def backoff_s(attempts: int) -> float:
    """The wait after the `attempts`-th failed attempt: 1 s, doubling, at most 10 min."""
    return min(MAX_BACKOFF_S, 2.0 ** max(0, attempts - 1))


def event_json(e: PendingCallback) -> dict[str, Any]:
    """One event as the receiver reads it."""
    if e.type == "ENTRANT":
        return {
            "id": e.id,
            "type": e.type,
            "emetteur": e.emetteur,
            "destinataire": e.destinataire,
            "corps": e.corps,
            "recuLe": e.recu_le,
            "smsc": e.smsc,
        }
    return {
        "id": e.id,
        "type": e.type,
        "ref": format_ref(e.ref),
        "destinataire": e.destinataire,
        "statut": e.statut,
        "raison": e.raison,
        "codeSmsc": e.code_smsc,
        "envoyeLe": e.envoye_le,
        "livraison": e.livraison,
        "livreLe": e.livre_le,
        "reference": e.reference,
        "smsc": e.smsc,
        "doublonPossible": e.doublon_possible,
    }


class CallbackNotifier:
    def __init__(
        self,
        outbox: Outbox,
        clock: WallClock,
        *,
        max_age_s: float = 86_400,
        allow_private: bool = False,
        concurrency: int = 16,
        timeout_s: float = 10.0,
        batch: int = 2000,
        poll_s: float = 5.0,
    ) -> None:
        self._outbox = outbox
        self._clock = clock
        self.max_age_s = max_age_s
        self.allow_private = allow_private
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.batch = batch
        self.poll_s = poll_s
        self._wake = trio.Event()
        self._seen = 0
        self._due = 0
        self._waiting_retry = 0
        self._posts_ok = 0
        self._events_delivered = 0
        self._attempts_failed = 0
        self._posts_abandoned = 0
        self._events_abandoned = 0
        self._events_dropped = 0
        self._client: httpx.AsyncClient | None = None
        self._failed_by_account: Counter[int] = Counter()
        self._abandoned_by_account: Counter[int] = Counter()
        self.ended_by_statut: Counter[str] = Counter()

    # -- producers: never block ----------------------------------------------------------

    def ended(self, account_id: AccountId, outcomes: Sequence[Outcome]) -> None:
        """Final statuses of `account_id`'s messages were committed (with their events)."""
        self.ended_by_statut.update(map(_STATUT, outcomes))
        self._new_events()

    def receipts(self, matched: Sequence[tuple[int, int, str, str]]) -> None:
        """Delivery receipts were committed (with their events)."""
        self._new_events()

    def inbound(self, received: Sequence[object]) -> None:
        """Inbound messages were committed (with the ENTRANT events of the owned
        ones whose account has a callback URL)."""
        self._new_events()

    def _new_events(self) -> None:
        """Wake the consumer when the outbox got events since it last looked (an
        account without a callback URL costs no read of the outbox)."""
        if self._outbox.recorded != self._seen:
            self._wake.set()

    def forget(self, account_id: AccountId) -> None:
        """An account's callback settings changed: look at the outbox again."""
        self._wake.set()

    def statistics(self) -> CallbackStatistics:
        accounts = sorted(set(self._failed_by_account) | set(self._abandoned_by_account))
        return CallbackStatistics(
            queue_depth=self._due,
            waiting_retry=self._waiting_retry,
            posts_ok=self._posts_ok,
            events_delivered=self._events_delivered,
            attempts_failed=self._attempts_failed,
            posts_abandoned=self._posts_abandoned,
            events_abandoned=self._events_abandoned,
            events_dropped=self._events_dropped,
            par_compte=tuple(
                AccountCallbackFailures(
                    a, self._failed_by_account[a], self._abandoned_by_account[a]
                )
                for a in accounts
            ),
        )

    # -- the consumer ---------------------------------------------------------------------

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started(self)
        try:
            with contextlib.suppress(*store_failures()):
                if await self._outbox.next_due() is not None:
                    self._http_client()  # events left by an earlier run: post them at once
            while True:
                self._wake = trio.Event()
                self._seen = self._outbox.recorded
                now = self._clock.now().timestamp()
                try:
                    due = await self._outbox.due(now, self.batch)
                    self._due = len(due)
                    if due:
                        await self._round(self._http_client(), due, now)
                        continue
                    next_at = await self._outbox.next_due()
                except store_failures():
                    log.exception("callbacks: the outbox could not be read or settled")
                    next_at = now + self.poll_s
                # an empty outbox waits for the next commit that writes events
                wait = math.inf if next_at is None else next_at - now
                with trio.move_on_after(max(wait, 0.001)):
                    await self._wake.wait()
        finally:
            client, self._client = self._client, None
            if client is not None:
                await client.aclose()

    def _http_client(self) -> httpx.AsyncClient:
        """The one HTTP client, made with the first due events (a gateway whose
        accounts have no callback URL never loads httpx)."""
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout_s),
                limits=httpx.Limits(
                    max_connections=self.concurrency, max_keepalive_connections=self.concurrency
                ),
                verify=True,
                follow_redirects=False,
                headers={"User-Agent": "SMS-Gateway"},
            )
        return self._client

    async def _round(self, client: httpx.AsyncClient, due: list[PendingCallback], now: float) -> None:
        """POST the due events by target, then settle them in one transaction."""
        targets: dict[tuple[str, int], list[PendingCallback]] = {}
        for e in due:
            targets.setdefault((e.url, e.account_id), []).append(e)
        done: list[int] = []
        retry: list[tuple[float, int]] = []
        limiter = trio.Semaphore(self.concurrency)

        async def deliver(url: str, events: list[PendingCallback]) -> None:
            async with limiter:
                ok = await self._post(client, url, events)
            account = events[0].account_id
            if ok:
                self._posts_ok += 1
                self._events_delivered += len(events)
                done.extend(e.id for e in events)
                return
            self._attempts_failed += 1
            self._failed_by_account[account] += 1
            expired = [e for e in events if now - e.cree_le >= self.max_age_s]
            if expired:
                self._posts_abandoned += 1
                self._events_abandoned += len(expired)
                self._abandoned_by_account[account] += len(expired)
                done.extend(e.id for e in expired)
                log.warning(
                    "callbacks: %d events of account %d dropped after %d s without an answer",
                    len(expired), account, int(self.max_age_s),
                )
            for e in events:
                if now - e.cree_le < self.max_age_s:
                    retry.append((now + backoff_s(e.tentatives + 1), e.id))

        async with trio.open_nursery() as nursery:
            for (url, account), events in targets.items():
                if await forbidden(url, allow_private=self.allow_private):
                    self._events_dropped += len(events)
                    self._abandoned_by_account[account] += len(events)
                    done.extend(e.id for e in events)
                    log.warning(
                        "callbacks: %d events of account %d dropped: their URL is not allowed",
                        len(events), account,
                    )
                    continue
                for start in range(0, len(events), EVENTS_PER_POST):
                    nursery.start_soon(deliver, url, events[start : start + EVENTS_PER_POST])
        self._waiting_retry = len(retry)
        await self._outbox.settle(done, retry)

    async def _post(self, client: httpx.AsyncClient, url: str, events: list[PendingCallback]) -> bool:
        import httpx  # loaded with `client`

        body = json.dumps(
            {"evenements": [event_json(e) for e in events]}, ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        timestamp = int(self._clock.now().timestamp())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(events[0].secret, timestamp, body),
        }
        try:
            answer = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.info("callback to account %d failed (%s)", events[0].account_id, type(exc).__name__)
            return False
        if 200 <= answer.status_code < 300:
            return True
        log.info("callback to account %d answered HTTP %d", events[0].account_id,
                 answer.status_code)
        return False
