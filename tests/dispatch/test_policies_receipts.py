"""What a deliver_sm says to the sender, from tables (no socket): which part's
delivery it reports, in which final state, or why it reports none."""

from __future__ import annotations

import pytest

from engine.dispatch.policy.receipts import NotAReceipt, interpret_deliver
from engine.model import Delivery
from engine.smpp.constants import ESM_DELIVERY_RECEIPT, MessageState, Tag
from engine.smpp.pdu import DeliverSm, Tlv

_TEXT = "id:{id} sub:001 dlvrd:001 submit date:2601011200 done date:2601011201 stat:{stat} err:000 text:Votre"


def _id(smsc_id: str) -> Tlv:
    return Tlv(Tag.RECEIPTED_MESSAGE_ID, smsc_id.encode() + b"\0")


def _state(state: int) -> Tlv:
    return Tlv(Tag.MESSAGE_STATE, bytes((state,)))


def _receipt(text: str = "", *tlvs: Tlv, esm_class: int = ESM_DELIVERY_RECEIPT) -> DeliverSm:
    return DeliverSm(esm_class=esm_class, short_message=text.encode(), tlvs=tlvs)


@pytest.mark.parametrize(
    ("pdu", "found"),
    [
        # TLVs, both there: they win over the text
        (_receipt("accuse", _id("12"), _state(MessageState.DELIVERED)), ("12", Delivery.LIVRE)),
        (_receipt(_TEXT.format(id="99", stat="UNDELIV"), _id("12"), _state(MessageState.EXPIRED)),
         ("12", Delivery.EXPIRE)),
        (_receipt("", _id("0000000012"), _state(MessageState.UNDELIVERABLE)),
         ("0000000012", Delivery.NON_LIVRE)),
        (_receipt("", _id("12"), _state(MessageState.REJECTED)), ("12", Delivery.NON_LIVRE)),
        (_receipt("", _id("12"), _state(MessageState.DELETED)), ("12", Delivery.NON_LIVRE)),
        (_receipt("", _id("12"), _state(MessageState.UNKNOWN)), ("12", Delivery.NON_LIVRE)),
        # the first of a repeated TLV counts
        (_receipt("", _id("12"), _id("13"), _state(MessageState.DELIVERED),
                  _state(MessageState.ENROUTE)), ("12", Delivery.LIVRE)),
        # the text alone, its id as written (hex or decimal: the router matches)
        (_receipt(_TEXT.format(id="1f", stat="DELIVRD")), ("1f", Delivery.LIVRE)),
        (_receipt(_TEXT.format(id="31", stat="EXPIRED")), ("31", Delivery.EXPIRE)),
        (_receipt(_TEXT.format(id="31", stat="rejectd")), ("31", Delivery.NON_LIVRE)),
        (_receipt(_TEXT.format(id="31", stat="UNKNOWN")), ("31", Delivery.NON_LIVRE)),
        # the id TLV without a state TLV: the state from the text, the id from the TLV
        (_receipt(_TEXT.format(id="99", stat="DELIVRD"), _id("12")), ("12", Delivery.LIVRE)),
        # a message_state TLV of the wrong length is not one
        (_receipt(_TEXT.format(id="31", stat="DELIVRD"), _id("12"),
                  Tlv(Tag.MESSAGE_STATE, b"\x02\x00")), ("12", Delivery.LIVRE)),
    ],
)
def test_a_receipt_names_its_part_and_its_final_state(
    pdu: DeliverSm, found: tuple[str, Delivery]
) -> None:
    assert interpret_deliver(pdu) == found


@pytest.mark.parametrize(
    ("pdu", "why"),
    [
        # no delivery-receipt bit: a mobile-originated message, whatever it holds
        (_receipt("Bonjour", esm_class=0), NotAReceipt.INBOUND),
        (_receipt(_TEXT.format(id="31", stat="DELIVRD"), esm_class=0), NotAReceipt.INBOUND),
        (_receipt("", _id("12"), _state(MessageState.DELIVERED), esm_class=0x40),
         NotAReceipt.INBOUND),
        # not final yet: a later receipt will say
        (_receipt("", _id("12"), _state(MessageState.ENROUTE)), NotAReceipt.NOT_FINAL),
        (_receipt("", _id("12"), _state(MessageState.ACCEPTED)), NotAReceipt.NOT_FINAL),
        (_receipt("", _id("12"), _state(0x2A)), NotAReceipt.NOT_FINAL),
        (_receipt(_TEXT.format(id="31", stat="ENROUTE")), NotAReceipt.NOT_FINAL),
        (_receipt(_TEXT.format(id="31", stat="ACCEPTD")), NotAReceipt.NOT_FINAL),
        (_receipt(_TEXT.format(id="31", stat="")), NotAReceipt.NOT_FINAL),
        # nothing to match with a part
        (_receipt("accuse"), NotAReceipt.UNREADABLE),
        (_receipt("accuse", _id("12")), NotAReceipt.UNREADABLE),  # no state, no text
        (_receipt("", _state(MessageState.DELIVERED)), NotAReceipt.UNREADABLE),
        (_receipt("", Tlv(Tag.RECEIPTED_MESSAGE_ID, b"\0"), _state(MessageState.DELIVERED)),
         NotAReceipt.UNREADABLE),
    ],
)
def test_a_deliver_sm_that_ends_no_part_says_why(pdu: DeliverSm, why: NotAReceipt) -> None:
    assert interpret_deliver(pdu) is why
