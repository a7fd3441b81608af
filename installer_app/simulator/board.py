"""The shared core of the simulated board: its state, UART output, flash writes and EVENT frames,
and the rules of what it reports (state fields, error texts).
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from installer_app.device.codec import Frame, FrameDecoder, encode_frame
from installer_app.device.codec import encode_tlv as _encode_tlv
from installer_app.device.protocol import (
    EVENT_SEQ,
    DeviceState,
    ErrorCode,
    EventCode,
    FrameType,
    NetState,
    Tag,
    WecomState,
)
from installer_app.secrets import Secret
from installer_app.simulator.config import SimulatorConfig
from installer_app.simulator.faults import Counters, Faults
from installer_app.simulator.flash import Flash, FlashFile, SimulatorStateError
from installer_app.simulator.timers import Timers

log = logging.getLogger("installer_app.simulator")


SendFn = Callable[[bytes], None]

CORP_NAME_MAX = 128
MESSAGE_MAX = 200

HEX64_RE = re.compile(r"[0-9A-Fa-f]{64}")


def cut_utf8(text: str, limit: int) -> bytes:
    """UTF-8 bytes of ``text`` cut to at most ``limit`` bytes at a character boundary."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return data
    return data[:limit].decode("utf-8", errors="ignore").encode("utf-8")


def wpa_psk(passphrase: str, ssid: str) -> str:
    """The raw WPA key (64 hex digits) a passphrase stands for: PBKDF2-HMAC-SHA1, 4096 rounds."""
    key = hashlib.pbkdf2_hmac("sha1", passphrase.encode(), ssid.encode(), 4096, 32)
    return key.hex()


class Reject(Exception):
    """Answer the request with ERROR ``code``."""

    def __init__(self, code: ErrorCode, message: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


ERROR_TEXT = {
    ErrorCode.BAD_FRAME: "malformed payload",
    ErrorCode.UNKNOWN_COMMAND: "unknown command",
    ErrorCode.BAD_VALUE: "bad value",
    ErrorCode.LOCKED: "provisioned with a different credential",
    ErrorCode.NOT_STAGED: "no credential staged or stored",
    ErrorCode.FLASH_FAIL: "flash write failed, nothing stored",
    ErrorCode.BUSY: "busy, try again after 200 ms",
}


class BoardCore:
    """What every part of the board shares: its state, its UART output and its flash.

    ``DeviceSimulator`` sets all of it up; the layers in between (network, power, commands) each
    add one concern. Every method here runs with ``_lock`` held.
    """

    config: SimulatorConfig
    faults: Faults
    counters: Counters
    _send_raw: SendFn
    _on_unplug: Callable[[], None] | None
    _lock: threading.RLock
    _rng: random.Random
    _timers: Timers
    _file: FlashFile
    _flash: Flash
    _staged: tuple[str, Secret] | None
    _net: NetState
    _wecom: WecomState
    _decoder: FrameDecoder
    _rx: deque[Frame]
    _last: LastResponse | None
    _busy_until: float
    _booting: bool
    _boot_time: float
    _power_gen: int  # bumped at each restart: work scheduled before it is dropped
    _net_gen: int
    _wecom_gen: int
    _identify_until: float
    _closed: bool
    _probe_stop: threading.Event

    @property
    def hw_id_hex(self) -> str:
        return self._flash.hw_id.hex()

    def _state(self) -> DeviceState:
        if self._flash.sn is not None:
            return DeviceState.PROVISIONED
        return DeviceState.STAGED if self._staged is not None else DeviceState.BLANK

    def _current_sn(self) -> str | None:
        if self._staged is not None:
            return self._staged[0]
        return self._flash.sn

    def _ms(self) -> int:
        return int((time.monotonic() - self._boot_time) * 1000)

    def _send(self, data: bytes) -> None:
        if self._closed:
            return
        try:
            self._send_raw(data)
        except OSError as exc:  # the port went away under us: a UART just loses the bytes
            log.debug("simulator output lost: %s", exc)

    def _log(self, level: str, tag: str, text: str, newline: bool = True) -> None:
        """A line of the board's human-readable log on the UART."""
        line = f"{level} ({self._ms()}) {tag}: {text}" + ("\r\n" if newline else "")
        self._send(line.encode("utf-8", errors="replace"))

    def _if_powered(self, gen: int, fn: Callable[..., None], *args: Any) -> None:
        if gen == self._power_gen and not self._closed:
            fn(*args)

    def _store(self, flash: Flash) -> None:
        """Write ``flash`` and make it current; FLASH_FAIL (nothing changed) when writing fails."""
        try:
            self._file.save(flash)
        except SimulatorStateError:
            log.exception("simulator flash write failed")
            raise Reject(ErrorCode.FLASH_FAIL, ERROR_TEXT[ErrorCode.FLASH_FAIL]) from None
        self._flash = flash

    # ----------------------------------------------------------------- events, network, WeCom
    def _state_fields(self) -> list[tuple[int, bytes]]:
        out: list[tuple[int, bytes]] = [
            (Tag.NET_STATE, bytes([self._net])),
            (Tag.WECOM_STATE, bytes([self._wecom])),
        ]
        if self._wecom == WecomState.BOUND:
            out.append((Tag.CORP_NAME, cut_utf8(self._flash.bound_corp or "", CORP_NAME_MAX)))
        return out

    def _event(self, code: EventCode) -> None:
        payload = _encode_tlv([(Tag.EVENT_CODE, bytes([code])), *self._state_fields()])
        self._send(encode_frame(FrameType.EVENT, EVENT_SEQ, payload))


@dataclass
class LastResponse:
    """The replay cache: the last request's seq and type, and the exact bytes answered."""

    seq: int
    type: int
    frame: bytes
