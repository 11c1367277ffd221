"""Acceptance: an independent SMPP client (smpplib) binds, submits and gets its receipt."""

from __future__ import annotations

import time
from typing import Any

import smpplib.client  # type: ignore[import-untyped]
import smpplib.consts  # type: ignore[import-untyped]
import trio

from .conftest import StartSimulator

DEADLINE_S = 20
SOCKET_TIMEOUT_S = 3


def _submit_and_wait_for_receipt(port: int) -> tuple[list[Any], list[Any]]:
    """Blocking smpplib session; socket timeouts bound every read."""
    sent: list[Any] = []
    received: list[Any] = []
    client = smpplib.client.Client(
        "127.0.0.1", port, timeout=SOCKET_TIMEOUT_S, allow_unknown_opt_params=True
    )
    client.set_message_sent_handler(lambda pdu, **_: sent.append(pdu))
    client.set_message_received_handler(lambda pdu, **_: received.append(pdu))
    client.connect()
    try:
        client.bind_transceiver(system_id="smsgw", password="secret")  # noqa: S106
        client.send_message(
            source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
            source_addr="SHOP",
            dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
            dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
            destination_addr="33612345678",
            short_message=b"Hello from smpplib",
            registered_delivery=1,
        )
        deadline = time.monotonic() + 10
        while not (sent and received) and time.monotonic() < deadline:
            client.read_once(auto_send_enquire_link=False)
        client.unbind()
    finally:
        client.disconnect()
    return sent, received


async def test_smpplib_client_gets_its_delivery_receipt(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        sent, received = await trio.to_thread.run_sync(
            _submit_and_wait_for_receipt, simulator.smpp_port, abandon_on_cancel=True
        )
        assert len(sent) == 1 and len(received) == 1
        message_id = sent[0].message_id
        message_id = message_id.decode() if isinstance(message_id, bytes) else message_id
        receipt = received[0]
        assert receipt.esm_class & 0x04
        assert receipt.short_message.startswith(f"id:{message_id} sub:001 dlvrd:001".encode())
        assert b"stat:DELIVRD" in receipt.short_message
        assert b"text:Hello from smpplib" in receipt.short_message
        assert simulator.submitted[-1].destination == "33612345678"
        stats = simulator.statistics()
        assert stats.binds_total["transceiver"] == 1
        assert stats.receipts_acknowledged == 1
