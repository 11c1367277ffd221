"""PduReader: the same PDUs whatever the chunking, and fatal lengths."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.smpp import EnquireLink, PduReader, SmppDecodeError, SubmitSmResp, encode
from engine.smpp import pdu as P

from .smpp_strategies import any_pdu


def chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:], strict=False)]


@settings(max_examples=150, deadline=None)
@given(st.lists(any_pdu, max_size=8), st.lists(st.integers(0, 10_000), max_size=20))
def test_any_chunking_yields_the_same_pdus(pdus: list[P.Pdu], cuts: list[int]) -> None:
    stream = b"".join(encode(p) for p in pdus)
    reader = PduReader()
    out: list[P.Pdu] = []
    for piece in chunks(stream, cuts):
        out.extend(reader.feed(piece))
    assert out == pdus
    assert reader.buffered == 0


@settings(max_examples=100, deadline=None)
@given(st.lists(any_pdu, max_size=6), st.lists(st.integers(0, 10_000), max_size=10))
def test_feed_frames_returns_the_raw_frames(pdus: list[P.Pdu], cuts: list[int]) -> None:
    frames = [encode(p) for p in pdus]
    reader = PduReader()
    out: list[bytes] = []
    for piece in chunks(b"".join(frames), cuts):
        out.extend(reader.feed_frames(piece))
    assert out == frames


def test_byte_at_a_time() -> None:
    data = encode(SubmitSmResp(message_id="abc", sequence=2)) + encode(EnquireLink(sequence=3))
    reader = PduReader()
    out = [p for i in range(len(data)) for p in reader.feed(data[i : i + 1])]
    assert out == [SubmitSmResp(message_id="abc", sequence=2), EnquireLink(sequence=3)]


@pytest.mark.parametrize("length", [0, 15, 70_000])
def test_bad_command_length_is_fatal_and_keeps_earlier_pdus(length: int) -> None:
    good = encode(EnquireLink(sequence=1))
    bad = struct.pack(">IIII", length, 0x15, 0, 2)
    reader = PduReader(max_command_length=65536)
    with pytest.raises(SmppDecodeError) as info:
        reader.feed(good + bad)
    assert info.value.pdus == [EnquireLink(sequence=1)]
    assert info.value.sequence == 2
    with pytest.raises(SmppDecodeError):
        reader.feed(encode(EnquireLink(sequence=3)))


def test_undecodable_frame_is_skipped_and_later_frames_stay_buffered() -> None:
    first = encode(EnquireLink(sequence=1))
    broken = struct.pack(">IIII", 17, 0x15, 0, 2) + b"\x00"
    last = encode(EnquireLink(sequence=3))
    reader = PduReader()
    with pytest.raises(SmppDecodeError) as info:
        reader.feed(first + broken + last)
    assert info.value.pdus == [EnquireLink(sequence=1)]
    assert info.value.sequence == 2
    assert reader.feed(b"") == [EnquireLink(sequence=3)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=6))
def test_random_stream_raises_nothing_but_decode_error(pieces: list[bytes]) -> None:
    reader = PduReader(max_command_length=4096)
    for piece in pieces:
        try:
            reader.feed(piece)
        except SmppDecodeError:
            pass
