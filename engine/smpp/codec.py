"""Bytes <-> PDU values for SMPP 3.4.

`encode(pdu)` returns one complete PDU (16-byte header + body); `decode(frame)` parses
exactly one. Both are pure functions on immutable values.

Decoding is defensive: for any input, the only exception `decode` raises is
`SmppDecodeError`, which carries the command_id and sequence when the header was
readable, and the command_status a peer should answer with (ESME_RINVCMDID for an
unknown command, ESME_RINVCMDLEN for a bad length, ...). C-octet strings are checked
against their SMPP 3.4 maximum sizes; a response whose body is empty decodes with
default field values (SMPP allows an empty body on error responses, and some peers send
one on deliver_sm_resp).

Encoding refuses values the wire cannot carry (overlong or NUL-containing strings,
non-latin-1 characters, out-of-range integers, short_message over 254 octets) with
`SmppEncodeError`.

Speed: every fixed layout is a precompiled `struct.Struct`; each PDU kind has its own
encoder and decoder, with no per-call reflection. submit_sm / deliver_sm, the hot path,
are packed by one cached Struct per length combination, and decoded through a mutable
draft with the same slot layout (see `_ShortMessageDraft`).
"""

from __future__ import annotations

from struct import error as StructError

from ._decode import DECODERS
from ._encode import BODY_ENCODERS, FRAME_ENCODERS
from .constants import RESPONSE_BIT, CommandId, Status
from .pdu import Pdu
from .wire import HEADER, HEADER_SIZE, SmppDecodeError, SmppEncodeError

__all__ = ["HEADER", "HEADER_SIZE", "SmppDecodeError", "SmppEncodeError", "decode", "encode"]

_header_pack = HEADER.pack
_header_unpack = HEADER.unpack_from


def decode(frame: bytes) -> Pdu:
    """Parse exactly one complete PDU. Raises only `SmppDecodeError`."""
    if len(frame) < HEADER_SIZE:
        raise SmppDecodeError(f"{len(frame)} octets: shorter than the 16-octet header")
    length, command_id, status, sequence = _header_unpack(frame)
    if length != len(frame):
        raise SmppDecodeError(
            f"command_length {length} but {len(frame)} octets given",
            command_id=command_id,
            sequence=sequence,
        )
    entry = DECODERS.get(command_id)
    if entry is None:
        raise SmppDecodeError(
            f"unknown command_id 0x{command_id:08x}",
            command_id=command_id,
            sequence=sequence,
            status=Status.ESME_RINVCMDID,
        )
    cls, decoder = entry
    if length == HEADER_SIZE and command_id & RESPONSE_BIT:
        return cls(sequence=sequence, status=status)
    if type(frame) is not bytes:
        frame = bytes(frame)
    try:
        return decoder(cls, frame, sequence, status)
    except SmppDecodeError as exc:
        exc.command_id = command_id
        exc.sequence = sequence
        raise
    except IndexError:
        raise SmppDecodeError(
            f"{CommandId(command_id).name.lower()}: body truncated",
            command_id=command_id,
            sequence=sequence,
        ) from None


def encode(pdu: Pdu) -> bytes:
    """The complete wire form of `pdu` (header included). Raises `SmppEncodeError`."""
    frame_encoder = FRAME_ENCODERS.get(type(pdu))
    try:
        if frame_encoder is not None:
            return frame_encoder(pdu)
        body = BODY_ENCODERS[type(pdu)](pdu)
        length = HEADER_SIZE + len(body)
        return _header_pack(length, pdu.COMMAND_ID, pdu.status, pdu.sequence) + body
    except KeyError:
        raise TypeError(f"not an SMPP PDU: {pdu!r}") from None
    except (StructError, UnicodeEncodeError, OverflowError) as exc:
        raise SmppEncodeError(f"{type(pdu).__name__}: {exc}") from exc
