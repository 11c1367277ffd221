"""submit_sm bytes shared by many recipients: encoded once, patched per recipient.

The submit_sm of one part of one send is the same for every recipient but for three
things: the header's command_length and sequence_number, the destination_addr and,
for a concatenated message, the reference byte of its user data header. A
`SubmitTemplate` is made from a `SubmitSm` with the generic encoder (every check of
`codec.encode` applies there, TLVs included) and then gives each recipient's frame
as a header packed with one Struct and four slices joined: no PDU object, no field
walk. Stdlib only; the bytes are those `codec.encode` gives for the same PDU.
"""

from __future__ import annotations

from dataclasses import replace

from .codec import encode
from .constants import CommandId
from .pdu import SubmitSm
from .wire import ADDR, HEADER, HEADER_SIZE, SmppEncodeError

__all__ = ["SubmitTemplate"]

_header_pack = HEADER.pack
_SUBMIT_SM = int(CommandId.SUBMIT_SM)
_BYTE = tuple(bytes((n,)) for n in range(256))
_NUL = b"\x00"


class SubmitTemplate:
    """The shared bytes of one submit_sm. Immutable once made.

    `reference_at` is the offset in `short_message` of a byte each recipient stamps
    with its own value (the concatenation reference of a UDH: 3), or None.
    """

    __slots__ = ("_fixed", "_prefix", "_ref_at", "_suffix", "_suffix_after")

    def __init__(self, pdu: SubmitSm, *, reference_at: int | None = None) -> None:
        short_message = pdu.short_message
        if reference_at is not None and not 0 <= reference_at < len(short_message):
            raise ValueError(f"reference_at {reference_at} outside the short_message")
        frame = encode(replace(pdu, destination_addr="", sequence=0, status=0))
        # header, service_type, ton, npi, source_addr, ton, npi | "" NUL | the rest
        cut = HEADER_SIZE + len(pdu.service_type) + 1 + 2 + len(pdu.source_addr) + 1 + 2
        if frame[cut] != 0:  # pragma: no cover - the layout above is SMPP 3.4's
            raise AssertionError("submit_sm layout mismatch")
        self._prefix = frame[HEADER_SIZE:cut]
        suffix = frame[cut + 1 :]
        self._fixed = len(frame) - 1
        if reference_at is None:
            self._ref_at = -1
            self._suffix = _NUL + suffix
            self._suffix_after = b""
        else:
            tlv_octets = sum(4 + len(tlv.value) for tlv in pdu.tlvs)
            at = len(suffix) - tlv_octets - len(short_message) + reference_at
            self._ref_at = at
            self._suffix = _NUL + suffix[:at]
            self._suffix_after = suffix[at + 1 :]

    @property
    def stamps_reference(self) -> bool:
        """Each recipient stamps its own reference byte into `short_message`."""
        return self._ref_at >= 0

    def frame(self, sequence: int, destination: bytes, reference: int = 0) -> bytes:
        """The whole submit_sm for `destination` (its octets, without NUL) with
        `sequence`; `reference` is stamped when the template has a reference byte.
        Raises `SmppEncodeError` for a destination the wire cannot carry."""
        n = len(destination)
        if n >= ADDR or _NUL in destination:
            raise SmppEncodeError(
                f"destination_addr: {destination!r} is not a C-octet string of < {ADDR} octets"
            )
        head = _header_pack(self._fixed + n + 1, _SUBMIT_SM, 0, sequence)
        if self._ref_at < 0:
            return b"".join((head, self._prefix, destination, self._suffix))
        return b"".join(
            (head, self._prefix, destination, self._suffix, _BYTE[reference], self._suffix_after)
        )

