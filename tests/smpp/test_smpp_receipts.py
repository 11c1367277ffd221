"""Delivery receipt text: format/parse round trip and the variants SMSCs send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.smpp import MessageState
from engine.smpp.receipts import (
    STATS,
    Receipt,
    ReceiptParseError,
    format_receipt,
    parse_receipt,
    stat_to_state,
)

dates = st.datetimes(
    # hypothesis takes naive bounds and adds the zone from `timezones`
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2099, 12, 31, 23, 59, 59),  # noqa: DTZ001
    timezones=st.just(UTC),
).map(lambda d: d.replace(microsecond=0))
receipts = st.builds(
    Receipt,
    id=st.text("0123456789abcdefABCDEF-", min_size=1, max_size=64),
    sub=st.integers(0, 999),
    dlvrd=st.integers(0, 999),
    submit_date=dates,
    done_date=dates,
    stat=st.sampled_from(STATS),
    err=st.text("0123456789", min_size=3, max_size=3),
    text=st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=20),
)


@given(receipts)
def test_format_then_parse_is_identity(receipt: Receipt) -> None:
    assert parse_receipt(format_receipt(receipt)) == receipt
    assert parse_receipt(format_receipt(receipt).encode("latin-1")) == receipt


def test_usual_form() -> None:
    receipt = Receipt(
        id="1234567890",
        sub=1,
        dlvrd=1,
        submit_date=datetime(2026, 11, 25, 10, 30, tzinfo=UTC),
        done_date=datetime(2026, 11, 25, 10, 31, tzinfo=UTC),
        stat="DELIVRD",
        err="000",
        text="Hello",
    )
    assert format_receipt(receipt) == (
        "id:1234567890 sub:001 dlvrd:001 submit date:2611251030 done date:2611251031"
        " stat:DELIVRD err:000 text:Hello"
    )


def test_twelve_digit_dates_keep_seconds() -> None:
    r = parse_receipt(
        b"id:A1 sub:001 dlvrd:001 submit date:261125103005 done date:261125103107"
        b" stat:DELIVRD err:000 text:"
    )
    assert r.submit_date == datetime(2026, 11, 25, 10, 30, 5, tzinfo=UTC)
    assert r.done_date == datetime(2026, 11, 25, 10, 31, 7, tzinfo=UTC)
    assert format_receipt(r).startswith("id:A1 sub:001 dlvrd:001 submit date:261125103005")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "ID:0A1B2C SUB:001 DLVRD:001 SUBMIT DATE:2611251030 DONE DATE:2611251031 "
            "STAT:DELIVRD ERR:000 TEXT:Hi",
            Receipt(
                "0A1B2C",
                1,
                1,
                datetime(2026, 11, 25, 10, 30, tzinfo=UTC),
                datetime(2026, 11, 25, 10, 31, tzinfo=UTC),
                "DELIVRD",
                "000",
                "Hi",
            ),
        ),
        (
            "id:77 submit_date:2611251030 done_date:2611251031 stat:undeliv err:012",
            Receipt(
                "77",
                0,
                0,
                datetime(2026, 11, 25, 10, 30, tzinfo=UTC),
                datetime(2026, 11, 25, 10, 31, tzinfo=UTC),
                "UNDELIV",
                "012",
                "",
            ),
        ),
        (
            "id:b6f1c2d0-3e4f-4a5b-9c8d-7e6f5a4b3c2d sub:1 dlvrd:0 submit date:2613251030 "
            "done date:26112510 stat:EXPIRED err:0 text:code: 1234 stat:x",
            Receipt(
                "b6f1c2d0-3e4f-4a5b-9c8d-7e6f5a4b3c2d",
                1,
                0,
                "2613251030",
                "26112510",
                "EXPIRED",
                "0",
                "code: 1234 stat:x",
            ),
        ),
        ("id:42 stat:DELIVRD\x00", Receipt("42", stat="DELIVRD")),
        ("id: 42  sub:001  stat:REJECTD", Receipt("42", sub=1, stat="REJECTD")),
    ],
)
def test_real_world_variants(raw: str, expected: Receipt) -> None:
    assert parse_receipt(raw) == expected


@pytest.mark.parametrize("raw", ["", "Hello, how are you?", "pid:12 stat:DELIVRD", b"id: sub:1"])
def test_text_without_an_id_is_not_a_receipt(raw: str | bytes) -> None:
    with pytest.raises(ReceiptParseError):
        parse_receipt(raw)


def test_dates_in_the_smsc_zone() -> None:
    paris = timezone(timedelta(hours=1))
    r = parse_receipt("id:1 submit date:2611251030", tz=paris)
    assert r.submit_date == datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def test_stat_words_map_to_message_states() -> None:
    assert stat_to_state("DELIVRD") is MessageState.DELIVERED
    assert stat_to_state(" undeliv ") is MessageState.UNDELIVERABLE
    assert Receipt("1", stat="REJECTD").state is MessageState.REJECTED
    assert stat_to_state("WHATEVER") is None
    assert {stat_to_state(s) for s in STATS} == set(MessageState)
