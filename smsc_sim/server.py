"""The simulator: SMPP listener, control API, counters and the live behaviour.

`Simulator` owns every connection, the counters, the log of accepted submits, the
duplicate detector and the receipts not yet delivered. All of it is touched from the
one trio thread that runs `serve`; the public methods are plain calls (no await) and
may be used from any task in that run.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque

import trio

from engine.smpp.pdu import DataSm, SubmitSm

from .config import Behaviour, SimulatorSettings
from .connection import EsmeConnection
from .control import Controlled, bind_control_socket, serve_control
from .knobs import apply_changes, status_name
from .receipts import ReceiptJob
from .stats import BIND_MODES, Counters, DuplicateDetector, SimulatorStatistics, SubmittedMessage
from .timers import TimerQueue

__all__ = ["Simulator", "SubmittedMessage"]

log = logging.getLogger(__name__)


class Simulator:
    """An SMSC for tests and load tests.

    `serve()` runs it until cancelled. `behaviour` is replaced whole by `configure` /
    `update_behaviour`; connections pick up the new value on their next submit.
    `submitted` keeps the last `settings.submitted_max` accepted messages.
    """

    def __init__(self, settings: SimulatorSettings) -> None:
        self.settings = settings
        self.smpp_port = settings.smpp_port
        self.control_port = settings.control_port
        self.behaviour: Behaviour = settings.behaviour
        self.counters = Counters()
        self.submitted: deque[SubmittedMessage] = deque(maxlen=settings.submitted_max)
        self.stalled = False
        self._duplicates = DuplicateDetector(settings.submitted_max)
        self._connections: dict[int, EsmeConnection] = {}
        self._receivers: list[EsmeConnection] = []
        self._next_receiver = 0
        self._connection_number = 0
        first = settings.first_message_id
        self._next_message_id = first if first is not None else int(time.time() * 1000) * 1000
        self._receipts: TimerQueue[ReceiptJob] = TimerQueue()
        self._held: deque[ReceiptJob] = deque()
        self._resumed = trio.Event()
        self._resumed.set()
        self._stall_until = math.inf
        self._stall_changed = trio.Event()

    # --- running -------------------------------------------------------------------------

    async def serve(
        self, *, task_status: trio.TaskStatus[Simulator] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen for SMPP and control HTTP; `task_status.started(self)` once both
        listen (`smpp_port` / `control_port` then hold the bound ports). Runs until
        cancelled; cancellation closes every connection at once."""
        settings = self.settings
        host = settings.host
        try:
            listeners = await trio.open_tcp_listeners(settings.smpp_port, host=host)
        except OSError as error:
            raise OSError(
                error.errno, f"SMPP on {host}:{settings.smpp_port}: {error.strerror}"
            ) from None
        try:
            control_socket = bind_control_socket(host, settings.control_port)
        except OSError:
            for listener in listeners:
                await listener.aclose()
            raise
        self.smpp_port = listeners[0].socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.serve_listeners, self._handle_stream, listeners)
            controlled: Controlled = self  # `nursery.start` does not check its arguments
            self.control_port = await nursery.start(serve_control, controlled, control_socket)
            nursery.start_soon(self._receipts.serve, self._fire_receipts, self.wait_resumed)
            nursery.start_soon(self._watch_stall)
            task_status.started(self)

    async def _handle_stream(self, stream: trio.SocketStream) -> None:
        counters = self.counters
        if len(self._connections) >= self.settings.max_connections:
            counters.connections_refused += 1
            await trio.aclose_forcefully(stream)
            return
        self._connection_number += 1
        connection = EsmeConnection(self, stream, self._connection_number)
        connection.reseed(self.behaviour.seed)
        self._connections[connection.number] = connection
        counters.connections_total += 1
        await connection.run()

    # --- called by connections -------------------------------------------------------------

    def wall_time(self) -> float:
        return time.time()

    async def wait_resumed(self) -> None:
        while self.stalled:
            await self._resumed.wait()

    def accept(self, pdu: SubmitSm | DataSm, body: bytes, connection: int, now: float) -> str:
        """Record an accepted submit and issue its message id."""
        counters = self.counters
        message_id = str(self._next_message_id)
        self._next_message_id += 1
        counters.message_ids_issued += 1
        counters.submit_accepted += 1
        counters.accept_meter.add(now)
        source = pdu.source_addr
        destination = pdu.destination_addr
        self.submitted.append(
            SubmittedMessage(
                message_id,
                source,
                destination,
                body,
                pdu.data_coding,
                pdu.esm_class,
                pdu.registered_delivery,
                time.time(),
                connection,
                pdu.validity_period if isinstance(pdu, SubmitSm) else "",
            )  # fmt: skip
        )
        if self._duplicates.seen((destination, body, source)):
            counters.duplicates += 1
        return message_id

    def record_latencies(self, received_at: list[float], sent_at: float) -> None:
        self.counters.latency.samples.extend([(sent_at - t) * 1000.0 for t in received_at])

    def connection_bound(self, connection: EsmeConnection) -> None:
        assert connection.mode is not None
        self.counters.binds_total[connection.mode] += 1
        if connection.can_receive:
            self._receivers.append(connection)
            while self._held:
                connection.push_receipt(self._held.popleft())

    def connection_closed(self, connection: EsmeConnection) -> None:
        self._connections.pop(connection.number, None)
        if connection in self._receivers:
            self._receivers.remove(connection)
        orphans = connection.take_awaiting_receipts()
        self.counters.receipts_unacknowledged += len(orphans)
        now = trio.current_time()
        for job in orphans:
            job.origin = None
            self._receipts.schedule(now, job)

    def schedule_receipt(self, job: ReceiptJob, now: float) -> None:
        """Deliver `job` after its delay (at once, in the same write, when possible)."""
        origin = job.origin
        if job.delay_s == 0.0 and origin is not None and origin.can_receive and origin.alive:
            origin.push_receipt(job)
        else:
            self._receipts.schedule(now + job.delay_s, job)

    def _fire_receipts(self, jobs: list[ReceiptJob], now: float) -> None:
        for job in jobs:
            origin = job.origin
            if origin is not None and origin.alive and origin.can_receive:
                origin.push_receipt(job)
                continue
            receiver = self._pick_receiver()
            if receiver is not None:
                receiver.push_receipt(job)
            elif len(self._held) < self.settings.held_receipts_max:
                self._held.append(job)
            else:
                self.counters.receipts_dropped += 1

    def _pick_receiver(self) -> EsmeConnection | None:
        receivers = self._receivers
        if not receivers:
            return None
        self._next_receiver = (self._next_receiver + 1) % len(receivers)
        return receivers[self._next_receiver]

    # --- control -------------------------------------------------------------------------

    def send_mo(self, source: str, destination: str, text: str) -> bool:
        """Send a subscriber's inbound message over a bound receiver or transceiver
        (round robin); False when none is bound."""
        receiver = self._pick_receiver()
        if receiver is None:
            return False
        receiver.push_mo(source, destination, text)
        return True

    def configure(self, **changes: object) -> Behaviour:
        """Change knobs live (names as in `Behaviour`; values as `PATCH /config` takes
        them). All are validated first: `KnobError` leaves the behaviour unchanged."""
        self.update_behaviour(apply_changes(self.behaviour, changes))
        return self.behaviour

    def update_behaviour(self, behaviour: Behaviour) -> None:
        """Replace the whole behaviour. A new seed restarts every connection's draws."""
        reseed = behaviour.seed != self.behaviour.seed
        self.behaviour = behaviour
        if reseed:
            for connection in self._connections.values():
                connection.reseed(behaviour.seed)

    def drop_connections(self) -> int:
        """Close every ESME connection abruptly (no unbind); returns how many."""
        connections = list(self._connections.values())
        for connection in connections:
            connection.abort()
        return len(connections)

    def stall(self, seconds: float | bool = True) -> None:
        """Stop reading and answering on every connection (they stay open), for
        `seconds` or until `resume()`; `stall(False)` resumes."""
        if seconds is False:
            self.resume()
            return
        self.stalled = True
        if self._resumed.is_set():
            self._resumed = trio.Event()
        self._stall_until = (
            math.inf if seconds is True else trio.current_time() + max(0.0, float(seconds))
        )
        self._stall_changed.set()

    def resume(self) -> None:
        self.stalled = False
        self._stall_until = math.inf
        self._resumed.set()
        self._stall_changed.set()

    async def _watch_stall(self) -> None:
        while True:
            self._stall_changed = trio.Event()
            with trio.move_on_at(self._stall_until if self.stalled else math.inf) as scope:
                await self._stall_changed.wait()
            if scope.cancelled_caught and self.stalled:
                self.resume()

    def reset(self) -> None:
        """Zero the counters and forget the submitted log and the duplicate memory
        (message ids keep increasing)."""
        self.counters.reset()
        self.submitted.clear()
        self._duplicates.clear()

    def statistics(self) -> SimulatorStatistics:
        counters = self.counters
        now = trio.current_time()
        current = dict.fromkeys(BIND_MODES, 0)
        for connection in self._connections.values():
            if connection.mode is not None:
                current[connection.mode] += 1
        p50, p90, p99 = counters.latency.percentiles()
        return SimulatorStatistics(
            connections_current=len(self._connections),
            connections_total=counters.connections_total,
            connections_refused=counters.connections_refused,
            binds_current=current,
            binds_total={mode: counters.binds_total[mode] for mode in BIND_MODES},
            bind_failures=counters.bind_failures,
            pdus_in=dict(sorted(counters.pdus_in.items())),
            pdus_out=dict(sorted(counters.pdus_out.items())),
            pdus_refused=counters.pdus_refused,
            submit_accepted=counters.submit_accepted,
            submit_rejected={
                str(status_name(status)): count
                for status, count in sorted(counters.submit_rejected.items())
            },
            message_ids_issued=counters.message_ids_issued,
            receipts_sent=counters.receipts_sent,
            receipts_acknowledged=counters.receipts_acknowledged,
            receipts_refused=counters.receipts_refused,
            receipts_unacknowledged=counters.receipts_unacknowledged,
            receipts_awaiting=sum(c.awaiting_receipts for c in self._connections.values()),
            receipts_scheduled=len(self._receipts),
            receipts_held=len(self._held),
            receipts_dropped=counters.receipts_dropped,
            duplicates=counters.duplicates,
            mo_sent=counters.mo_sent,
            mo_acknowledged=counters.mo_acknowledged,
            mo_refused=counters.mo_refused,
            submit_rate_1s=counters.submit_meter.rate(now, 1),
            submit_rate_10s=counters.submit_meter.rate(now, 10),
            accepted_rate_1s=counters.accept_meter.rate(now, 1),
            accepted_rate_10s=counters.accept_meter.rate(now, 10),
            receipt_rate_1s=counters.receipt_meter.rate(now, 1),
            receipt_rate_10s=counters.receipt_meter.rate(now, 10),
            submit_latency_p50_ms=p50,
            submit_latency_p90_ms=p90,
            submit_latency_p99_ms=p99,
            stalled=self.stalled,
        )
