"""Delivery receipts in the forms real SMSCs send them, over real TCP: the whole
gateway against a small scripted SMSC that answers each submit_sm and then sends
its receipt as the test's table says (TLVs only, text only, a non-final state
before the final one)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

import trio

from engine.smpp.codec import decode, encode
from engine.smpp.constants import ESM_DELIVERY_RECEIPT, MessageState, Tag
from engine.smpp.framing import PduReader
from engine.smpp.pdu import (
    BindTransceiver,
    BindTransceiverResp,
    DeliverSm,
    EnquireLink,
    EnquireLinkResp,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Tlv,
)
from tests.dispatch.support import muldes, recipients, until_ended
from tests.harness import eventually, open_stack

Receipts = Callable[[int], list[DeliverSm]]


def _tlvs(smsc_id: str, state: MessageState) -> tuple[Tlv, ...]:
    return (
        Tlv(Tag.RECEIPTED_MESSAGE_ID, smsc_id.encode() + b"\0"),
        Tlv(Tag.MESSAGE_STATE, bytes((state,))),
    )


def _receipt(text: str, tlvs: tuple[Tlv, ...] = ()) -> DeliverSm:
    return DeliverSm(esm_class=ESM_DELIVERY_RECEIPT, short_message=text.encode(), tlvs=tlvs)


RECEIPTS: dict[str, Receipts] = {
    # TLVs only: the text is not a receipt at all
    "24106000001": lambda n: [_receipt("accuse", _tlvs(str(n), MessageState.DELIVERED))],
    # text only, the id written in hex while submit_sm_resp gave it in decimal
    "24106000002": lambda n: [_receipt(
        f"id:{n:x} sub:001 dlvrd:000 submit date:2601011200 done date:2601011201"
        " stat:EXPIRED err:000 text:Votre")],
    # a non-final state first (ignored), then the final one
    "24106000003": lambda n: [
        _receipt("", _tlvs(str(n), MessageState.ENROUTE)),
        _receipt("", _tlvs(f"{n:010d}", MessageState.UNDELIVERABLE)),
    ],
}


async def _serve_smsc(stream: trio.SocketStream) -> None:
    reader = PduReader()
    sequence = 1000
    next_id = 7_000_000
    async with stream:
        while data := await stream.receive_some(65536):
            out: list[Pdu] = []
            for frame in reader.feed_frames(data):
                pdu = decode(frame)
                if isinstance(pdu, BindTransceiver):
                    out.append(BindTransceiverResp(system_id="fake", sequence=pdu.sequence))
                elif isinstance(pdu, EnquireLink):
                    out.append(EnquireLinkResp(sequence=pdu.sequence))
                elif isinstance(pdu, SubmitSm):
                    next_id += 1
                    out.append(SubmitSmResp(message_id=str(next_id), sequence=pdu.sequence))
                    for receipt in RECEIPTS[pdu.destination_addr](next_id):
                        sequence += 1
                        out.append(replace(receipt, sequence=sequence))
            if out:
                await stream.send_all(b"".join(encode(p) for p in out))


async def test_receipts_by_tlv_by_text_and_after_a_non_final_state(tmp_path: Path) -> None:
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(
                partial(trio.serve_tcp, _serve_smsc, 0, host="127.0.0.1")
            )
            port = listeners[0].socket.getsockname()[1]
            env = {"SMSGW_SIMULATOR_ENABLED": "false", "SMSGW_SMSC_HOST": "127.0.0.1",
                   "SMSGW_SMSC_PORT": str(port), "SMSGW_SMSC_BINDS": "1"}
            async with open_stack(tmp_path, **env) as stack:
                _, key = await stack.new_account(solde=10)
                send = await muldes(stack, key, ["+" + n for n in RECEIPTS])
                await until_ended(stack, key, send["ref"], within_s=10)
                final = await eventually(
                    lambda: recipients(stack, key, send["ref"]),
                    lambda rows: all(r["livraison"] for r in rows),
                    within_s=10,
                )
                assert [(r["destinataire"], r["statut"], r["livraison"]) for r in final] == [
                    ("+24106000001", "ENVOYE", "LIVRE"),
                    ("+24106000002", "ENVOYE", "EXPIRE"),
                    ("+24106000003", "ENVOYE", "NON_LIVRE"),
                ]
                assert all(r["livreLe"] for r in final)
            nursery.cancel_scope.cancel()
