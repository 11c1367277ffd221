"""Choosing the encoding of an SMS body and cutting it into submit_sm payloads.

Pure functions, no I/O. A body goes GSM 7-bit (unpacked, ``data_coding`` 0) when
every character allows it, UCS-2 (UTF-16-BE, ``data_coding`` 8) otherwise. One SMS
holds 160 septets or 70 UCS-2 code units; a longer body goes as a concatenated SMS
whose parts each start with an 8-bit-reference user data header
(``05 00 03 ref total seq``) and hold at most 153 septets or 67 code units. A part
never ends between an escape septet and its code, nor between the two halves of a
surrogate pair.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from engine.text.gsm import ESCAPE, EXTENSION_CHARACTERS, decode_gsm7, encode_gsm7, is_gsm7

SINGLE_GSM7_SEPTETS: Final = 160
CONCATENATED_GSM7_SEPTETS: Final = 153
SINGLE_UCS2_UNITS: Final = 70
CONCATENATED_UCS2_UNITS: Final = 67
MAX_PARTS: Final = 255

DATA_CODING_GSM7: Final = 0x00
DATA_CODING_UCS2: Final = 0x08
ESM_CLASS_UDHI: Final = 0x40

_UCS2_CODEC: Final = "utf-16-be"
# JSON can smuggle lone surrogates (a "\ud800" escape) into a str; they are sent as U+FFFD so
# that every UCS-2 payload is well formed and encoding never raises.
_LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_REPLACEMENT: Final = "\ufffd"
_HIGH_SURROGATES: Final = range(0xD8, 0xDC)  # first octet of a high surrogate unit


class Encoding(StrEnum):
    """How a body is encoded on the wire; the API answers ``encodage`` with the value."""

    GSM7 = "GSM7"
    UCS2 = "UCS2"


@dataclass(frozen=True, slots=True)
class EncodedMessage:
    """Everything submit_sm needs for one body, the same for every recipient.

    ``parts`` holds the complete ``short_message`` octets of each submit_sm, user
    data header included when the message is concatenated (then ``esm_class`` is
    0x40). GSM 7-bit parts are unpacked septets; UCS-2 parts are UTF-16-BE.
    """

    encoding: Encoding
    data_coding: int
    esm_class: int
    parts: tuple[bytes, ...]


def choose_encoding(text: str) -> Encoding:
    """GSM7 when every character is in the GSM 03.38 alphabet or its extension, else UCS2."""
    return Encoding.GSM7 if is_gsm7(text) else Encoding.UCS2


def encode_message(text: str, reference: int) -> EncodedMessage:
    """Encode ``text`` and cut it into the payloads of one SMS or a concatenated SMS.

    ``reference`` (0..255) goes in every part's header when the text needs more than
    one SMS; see :class:`engine.text.references.ReferenceCounter`. Raises
    ``ValueError`` for a reference out of range or a text needing over 255 parts.
    """
    if not 0 <= reference <= 0xFF:
        raise ValueError(f"concatenation reference must be within 0..255, got {reference}")
    if is_gsm7(text):
        payload = encode_gsm7(text)
        if len(payload) <= SINGLE_GSM7_SEPTETS:
            return EncodedMessage(Encoding.GSM7, DATA_CODING_GSM7, 0, (payload,))
        chunks = _split_gsm7(payload)
        return EncodedMessage(
            Encoding.GSM7, DATA_CODING_GSM7, ESM_CLASS_UDHI, _with_headers(chunks, reference)
        )
    payload = _LONE_SURROGATE.sub(_REPLACEMENT, text).encode(_UCS2_CODEC)
    if len(payload) <= 2 * SINGLE_UCS2_UNITS:
        return EncodedMessage(Encoding.UCS2, DATA_CODING_UCS2, 0, (payload,))
    chunks = _split_ucs2(payload)
    return EncodedMessage(
        Encoding.UCS2, DATA_CODING_UCS2, ESM_CLASS_UDHI, _with_headers(chunks, reference)
    )


def segment_count(text: str) -> int:
    """How many parts :func:`encode_message` would produce for ``text`` (one per billed SMS).

    Computed from character widths, without encoding. For a text over 255 parts,
    where :func:`encode_message` raises, it still answers the count.
    """
    text = _LONE_SURROGATE.sub(_REPLACEMENT, text)
    if is_gsm7(text):
        escapes = sum(map(text.count, EXTENSION_CHARACTERS))
        septets = len(text) + escapes
        if septets <= SINGLE_GSM7_SEPTETS:
            return 1
        if not escapes:
            return -(-septets // CONCATENATED_GSM7_SEPTETS)
        widths: Iterable[int] = (2 if c in EXTENSION_CHARACTERS else 1 for c in text)
        return _count_parts(widths, CONCATENATED_GSM7_SEPTETS)
    astral = sum(1 for c in text if c > "\uffff")
    units = len(text) + astral
    if units <= SINGLE_UCS2_UNITS:
        return 1
    if not astral:
        return -(-units // CONCATENATED_UCS2_UNITS)
    widths = (2 if c > "\uffff" else 1 for c in text)
    return _count_parts(widths, CONCATENATED_UCS2_UNITS)


def decode_parts(parts: Iterable[bytes], encoding: Encoding, *, udh: bool | None = None) -> str:
    """The text carried by ``parts`` (the inverse of :func:`encode_message`).

    ``udh`` says whether each part starts with a user data header (``esm_class`` bit
    0x40); when omitted, parts are taken to carry one exactly when there are several,
    which is what :func:`encode_message` produces. Any header is skipped by its own
    length octet, so 16-bit-reference headers decode too.
    """
    chunks = list(parts)
    if udh is None:
        udh = len(chunks) > 1
    if udh:
        chunks = [_strip_header(chunk) for chunk in chunks]
    payload = b"".join(chunks)
    match encoding:
        case Encoding.GSM7:
            return decode_gsm7(payload)
        case Encoding.UCS2:
            return payload.decode(_UCS2_CODEC, "surrogatepass")


def _split_gsm7(payload: bytes) -> list[bytes]:
    """Cut septets into chunks of at most 153, never between an escape and its code."""
    chunks = []
    start, size = 0, len(payload)
    while start < size:
        end = min(start + CONCATENATED_GSM7_SEPTETS, size)
        # No extension code equals the escape, so any escape octet opens a pair.
        if end < size and payload[end - 1] == ESCAPE:
            end -= 1
        chunks.append(payload[start:end])
        start = end
    return chunks


def _split_ucs2(payload: bytes) -> list[bytes]:
    """Cut UTF-16-BE into chunks of at most 67 code units, never inside a surrogate pair."""
    chunks = []
    start, size = 0, len(payload)
    limit = 2 * CONCATENATED_UCS2_UNITS
    while start < size:
        end = min(start + limit, size)
        if end < size and payload[end - 2] in _HIGH_SURROGATES:
            end -= 2
        chunks.append(payload[start:end])
        start = end
    return chunks


def _with_headers(chunks: list[bytes], reference: int) -> tuple[bytes, ...]:
    """Prefix each chunk with ``05 00 03 ref total seq`` (sequence numbers from 1)."""
    total = len(chunks)
    if total > MAX_PARTS:
        raise ValueError(
            f"text needs {total} parts, over the {MAX_PARTS} a concatenated SMS allows"
        )
    return tuple(
        bytes((0x05, 0x00, 0x03, reference, total, seq)) + chunk
        for seq, chunk in enumerate(chunks, start=1)
    )


def _count_parts(widths: Iterable[int], limit: int) -> int:
    """Parts a greedy cut makes when no character (of width 1 or 2) may straddle two parts."""
    parts, used = 1, 0
    for width in widths:
        if used + width > limit:
            parts += 1
            used = 0
        used += width
    return parts


def _strip_header(chunk: bytes) -> bytes:
    """``chunk`` without its user data header (length octet, then that many octets)."""
    if not chunk:
        raise ValueError("a part flagged with a user data header is empty")
    return chunk[1 + chunk[0] :]
