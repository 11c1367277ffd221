"""One ESME's TCP connection: bind state, submits, responses, receipts it carries.

Three tasks per connection, all inside `EsmeConnection.run`:

- the reader cuts the byte stream into frames and handles every PDU of one read
  synchronously, appending all answers to one output buffer (one `send_all` per read,
  no task per PDU);
- the writer sends whatever the buffer holds, and records submit latencies;
- a timer queue releases responses that wait for their latency (they may overtake
  earlier ones: out-of-order responses are legal SMPP).

`run` returns on EOF, after an unbind, on a broken stream, or when `abort()` is
called; it always closes the socket. It never raises for anything the peer sends:
a PDU whose body does not decode is answered with a generic_nack, a request whose
TLV breaks SMPP 3.4's size (`engine.smpp.limits`) with its response carrying
ESME_RINVPARLEN; both are counted (`pdus_refused`), the first of a connection is
logged, and the connection goes on.
"""

from __future__ import annotations

import logging
import random
from typing import Any, Protocol, TypeAlias

import trio

from engine.smpp.codec import SmppDecodeError, decode, encode
from engine.smpp.constants import CommandId, Status, Tag
from engine.smpp.framing import PduReader
from engine.smpp.limits import tlv_fault
from engine.smpp.pdu import (
    PDU_TYPES,
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    DataSm,
    DataSmResp,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    QuerySm,
    QuerySmResp,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    response_for,
)

from .behaviour import TokenBucket, decide
from .config import Behaviour, SimulatorSettings
from .receipts import ReceiptJob, mo_pdu, receipt_pdu
from .stats import Counters
from .timers import TimerQueue

log = logging.getLogger(__name__)

SMSC_SYSTEM_ID = "smsc_sim"
_RECEIVE_SIZE = 256 * 1024
_HIGH_WATER = 4 * 1024 * 1024
_MAX_SEQUENCE = 0x7FFFFFFF

PDU_NAMES: dict[type[Any], str] = {cls: CommandId(cls.COMMAND_ID).name.lower() for cls in PDU_TYPES}
_BIND_MODES: dict[type[Any], str] = {
    BindTransmitter: "transmitter",
    BindReceiver: "receiver",
    BindTransceiver: "transceiver",
}
_SUBMIT_RESP_NAME = {SubmitSm: "submit_sm_resp", DataSm: "data_sm_resp"}

_Delayed: TypeAlias = tuple[SubmitSmResp | DataSmResp, float, ReceiptJob | None]


class Host(Protocol):
    """What a connection needs of the simulator that accepted it (a `Simulator`).

    The connection reads the settings, the live behaviour and the stall flag, counts
    into `counters`, and reports binds, accepted submits, receipts owed and its close.
    """

    @property
    def settings(self) -> SimulatorSettings: ...

    @property
    def counters(self) -> Counters: ...

    @property
    def behaviour(self) -> Behaviour: ...

    @property
    def stalled(self) -> bool: ...

    async def wait_resumed(self) -> None: ...

    def wall_time(self) -> float: ...

    def accept(self, pdu: SubmitSm | DataSm, body: bytes, connection: int, now: float) -> str: ...

    def record_latencies(self, received_at: list[float], sent_at: float) -> None: ...

    def connection_bound(self, connection: EsmeConnection) -> None: ...

    def connection_closed(self, connection: EsmeConnection) -> None: ...

    def schedule_receipt(self, job: ReceiptJob, now: float) -> None: ...


class EsmeConnection:
    """Owns one accepted stream until it closes. Counters live on the simulator."""

    def __init__(self, simulator: Host, stream: trio.SocketStream, number: int) -> None:
        self.number = number
        self.mode: str | None = None
        self.alive = True
        self.can_transmit = False
        self.can_receive = False
        self._sim = simulator
        self._stream = stream
        self._reader = PduReader()
        self._out = bytearray()
        self._marks: list[float] = []
        self._out_ready = trio.Event()
        self._written = trio.Event()
        self._sending = False
        self._delayed: TimerQueue[_Delayed] = TimerQueue()
        self._pending_responses = 0
        self._awaiting: dict[int, ReceiptJob] = {}
        self._mo_awaiting: set[int] = set()
        """Sequence numbers of inbound messages (MO) sent, not yet answered."""
        self._sequence = 0
        self._refusals = 0
        self._rng = random.Random()  # noqa: S311 - simulation draws, not secrets
        self._behaviour_seen: Behaviour | None = None
        self._bucket: TokenBucket | None = None
        self._scope = trio.CancelScope()
        self._handlers: dict[type[Any], Any] = {
            SubmitSm: self._on_submit,
            DataSm: self._on_submit,
            DeliverSmResp: self._on_deliver_sm_resp,
            EnquireLink: self._on_enquire_link,
            BindTransmitter: self._on_bind,
            BindReceiver: self._on_bind,
            BindTransceiver: self._on_bind,
            Unbind: self._on_unbind,
            QuerySm: self._on_query_sm,
        }

    def reseed(self, seed: int | None) -> None:
        """Restart this connection's random draws (`seed` None: unpredictable)."""
        seeded = None if seed is None else f"{seed}:{self.number}"
        self._rng = random.Random(seeded)  # noqa: S311 - simulation draws, not secrets

    def abort(self) -> None:
        """Close at once, without unbind; pending responses are lost."""
        self._scope.cancel()

    def take_awaiting_receipts(self) -> list[ReceiptJob]:
        jobs = list(self._awaiting.values())
        self._awaiting.clear()
        return jobs

    @property
    def awaiting_receipts(self) -> int:
        return len(self._awaiting)

    async def run(self) -> None:
        try:
            with self._scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._write_loop)
                    nursery.start_soon(self._delayed.serve, self._release, self._sim.wait_resumed)
                    await self._read_loop()
                    nursery.cancel_scope.cancel()
        except Exception:
            log.exception("connection %d failed", self.number)
        finally:
            self.alive = False
            self._sim.connection_closed(self)
            await trio.aclose_forcefully(self._stream)

    # --- I/O -----------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        sim = self._sim
        stream = self._stream
        while True:
            if sim.stalled:
                await sim.wait_resumed()
            try:
                data = await stream.receive_some(_RECEIVE_SIZE)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return
            if not data:
                return
            if sim.stalled:
                await sim.wait_resumed()
            keep_open = self._handle_data(data)
            if self._out:
                self._out_ready.set()
            if not keep_open:
                await self._flush()
                return
            while len(self._out) > _HIGH_WATER:
                await self._written.wait()

    async def _write_loop(self) -> None:
        sim = self._sim
        stream = self._stream
        try:
            while True:
                if not self._out:
                    self._out_ready = trio.Event()
                    await self._out_ready.wait()
                    continue
                if sim.stalled:
                    await sim.wait_resumed()
                    continue
                data, self._out = self._out, bytearray()
                marks, self._marks = self._marks, []
                self._sending = True
                await stream.send_all(data)
                self._sending = False
                if marks:
                    sim.record_latencies(marks, trio.current_time())
                written, self._written = self._written, trio.Event()
                written.set()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self._scope.cancel()

    async def _flush(self) -> None:
        while self._out or self._sending:
            self._out_ready.set()
            await self._written.wait()

    def _send(self, pdu: Pdu) -> None:
        self._out += encode(pdu)
        self._sim.counters.pdus_out[PDU_NAMES[type(pdu)]] += 1

    # --- PDUs in ---------------------------------------------------------------------------

    def _handle_data(self, data: bytes) -> bool:
        """Handle every complete PDU in `data`; False when the connection must close."""
        try:
            frames = self._reader.feed_frames(data)
        except SmppDecodeError as broken:
            self._handle_frames(broken.frames)
            self._sim.counters.pdus_in["unreadable"] += 1
            self._send(GenericNack(sequence=broken.sequence or 0, status=Status.ESME_RINVCMDLEN))
            return False
        return self._handle_frames(frames)

    def _handle_frames(self, frames: list[bytes]) -> bool:
        now = trio.current_time()
        counters = self._sim.counters
        pdus_in = counters.pdus_in
        handlers = self._handlers
        for frame in frames:
            try:
                pdu = decode(frame)
            except SmppDecodeError as error:
                pdus_in["unreadable"] += 1
                self._refused(str(error))
                self._send(GenericNack(sequence=error.sequence or 0, status=error.status))
                continue
            kind = type(pdu)
            pdus_in[PDU_NAMES[kind]] += 1
            tlvs = getattr(pdu, "tlvs", None)
            if tlvs and not pdu.COMMAND_ID & 0x80000000:
                fault = tlv_fault(tlvs)
                if fault is not None:
                    self._refused(fault[1])
                    try:
                        self._send(response_for(pdu, fault[0]))  # type: ignore[arg-type]
                    except ValueError:  # a request without a response PDU
                        pass
                    continue
            handler = handlers.get(kind)
            if handler is not None:
                if not handler(pdu, now):
                    return False
            elif not pdu.COMMAND_ID & 0x80000000:
                self._send(GenericNack(sequence=pdu.sequence, status=Status.ESME_RINVCMDID))
        return True

    def _refused(self, reason: str) -> None:
        self._sim.counters.pdus_refused += 1
        self._refusals += 1
        if self._refusals == 1:
            log.warning(
                "connection %d: refused a PDU: %s (later refusals are only counted)",
                self.number, reason[:200],
            )

    def _on_bind(self, pdu: BindTransmitter | BindReceiver | BindTransceiver, now: float) -> bool:
        settings = self._sim.settings
        if self.mode is not None:
            status = Status.ESME_RALYBND
        elif pdu.system_id != settings.system_id:
            status = Status.ESME_RINVSYSID
        elif pdu.password != settings.password:
            status = Status.ESME_RINVPASWD
        else:
            status = Status.ESME_ROK
        self._send(response_for(pdu, status, system_id=SMSC_SYSTEM_ID))
        if status == Status.ESME_ROK:
            self.mode = _BIND_MODES[type(pdu)]
            self.can_transmit = self.mode != "receiver"
            self.can_receive = self.mode != "transmitter"
            self._sim.connection_bound(self)
        elif status != Status.ESME_RALYBND:
            self._sim.counters.bind_failures += 1
        return True

    def _on_enquire_link(self, pdu: EnquireLink, now: float) -> bool:
        self._send(EnquireLinkResp(sequence=pdu.sequence))
        return True

    def _on_unbind(self, pdu: Unbind, now: float) -> bool:
        self._send(UnbindResp(sequence=pdu.sequence))
        return False

    def _on_query_sm(self, pdu: QuerySm, now: float) -> bool:
        status = Status.ESME_RQUERYFAIL if self.can_transmit else Status.ESME_RINVBNDSTS
        self._send(QuerySmResp(sequence=pdu.sequence, status=status, message_id=pdu.message_id))
        return True

    def _on_deliver_sm_resp(self, pdu: DeliverSmResp, now: float) -> bool:
        if pdu.sequence in self._mo_awaiting:
            self._mo_awaiting.discard(pdu.sequence)
            counters = self._sim.counters
            counters.mo_acknowledged += 1
            if pdu.status:
                counters.mo_refused += 1
            return True
        job = self._awaiting.pop(pdu.sequence, None)
        if job is not None:
            counters = self._sim.counters
            counters.receipts_acknowledged += 1
            if pdu.status:
                counters.receipts_refused += 1
        return True

    def _on_submit(self, pdu: SubmitSm | DataSm, now: float) -> bool:
        sim = self._sim
        counters = sim.counters
        counters.submit_meter.add(now)
        resp_cls = SubmitSmResp if type(pdu) is SubmitSm else DataSmResp
        if not self.can_transmit:
            counters.submit_rejected[Status.ESME_RINVBNDSTS] += 1
            self._send(resp_cls(sequence=pdu.sequence, status=Status.ESME_RINVBNDSTS))
            return True
        behaviour = sim.behaviour
        if behaviour is not self._behaviour_seen:
            self._adopt(behaviour, now)
        decision = decide(
            behaviour,
            self._rng,
            destination=pdu.destination_addr,
            registered_delivery=pdu.registered_delivery,
            pending_responses=self._pending_responses,
            bucket=self._bucket,
            now_s=now,
        )
        status = decision.status
        job = None
        if status:
            counters.submit_rejected[status] += 1
            resp = resp_cls(sequence=pdu.sequence, status=status)
        else:
            body = getattr(pdu, "short_message", b"")
            if not body and pdu.tlvs:
                body = pdu.tlv(Tag.MESSAGE_PAYLOAD) or b""
            message_id = sim.accept(pdu, body, self.number, now)
            resp = resp_cls(sequence=pdu.sequence, message_id=message_id)
            if decision.receipt is not None:
                job = ReceiptJob(
                    message_id, pdu, body, sim.wall_time(), decision.receipt.outcome,
                    decision.receipt.delay_s, self,
                )  # fmt: skip
        if decision.latency_s:
            self._pending_responses += 1
            self._delayed.schedule(now + decision.latency_s, (resp, now, job))
        else:
            self._out += encode(resp)
            counters.pdus_out[_SUBMIT_RESP_NAME[type(pdu)]] += 1
            self._marks.append(now)
            if job is not None:
                sim.schedule_receipt(job, now)
        return True

    def _adopt(self, behaviour: Behaviour, now: float) -> None:
        previous = self._behaviour_seen
        self._behaviour_seen = behaviour
        cap = behaviour.throughput_cap_per_s
        if previous is None or cap != previous.throughput_cap_per_s:
            self._bucket = TokenBucket(cap, now) if cap > 0 else None

    # --- PDUs out, from timers -----------------------------------------------------------

    def _release(self, items: list[_Delayed], now: float) -> None:
        """Send responses whose latency has passed (timer task)."""
        sim = self._sim
        pdus_out = sim.counters.pdus_out
        for resp, received_at, job in items:
            self._pending_responses -= 1
            self._out += encode(resp)
            pdus_out[PDU_NAMES[type(resp)]] += 1
            self._marks.append(received_at)
            if job is not None:
                sim.schedule_receipt(job, now)
        self._out_ready.set()

    def push_mo(self, source: str, destination: str, text: str) -> None:
        """Queue a subscriber's inbound message (a deliver_sm, no receipt) on this
        (receiver-capable) connection."""
        sequence = self._sequence = self._sequence % _MAX_SEQUENCE + 1
        self._out += encode(mo_pdu(source, destination, text, sequence))
        counters = self._sim.counters
        counters.pdus_out["deliver_sm"] += 1
        counters.mo_sent += 1
        self._mo_awaiting.add(sequence)
        self._out_ready.set()

    def push_receipt(self, job: ReceiptJob) -> None:
        """Queue `job`'s deliver_sm on this (receiver-capable) connection."""
        sequence = self._sequence = self._sequence % _MAX_SEQUENCE + 1
        self._out += encode(receipt_pdu(job, sequence, self._sim.wall_time()))
        self._awaiting[sequence] = job
        sim = self._sim
        counters = sim.counters
        counters.pdus_out["deliver_sm"] += 1
        counters.receipts_sent += 1
        counters.receipt_meter.add(trio.current_time())
        self._out_ready.set()
