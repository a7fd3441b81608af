"""Frames, TLV fields and CRC of the provisioning serial protocol.

Pure functions and one incremental decoder; no I/O. Byte-exact against the spec's test vectors
(tests/unit/test_codec.py).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from installer_app.device.protocol import CRC_LEN, HEADER_LEN, MAGIC, MAX_PAYLOAD, VERSION


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, xorout 0."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


class MalformedPayload(ValueError):
    """A payload whose TLV fields are broken: a duplicate tag or a field past the end."""


def encode_tlv(fields: Iterable[tuple[int, bytes]] | Mapping[int, bytes]) -> bytes:
    """Encode fields in the order given. Raises ValueError on a value over 255 bytes or a
    duplicate tag, since a device would reject the frame anyway."""
    items = fields.items() if isinstance(fields, Mapping) else fields
    out = bytearray()
    seen: set[int] = set()
    for tag, value in items:
        if not 0 <= tag <= 0xFF:
            raise ValueError(f"tag {tag} out of range")
        if tag in seen:
            raise ValueError(f"duplicate tag {tag:#04x}")
        if len(value) > 0xFF:
            raise ValueError(f"field {tag:#04x} is {len(value)} bytes, at most 255 fit")
        seen.add(tag)
        out += bytes((tag, len(value))) + value
    return bytes(out)


def decode_tlv(payload: bytes) -> dict[int, bytes]:
    """Decode TLV fields; unknown tags are kept (callers ignore what they do not know)."""
    fields: dict[int, bytes] = {}
    pos = 0
    while pos < len(payload):
        if pos + 2 > len(payload):
            raise MalformedPayload("field header runs past the payload's end")
        tag, length = payload[pos], payload[pos + 1]
        start, end = pos + 2, pos + 2 + length
        if end > len(payload):
            raise MalformedPayload(f"field {tag:#04x} runs past the payload's end")
        if tag in fields:
            raise MalformedPayload(f"duplicate tag {tag:#04x}")
        fields[tag] = payload[start:end]
        pos = end
    return fields


@dataclass(frozen=True)
class Frame:
    """One decoded frame. ``payload`` is the raw TLV bytes; ``fields()`` decodes them."""

    type: int
    seq: int
    payload: bytes = b""
    version: int = VERSION

    def fields(self) -> dict[int, bytes]:
        return decode_tlv(self.payload)


def encode_frame(frame_type: int, seq: int, payload: bytes = b"", version: int = VERSION) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = struct.pack("<BBBH", version, frame_type, seq, len(payload)) + payload
    return MAGIC + body + struct.pack("<H", crc16_ccitt_false(body))


@dataclass
class FrameDecoder:
    """Incremental receiver: feed it whatever a read returned, get the complete frames back.

    Everything that is not a valid frame (log text, garbage, a frame of another version, a
    corrupted frame) is skipped. A rejected candidate is abandoned at the byte after its ``A5``,
    because a log line may itself contain ``A5``. Skipped bytes are kept in ``skipped`` so a
    caller can show the device's log.
    """

    _buf: bytearray = field(default_factory=bytearray)
    skipped: bytearray = field(default_factory=bytearray)
    max_skipped: int = 64 * 1024

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames: list[Frame] = []
        while True:
            start = self._buf.find(MAGIC)
            if start < 0:
                # Keep a trailing A5: it may be the first half of a magic split across reads.
                keep = 1 if self._buf.endswith(MAGIC[:1]) else 0
                self._skip(len(self._buf) - keep)
                return frames
            self._skip(start)
            if len(self._buf) < HEADER_LEN:
                return frames
            version, frame_type, seq, length = struct.unpack_from("<BBBH", self._buf, 2)
            if version != VERSION or length > MAX_PAYLOAD:
                self._skip(1)
                continue
            total = HEADER_LEN + length + CRC_LEN
            if len(self._buf) < total:
                return frames
            body = bytes(self._buf[2 : HEADER_LEN + length])
            (crc,) = struct.unpack_from("<H", self._buf, HEADER_LEN + length)
            if crc != crc16_ccitt_false(body):
                self._skip(1)
                continue
            frames.append(Frame(frame_type, seq, body[5:], version))
            del self._buf[:total]

    def abandon_partial(self) -> list[Frame]:
        """Give up on an incomplete candidate at the head of the buffer and rescan after its A5.

        A log line holding ``A5 5A 01`` and a plausible length would otherwise hold the receiver
        waiting for bytes that never come; the client calls this when a response times out.
        """
        if self._buf.startswith(MAGIC):
            self._skip(1)
        return self.feed(b"")

    def take_skipped(self) -> bytes:
        """Return and forget the bytes skipped so far (the device's log text, mostly)."""
        out = bytes(self.skipped)
        self.skipped.clear()
        return out

    def reset(self) -> None:
        self._buf.clear()
        self.skipped.clear()

    def _skip(self, n: int) -> None:
        if n <= 0:
            return
        self.skipped += self._buf[:n]
        if len(self.skipped) > self.max_skipped:
            del self.skipped[: len(self.skipped) - self.max_skipped]
        del self._buf[:n]
