"""An SMSC that sends what SMPP 3.4 does not allow, over real TCP: the whole gateway
against a scripted SMSC whose first submit_sm is followed by broken PDUs: a receipt
whose receipted_message_id holds 5,000 digits, a data_sm receipt with such an id
in its text, an inbound data_sm; or hundreds of mutated PDUs (`tests.smpp.mutations`).
The gateway stays up, the bind stays bound, each PDU gets its answer, and the next
send is ENVOYE."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import trio

from engine.smpp.codec import decode, encode
from engine.smpp.constants import ESM_DELIVERY_RECEIPT, MessageState, Status, Tag
from engine.smpp.framing import PduReader
from engine.smpp.pdu import (
    BindTransceiver,
    BindTransceiverResp,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Tlv,
)
from tests.dispatch.support import unides, until_ended
from tests.harness import open_stack
from tests.smpp.mutations import random_frames

HUGE_ID = "7" * 5_000
RECEIPT_TEXT = f"id:{HUGE_ID} sub:001 dlvrd:001 submit date:2601011200 done date:2601011201 stat:DELIVRD"

HOSTILE: list[Pdu] = [
    DeliverSm(
        esm_class=ESM_DELIVERY_RECEIPT,
        short_message=b"accuse",
        tlvs=(
            Tlv(Tag.RECEIPTED_MESSAGE_ID, HUGE_ID.encode() + b"\0"),
            Tlv(Tag.MESSAGE_STATE, bytes((MessageState.DELIVERED,))),
        ),
        sequence=101,
    ),
    DataSm(
        esm_class=ESM_DELIVERY_RECEIPT,
        tlvs=(Tlv(Tag.MESSAGE_PAYLOAD, RECEIPT_TEXT.encode()),),
        sequence=102,
    ),
    DataSm(source_addr="24106000009", tlvs=(Tlv(Tag.MESSAGE_PAYLOAD, b"STOP"),), sequence=103),
    DeliverSm(
        esm_class=ESM_DELIVERY_RECEIPT,
        short_message=f"id:{'8' * 200} stat:DELIVRD".encode(),
        sequence=104,
    ),
]


PROBE = EnquireLink(sequence=0x7FFF0001)


@dataclass
class ScriptedSmsc:
    """Answers binds, enquire_links and submits; writes `flood` after the first
    submit_sm_resp, then an enquire_link (`PROBE`) whose answer shows the gateway
    has read all of it; keeps the status of every deliver_sm_resp and data_sm_resp."""

    flood: bytes
    connections: int = 0
    submits: int = 0
    answers: dict[int, tuple[type[Pdu], int]] = field(default_factory=dict)
    all_answered: trio.Event = field(default_factory=trio.Event)

    async def serve(self, stream: trio.SocketStream) -> None:
        self.connections += 1
        reader = PduReader()
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
                        self.submits += 1
                        out.append(SubmitSmResp(message_id=f"{self.submits}", sequence=pdu.sequence))
                        if self.submits == 1:
                            await stream.send_all(b"".join(encode(p) for p in out) + self.flood)
                            out = [PROBE]
                    elif isinstance(pdu, DeliverSmResp | DataSmResp):
                        self.answers[pdu.sequence] = (type(pdu), pdu.status)
                    elif isinstance(pdu, EnquireLinkResp) and pdu.sequence == PROBE.sequence:
                        self.all_answered.set()
                if out:
                    await stream.send_all(b"".join(encode(p) for p in out))


async def test_a_receipt_id_of_five_thousand_digits_leaves_the_gateway_up_and_bound(
    tmp_path: Path,
) -> None:
    smsc = ScriptedSmsc(b"".join(encode(p) for p in HOSTILE))
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(partial(trio.serve_tcp, smsc.serve, 0, host="127.0.0.1"))
            port = listeners[0].socket.getsockname()[1]
            env = {"SMSGW_SIMULATOR_ENABLED": "false", "SMSGW_SMSC_HOST": "127.0.0.1",
                   "SMSGW_SMSC_PORT": str(port), "SMSGW_SMSC_BINDS": "1"}
            async with open_stack(tmp_path, **env) as stack:
                _, key = await stack.new_account(solde=10)
                first = await unides(stack, key, "+24106000001")
                await until_ended(stack, key, first["ref"], within_s=10)
                await smsc.all_answered.wait()
                assert smsc.answers == {
                    101: (DeliverSmResp, Status.ESME_RINVPARLEN),
                    102: (DataSmResp, Status.ESME_ROK),
                    103: (DataSmResp, Status.ESME_RX_R_APPN),
                    104: (DeliverSmResp, Status.ESME_ROK),
                }

                second = await unides(stack, key, "+24106000002")
                ended = await until_ended(stack, key, second["ref"], within_s=10)
                assert ended["compteurs"]["ENVOYE"] == 1

                health = (await stack.client.get("/api/V1/sante")).json()
                assert health["statut"] == "OK"
                actors = (await stack.client.get("/api/V1/admin/acteurs", headers=stack.admin)).json()
                [bind] = actors["liaisons"]
                assert (bind["state"], bind["reconnects"], bind["pdus_refused"]) == ("LIE", 0, 1)
                assert "receipted_message_id" in bind["last_refusal"]
                assert all(t["restarts"] == 0 for t in actors["taches"]), "nothing failed"
                assert actors["accuses"]["rapproches"] == 0
                assert smsc.connections == 1, "the bind stayed up"
            nursery.cancel_scope.cancel()


async def test_hundreds_of_mutated_pdus_from_the_smsc_leave_the_bind_up_and_sending(
    tmp_path: Path,
) -> None:
    flood = random_frames(seed=20_26, count=400, from_smsc=True)
    smsc = ScriptedSmsc(b"".join(flood))
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(partial(trio.serve_tcp, smsc.serve, 0, host="127.0.0.1"))
            port = listeners[0].socket.getsockname()[1]
            env = {"SMSGW_SIMULATOR_ENABLED": "false", "SMSGW_SMSC_HOST": "127.0.0.1",
                   "SMSGW_SMSC_PORT": str(port), "SMSGW_SMSC_BINDS": "1"}
            async with open_stack(tmp_path, **env) as stack:
                _, key = await stack.new_account(solde=10)
                first = await unides(stack, key, "+24106000001")
                await until_ended(stack, key, first["ref"], within_s=10)
                await smsc.all_answered.wait()
                second = await unides(stack, key, "+24106000002")
                ended = await until_ended(stack, key, second["ref"], within_s=10)
                assert ended["compteurs"]["ENVOYE"] == 1

                actors = (await stack.client.get("/api/V1/admin/acteurs", headers=stack.admin)).json()
                [bind] = actors["liaisons"]
                assert (bind["state"], bind["reconnects"]) == ("LIE", 0)
                assert bind["pdus_refused"] > 50, "the broken ones were refused and counted"
                assert all(t["restarts"] == 0 for t in actors["taches"]), "nothing failed"
                assert smsc.connections == 1, "the bind stayed up"
                assert any(status for _, status in smsc.answers.values()), "refusals were answered"
            nursery.cancel_scope.cancel()
