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
from pathlib import Path
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
from installer_app.simulator.config import SimulatorConfig, parse_command_name
from installer_app.simulator.faults import Counters, Faults
from installer_app.simulator.flash import Flash, FlashFile, SimulatorStateError, random_hw_id
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


class Board:
    """One simulated board's whole state, its UART output and its flash, in one place.

    The parts that act on it each take it in their constructor: ``network.Network`` (Wi-Fi and
    WeCom state), ``power.Power`` (boot, noise), ``commands.Commands`` (the command handlers), and
    ``device_simulator.DeviceSimulator`` (request pipeline, public API) puts them together. Every
    method here, and every touch of these fields, runs with ``lock`` held.
    """

    def __init__(
        self,
        config: SimulatorConfig,
        state_file: Path | None,
        send: SendFn,
        *,
        on_unplug: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.on_unplug = on_unplug  # worker thread, lock held: must not block
        self.lock = threading.RLock()
        self.rng = random.Random(config.seed)
        self._send_raw = send
        # Flash: survives a restart (the state file).
        self.file = FlashFile(state_file)
        flash = self.file.load()
        if flash is None:
            flash = Flash(hw_id=config.hw_id or random_hw_id())
            self.file.save(flash)
        elif config.hw_id is not None and config.hw_id != flash.hw_id:
            flash.hw_id = config.hw_id  # an explicit HW_ID wins over the file's
            self.file.save(flash)
        self.flash = flash
        # RAM: lost at a restart.
        self.staged: tuple[str, Secret] | None = None
        self.net = NetState.DOWN
        self.wecom = WecomState.IDLE
        self.decoder = FrameDecoder()
        self.rx: deque[Frame] = deque()
        self.last: LastResponse | None = None  # the replay cache
        self.busy_until = 0.0
        self.booting = False
        self.boot_time = time.monotonic()
        self.identify_until = 0.0
        self.closed = False
        # Bumped at each restart (network re-join, WeCom step): work scheduled before is dropped.
        self.power_gen = 0
        self.net_gen = 0
        self.wecom_gen = 0
        # Faults to come and what happened, for tests.
        self.faults = Faults(
            drop_next=config.drop_next,
            corrupt_next=config.corrupt_next,
            flash_fail_next=config.flash_fail_next,
            busy_next=config.busy_next,
            unplug_on=parse_command_name(config.unplug_on) if config.unplug_on else None,
        )
        self.counters = Counters()
        self.timers = Timers(self.lock, name=f"sim-{self.hw_id_hex}")

    @property
    def hw_id_hex(self) -> str:
        return self.flash.hw_id.hex()

    def state(self) -> DeviceState:
        if self.flash.sn is not None:
            return DeviceState.PROVISIONED
        return DeviceState.STAGED if self.staged is not None else DeviceState.BLANK

    def current_sn(self) -> str | None:
        if self.staged is not None:
            return self.staged[0]
        return self.flash.sn

    def ms(self) -> int:
        return int((time.monotonic() - self.boot_time) * 1000)

    def send(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            self._send_raw(data)
        except OSError as exc:  # the port went away under us: a UART just loses the bytes
            log.debug("simulator output lost: %s", exc)

    def log_line(self, level: str, tag: str, text: str, newline: bool = True) -> None:
        """A line of the board's human-readable log on the UART."""
        line = f"{level} ({self.ms()}) {tag}: {text}" + ("\r\n" if newline else "")
        self.send(line.encode("utf-8", errors="replace"))

    def if_powered(self, gen: int, fn: Callable[..., None], *args: Any) -> None:
        if gen == self.power_gen and not self.closed:
            fn(*args)

    def store(self, flash: Flash) -> None:
        """Write ``flash`` and make it current; FLASH_FAIL (nothing changed) when writing fails."""
        try:
            self.file.save(flash)
        except SimulatorStateError:
            log.exception("simulator flash write failed")
            raise Reject(ErrorCode.FLASH_FAIL, ERROR_TEXT[ErrorCode.FLASH_FAIL]) from None
        self.flash = flash

    # ----------------------------------------------------------------- events, network, WeCom
    def state_fields(self) -> list[tuple[int, bytes]]:
        out: list[tuple[int, bytes]] = [
            (Tag.NET_STATE, bytes([self.net])),
            (Tag.WECOM_STATE, bytes([self.wecom])),
        ]
        if self.wecom == WecomState.BOUND:
            out.append((Tag.CORP_NAME, cut_utf8(self.flash.bound_corp or "", CORP_NAME_MAX)))
        return out

    def event(self, code: EventCode) -> None:
        payload = _encode_tlv([(Tag.EVENT_CODE, bytes([code])), *self.state_fields()])
        self.send(encode_frame(FrameType.EVENT, EVENT_SEQ, payload))


@dataclass
class LastResponse:
    """The replay cache: the last request's seq and type, and the exact bytes answered."""

    seq: int
    type: int
    frame: bytes
