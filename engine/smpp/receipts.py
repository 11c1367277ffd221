"""SMSC delivery receipts in the customary text form (SMPP 3.4 appendix B).

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm
    stat:DDDDDDD err:EEE text:...

The appendix calls this format vendor-specific, and SMSCs vary: key case, `submit_date`
for `submit date`, 12-digit dates with seconds, missing fields, ids in hex or decimal.
`parse_receipt` accepts all of these; `format_receipt` writes the usual form. Matching a
receipt id with a submit_sm_resp message_id is the dispatcher's business, not this one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from .constants import MessageState

STATS = ("DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD", "ENROUTE")

_STATE_BY_STAT = {
    "ENROUTE": MessageState.ENROUTE,
    "DELIVRD": MessageState.DELIVERED,
    "DELIVERED": MessageState.DELIVERED,
    "EXPIRED": MessageState.EXPIRED,
    "DELETED": MessageState.DELETED,
    "UNDELIV": MessageState.UNDELIVERABLE,
    "UNDELIVERABLE": MessageState.UNDELIVERABLE,
    "ACCEPTD": MessageState.ACCEPTED,
    "ACCEPTED": MessageState.ACCEPTED,
    "UNKNOWN": MessageState.UNKNOWN,
    "REJECTD": MessageState.REJECTED,
    "REJECTED": MessageState.REJECTED,
}


class ReceiptParseError(ValueError):
    """The text is not a delivery receipt (no `id:` field)."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """One parsed receipt. Dates are datetimes when they could be read, else the raw
    text; missing numeric fields are 0 and missing text fields empty."""

    id: str
    sub: int = 0
    dlvrd: int = 0
    submit_date: datetime | str = ""
    done_date: datetime | str = ""
    stat: str = ""
    err: str = ""
    text: str = ""

    @property
    def state(self) -> MessageState | None:
        """`stat` as a message_state value; None for a stat this module does not know."""
        return _STATE_BY_STAT.get(self.stat.upper())


def stat_to_state(stat: str) -> MessageState | None:
    """The message_state for a receipt `stat` word (DELIVRD, UNDELIV, ...), else None."""
    return _STATE_BY_STAT.get(stat.strip().upper())


def _format_date(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    return value.strftime("%y%m%d%H%M%S" if value.second else "%y%m%d%H%M")


def format_receipt(receipt: Receipt) -> str:
    """The receipt in the usual text form.

    sub and dlvrd are written with 3 digits; a datetime date with 10 digits
    (YYMMDDhhmm), or 12 when its seconds are not zero; a string date as given.
    """
    return (
        f"id:{receipt.id} sub:{receipt.sub:03d} dlvrd:{receipt.dlvrd:03d}"
        f" submit date:{_format_date(receipt.submit_date)}"
        f" done date:{_format_date(receipt.done_date)}"
        f" stat:{receipt.stat} err:{receipt.err} text:{receipt.text}"
    )


_KEY = re.compile(
    r"(?:^|(?<=\s))(id|sub|dlvrd|submit[ _]?date|done[ _]?date|stat|err|text)\s*:",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"[0-9]{1,9}")
"""A count's digits: SMPP 3.4 writes three; more than nine are not read (a count
is never that large, and reading is then bounded whatever the text's length)."""


def _parse_date(raw: str, tz: tzinfo) -> datetime | str:
    if len(raw) not in (10, 12) or not raw.isdigit():
        return raw
    try:
        return datetime(
            2000 + int(raw[0:2]),
            int(raw[2:4]),
            int(raw[4:6]),
            int(raw[6:8]),
            int(raw[8:10]),
            int(raw[10:12] or 0),
            tzinfo=tz,
        )
    except ValueError:
        return raw


def _parse_count(raw: str) -> int:
    match = _DIGITS.match(raw)
    return int(match.group()) if match else 0


def parse_receipt(data: str | bytes, *, tz: tzinfo = UTC) -> Receipt:
    """Read a receipt from a deliver_sm short_message (or its text).

    Keys are case-insensitive and may appear in any order; `submit_date` / `submitdate`
    spellings are accepted; `text:` takes the rest of the message. Dates of 10 or 12
    digits become datetimes in `tz` (the SMSC's zone; UTC unless told); unreadable dates
    stay strings. Raises `ReceiptParseError` when there is no `id:` field.
    """
    text = data.decode("latin-1") if isinstance(data, bytes | bytearray) else data
    text = text.rstrip("\x00")
    values: dict[str, str] = {}
    matches = list(_KEY.finditer(text))
    for index, match in enumerate(matches):
        key = match.group(1).lower().replace("_", " ")
        if key in ("submitdate", "donedate"):
            key = key[:-4] + " date"
        if key == "text":
            values.setdefault("text", text[match.end() :])
            break
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        values.setdefault(key, text[match.end() : end].strip())
    receipt_id = values.get("id")
    if not receipt_id:
        raise ReceiptParseError(f"not a delivery receipt: {text[:60]!r}")
    return Receipt(
        id=receipt_id,
        sub=_parse_count(values.get("sub", "")),
        dlvrd=_parse_count(values.get("dlvrd", "")),
        submit_date=_parse_date(values.get("submit date", ""), tz),
        done_date=_parse_date(values.get("done date", ""), tz),
        stat=values.get("stat", "").upper(),
        err=values.get("err", ""),
        text=values.get("text", ""),
    )
