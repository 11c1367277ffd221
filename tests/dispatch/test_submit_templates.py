"""The bytes a bind writes for each recipient, from its send's shared template, are
those of the message's own generic submit_sm, and smpplib reads them as the same
fields: GSM 7-bit and UCS-2, one part or concatenated (UDH reference per recipient),
with and without a receipt asked, with and without a validity."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.dispatch.message import OutMessage, SubmitTemplates
from engine.model import AccountId, MessageId, SendRef
from engine.smpp import encode
from engine.smpp.pdu import with_sequence
from engine.text import ReferenceCounter, encode_message, parse_sender
from tests.smpp.test_smpp_vs_smpplib import SUBMIT_TLVS, assert_same_fields, smpplib_parse

TEXTS = {
    "gsm": "Votre code est 481516. Merci",
    "gsm-long": "Rendez-vous confirmé à 10h, {merci} " * 6,
    "ucs2": "Привет, ваш код 4815",
    "ucs2-long": "会议改到明天上午十点，请准时参加。" * 5,
}
VALIDITY = datetime.fromisoformat("2026-12-04T10:00:00+00:00").timestamp()


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("registered", [0, 1])
@pytest.mark.parametrize("expires_at", [None, VALIDITY])
def test_template_bytes_are_the_messages_submit_sm(
    text: str, registered: int, expires_at: float | None
) -> None:
    encoded = encode_message(TEXTS[text], 0)
    sender = parse_sender("ShopCo")
    templates, refs, oracle_refs = SubmitTemplates(), ReferenceCounter(), ReferenceCounter()
    for n, number in enumerate(("+24106000001", "+24107000002", "+24106000001")):
        message = OutMessage(
            MessageId(n), AccountId(1), SendRef(1), number, sender, encoded, expires_at=expires_at
        )
        twin = OutMessage(
            MessageId(n), AccountId(1), SendRef(1), number, sender, encoded, expires_at=expires_at
        )
        for part in range(len(encoded.parts)):
            sequence = 100 * n + part + 1
            frame = templates.get(message, part, registered).frame(
                sequence, number[1:].encode(), message.reference(refs)
            )
            expected = with_sequence(twin.submit_sm(part, registered, oracle_refs), sequence)
            assert frame == encode(expected)
            assert_same_fields(expected, smpplib_parse("submit_sm", frame), SUBMIT_TLVS)
    assert (len(encoded.parts) > 1) == text.endswith("-long")


def test_recipients_of_a_send_share_its_templates() -> None:
    encoded, sender = encode_message("x" * 200, 0), parse_sender("ShopCo")
    templates = SubmitTemplates(max_templates=2)
    a = OutMessage(MessageId(1), AccountId(1), SendRef(1), "+24106000001", sender, encoded)
    b = OutMessage(MessageId(2), AccountId(1), SendRef(1), "+24106000002", sender, encoded)
    assert templates.get(a, 0, 1) is templates.get(b, 0, 1)
    assert templates.get(a, 1, 1) is not templates.get(a, 0, 1)
    assert templates.get(a, 0, 0) is not templates.get(a, 0, 1)  # bound: starts again


def test_the_recipients_of_a_send_share_one_record_and_keep_their_own_progress() -> None:
    """A waiting message holds its id, destination and progress; what its send's
    recipients have in common is one record, which another send does not share."""
    encoded, sender = encode_message("Bonjour", 0), parse_sender("ShopCo")
    a, b = (
        OutMessage(MessageId(n), AccountId(1), SendRef(1), f"+2410600000{n}", sender, encoded)
        for n in (1, 2)
    )
    other = OutMessage(MessageId(3), AccountId(1), SendRef(2), "+24106000003", sender, encoded)
    assert a.common is b.common and other.common is not a.common
    assert (b.account_id, b.ref, b.sender, b.encoded, b.priority) == (1, 1, sender, encoded, False)
    b.expires_at = VALIDITY
    a.attempts = 2
    assert (a.expires_at, b.expires_at, b.attempts) == (None, VALIDITY, 0)
    fresh = OutMessage(MessageId(1), AccountId(1), SendRef(1), "+24106000001", sender, encoded)
    assert OutMessage.of_send(fresh.common, MessageId(1), "+24106000001") == fresh
