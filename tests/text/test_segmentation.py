"""Cutting bodies into submit_sm payloads: size limits, headers, round trips, counts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.text import (
    EncodedMessage,
    Encoding,
    choose_encoding,
    decode_parts,
    encode_message,
    gsm7_septets,
    segment_count,
)
from engine.text.gsm import BASIC_CHARACTERS, EXTENSION_CHARACTERS

GSM_ALPHABET = "".join(sorted(BASIC_CHARACTERS | EXTENSION_CHARACTERS))
ESCAPE_HEAVY = "".join(sorted(EXTENSION_CHARACTERS)) + "ab"
EMOJI_AND_ACCENTS = "😀👍🏽🇬🇦𝄞中éçêa €"

any_text = st.text(max_size=160)
gsm_text = st.text(alphabet=GSM_ALPHABET, max_size=160)
escape_heavy_text = st.text(alphabet=ESCAPE_HEAVY, max_size=160)
emoji_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(EMOJI_AND_ACCENTS),
        st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),
    ),
    max_size=160,
)
bodies = st.one_of(any_text, gsm_text, escape_heavy_text, emoji_text)
long_bodies = st.one_of(
    st.text(alphabet=GSM_ALPHABET, min_size=150, max_size=2000),
    st.text(alphabet=ESCAPE_HEAVY, min_size=75, max_size=1000),
    st.text(alphabet=EMOJI_AND_ACCENTS, min_size=30, max_size=1000),
)
references = st.integers(min_value=0, max_value=255)


def assert_well_formed(message: EncodedMessage, text: str, reference: int) -> None:
    """Every property a part must have, checked on one encoded message."""
    parts = message.parts
    assert len(parts) == segment_count(text)
    assert decode_parts(parts, message.encoding) == text
    assert message.encoding is choose_encoding(text)
    assert message.data_coding == (0 if message.encoding is Encoding.GSM7 else 8)
    if len(parts) == 1:
        assert message.esm_class == 0
        limit = 160 if message.encoding is Encoding.GSM7 else 140
        assert len(parts[0]) <= limit
        return
    assert message.esm_class == 0x40
    for seq, part in enumerate(parts, start=1):
        header, body = part[:6], part[6:]
        assert header == bytes((0x05, 0x00, 0x03, reference, len(parts), seq))
        assert body
        if message.encoding is Encoding.GSM7:
            assert len(body) <= 153
            assert body[-1] != 0x1B, "escape separated from its code"
        else:
            assert len(part) <= 140
            assert len(body) % 2 == 0
            assert not 0xDC <= body[0] <= 0xDF, "part starts with a low surrogate"
            assert not 0xD8 <= body[-2] <= 0xDB, "part ends with a high surrogate"


@given(text=bodies, reference=references)
def test_body_of_up_to_160_characters_encodes_within_limits_and_round_trips(
    text: str, reference: int
) -> None:
    assert_well_formed(encode_message(text, reference), text, reference)


@given(text=long_bodies, reference=references)
def test_long_body_encodes_within_limits_and_round_trips(text: str, reference: int) -> None:
    assert_well_formed(encode_message(text, reference), text, reference)


@given(text=st.one_of(gsm_text, escape_heavy_text))
def test_gsm7_payload_length_is_the_septet_count(text: str) -> None:
    message = encode_message(text, 0)
    assert sum(len(part) - (6 if len(message.parts) > 1 else 0) for part in message.parts) == (
        gsm7_septets(text)
    )


@given(text=bodies)
def test_parts_are_fewer_when_gsm_septets_or_ucs2_units_fit_one_sms(text: str) -> None:
    if choose_encoding(text) is Encoding.GSM7:
        assert (segment_count(text) == 1) == (gsm7_septets(text) <= 160)
    else:
        units = len(text.encode("utf-16-be")) // 2
        assert (segment_count(text) == 1) == (units <= 70)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("é" * 160, 1),
        ("€" * 80, 1),
        ("€" * 81, 2),
        ("a" * 159 + "€", 2),
        ("ç" * 70, 1),
        ("ç" * 71, 2),
        ("ç" * 134, 2),
        ("ç" * 135, 3),
        ("😀" * 35, 1),
        ("😀" * 36, 2),
        ("a" + "😀" * 35, 2),
    ],
)
def test_known_lengths_give_known_part_counts(text: str, parts: int) -> None:
    assert segment_count(text) == parts
    assert len(encode_message(text, 0).parts) == parts


def test_escape_pair_at_the_cut_moves_whole_to_the_next_part() -> None:
    text = "a" * 152 + "€" + "b" * 10
    first, second = encode_message(text, 9).parts
    assert first == bytes((5, 0, 3, 9, 2, 1)) + b"a" * 152
    assert second == bytes((5, 0, 3, 9, 2, 2)) + b"\x1b\x65" + b"b" * 10


def test_surrogate_pair_at_the_cut_moves_whole_to_the_next_part() -> None:
    text = "ç" * 66 + "😀" + "ç" * 10
    first, second = encode_message(text, 1).parts
    assert first[6:] == ("ç" * 66).encode("utf-16-be")
    assert second[6:] == ("😀" + "ç" * 10).encode("utf-16-be")


def test_concatenated_message_carries_the_reference_and_udhi() -> None:
    message = encode_message("ç" * 71, reference=200)
    assert message.esm_class == 0x40
    assert [part[:6] for part in message.parts] == [
        bytes((5, 0, 3, 200, 2, 1)),
        bytes((5, 0, 3, 200, 2, 2)),
    ]


def test_single_part_of_a_concatenated_message_decodes_when_told_of_its_header() -> None:
    message = encode_message("a" * 200, reference=3)
    assert decode_parts([message.parts[1]], Encoding.GSM7, udh=True) == "a" * 47


def test_single_part_starting_like_a_header_is_not_stripped() -> None:
    text = "é@¥ text"
    message = encode_message(text, 0)
    assert message.parts[0][:3] == b"\x05\x00\x03"
    assert decode_parts(message.parts, Encoding.GSM7) == text


def test_lone_surrogate_is_sent_as_replacement_character() -> None:
    message = encode_message("a\ud800b", 0)
    assert message.encoding is Encoding.UCS2
    assert decode_parts(message.parts, Encoding.UCS2) == "a\ufffdb"
    assert segment_count("\ud83d\ude00" * 36) == len(encode_message("\ud83d\ude00" * 36, 0).parts)


@pytest.mark.parametrize("reference", [-1, 256])
def test_reference_outside_one_octet_is_refused(reference: int) -> None:
    with pytest.raises(ValueError, match="reference"):
        encode_message("a" * 200, reference)


def test_text_needing_over_255_parts_is_refused() -> None:
    assert segment_count("a" * 153 * 255) == 255
    encode_message("a" * 153 * 255, 0)
    with pytest.raises(ValueError, match="255"):
        encode_message("a" * (153 * 255 + 1), 0)
