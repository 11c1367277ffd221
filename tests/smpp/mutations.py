"""Broken SMPP frames for fuzzing a receive path: valid PDUs mutated the ways a
faulty peer breaks them.

`mutate(frame, how, at, value, blob)` is a plain function of its arguments, so the
same mutations are drawn by Hypothesis (`mutated_frame`, `framed_mutation`) and by
a seeded `random.Random` in the over-the-socket tests (`random_frames`).

Mutations that keep the framing (the command_length matches the frame, within
the reader's limit) must never cost the link; `LOSES_FRAMING` ones may.
"""

from __future__ import annotations

import random
import struct

from hypothesis import strategies as st

from engine.smpp.codec import encode
from engine.smpp.constants import ESM_DELIVERY_RECEIPT, MessageState, Tag
from engine.smpp.limits import TLV_SIZES
from engine.smpp.pdu import (
    AlertNotification,
    DataSm,
    DeliverSm,
    EnquireLink,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Tlv,
)
from tests.smpp.smpp_strategies import any_pdu

TRUNCATE, FLIP, BAD_TLV_LENGTH, HUGE_FIELD, WRONG_SIZE_TLV, JUNK_BODY, LENGTH = range(7)
KEEPS_FRAMING = (TRUNCATE, FLIP, BAD_TLV_LENGTH, HUGE_FIELD, WRONG_SIZE_TLV, JUNK_BODY)
LOSES_FRAMING = (LENGTH,)
KNOWN_TAGS = sorted(TLV_SIZES)


def _framed(frame: bytes | bytearray) -> bytes:
    """`frame` with its command_length set to its length."""
    out = bytearray(frame)
    struct.pack_into(">I", out, 0, len(out))
    return bytes(out)


def mutate(frame: bytes, how: int, at: int, value: int, blob: bytes) -> bytes:
    """One mutation of an encoded PDU (`at`, `value`, `blob`: where, what, with what)."""
    if how == TRUNCATE:
        return _framed(frame[: 16 + at % max(1, len(frame) - 16)])
    if how == FLIP:  # any octet after command_length and command_id
        out = bytearray(frame)
        if len(out) > 8:
            out[8 + at % (len(out) - 8)] ^= value % 255 + 1
        return bytes(out)
    if how == BAD_TLV_LENGTH:  # a TLV whose length says more or less than it holds
        tag = KNOWN_TAGS[at % len(KNOWN_TAGS)]
        declared = value % 0x10000
        return _framed(frame + struct.pack(">HH", tag, declared) + blob)
    if how == HUGE_FIELD:  # thousands of octets without a NUL where a C-string starts
        cut = 16 + at % max(1, len(frame) - 15)
        return _framed(frame[:cut] + b"7" * (1000 + value % 6000) + frame[cut:])
    if how == WRONG_SIZE_TLV:  # a well-formed TLV of a known tag, of any size
        tag = KNOWN_TAGS[at % len(KNOWN_TAGS)]
        body = (blob * (1 + value % 200))[: value % 6000]
        return _framed(frame + struct.pack(">HH", tag, len(body)) + body)
    if how == JUNK_BODY:
        return _framed(frame[:16] + blob)
    if how == LENGTH:  # command_length no longer says the truth
        out = bytearray(frame)
        struct.pack_into(">I", out, 0, value % 0x20000)
        return bytes(out)
    raise ValueError(how)


def mutation(hows: tuple[int, ...]) -> st.SearchStrategy[tuple[int, int, int, bytes]]:
    return st.tuples(
        st.sampled_from(hows),
        st.integers(0, 1 << 16),
        st.integers(0, 1 << 16),
        st.binary(max_size=80),
    )


@st.composite
def mutated_frame(draw: st.DrawFn, hows: tuple[int, ...] = KEEPS_FRAMING + LOSES_FRAMING) -> bytes:
    """A valid PDU, encoded, then mutated once or twice: any kind (`smpp_strategies`)
    or, as often and cheaper to draw, one of those the two ends really exchange."""
    frame = draw(valid_frame)
    for _ in range(draw(st.integers(1, 2))):
        how, at, value, blob = draw(mutation(hows))
        frame = mutate(frame, how, at, value, blob)
    return frame




def _from_smsc(index: int) -> Pdu:
    """Requests an SMSC sends an ESME, in turn: receipts (TLV and text), data_sm,
    enquire_link, alert_notification."""
    sequence = 50_000 + index
    state = Tlv(Tag.MESSAGE_STATE, bytes((MessageState.DELIVERED,)))
    kinds: list[Pdu] = [
        DeliverSm(esm_class=ESM_DELIVERY_RECEIPT, sequence=sequence,
                  tlvs=(Tlv(Tag.RECEIPTED_MESSAGE_ID, b"90000001\0"), state)),
        DeliverSm(esm_class=ESM_DELIVERY_RECEIPT, sequence=sequence,
                  short_message=b"id:90000002 sub:001 dlvrd:001 stat:DELIVRD err:000 text:x"),
        DataSm(esm_class=ESM_DELIVERY_RECEIPT, sequence=sequence,
               tlvs=(Tlv(Tag.RECEIPTED_MESSAGE_ID, b"90000003\0"), state)),
        DeliverSm(source_addr="24106000001", short_message=b"STOP", sequence=sequence),
        EnquireLink(sequence=sequence),
        AlertNotification(source_addr="24106000001", sequence=sequence),
    ]
    return kinds[index % len(kinds)]


def _from_esme(index: int) -> Pdu:
    """Requests an ESME sends an SMSC, in turn: submit_sm, data_sm, enquire_link,
    and a stray response."""
    sequence = 50_000 + index
    kinds: list[Pdu] = [
        SubmitSm(source_addr="ION", destination_addr="24106000001", short_message=b"hi",
                 sequence=sequence),
        DataSm(destination_addr="24106000001", sequence=sequence,
               tlvs=(Tlv(Tag.MESSAGE_PAYLOAD, b"hello"),)),
        EnquireLink(sequence=sequence),
        SubmitSmResp(message_id="1", sequence=sequence),
    ]
    return kinds[index % len(kinds)]


def random_frames(seed: int, count: int, *, from_smsc: bool) -> list[bytes]:
    """`count` frames, each a PDU a peer of that side sends, mutated without losing
    the framing, drawn from `random.Random(seed)`. No mutation that keeps the framing
    touches the command_id, so none of them turns into an unbind."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    make = _from_smsc if from_smsc else _from_esme
    return [
        mutate(
            encode(make(index)), rng.choice(KEEPS_FRAMING),
            rng.randrange(1 << 16), rng.randrange(1 << 16), rng.randbytes(40),
        )
        for index in range(count)
    ]


valid_frame = st.one_of(
    st.builds(encode, any_pdu),
    st.integers(0, 11).map(lambda i: encode(_from_smsc(i) if i < 6 else _from_esme(i))),
)
framed_mutation = mutated_frame(KEEPS_FRAMING)
"""A mutated frame whose command_length still matches it (the link must survive it)."""

any_frame = st.one_of(valid_frame, mutated_frame(), st.binary(max_size=64))
