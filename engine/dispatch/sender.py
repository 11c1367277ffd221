"""One SMPP session of the sender pool, over trio TCP.

A sender binds as transceiver, then pulls messages from the pool's shared channel
while its window of outstanding submit_sm has room, and turns each response into
an outcome for the result router. It owns its socket, its window and its retry
queue; one reader task feeds the sans-IO codec, writes go through one lock.

Outcomes (rules, in order):
1. ESME_ROK for every part: the message is ENVOYE with the SMSC's ids.
2. ESME_RTHROTTLED: this bind slows down (the send rate is cut, then grows back
   while no throttle is seen) and the part is sent again first.
3. A transient status, a response timeout or a lost connection: the part is sent
   again after a backoff, up to `max_retries`, then the message is ECHEC /
   ERREUR_RESEAU. A part that may have reached the SMSC (timeout, lost
   connection) marks the message as a possible duplicate.
4. Any other status: ECHEC / REJET_SMSC with the status as `codeSmsc`.

On a lost connection every message in flight goes back to the dispatcher, first
in its account's queue, and the sender reconnects with exponential backoff.
"""

from __future__ import annotations

import logging
import socket
from collections import deque
from dataclasses import dataclass
from typing import Any

import trio

from engine.clock import WallClock, iso
from engine.dispatch.message import OutMessage
from engine.dispatch.ratelimit import TokenBucket
from engine.dispatch.results import Ended, Event, Receipt
from engine.smpp import codec
from engine.smpp.constants import (
    ESM_DELIVERY_RECEIPT,
    NPI_ISDN,
    TON_INTERNATIONAL,
    Status,
    Tag,
    is_transient,
)
from engine.smpp.framing import PduReader
from engine.smpp.pdu import (
    BindTransceiver,
    BindTransceiverResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)
from engine.smpp.receipts import ReceiptParseError, parse_receipt
from engine.store.messages import Outcome
from engine.text import ReferenceCounter
from engine.types import Livraison, Raison, Statut

log = logging.getLogger(__name__)

_LIVRAISON = {
    "DELIVRD": Livraison.LIVRE,
    "EXPIRED": Livraison.EXPIRE,
    "UNDELIV": Livraison.NON_LIVRE,
    "REJECTD": Livraison.NON_LIVRE,
    "DELETED": Livraison.NON_LIVRE,
    "UNKNOWN": Livraison.NON_LIVRE,
}


class SessionLost(Exception):
    """The SMSC closed the connection, refused the bind or broke the protocol."""


@dataclass(frozen=True, slots=True)
class SenderSettings:
    host: str
    port: int
    system_id: str
    password: str
    window: int = 100
    response_timeout_s: float = 10.0
    enquire_link_s: float = 30.0
    max_retries: int = 5
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    registered_delivery: bool = True


@dataclass(frozen=True, slots=True)
class SenderStatistics:
    index: int
    state: str
    window_used: int
    window_size: int
    submitted: int
    accepted: int
    retries: int
    throttled: int
    failed: int
    reconnects: int
    receipts: int
    rate_limit_per_s: float | None
    last_error: str


@dataclass(slots=True)
class _InFlight:
    message: OutMessage
    part: int
    sent_at: float


class SmppSender:
    def __init__(
        self,
        index: int,
        settings: SenderSettings,
        source: trio.MemoryReceiveChannel[OutMessage],
        events: trio.MemorySendChannel[Event],
        requeue: Any,
        clock: WallClock,
        refs: ReferenceCounter,
    ) -> None:
        self.index = index
        self._s = settings
        self._source = source
        self._events = events
        self._requeue = requeue
        self._clock = clock
        self._refs = refs
        self._state = "DECONNECTE"
        self._in_flight: dict[int, _InFlight] = {}
        self._retry: deque[tuple[float, OutMessage, int]] = deque()
        self._sequence = 1
        self._send_lock = trio.Lock()
        self._window_free = trio.Semaphore(settings.window)
        self._limiter: TokenBucket | None = None
        self._throttle_seen = 0.0
        self._sent_times: deque[float] = deque()
        self._submitted = self._accepted = self._retries = self._throttled = 0
        self._failed = self._reconnects = self._receipts = 0
        self._last_error = ""

    @property
    def busy(self) -> bool:
        """Submits await their response or a retry."""
        return bool(self._in_flight or self._retry)

    def statistics(self) -> SenderStatistics:
        return SenderStatistics(
            index=self.index,
            state=self._state,
            window_used=len(self._in_flight),
            window_size=self._s.window,
            submitted=self._submitted,
            accepted=self._accepted,
            retries=self._retries,
            throttled=self._throttled,
            failed=self._failed,
            reconnects=self._reconnects,
            receipts=self._receipts,
            rate_limit_per_s=round(self._limiter.rate_per_s, 1) if self._limiter else None,
            last_error=self._last_error,
        )

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Keep one bound session up until cancelled; reconnect with backoff."""
        task_status.started()
        backoff = self._s.reconnect_min_s
        while True:
            bound = False
            try:
                bound = await self._session()
            except (OSError, trio.BrokenResourceError, trio.ClosedResourceError,
                    SessionLost, codec.SmppDecodeError) as exc:
                self._last_error = f"{type(exc).__name__}: {exc}"
                log.warning("smpp bind %d: %s", self.index, self._last_error)
            finally:
                self._state = "DECONNECTE"
                self._give_back()
            if bound:
                backoff = self._s.reconnect_min_s
            self._reconnects += 1
            await trio.sleep(backoff)
            backoff = min(backoff * 2, self._s.reconnect_max_s)

    def _next_sequence(self) -> int:
        seq = self._sequence
        self._sequence = seq + 1 if seq < 0x7FFFFFFF else 1
        return seq

    async def _session(self) -> bool:
        self._state = "CONNEXION"
        stream = await trio.open_tcp_stream(self._s.host, self._s.port)
        async with stream:
            stream.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            reader = PduReader()
            await self._bind(stream, reader)
            self._state = "LIE"
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._read_loop, stream, reader)
                nursery.start_soon(self._keepalive, stream)
                nursery.start_soon(self._expire_loop)
                try:
                    await self._write_loop(stream)
                finally:
                    nursery.cancel_scope.cancel()
        return True

    async def _bind(self, stream: trio.SocketStream, reader: PduReader) -> None:
        seq = self._next_sequence()
        bind = BindTransceiver(
            system_id=self._s.system_id, password=self._s.password, sequence=seq
        )
        await stream.send_all(codec.encode(bind))
        with trio.fail_after(self._s.response_timeout_s):
            while True:
                data = await stream.receive_some(65536)
                if not data:
                    raise SessionLost("connection closed during bind")
                for pdu in reader.feed(data):
                    if isinstance(pdu, BindTransceiverResp | GenericNack) and pdu.sequence == seq:
                        if pdu.status != Status.ESME_ROK:
                            raise SessionLost(f"bind refused: {_status_name(pdu.status)}")
                        return

    async def _send(self, stream: trio.SocketStream, data: bytes) -> None:
        async with self._send_lock:
            await stream.send_all(data)

    async def _write_loop(self, stream: trio.SocketStream) -> None:
        while True:
            work = await self._next_work()
            now = trio.current_time()
            chunks: list[bytes] = []
            while True:
                message, part = work
                chunks.append(self._submit_bytes(message, part, now))
                if not self._window_free.value or len(chunks) >= 64:
                    break
                nxt = self._next_work_nowait()
                if nxt is None:
                    break
                await self._window_free.acquire()
                work = nxt
            await self._send(stream, b"".join(chunks))

    async def _next_work(self) -> tuple[OutMessage, int]:
        """The next part to submit, after a free window slot and the bind's rate."""
        await self._window_free.acquire()
        while True:
            await self._respect_rate()
            work = self._next_work_nowait()
            if work is not None:
                return work
            deadline = self._retry[0][0] if self._retry else float("inf")
            with trio.move_on_at(deadline):
                message = await self._source.receive()
                return self._expand(message)

    def _next_work_nowait(self) -> tuple[OutMessage, int] | None:
        now = trio.current_time()
        if self._retry and self._retry[0][0] <= now:
            _, message, part = self._retry.popleft()
            return message, part
        if self._limiter is not None and self._limiter.take(1, now) == 0:
            return None
        try:
            message = self._source.receive_nowait()
        except trio.WouldBlock:
            return None
        return self._expand(message)

    def _expand(self, message: OutMessage) -> tuple[OutMessage, int]:
        """Queue every part still to send of a new message; return the first."""
        parts = len(message.encoded.parts)
        if message.part_ids is None:
            message.part_ids = [None] * parts
        todo = [i for i, sid in enumerate(message.part_ids) if sid is None]
        now = trio.current_time()
        for i in reversed(todo[1:]):
            self._retry.appendleft((now, message, i))
        return message, todo[0]

    async def _respect_rate(self) -> None:
        if self._limiter is None:
            return
        now = trio.current_time()
        if now - self._throttle_seen > 1.0:
            self._limiter.rate_per_s *= 1.1
            self._throttle_seen = now
            if self._limiter.rate_per_s > 100_000:
                self._limiter = None
                return
        await trio.sleep_until(self._limiter.next_token_at(now))

    def _submit_bytes(self, message: OutMessage, part: int, now: float) -> bytes:
        seq = self._next_sequence()
        encoded = message.encoded
        payload = encoded.parts[part]
        if len(encoded.parts) > 1:
            reference = self._reference(message)
            payload = payload[:3] + bytes((reference,)) + payload[4:]
        pdu = SubmitSm(
            source_addr_ton=message.sender.ton,
            source_addr_npi=message.sender.npi,
            source_addr=message.sender.address,
            dest_addr_ton=TON_INTERNATIONAL,
            dest_addr_npi=NPI_ISDN,
            destination_addr=message.destination.lstrip("+"),
            esm_class=encoded.esm_class,
            registered_delivery=1 if self._s.registered_delivery else 0,
            data_coding=encoded.data_coding,
            short_message=payload,
            sequence=seq,
        )
        self._in_flight[seq] = _InFlight(message, part, now)
        self._submitted += 1
        self._sent_times.append(now)
        return codec.encode(pdu)

    def _reference(self, message: OutMessage) -> int:
        if message.udh_reference is None:
            message.udh_reference = self._refs.next(message.destination)
        return message.udh_reference

    async def _read_loop(self, stream: trio.SocketStream, reader: PduReader) -> None:
        while True:
            data = await stream.receive_some(65536)
            if not data:
                raise SessionLost("connection closed by the SMSC")
            replies: list[bytes] = []
            for pdu in reader.feed(data):
                if isinstance(pdu, SubmitSmResp):
                    await self._on_response(pdu.sequence, pdu.status, pdu.message_id)
                elif isinstance(pdu, DeliverSm):
                    replies.append(codec.encode(DeliverSmResp(sequence=pdu.sequence)))
                    await self._on_deliver(pdu)
                elif isinstance(pdu, EnquireLink):
                    replies.append(codec.encode(EnquireLinkResp(sequence=pdu.sequence)))
                elif isinstance(pdu, GenericNack):
                    await self._on_response(pdu.sequence, pdu.status or Status.ESME_RSYSERR, "")
                elif isinstance(pdu, Unbind):
                    await self._send(stream, codec.encode(UnbindResp(sequence=pdu.sequence)))
                    raise SessionLost("the SMSC unbound")
                elif isinstance(pdu, EnquireLinkResp | UnbindResp):
                    pass
            if replies:
                await self._send(stream, b"".join(replies))

    async def _on_response(self, seq: int, status: int, smsc_id: str) -> None:
        entry = self._in_flight.pop(seq, None)
        if entry is None:
            return
        self._window_free.release()
        message, part = entry.message, entry.part
        if message.done:
            return
        assert message.part_ids is not None
        if status == Status.ESME_ROK:
            message.part_ids[part] = smsc_id
            if all(sid is not None for sid in message.part_ids):
                self._accepted += 1
                await self._end(message, Statut.ENVOYE)
        elif status == Status.ESME_RTHROTTLED:
            self._throttled += 1
            self._slow_down()
            self._retry.appendleft((trio.current_time(), message, part))
        elif is_transient(status):
            await self._retry_later(message, part, status)
        else:
            self._failed += 1
            await self._end(message, Statut.ECHEC, Raison.REJET_SMSC, status)

    async def _retry_later(
        self, message: OutMessage, part: int, status: int | None, maybe_sent: bool = False
    ) -> None:
        message.possible_duplicate |= maybe_sent
        message.retries += 1
        if message.retries > self._s.max_retries:
            self._failed += 1
            await self._end(message, Statut.ECHEC, Raison.ERREUR_RESEAU, status)
            return
        self._retries += 1
        delay = min(0.05 * 2 ** (message.retries - 1), 5.0)
        due = trio.current_time() + delay
        self._retry.append((due, message, part))
        if len(self._retry) > 1 and self._retry[-2][0] > due:
            self._retry = deque(sorted(self._retry, key=lambda item: item[0]))

    def _slow_down(self) -> None:
        now = trio.current_time()
        while self._sent_times and self._sent_times[0] < now - 1.0:
            self._sent_times.popleft()
        observed = max(1.0, len(self._sent_times) * 0.8)
        if self._limiter is None or self._limiter.rate_per_s > observed:
            self._limiter = TokenBucket.full(observed, now, burst=max(1.0, observed / 20))
        self._throttle_seen = now

    async def _end(
        self,
        message: OutMessage,
        statut: Statut,
        raison: Raison | None = None,
        code: int | None = None,
    ) -> None:
        message.done = True
        ids = tuple(sid for sid in (message.part_ids or ()) if sid)
        outcome = Outcome(
            message_id=message.message_id,
            ref=message.ref,
            statut=statut,
            raison=raison,
            code_smsc=code,
            smsc_ids=ids if statut is Statut.ENVOYE else (),
            at=iso(self._clock.now()),
            doublon_possible=message.possible_duplicate,
        )
        await self._events.send(Ended(message.account_id, outcome))

    async def _on_deliver(self, pdu: DeliverSm) -> None:
        if not pdu.esm_class & ESM_DELIVERY_RECEIPT:
            return
        try:
            receipt = parse_receipt(pdu.short_message)
        except ReceiptParseError:
            return
        livraison = _LIVRAISON.get(receipt.stat.upper())
        if livraison is None:
            return
        tlv = pdu.tlv(Tag.RECEIPTED_MESSAGE_ID)
        smsc_id = tlv.rstrip(b"\0").decode("latin-1") if tlv else receipt.id
        self._receipts += 1
        await self._events.send(Receipt(smsc_id, livraison.value, iso(self._clock.now())))

    async def _keepalive(self, stream: trio.SocketStream) -> None:
        while True:
            await trio.sleep(self._s.enquire_link_s)
            await self._send(stream, codec.encode(EnquireLink(sequence=self._next_sequence())))

    async def _expire_loop(self) -> None:
        timeout = self._s.response_timeout_s
        while True:
            await trio.sleep(min(timeout / 4, 1.0))
            horizon = trio.current_time() - timeout
            expired = []
            for seq, entry in self._in_flight.items():
                if entry.sent_at > horizon:
                    break
                expired.append(seq)
            for seq in expired:
                entry = self._in_flight.pop(seq)
                self._window_free.release()
                if not entry.message.done:
                    await self._retry_later(entry.message, entry.part, None, maybe_sent=True)

    def _give_back(self) -> None:
        """Hand every unfinished message back to the dispatcher (connection lost)."""
        seen: set[int] = set()
        pending: list[OutMessage] = []
        for entry in self._in_flight.values():
            entry.message.possible_duplicate = True
            if entry.message.message_id not in seen and not entry.message.done:
                seen.add(entry.message.message_id)
                pending.append(entry.message)
        for _, message, _ in self._retry:
            if message.message_id not in seen and not message.done:
                seen.add(message.message_id)
                pending.append(message)
        for _ in self._in_flight:
            self._window_free.release()
        self._in_flight.clear()
        self._retry.clear()
        for message in reversed(pending):
            self._requeue(message)


def _status_name(status: int) -> str:
    try:
        return Status(status).name
    except ValueError:
        return f"0x{status:08X}"
