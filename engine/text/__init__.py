"""Text and addresses of an SMS: encoding, segmentation, numbers, sender (pure, no I/O).

GSM 03.38 / UCS-2 encoding and concatenation (:mod:`engine.text.segments`), the
alphabet itself (:mod:`engine.text.gsm`), per-destination concatenation references
(:mod:`engine.text.references`), E.164 recipients and the sender address
(:mod:`engine.text.numbers`).
"""

from __future__ import annotations

from engine.text.gsm import gsm7_septets
from engine.text.numbers import (
    LONG_SENDER_WARNING,
    NormalizedRecipients,
    SenderAddress,
    normalize_number,
    normalize_recipients,
    parse_sender,
)
from engine.text.references import ReferenceCounter
from engine.text.segments import (
    EncodedMessage,
    Encoding,
    choose_encoding,
    decode_parts,
    encode_message,
    segment_count,
)

__all__ = [
    "LONG_SENDER_WARNING",
    "EncodedMessage",
    "Encoding",
    "NormalizedRecipients",
    "ReferenceCounter",
    "SenderAddress",
    "choose_encoding",
    "decode_parts",
    "encode_message",
    "gsm7_septets",
    "normalize_number",
    "normalize_recipients",
    "parse_sender",
    "segment_count",
]
