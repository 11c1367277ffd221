"""Delivery receipts: the pending job and the deliver_sm that carries it.

The receipt text follows the usual SMPP 3.4 appendix B form,
`id:<message id> sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm
stat:DELIVRD err:000 text:<first 20 characters>` (dates in UTC; dlvrd is 000 unless
the outcome is DELIVRD), with the TLVs receipted_message_id and message_state.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from engine.smpp.constants import DC_DEFAULT, DC_UCS2, ESM_DELIVERY_RECEIPT, ESM_UDHI, Tag
from engine.smpp.pdu import DataSm, DeliverSm, SubmitSm, Tlv
from engine.text.gsm import decode_gsm7, encode_gsm7

from .config import OUTCOME_ERR, OUTCOME_STATE, Outcome


class ReceiptCarrier(Protocol):
    """A connection that can carry receipts (an `EsmeConnection`, seen from here)."""

    @property
    def alive(self) -> bool: ...

    @property
    def can_receive(self) -> bool: ...

    def push_receipt(self, job: ReceiptJob) -> None: ...


class ReceiptJob:
    """A receipt owed for one accepted message. `origin` is the connection that
    submitted it (preferred carrier while it stays bound as a receiver)."""

    __slots__ = ("message_id", "submit", "body", "submitted_at", "outcome", "delay_s", "origin")

    def __init__(
        self,
        message_id: str,
        submit: SubmitSm | DataSm,
        body: bytes,
        submitted_at: float,
        outcome: Outcome,
        delay_s: float,
        origin: ReceiptCarrier | None,
    ) -> None:
        self.message_id = message_id
        self.submit = submit
        self.body = body
        self.submitted_at = submitted_at
        self.outcome = outcome
        self.delay_s = delay_s
        self.origin = origin


_minute_cache: dict[int, str] = {}


def _minute(epoch_s: float) -> str:
    minute = int(epoch_s // 60)
    text = _minute_cache.get(minute)
    if text is None:
        if len(_minute_cache) > 1024:
            _minute_cache.clear()
        text = _minute_cache[minute] = datetime.fromtimestamp(minute * 60, UTC).strftime(
            "%y%m%d%H%M"
        )
    return text


def message_text(body: bytes, data_coding: int, esm_class: int) -> str:
    """Best-effort text of a short message: UDH removed; data_coding 0 read as unpacked
    GSM 7-bit (latin-1 when an octet is over 0x7F), 8 as UCS-2, anything else as latin-1."""
    if esm_class & ESM_UDHI and body:
        body = body[body[0] + 1 :]
    if data_coding == DC_UCS2:
        return body.decode("utf-16-be", errors="replace")
    if data_coding == DC_DEFAULT:
        try:
            return decode_gsm7(body)
        except ValueError:
            pass
    return body.decode("latin-1")


def receipt_text(job: ReceiptJob, done_at: float) -> bytes:
    submit = job.submit
    outcome = job.outcome
    delivered = "001" if outcome is Outcome.DELIVRD else "000"
    text = message_text(job.body, submit.data_coding, submit.esm_class)[:20]
    return (
        f"id:{job.message_id} sub:001 dlvrd:{delivered} submit date:{_minute(job.submitted_at)} "
        f"done date:{_minute(done_at)} stat:{outcome.value} err:{OUTCOME_ERR[outcome]:03d} "
        f"text:{text}"
    ).encode("latin-1", errors="replace")


def receipt_pdu(job: ReceiptJob, sequence: int, done_at: float) -> DeliverSm:
    """The deliver_sm carrying `job`: from the original destination to the original
    source, esm_class 0x04, the receipt text and its two TLVs."""
    submit = job.submit
    return DeliverSm(
        source_addr_ton=submit.dest_addr_ton,
        source_addr_npi=submit.dest_addr_npi,
        source_addr=submit.destination_addr,
        dest_addr_ton=submit.source_addr_ton,
        dest_addr_npi=submit.source_addr_npi,
        destination_addr=submit.source_addr,
        esm_class=ESM_DELIVERY_RECEIPT,
        short_message=receipt_text(job, done_at),
        tlvs=(
            Tlv(Tag.RECEIPTED_MESSAGE_ID, job.message_id.encode("latin-1") + b"\x00"),
            Tlv(Tag.MESSAGE_STATE, bytes((OUTCOME_STATE[job.outcome],))),
        ),
        sequence=sequence,
    )


def mo_pdu(source: str, destination: str, text: str, sequence: int) -> DeliverSm:
    """A subscriber's inbound message (MO): `source` (a `+` number goes as
    international) to `destination` (a short code or a number), GSM 7-bit when the
    text allows it, else UCS-2; esm_class 0 (no receipt)."""

    def address(addr: str) -> tuple[int, str]:
        return (1, addr[1:]) if addr.startswith("+") else (0, addr)

    try:
        body, coding = encode_gsm7(text), DC_DEFAULT
    except ValueError:
        body, coding = text.encode("utf-16-be", "surrogatepass"), DC_UCS2
    source_ton, source_addr = address(source)
    dest_ton, dest_addr = address(destination)
    return DeliverSm(
        source_addr_ton=source_ton,
        source_addr_npi=1,
        source_addr=source_addr,
        dest_addr_ton=dest_ton,
        dest_addr_npi=1 if dest_ton else 0,
        destination_addr=dest_addr,
        data_coding=coding,
        short_message=body,
        sequence=sequence,
    )
