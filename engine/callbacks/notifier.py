"""The callback notifier: sole owner of the queue of status events to deliver.

Account actors (`ended`, after each commit of final statuses) and the result
router (`receipts`, after each commit of delivery receipts) hand it message ids
and never wait: `ended` and `receipts` only put one item in a bounded queue
and, when it is full, drop the item and count the drop. Dispatch is never held
up by a slow or dead callback URL.

`serve` drains the queue, reads the messages' committed state and the
accounts' `urlRappel` from the store, and POSTs one signed JSON body per
account and per 100 events. A delivery that does not get a 2xx answer is tried
again after 1, 2, 4 ... × `retry_base_s`, at most `max_attempts` times, then
abandoned and counted. At most `concurrency` POSTs run at once and at most
`retry_max` deliveries wait for a retry; beyond that new deliveries are
dropped and counted.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import trio

from engine.callbacks.client import CallbackHttpError, post
from engine.callbacks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from engine.clock import WallClock
from engine.model import AccountId, Outcome, ReportedMessage, format_ref, iso
from engine.store import STORE_FAILURES

log = logging.getLogger(__name__)

_EVENTS_PER_POST = 100


class Reports(Protocol):
    """The store's reads the notifier makes (`Store.reads`)."""

    async def report(
        self, message_ids: list[int]
    ) -> tuple[list[ReportedMessage], dict[int, tuple[str | None, str | None]]]: ...

    async def any_callback_url(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class CallbackStatistics:
    """Counters for operators (`/api/V1/admin/acteurs`, `/metrics`)."""

    queue_depth: int
    waiting_retry: int
    posts_ok: int
    events_delivered: int
    attempts_failed: int
    posts_abandoned: int
    events_abandoned: int
    events_dropped: int


@dataclass(frozen=True, slots=True)
class _Item:
    kind: str  # "STATUT" or "LIVRAISON"
    message_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Target:
    url: str | None
    secret: str | None


class CallbackNotifier:
    def __init__(
        self,
        store: Reports,
        clock: WallClock,
        *,
        queue_size: int = 1024,
        concurrency: int = 16,
        retry_max: int = 1000,
        max_attempts: int = 6,
        retry_base_s: float = 1.0,
        timeout_s: float = 10.0,
        url_ttl_s: float = 5.0,
    ) -> None:
        self._store = store
        self._clock = clock
        self._send, self._receive = trio.open_memory_channel[_Item](queue_size)
        self._limiter = trio.Semaphore(concurrency)
        self.retry_max = retry_max
        self.max_attempts = max_attempts
        self.retry_base_s = retry_base_s
        self.timeout_s = timeout_s
        self._url_ttl_s = url_ttl_s
        self._any_url: tuple[float, bool] | None = None
        self._nursery: trio.Nursery | None = None
        self._waiting_retry = 0
        self._posts_ok = 0
        self._events_delivered = 0
        self._attempts_failed = 0
        self._posts_abandoned = 0
        self._events_abandoned = 0
        self._events_dropped = 0
        self.ended_by_statut: Counter[str] = Counter()

    # -- producers: never block ----------------------------------------------------------

    def ended(self, account_id: AccountId, outcomes: Sequence[Outcome]) -> None:
        """Final statuses of `account_id`'s messages were committed."""
        for o in outcomes:
            self.ended_by_statut[o.statut.value] += 1
        self._offer(_Item("STATUT", tuple(o.message_id for o in outcomes)))

    def receipts(self, matched: Sequence[tuple[int, int, str, str]]) -> None:
        """Delivery receipts (message_id, ref, livraison, at) were committed."""
        self._offer(_Item("LIVRAISON", tuple(m[0] for m in matched)))

    def forget(self, account_id: AccountId) -> None:
        """An account's `urlRappel` changed: look it up again."""
        self._any_url = None

    def _offer(self, item: _Item) -> None:
        if not item.message_ids or self._nursery is None:
            return
        if self._any_url is not None and not self._any_url[1]:
            if trio.current_time() < self._any_url[0]:
                return  # no account has a callback URL: nothing to deliver
        try:
            self._send.send_nowait(item)
        except trio.WouldBlock:
            self._events_dropped += len(item.message_ids)

    def statistics(self) -> CallbackStatistics:
        return CallbackStatistics(
            queue_depth=self._receive.statistics().current_buffer_used,
            waiting_retry=self._waiting_retry,
            posts_ok=self._posts_ok,
            events_delivered=self._events_delivered,
            attempts_failed=self._attempts_failed,
            posts_abandoned=self._posts_abandoned,
            events_abandoned=self._events_abandoned,
            events_dropped=self._events_dropped,
        )

    # -- the consumer ---------------------------------------------------------------------

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started(self)
            async for item in self._receive:
                await self._refresh_any_url()
                if self._any_url is not None and not self._any_url[1]:
                    continue
                batch = [item]
                while len(batch) < 64:
                    try:
                        batch.append(self._receive.receive_nowait())
                    except trio.WouldBlock:
                        break
                try:
                    posts = _build_posts(batch, *await self._store.report(_ids(batch)))
                except STORE_FAILURES:
                    log.exception("callbacks: could not read the messages to report")
                    continue
                for target, events in posts:
                    for start in range(0, len(events), _EVENTS_PER_POST):
                        chunk = events[start : start + _EVENTS_PER_POST]
                        if self._waiting_retry >= self.retry_max:
                            self._events_dropped += len(chunk)
                            continue
                        await self._limiter.acquire()
                        self._waiting_retry += 1
                        nursery.start_soon(self._deliver, target, chunk)

    async def _refresh_any_url(self) -> None:
        now = trio.current_time()
        if self._any_url is not None and now < self._any_url[0]:
            return
        found = await self._store.any_callback_url()
        self._any_url = (now + self._url_ttl_s, found)

    async def _deliver(self, target: _Target, events: list[dict[str, Any]]) -> None:
        """POST one body; the caller acquired one limiter slot, released here."""
        assert target.url is not None and target.secret is not None
        body = json.dumps(
            {"evenements": events}, ensure_ascii=False, separators=(",", ":")
        ).encode()
        headers = {SIGNATURE_HEADER: sign(target.secret, body)}
        holding = True
        try:
            for attempt in range(self.max_attempts):
                if not holding:
                    await self._limiter.acquire()
                    holding = True
                headers[TIMESTAMP_HEADER] = iso(self._clock.now())
                try:
                    status = await post(target.url, body, headers, timeout_s=self.timeout_s)
                except (OSError, trio.TooSlowError, CallbackHttpError) as exc:
                    status, reason = 0, type(exc).__name__
                else:
                    reason = f"HTTP {status}"
                self._limiter.release()
                holding = False
                if 200 <= status < 300:
                    self._posts_ok += 1
                    self._events_delivered += len(events)
                    return
                self._attempts_failed += 1
                log.info("callback attempt %d failed (%s)", attempt + 1, reason)
                if attempt + 1 < self.max_attempts:
                    await trio.sleep(self.retry_base_s * 2**attempt)
            self._posts_abandoned += 1
            self._events_abandoned += len(events)
            log.warning(
                "callback abandoned after %d attempts (%d events)", self.max_attempts, len(events)
            )
        finally:
            if holding:
                self._limiter.release()
            self._waiting_retry -= 1


def _kinds(items: list[_Item]) -> dict[int, str]:
    """Each message's event kind: STATUT wins over LIVRAISON for the same message."""
    kind_of: dict[int, str] = {}
    for item in items:
        for mid in item.message_ids:
            kind_of[mid] = "STATUT" if "STATUT" in (item.kind, kind_of.get(mid)) else item.kind
    return kind_of


def _ids(items: list[_Item]) -> list[int]:
    return list(_kinds(items))


def _build_posts(
    items: list[_Item],
    messages: list[ReportedMessage],
    targets: dict[int, tuple[str | None, str | None]],
) -> list[tuple[_Target, list[dict[str, Any]]]]:
    """Events grouped by account, for accounts that have a callback URL."""
    kind_of = _kinds(items)
    by_account: dict[int, list[dict[str, Any]]] = {}
    for m in messages:
        by_account.setdefault(m.account_id, []).append(
            {
                "type": kind_of[m.id],
                "ref": format_ref(m.ref),
                "destinataire": m.destinataire,
                "statut": m.statut,
                "raison": m.raison,
                "codeSmsc": m.code_smsc,
                "envoyeLe": m.envoye_le,
                "livraison": m.livraison,
                "livreLe": m.livre_le,
                "doublonPossible": m.doublon_possible,
                "smsc": m.smsc,
            }
        )
    out: list[tuple[_Target, list[dict[str, Any]]]] = []
    for account_id, events in by_account.items():
        url, key_hash = targets.get(account_id, (None, None))
        if url and key_hash:
            out.append((_Target(url, key_hash), events))
    return out
