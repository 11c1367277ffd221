"""Delivery receipts: content, routing, outcome mix, redelivery."""

from __future__ import annotations

import re
from collections import Counter

import trio
import trio.testing

from engine.smpp.constants import ESM_DELIVERY_RECEIPT, ESM_UDHI, MessageState, Tag
from engine.smpp.pdu import DeliverSm
from smsc_sim.config import Distribution, DistributionKind, ReceiptMix

from .conftest import StartSimulator
from .esme import Esme

DEADLINE_S = 15
RECEIPT = re.compile(
    rb"id:(\S+) sub:001 dlvrd:(\d{3}) submit date:(\d{10}) done date:(\d{10}) "
    rb"stat:(\w{7}) err:(\d{3}) text:(.*)"
)


async def test_transceiver_gets_a_well_formed_receipt(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind("transceiver")
        (resp,) = await esme.submit_many(
            1,
            source_addr="SHOP",
            destination_addr="33612345678",
            registered_delivery=1,
            short_message=b"Your code is 123456, valid 5 minutes",
        )
        (receipt,) = await esme.wait_receipts(1)
        assert receipt.esm_class == ESM_DELIVERY_RECEIPT
        assert (receipt.source_addr, receipt.destination_addr) == ("33612345678", "SHOP")
        match = RECEIPT.fullmatch(receipt.short_message)
        assert match is not None
        assert match.group(1).decode() == resp.message_id
        assert (match.group(2), match.group(5), match.group(6)) == (b"001", b"DELIVRD", b"000")
        assert match.group(7) == b"Your code is 123456,"
        assert receipt.tlv(Tag.RECEIPTED_MESSAGE_ID) == resp.message_id.encode() + b"\x00"
        assert receipt.tlv_int(Tag.MESSAGE_STATE) == MessageState.DELIVERED
        await trio.testing.wait_all_tasks_blocked()
        stats = simulator.statistics()
        assert (stats.receipts_sent, stats.receipts_acknowledged, stats.receipts_awaiting) == (
            1,
            1,
            0,
        )


async def test_no_receipt_without_registered_delivery(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind("transceiver")
        await esme.submit_many(3, registered_delivery=0)
        await esme.submit_many(1, registered_delivery=1)
        await esme.wait_receipts(1)
        assert simulator.statistics().receipts_sent == 1


async def test_receipts_of_a_transmitter_go_to_a_receiver_bind(
    start_simulator: StartSimulator,
) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        sender = await Esme.connect(simulator.smpp_port)
        listener = await Esme.connect(simulator.smpp_port)
        await sender.bind("transmitter")
        await listener.bind("receiver")
        responses = await sender.submit_many(3, registered_delivery=1)
        receipts = await listener.wait_receipts(3)
        ids = {r.tlv(Tag.RECEIPTED_MESSAGE_ID) for r in receipts}
        assert ids == {r.message_id.encode() + b"\x00" for r in responses}


async def test_receipts_wait_for_a_receiver_to_bind(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        sender = await Esme.connect(simulator.smpp_port)
        await sender.bind("transmitter")
        await sender.submit_many(2, registered_delivery=1)
        await trio.testing.wait_all_tasks_blocked()
        assert simulator.statistics().receipts_held == 2
        listener = await Esme.connect(simulator.smpp_port)
        await listener.bind("receiver")
        assert len(await listener.wait_receipts(2)) == 2


async def test_unacknowledged_receipts_are_delivered_again(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        first = await Esme.connect(simulator.smpp_port)
        first.auto_answer = False
        await first.bind("transceiver")
        (resp,) = await first.submit_many(1, registered_delivery=1)
        await first.wait_receipts(1)
        await first.aclose()
        second = await Esme.connect(simulator.smpp_port)
        await second.bind("receiver")
        (again,) = await second.wait_receipts(1)
        assert again.tlv(Tag.RECEIPTED_MESSAGE_ID) == resp.message_id.encode() + b"\x00"
        await trio.testing.wait_all_tasks_blocked()
        stats = simulator.statistics()
        assert (stats.receipts_sent, stats.receipts_unacknowledged) == (2, 1)


async def test_receipt_delay_applies(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator(receipt_delay=Distribution(fixed_ms=150))
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind("transceiver")
        started = trio.current_time()
        await esme.submit_many(1, registered_delivery=1)
        assert trio.current_time() - started < 0.15
        await esme.wait_receipts(1)
        assert trio.current_time() - started >= 0.15


async def test_seeded_outcome_mix_follows_the_weights(start_simulator: StartSimulator) -> None:
    with trio.fail_after(DEADLINE_S):
        weights = {"DELIVRD": 0.6, "UNDELIV": 0.2, "EXPIRED": 0.1, "REJECTD": 0.1}
        simulator = await start_simulator(
            receipt_mix=ReceiptMix(delivrd=0.6, undeliv=0.2, expired=0.1, rejectd=0.1),
            receipt_delay=Distribution(kind=DistributionKind.UNIFORM, min_ms=0, max_ms=20),
            seed=99,
        )
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind("transceiver")
        await esme.submit_many(2000, registered_delivery=1)
        receipts = await esme.wait_receipts(2000)
        stats = Counter(RECEIPT.fullmatch(r.short_message).group(5).decode() for r in receipts)  # type: ignore[union-attr]
        for outcome, weight in weights.items():
            assert abs(stats[outcome] / 2000 - weight) < 0.035, (outcome, stats)
        states = Counter(r.tlv_int(Tag.MESSAGE_STATE) for r in receipts)
        assert states[MessageState.UNDELIVERABLE] == stats["UNDELIV"]


async def test_concatenated_parts_get_their_own_ids_and_receipts(
    start_simulator: StartSimulator,
) -> None:
    with trio.fail_after(DEADLINE_S):
        simulator = await start_simulator()
        esme = await Esme.connect(simulator.smpp_port)
        await esme.bind("transceiver")
        udh = [bytes([5, 0, 3, 0x42, 2, part]) for part in (1, 2)]
        first = await esme.submit_many(
            1, esm_class=ESM_UDHI, registered_delivery=1, short_message=udh[0] + b"Part one"
        )
        second = await esme.submit_many(
            1, esm_class=ESM_UDHI, registered_delivery=1, short_message=udh[1] + b"Part two"
        )
        assert first[0].message_id != second[0].message_id
        receipts: list[DeliverSm] = await esme.wait_receipts(2)
        texts = sorted(RECEIPT.fullmatch(r.short_message).group(7) for r in receipts)  # type: ignore[union-attr]
        assert texts == [b"Part one", b"Part two"]
