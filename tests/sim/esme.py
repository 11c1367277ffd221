"""A minimal pipelined ESME for the simulator's tests, built on the engine's codec."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import trio

from engine.smpp.codec import encode
from engine.smpp.constants import Status
from engine.smpp.framing import PduReader
from engine.smpp.pdu import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    DeliverSm,
    DeliverSmResp,
    Pdu,
    SubmitSm,
    SubmitSmResp,
)

BIND_CLASSES: dict[str, Any] = {
    "transmitter": BindTransmitter,
    "receiver": BindReceiver,
    "transceiver": BindTransceiver,
}


class Esme:
    """One TCP connection. `receive()` returns PDUs in arrival order; deliver_sm
    PDUs are also kept in `receipts` and answered when `auto_answer` is set."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self._reader = PduReader()
        self._inbox: deque[Pdu] = deque()
        self._sequence = 0
        self.receipts: list[DeliverSm] = []
        self.auto_answer = True

    @classmethod
    async def connect(cls, port: int) -> Esme:
        return cls(await trio.open_tcp_stream("127.0.0.1", port))

    def next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    async def send(self, *pdus: Pdu) -> None:
        await self.stream.send_all(b"".join(encode(pdu) for pdu in pdus))

    async def send_raw(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def receive(self) -> Pdu:
        while not self._inbox:
            data = await self.stream.receive_some(65536)
            if not data:
                raise EOFError("the simulator closed the connection")
            answers = []
            for pdu in self._reader.feed(data):
                if isinstance(pdu, DeliverSm):
                    self.receipts.append(pdu)
                    if self.auto_answer:
                        answers.append(DeliverSmResp(sequence=pdu.sequence))
                self._inbox.append(pdu)
            if answers:
                await self.send(*answers)
        return self._inbox.popleft()

    async def receive_matching(self, accept: Callable[[Pdu], bool]) -> Pdu:
        while True:
            pdu = await self.receive()
            if accept(pdu):
                return pdu

    async def expect_eof(self) -> None:
        while True:
            try:
                await self.receive()
            except EOFError:
                return

    async def bind(
        self,
        mode: str = "transceiver",
        system_id: str = "smsgw",
        password: str = "secret",  # noqa: S107
    ) -> Pdu:
        sequence = self.next_sequence()
        await self.send(
            BIND_CLASSES[mode](system_id=system_id, password=password, sequence=sequence)
        )
        return await self.receive_matching(lambda pdu: pdu.sequence == sequence)

    async def submit_many(self, count: int, **fields: Any) -> list[SubmitSmResp]:
        """Send `count` submit_sm in one write; return their responses by sequence."""
        fields.setdefault("source_addr", "SENDER")
        fields.setdefault("destination_addr", "33612345678")
        fields.setdefault("short_message", b"hello")
        sequences = [self.next_sequence() for _ in range(count)]
        await self.send(*(SubmitSm(sequence=s, **fields) for s in sequences))
        wanted = set(sequences)
        responses: dict[int, SubmitSmResp] = {}
        while len(responses) < count:
            pdu = await self.receive()
            if isinstance(pdu, SubmitSmResp) and pdu.sequence in wanted:
                responses[pdu.sequence] = pdu
        return [responses[s] for s in sequences]

    async def wait_receipts(self, count: int) -> list[DeliverSm]:
        while len(self.receipts) < count:
            await self.receive()
        return self.receipts

    async def aclose(self) -> None:
        await self.stream.aclose()


def statuses(responses: list[SubmitSmResp]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for resp in responses:
        name = Status(resp.status).name
        counts[name] = counts.get(name, 0) + 1
    return counts
