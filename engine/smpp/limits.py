"""SMPP 3.4's sizes for optional parameters, checked on every request a session receives.

The codec already holds every mandatory field to its maximum (C-octet strings,
short_message at 254 octets) and every TLV to the PDU's length; what it leaves
to this module is the size SMPP 3.4 gives each known TLV (section 5.3.2): a
message_state of one octet, a receipted_message_id of at most 65, and so on. A
TLV with an unknown tag is not checked (vendors add their own).

`tlv_fault(tlvs)` is pure: the first TLV of the wrong size, as the status a peer
is answered with (ESME_RINVPARLEN) and a sentence saying which TLV and why.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._tlv import Tlv
from .constants import Status, Tag

TLV_SIZES: dict[int, tuple[int, int]] = {
    Tag.DEST_ADDR_SUBUNIT: (1, 1),
    Tag.DEST_NETWORK_TYPE: (1, 1),
    Tag.DEST_BEARER_TYPE: (1, 1),
    Tag.DEST_TELEMATICS_ID: (2, 2),
    Tag.SOURCE_ADDR_SUBUNIT: (1, 1),
    Tag.SOURCE_NETWORK_TYPE: (1, 1),
    Tag.SOURCE_BEARER_TYPE: (1, 1),
    Tag.SOURCE_TELEMATICS_ID: (1, 2),
    Tag.QOS_TIME_TO_LIVE: (4, 4),
    Tag.PAYLOAD_TYPE: (1, 1),
    Tag.ADDITIONAL_STATUS_INFO_TEXT: (1, 256),
    Tag.RECEIPTED_MESSAGE_ID: (1, 65),
    Tag.MS_MSG_WAIT_FACILITIES: (1, 1),
    Tag.PRIVACY_INDICATOR: (1, 1),
    Tag.SOURCE_SUBADDRESS: (2, 23),
    Tag.DEST_SUBADDRESS: (2, 23),
    Tag.USER_MESSAGE_REFERENCE: (2, 2),
    Tag.USER_RESPONSE_CODE: (1, 1),
    Tag.SOURCE_PORT: (2, 2),
    Tag.DESTINATION_PORT: (2, 2),
    Tag.SAR_MSG_REF_NUM: (2, 2),
    Tag.LANGUAGE_INDICATOR: (1, 1),
    Tag.SAR_TOTAL_SEGMENTS: (1, 1),
    Tag.SAR_SEGMENT_SEQNUM: (1, 1),
    Tag.SC_INTERFACE_VERSION: (1, 1),
    Tag.CALLBACK_NUM_PRES_IND: (1, 1),
    Tag.CALLBACK_NUM_ATAG: (1, 65),
    Tag.NUMBER_OF_MESSAGES: (1, 1),
    Tag.CALLBACK_NUM: (4, 19),
    Tag.DPF_RESULT: (1, 1),
    Tag.SET_DPF: (1, 1),
    Tag.MS_AVAILABILITY_STATUS: (1, 1),
    Tag.NETWORK_ERROR_CODE: (3, 3),
    Tag.DELIVERY_FAILURE_REASON: (1, 1),
    Tag.MORE_MESSAGES_TO_SEND: (1, 1),
    Tag.MESSAGE_STATE: (1, 1),
    Tag.USSD_SERVICE_OP: (1, 1),
    Tag.DISPLAY_TIME: (1, 1),
    Tag.SMS_SIGNAL: (2, 2),
    Tag.MS_VALIDITY: (1, 1),
    Tag.ALERT_ON_MESSAGE_DELIVERY: (0, 0),
    Tag.ITS_REPLY_TYPE: (1, 1),
    Tag.ITS_SESSION_INFO: (2, 2),
}
"""(least, most) octets of each known TLV's value, SMPP 3.4 section 5.3.2.
message_payload is bounded by the PDU itself."""


def tlv_fault(tlvs: Iterable[Tlv]) -> tuple[Status, str] | None:
    """The first TLV whose value is not of its SMPP 3.4 size, as (status, reason);
    None when every known TLV has the right size."""
    sizes = TLV_SIZES
    for t in tlvs:
        size = sizes.get(t.tag)
        if size is not None and not size[0] <= len(t.value) <= size[1]:
            least, most = size
            allowed = str(least) if least == most else f"{least} to {most}"
            return (
                Status.ESME_RINVPARLEN,
                f"TLV {Tag(t.tag).name.lower()}: {len(t.value)} octets, SMPP 3.4 allows {allowed}",
            )
    return None
