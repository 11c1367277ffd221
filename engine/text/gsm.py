"""The GSM 03.38 default alphabet and its extension table, as unpacked septets.

Pure functions, no I/O. A text is "GSM 7-bit" when every character is in the
default alphabet or in the extension table; an extension character is sent as the
escape septet 0x1B followed by its code, so it counts two septets.

Septets are handled *unpacked*: one septet value (0x00-0x7F) per octet, which is
what an SMSC expects in ``short_message`` with ``data_coding`` 0 on SMPP.
"""

from __future__ import annotations

import re
from typing import Final

ESCAPE: Final = 0x1B
"""The septet that announces a character of the extension table."""

# The default alphabet, indexed by septet value (0x1B, the escape, is a placeholder).
_BASIC_TABLE: Final = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

# The extension table: character -> code sent after the escape septet.
_EXTENSION_TABLE: Final = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}

BASIC_CHARACTERS: Final = frozenset(_BASIC_TABLE) - {"\x1b"}
"""Every character of the default alphabet (one septet each)."""

EXTENSION_CHARACTERS: Final = frozenset(_EXTENSION_TABLE)
"""Every character of the extension table (two septets each)."""

_NOT_GSM: Final = re.compile(
    "[^" + "".join(re.escape(c) for c in sorted(BASIC_CHARACTERS | EXTENSION_CHARACTERS)) + "]"
)

# str.translate tables: text -> septets as code points 0x00-0x7F, and back.
_TO_SEPTETS: Final[dict[int, str]] = {
    **{ord(char): chr(code) for code, char in enumerate(_BASIC_TABLE) if code != ESCAPE},
    **{ord(char): chr(ESCAPE) + chr(code) for char, code in _EXTENSION_TABLE.items()},
}
_FROM_BASIC_SEPTETS: Final[dict[int, str]] = {
    code: char for code, char in enumerate(_BASIC_TABLE) if code != ESCAPE
}
_FROM_EXTENSION_CODE: Final[dict[int, str]] = {
    code: char for char, code in _EXTENSION_TABLE.items()
}


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` is in the default alphabet or the extension table."""
    return _NOT_GSM.search(text) is None


def gsm7_septets(text: str) -> int:
    """Number of septets ``text`` takes in GSM 7-bit, extension characters counting two.

    Only meaningful when ``is_gsm7(text)``; characters outside the alphabet count one.
    """
    return len(text) + sum(map(text.count, _EXTENSION_TABLE))


def encode_gsm7(text: str) -> bytes:
    """Unpacked septets for ``text``: one octet per septet, escapes as 0x1B + code.

    Raises ``ValueError`` when a character is outside the GSM 7-bit alphabet.
    """
    bad = _NOT_GSM.search(text)
    if bad is not None:
        raise ValueError(f"character {bad.group()!r} is not in the GSM 7-bit alphabet")
    return text.translate(_TO_SEPTETS).encode("ascii")


def decode_gsm7(data: bytes) -> str:
    """Text for unpacked septets ``data`` (the inverse of :func:`encode_gsm7`).

    As GSM 03.38 asks of a handset, an escape followed by a code that the extension
    table does not define decodes as that code's default-alphabet character; a
    trailing escape with nothing after it decodes as nothing. Raises ``ValueError``
    when an octet is over 0x7F (not a septet).
    """
    if data and max(data) > 0x7F:
        raise ValueError("an unpacked GSM 7-bit octet must be at most 0x7F")
    head, *escaped = data.split(b"\x1b")
    chunks = [head.decode("ascii").translate(_FROM_BASIC_SEPTETS)]
    for chunk in escaped:
        if not chunk:
            continue
        code = chunk[0]
        chunks.append(_FROM_EXTENSION_CODE.get(code) or _FROM_BASIC_SEPTETS.get(code, " "))
        chunks.append(chunk[1:].decode("ascii").translate(_FROM_BASIC_SEPTETS))
    return "".join(chunks)
