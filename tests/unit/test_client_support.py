"""A scripted fake device on a real pty pair, for the client's edge cases.

Not the simulator: a test gives a ``handler(frame) -> bytes | list[bytes] | None`` that decides,
frame by frame, what goes back (nothing, garbage, an event, a stray frame, the answer), so each
edge of the client is hit exactly. The client talks to the pty's slave end like to any port.
"""

from __future__ import annotations

import os
import pty
import select
import threading
import tty
from collections.abc import Callable

from installer_app.device.codec import Frame, FrameDecoder, encode_frame, encode_tlv
from installer_app.device.protocol import RESPONSE_BIT, Command, FrameType, Tag

Reply = bytes | list[bytes] | None
Handler = Callable[[Frame], Reply]

HW_ID = bytes.fromhex("240ac4123456")


def hello_payload(state: int = 0, sn: str | None = None, proto: int = 1) -> bytes:
    fields = [
        (Tag.PROTO, bytes([proto])),
        (Tag.MODEL_ID, b"WX-ATT-200"),
        (Tag.FW_VERSION, b"1.4.2"),
        (Tag.HW_ID, HW_ID),
        (Tag.STATE, bytes([state])),
    ]
    if sn is not None:
        fields.append((Tag.SN, sn.encode()))
    return encode_tlv(fields)


def response(frame: Frame, payload: bytes = b"") -> bytes:
    return encode_frame(frame.type | RESPONSE_BIT, frame.seq, payload)


def error(frame: Frame, code: int, message: bytes | None = None) -> bytes:
    fields = [(Tag.ERROR_CODE, bytes([code]))]
    if message is not None:
        fields.append((Tag.MESSAGE, message))
    return encode_frame(FrameType.ERROR, frame.seq, encode_tlv(fields))


def event(code: int, net: int = 0, wecom: int = 0, seq: int = 0) -> bytes:
    payload = encode_tlv(
        [
            (Tag.EVENT_CODE, bytes([code])),
            (Tag.NET_STATE, bytes([net])),
            (Tag.WECOM_STATE, bytes([wecom])),
        ]
    )
    return encode_frame(FrameType.EVENT, seq, payload)


def default_handler(frame: Frame) -> Reply:
    """A well-behaved BLANK board that answers every command with an empty OK."""
    if frame.type == Command.HELLO:
        return response(frame, hello_payload())
    if frame.type == Command.STATUS:
        payload = encode_tlv([(Tag.NET_STATE, b"\x00"), (Tag.WECOM_STATE, b"\x00")])
        return response(frame, payload)
    return response(frame)


class FakeDevice:
    """Serves ``handler`` on the master side of a fresh pty; ``url`` is the slave's path."""

    def __init__(self, handler: Handler = default_handler) -> None:
        self.handler = handler
        self.master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        self.url = os.ttyname(self._slave)
        self.received: list[Frame] = []
        self._lock = threading.Lock()
        self._stop_r, self._stop_w = os.pipe()
        self._stop_lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="fake-device")
        self._thread.start()

    def frames(self) -> list[Frame]:
        with self._lock:
            return list(self.received)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def _serve(self) -> None:
        decoder = FrameDecoder()
        while True:
            ready, _, _ = select.select([self.master, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            for frame in decoder.feed(data):
                with self._lock:
                    self.received.append(frame)
                reply = self.handler(frame)
                for chunk in [reply] if isinstance(reply, bytes) else reply or []:
                    os.write(self.master, chunk)

    def unplug(self) -> None:
        """Close the master: the client's next read fails like a USB bridge pulled out."""
        self.stop()

    def stop(self) -> None:
        # Under a lock: a test's unplug thread and the fixture's teardown may both stop it, and
        # closing the fds twice would close whatever reused those numbers meanwhile.
        with self._stop_lock:
            if self._stop_w < 0:
                return
            os.write(self._stop_w, b"x")
            self._thread.join(timeout=30)
            for fd in (self.master, self._slave, self._stop_r, self._stop_w):
                os.close(fd)
            self._stop_w = -1
