"""What a deliver_sm or a data_sm says to the sender (pure: no trio, no socket).

A deliver_sm (or data_sm) whose esm_class has the delivery-receipt bit is a
receipt for one part: its SMSC id and final state come from the SMPP 3.4 TLVs
(receipted_message_id, message_state) when both are there, else from the text
(`id:` and `stat:`, `engine.smpp.receipts`), a receipted_message_id TLV still
naming the part when the state comes from the text. A state that is not final
(ENROUTE, ACCEPTED) or not known is ignored: a later receipt will say. A data_sm's
text is its message_payload TLV. An id longer than SMPP 3.4's 64 characters names
no message (a submit_sm_resp's message_id is no longer): the receipt is unreadable.
Matching the id with a part's submit_sm_resp id is the result router's business.

Any other deliver_sm is an inbound (mobile-originated) message: `read_inbound`
gives its sender, its destination and its text, which the gateway stores before
answering. An inbound data_sm is refused (`INBOUND_DATA_SM_STATUS`).
"""

from __future__ import annotations

from enum import Enum

from engine.model import Delivery
from engine.smpp.constants import (
    DC_UCS2,
    ESM_DELIVERY_RECEIPT,
    ESM_UDHI,
    TON_INTERNATIONAL,
    MessageState,
    Status,
    Tag,
)
from engine.smpp.pdu import DataSm, DeliverSm
from engine.smpp.receipts import ReceiptParseError, parse_receipt
from engine.text.gsm import decode_gsm7

_LIVRAISON = {
    "DELIVRD": Delivery.LIVRE,
    "EXPIRED": Delivery.EXPIRE,
    "UNDELIV": Delivery.NON_LIVRE,
    "REJECTD": Delivery.NON_LIVRE,
    "DELETED": Delivery.NON_LIVRE,
    "UNKNOWN": Delivery.NON_LIVRE,
}
"""Final `stat:` words of a text receipt (ENROUTE and ACCEPTD are not final)."""

_LIVRAISON_BY_STATE: dict[int, Delivery] = {
    MessageState.DELIVERED: Delivery.LIVRE,
    MessageState.EXPIRED: Delivery.EXPIRE,
    MessageState.DELETED: Delivery.NON_LIVRE,
    MessageState.UNDELIVERABLE: Delivery.NON_LIVRE,
    MessageState.UNKNOWN: Delivery.NON_LIVRE,
    MessageState.REJECTED: Delivery.NON_LIVRE,
}
"""Final message_state TLV values (ENROUTE and ACCEPTED are not final: ignored)."""


MAX_SMSC_ID = 64
"""The longest message id SMPP 3.4 carries (a 65-octet C-octet string)."""

INBOUND_DATA_SM_STATUS = Status.ESME_RX_R_APPN
"""The answer to a data_sm that is no receipt: this gateway takes no inbound messages."""


class NotAReceipt(Enum):
    """Why a deliver_sm ends no part's delivery."""

    INBOUND = "inbound"
    """No delivery-receipt bit: a mobile-originated message."""
    NOT_FINAL = "not final"
    """A receipt whose state is not final, or not one this gateway knows."""
    UNREADABLE = "unreadable"
    """A receipt naming no SMSC id: neither both TLVs nor a text with `id:`."""


def interpret_deliver(pdu: DeliverSm | DataSm) -> tuple[str, Delivery] | NotAReceipt:
    """The SMSC id and the final delivery state a deliver_sm or data_sm reports
    (module docstring), or why it reports none."""
    if not pdu.esm_class & ESM_DELIVERY_RECEIPT:
        return NotAReceipt.INBOUND
    livraison: Delivery | None
    tlv = state = None
    for t in pdu.tlvs:
        if t.tag == Tag.RECEIPTED_MESSAGE_ID:
            tlv = tlv if tlv is not None else t.value
        elif t.tag == Tag.MESSAGE_STATE and len(t.value) == 1:
            state = state if state is not None else t.value[0]
    if tlv and state is not None:
        livraison = _LIVRAISON_BY_STATE.get(state)
        smsc_id = tlv.rstrip(b"\0").decode("latin-1")
    else:
        try:
            text = pdu.short_message if isinstance(pdu, DeliverSm) else pdu.tlv(Tag.MESSAGE_PAYLOAD)
            receipt = parse_receipt(text or b"")
        except ReceiptParseError:
            return NotAReceipt.UNREADABLE
        livraison = _LIVRAISON.get(receipt.stat.upper())
        smsc_id = tlv.rstrip(b"\0").decode("latin-1") if tlv else receipt.id
    if livraison is None:
        return NotAReceipt.NOT_FINAL
    if not smsc_id or len(smsc_id) > MAX_SMSC_ID:
        return NotAReceipt.UNREADABLE
    return smsc_id, livraison


def read_inbound(pdu: DeliverSm) -> tuple[str, str, str]:
    """An inbound deliver_sm's sender, destination and text. International
    addresses get their `+`; the text is the short_message (else the
    message_payload TLV), its user data header skipped, decoded by its
    data_coding: UCS-2, unpacked GSM 7-bit, else Latin-1 (never refused: an
    octet GSM 7-bit cannot hold reads as Latin-1)."""

    def address(ton: int, addr: str) -> str:
        return "+" + addr if ton == TON_INTERNATIONAL and addr and addr[0] != "+" else addr

    data = pdu.short_message or pdu.tlv(Tag.MESSAGE_PAYLOAD) or b""
    if pdu.esm_class & ESM_UDHI and data:
        data = data[1 + data[0]:]
    if pdu.data_coding == DC_UCS2:
        text = data[: len(data) // 2 * 2].decode("utf-16-be", "replace")
    elif pdu.data_coding == 0:
        try:
            text = decode_gsm7(data)
        except ValueError:
            text = data.decode("latin-1")
    else:
        text = data.decode("latin-1")
    text = text.replace("\0", "")
    return (
        address(pdu.source_addr_ton, pdu.source_addr),
        address(pdu.dest_addr_ton, pdu.destination_addr),
        text,
    )
