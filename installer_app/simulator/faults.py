"""Fault injection for the simulated board: what is still to come (drop, corrupt, flash failure,
BUSY, unplug), what has happened (counters), and the garbage it can put on the wire.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from installer_app.device.protocol import Command

NOISE_LINES: tuple[bytes, ...] = (
    b"I (%d) wifi: rssi=-61 ch=6 bcn_timeout=0\r\n",
    b"D (%d) uart: rx fifo watermark, last byte \xa5\r\n",
    b"W (%d) heap: free=%d largest=\xa5\x5a\x02 blocks",  # no newline, A5 5A then not version 1
    b"D (%d) prov: dump \xa5\x5a\x01\x06\x07\x02\x00 end\r\n",  # looks like a header; bad CRC
    b"I (%d) sensor: temp=23.5C hum=41%%\r\n",
    b"\xa5\xa5\xa5",
    b"E (%d) mqtt: keepalive late by %d ms\r\n",
)


@dataclass
class Faults:
    drop_next: int = 0
    corrupt_next: int = 0
    flash_fail_next: int = 0
    busy_next: int = 0
    unplug_on: Command | None = None


@dataclass
class Counters:
    executed: Counter[Command] = field(default_factory=Counter)
    replayed: int = 0
    dropped: int = 0
    corrupted: int = 0
    busy: int = 0


def corrupt(data: bytes, rng: random.Random) -> bytes:
    """``data`` with one byte of type, seq, payload or CRC flipped.

    Never magic, version or length, so a host sees a whole frame whose CRC fails rather than
    waiting for bytes that never come."""
    positions = [3, 4, *range(7, len(data))]
    pos = rng.choice(positions)
    out = bytearray(data)
    out[pos] ^= rng.randrange(1, 256)
    return bytes(out)


def noise_line(rng: random.Random, ms: int) -> bytes:
    """One line of log noise, some holding A5 or A5 5A (a frame's magic)."""
    template = rng.choice(NOISE_LINES)
    count = template.count(b"%d")
    values = (ms, *(rng.randrange(1000, 99999) for _ in range(count - 1)))
    return template % values[:count] if count else template
