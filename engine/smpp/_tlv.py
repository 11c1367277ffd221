"""Optional parameters (TLVs) and the lookups of the PDUs that carry them.

Private to the PDU modules; `Tlv` is public through `pdu`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tlv:
    """One optional parameter: a 16-bit tag and its raw value."""

    tag: int
    value: bytes


class _HasTlvs:
    """TLV lookups for PDUs that carry optional parameters."""

    __slots__ = ()
    tlvs: tuple[Tlv, ...]

    def tlv(self, tag: int) -> bytes | None:
        """Value of the first TLV with `tag`, or None when absent."""
        for t in self.tlvs:
            if t.tag == tag:
                return t.value
        return None

    def tlv_int(self, tag: int) -> int | None:
        """Value of the first TLV with `tag` read as a big-endian unsigned integer."""
        value = self.tlv(tag)
        return None if value is None else int.from_bytes(value, "big")
