"""Cutting a TCP byte stream into SMPP PDUs.

`PduReader` owns a receive buffer and nothing else: bytes in, complete frames or
decoded PDUs out, whatever the chunking of the stream. It does no I/O.
"""

from __future__ import annotations

from struct import Struct

from .codec import HEADER, HEADER_SIZE, SmppDecodeError, decode
from .pdu import Pdu

_length_unpack = Struct(">I").unpack_from


class PduReader:
    """Buffers stream bytes and returns every complete PDU.

    A command_length under 16 or over `max_command_length` raises `SmppDecodeError`;
    the stream cannot be resynchronised after it, and every later call raises the same
    error. A frame whose body does not decode (`feed` only) is consumed and raises
    `SmppDecodeError`; the frames after it stay buffered (`feed(b"")` returns them).
    Either way, what was read successfully before the fault in the same call is on the
    error's `frames` / `pdus`.
    """

    __slots__ = ("_buffer", "_max", "_broken")

    def __init__(self, max_command_length: int = 65536) -> None:
        if max_command_length < HEADER_SIZE:
            raise ValueError("max_command_length must be at least 16")
        self._buffer = bytearray()
        self._max = max_command_length
        self._broken: SmppDecodeError | None = None

    @property
    def buffered(self) -> int:
        """Octets received but not yet returned as a frame."""
        return len(self._buffer)

    def _split(self, data: bytes) -> tuple[list[bytes], SmppDecodeError | None]:
        if self._broken is not None:
            return [], self._broken
        buf = self._buffer
        buf += data
        frames: list[bytes] = []
        pos = 0
        end = len(buf)
        limit = self._max
        while end - pos >= 4:
            (length,) = _length_unpack(buf, pos)
            if length < HEADER_SIZE or length > limit:
                error = SmppDecodeError(f"command_length {length} outside 16..{limit}")
                if end - pos >= HEADER_SIZE:
                    _, error.command_id, _, error.sequence = HEADER.unpack_from(buf, pos)
                self._broken = error
                del buf[:pos]
                return frames, error
            if end - pos < length:
                break
            frames.append(bytes(buf[pos : pos + length]))
            pos += length
        if pos:
            del buf[:pos]
        return frames, None

    def feed_frames(self, data: bytes) -> list[bytes]:
        """Append `data`; return every complete raw frame (header included), in order."""
        frames, error = self._split(data)
        if error is not None:
            error.frames = frames
            error.pdus = []
            raise error
        return frames

    def feed(self, data: bytes) -> list[Pdu]:
        """Append `data`; return every complete PDU, decoded, in order."""
        frames, fatal = self._split(data)
        pdus: list[Pdu] = []
        for index, frame in enumerate(frames):
            try:
                pdus.append(decode(frame))
            except SmppDecodeError as exc:
                # Later frames go back in front of the buffer; a bad command_length
                # after them is still buffered and is reported again on the next call.
                self._buffer[:0] = b"".join(frames[index + 1 :])
                self._broken = None
                exc.frames = frames[:index]
                exc.pdus = pdus
                raise
        if fatal is not None:
            fatal.frames = frames
            fatal.pdus = pdus
            raise fatal
        return pdus
