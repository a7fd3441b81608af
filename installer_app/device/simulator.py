"""A simulated board: the device side of the provisioning serial protocol, version 1.

``DeviceSimulator`` receives the host's bytes through ``feed()`` and answers through the ``send``
callable it was given, exactly as ``shared/specs/device-protocol.md`` says: states BLANK, STAGED and
PROVISIONED, a flash (the state file, written atomically) that survives a restart, the replay
cache, every ERROR code, REBOOT with a boot log, FACTORY_RESET, Wi-Fi join and WeCom state changes
with their EVENT frames. Fault injection (log noise, dropped requests, corrupted responses, flash
failure, BUSY, unplug in the middle of a command) makes the host's error paths testable. Behaviour
the spec leaves open is written down in docs/device-simulator.md.

Threads: one worker thread runs the timed work (delayed responses, boot, Wi-Fi join, noise); an
optional second one polls the binding probe. Every touch of the board's state and every call of
``send`` happens under one lock, so ``feed()`` may be called from any reader thread.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import os
import random
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from installer_app.device.codec import Frame, FrameDecoder, MalformedPayload, encode_frame
from installer_app.device.codec import encode_tlv as _encode_tlv
from installer_app.device.protocol import (
    EVENT_SEQ,
    RESPONSE_BIT,
    Command,
    DeviceState,
    ErrorCode,
    EventCode,
    FrameType,
    NetState,
    Tag,
    WecomState,
)
from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.secrets import Secret

log = logging.getLogger(__name__)

SendFn = Callable[[bytes], None]
BindingProbe = Callable[[str], str | None]

STATE_FILE_FORMAT = 1
MAX_COMMIT_LATENCY_S = 1.5
CORP_NAME_MAX = 128
MESSAGE_MAX = 200
REBOOT_RESTART_DELAY_S = 0.02  # "restarts within 100 ms" of its answer

_SN_RE = re.compile(rb"[0-9A-Za-z]{1,128}")
_SECRET_RE = re.compile(rb"[\x21-\x7e]{1,128}")
_HEX64_RE = re.compile(r"[0-9A-Fa-f]{64}")


class SimulatorStateError(InstallerError):
    """The simulator's state file cannot be read or written."""

    exit_code = ExitCode.USAGE


@dataclass
class SimulatorConfig:
    """How the simulated board looks and misbehaves. Times are in seconds."""

    model_id: str = "WX-ATT-200"
    fw_version: str = "1.4.2"
    hw_id: bytes | None = None  # None: the state file's, else 6 fresh random bytes
    proto: int = 1
    latency_s: float = 0.0  # before each response
    commit_latency_s: float = 0.2  # flash write time of a COMMIT (the spec allows 1.5 s in all)
    boot_s: float = 0.5  # boot log and deaf time after power-on or REBOOT (the spec allows 3 s)
    wifi: bool = True  # False: SET_WIFI is UNKNOWN_COMMAND and the board is online by ethernet
    wifi_join_s: float = 1.0  # from (re)join to ONLINE; LINK_UP comes half-way
    known_networks: dict[str, str] | None = None  # SSID -> passphrase; None: every network joins
    binding_probe: BindingProbe | None = None  # SN -> corp name once bound, None while unbound
    probe_interval_s: float = 1.0
    wecom_step_s: float = 0.1  # ONLINE -> REGISTERED -> WAITING_BIND
    identify_s: float = 5.0
    error_messages: bool = True  # add a MESSAGE field to ERROR responses
    # Fault injection
    noise: bool = False  # log lines at random times, some holding A5 and A5 5A
    noise_interval_s: float = 0.3  # mean time between noise lines
    drop_rate: float = 0.0  # share of requests silently ignored
    drop_next: int = 0  # the next n requests are silently ignored
    corrupt_rate: float = 0.0  # share of responses sent with a flipped byte (CRC fails)
    corrupt_next: int = 0
    flash_fail_next: int = 0  # the next n COMMITs that write flash fail with FLASH_FAIL
    busy_next: int = 0  # the next n requests are answered BUSY
    unplug_on: str | None = None  # command name: the port vanishes while executing it (once)
    replug_after_s: float | None = 1.0  # a server re-plugs this long after unplug_on fired
    seed: int | None = None  # makes noise, drop and corruption reproducible

    def __post_init__(self) -> None:
        if not (1 <= len(self.model_id) <= 64 and self.model_id.isascii()):
            raise ValueError("model_id must be 1..64 ASCII characters")
        if not (1 <= len(self.fw_version) <= 32 and self.fw_version.isascii()):
            raise ValueError("fw_version must be 1..32 ASCII characters")
        if self.hw_id is not None and not 6 <= len(self.hw_id) <= 16:
            raise ValueError("hw_id must be 6..16 bytes")
        if not 1 <= self.proto <= 255:
            raise ValueError("proto must be 1..255")
        if not 0 <= self.commit_latency_s < MAX_COMMIT_LATENCY_S:
            raise ValueError("commit_latency_s must be at least 0 and under 1.5 s")
        for name in ("latency_s", "boot_s", "wifi_join_s", "wecom_step_s", "identify_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.probe_interval_s <= 0 or self.noise_interval_s <= 0:
            raise ValueError("intervals must be positive")
        for name in ("drop_rate", "corrupt_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        for name in ("drop_next", "corrupt_next", "flash_fail_next", "busy_next"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.unplug_on is not None:
            self.unplug_on = parse_command_name(self.unplug_on).name


def parse_command_name(name: str) -> Command:
    """``"commit"`` or ``"COMMIT"`` -> Command.COMMIT; ValueError for an unknown name."""
    try:
        return Command[name.strip().upper().replace("-", "_")]
    except KeyError:
        known = ", ".join(c.name for c in Command)
        raise ValueError(f"unknown command {name!r} (one of {known})") from None


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


@dataclass
class _Flash:
    """What survives a power cycle."""

    hw_id: bytes
    sn: str | None = None
    secret_no: Secret | None = None
    ssid: str | None = None
    psk: Secret | None = None
    bound_corp: str | None = None  # last binding the board heard of, cached like firmware does


class _FlashFile:
    """The board's flash as a JSON file replaced atomically, or RAM only when there is no file.

    The file holds SECRET_NO and the PSK as the board's flash would: it is created owner-only.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def load(self) -> _Flash | None:
        if self.path is None or not self.path.exists():
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            cred = data.get("credential") or {}
            wifi = data.get("wifi") or {}
            return _Flash(
                hw_id=bytes.fromhex(data["hw_id"]),
                sn=cred.get("sn"),
                secret_no=Secret(cred["secret_no"]) if cred.get("secret_no") else None,
                ssid=wifi.get("ssid"),
                psk=Secret(wifi.get("psk", "")) if wifi.get("ssid") else None,
                bound_corp=data.get("bound_corp"),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SimulatorStateError(
                Message(
                    QT_TRANSLATE_NOOP("device", "The simulator's state file {path} is unreadable."),
                    path=str(self.path),
                ),
                Message(
                    QT_TRANSLATE_NOOP(
                        "device", "Delete it to start with a blank board, or pass another file."
                    )
                ),
            ) from exc

    def save(self, flash: _Flash) -> None:
        if self.path is None:
            return
        data: dict[str, Any] = {
            "format": STATE_FILE_FORMAT,
            "hw_id": flash.hw_id.hex(),
            "credential": (
                {"sn": flash.sn, "secret_no": flash.secret_no.reveal()}
                if flash.sn is not None and flash.secret_no is not None
                else None
            ),
            "wifi": (
                {"ssid": flash.ssid, "psk": flash.psk.reveal() if flash.psk else ""}
                if flash.ssid is not None
                else None
            ),
            "bound_corp": flash.bound_corp,
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            raise SimulatorStateError(
                Message(
                    QT_TRANSLATE_NOOP("device", "Cannot write the simulator's state file {path}."),
                    path=str(self.path),
                ),
                Message(QT_TRANSLATE_NOOP("device", "Check the folder exists and is writable.")),
            ) from exc


class _Timers:
    """One worker thread running timed callables in order, each under the owner's lock."""

    def __init__(self, lock: threading.RLock, name: str) -> None:
        self._cond = threading.Condition(lock)
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._counter = itertools.count()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def call_at(self, when: float, fn: Callable[[], None]) -> None:
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._counter), fn))
            self._cond.notify()

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        self.call_at(time.monotonic() + delay, fn)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        with self._cond:
            while not self._stopped:
                if not self._heap:
                    self._cond.wait()
                    continue
                delay = self._heap[0][0] - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                _, _, fn = heapq.heappop(self._heap)
                try:
                    fn()
                except Exception:
                    log.exception("simulator task failed")


class _Reject(Exception):
    """Answer the request with ERROR ``code``."""

    def __init__(self, code: ErrorCode, message: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_NOISE_LINES: tuple[bytes, ...] = (
    b"I (%d) wifi: rssi=-61 ch=6 bcn_timeout=0\r\n",
    b"D (%d) uart: rx fifo watermark, last byte \xa5\r\n",
    b"W (%d) heap: free=%d largest=\xa5\x5a\x02 blocks",  # no newline, A5 5A then not version 1
    b"D (%d) prov: dump \xa5\x5a\x01\x06\x07\x02\x00 end\r\n",  # looks like a header; bad CRC
    b"I (%d) sensor: temp=23.5C hum=41%%\r\n",
    b"\xa5\xa5\xa5",
    b"E (%d) mqtt: keepalive late by %d ms\r\n",
)

_ERROR_TEXT = {
    ErrorCode.BAD_FRAME: "malformed payload",
    ErrorCode.UNKNOWN_COMMAND: "unknown command",
    ErrorCode.BAD_VALUE: "bad value",
    ErrorCode.LOCKED: "provisioned with a different credential",
    ErrorCode.NOT_STAGED: "no credential staged or stored",
    ErrorCode.FLASH_FAIL: "flash write failed, nothing stored",
    ErrorCode.BUSY: "busy, try again after 200 ms",
}


@dataclass
class _LastResponse:
    seq: int
    type: int
    frame: bytes


@dataclass
class _Faults:
    drop_next: int = 0
    corrupt_next: int = 0
    flash_fail_next: int = 0
    busy_next: int = 0
    unplug_on: Command | None = None


@dataclass
class _Counters:
    executed: Counter[Command] = field(default_factory=Counter)
    replayed: int = 0
    dropped: int = 0
    corrupted: int = 0
    busy: int = 0


class DeviceSimulator:
    """One simulated board. Construct it with its configuration, its flash file (None: RAM only)
    and where its UART output goes.

    A new simulator is a board that has been powered for a while: it settles into its network and
    WeCom state at once, without events. ``power_cycle()`` boots it as if just plugged in.
    ``on_unplug`` is called (from the worker thread, with the simulator's lock held, so it must not
    block) when ``unplug_on`` fires; servers close the port then.
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
        self._send_raw = send
        self._on_unplug = on_unplug
        self._lock = threading.RLock()
        self._rng = random.Random(config.seed)
        self._file = _FlashFile(state_file)
        flash = self._file.load()
        if flash is None:
            flash = _Flash(hw_id=config.hw_id or _random_hw_id())
            self._file.save(flash)
        elif config.hw_id is not None and config.hw_id != flash.hw_id:
            flash.hw_id = config.hw_id  # an explicit HW_ID wins over the file's
            self._file.save(flash)
        self._flash = flash
        self._staged: tuple[str, Secret] | None = None
        self._net = NetState.DOWN
        self._wecom = WecomState.IDLE
        self._decoder = FrameDecoder()
        self._rx: deque[Frame] = deque()
        self._last: _LastResponse | None = None
        self._busy_until = 0.0
        self._booting = False
        self._boot_time = time.monotonic()
        self._power_gen = 0  # bumped at each restart: work scheduled before it is dropped
        self._net_gen = 0
        self._wecom_gen = 0
        self._identify_until = 0.0
        self._closed = False
        self.faults = _Faults(
            drop_next=config.drop_next,
            corrupt_next=config.corrupt_next,
            flash_fail_next=config.flash_fail_next,
            busy_next=config.busy_next,
            unplug_on=parse_command_name(config.unplug_on) if config.unplug_on else None,
        )
        self.counters = _Counters()
        self._timers = _Timers(self._lock, name=f"sim-{self.hw_id_hex}")
        with self._lock:
            self._settle()
            if config.noise:
                self._schedule_noise()
        self._probe_stop = threading.Event()
        self._probe_thread: threading.Thread | None = None
        if config.binding_probe is not None:
            self._probe_thread = threading.Thread(
                target=self._probe_loop, args=(config.binding_probe,), daemon=True
            )
            self._probe_thread.start()

    # ----------------------------------------------------------------- public API
    @property
    def hw_id(self) -> bytes:
        return self._flash.hw_id

    @property
    def hw_id_hex(self) -> str:
        return self._flash.hw_id.hex()

    @property
    def state(self) -> DeviceState:
        with self._lock:
            return self._state()

    @property
    def sn(self) -> str | None:
        with self._lock:
            return self._current_sn()

    @property
    def net_state(self) -> NetState:
        with self._lock:
            return self._net

    @property
    def wecom_state(self) -> WecomState:
        with self._lock:
            return self._wecom

    @property
    def corp_name(self) -> str | None:
        with self._lock:
            return self._flash.bound_corp if self._wecom == WecomState.BOUND else None

    @property
    def wifi_ssid(self) -> str | None:
        with self._lock:
            return self._flash.ssid

    @property
    def booting(self) -> bool:
        with self._lock:
            return self._booting

    @property
    def identifying(self) -> bool:
        return time.monotonic() < self._identify_until

    def feed(self, data: bytes) -> None:
        """Bytes from the host. Input is ignored while the board boots."""
        with self._lock:
            if self._closed or self._booting:
                return
            frames = self._decoder.feed(data)
            self._decoder.skipped.clear()  # a real UART drops what it cannot parse
            if frames:
                self._rx.extend(frames)
                self._timers.call_at(time.monotonic(), self._pump)

    def set_binding(self, corp_name: str | None) -> None:
        """What WeCom's cloud says of this board: bound to ``corp_name``, or unbound (None)."""
        with self._lock:
            self._apply_binding(corp_name)

    def inject(
        self,
        *,
        drop_next: int = 0,
        corrupt_next: int = 0,
        flash_fail_next: int = 0,
        busy_next: int = 0,
        unplug_on: str | None = None,
    ) -> None:
        """Add faults to come, like the config's ``*_next`` options, on a running board."""
        with self._lock:
            self.faults.drop_next += drop_next
            self.faults.corrupt_next += corrupt_next
            self.faults.flash_fail_next += flash_fail_next
            self.faults.busy_next += busy_next
            if unplug_on is not None:
                self.faults.unplug_on = parse_command_name(unplug_on)

    def power_cycle(self) -> None:
        """Cut power and boot: RAM (staging, replay cache) is lost, flash is kept."""
        with self._lock:
            if not self._closed:
                self._restart("POWERON")

    def close(self) -> None:
        """Stop the timers and the probe thread; the board sends nothing after this."""
        with self._lock:
            self._closed = True
        self._probe_stop.set()
        self._timers.stop()
        if self._probe_thread is not None and self._probe_thread is not threading.current_thread():
            self._probe_thread.join(timeout=5)

    def __enter__(self) -> DeviceSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- state helpers
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

    # ----------------------------------------------------------------- request handling
    def _pump(self) -> None:
        if self._closed or self._booting or not self._rx:
            return
        now = time.monotonic()
        if now < self._busy_until:
            self._timers.call_at(self._busy_until, self._pump)
            return
        frame = self._rx.popleft()
        self._handle(frame, now)
        if self._rx:
            self._timers.call_at(max(now, self._busy_until), self._pump)

    def _handle(self, frame: Frame, now: float) -> None:
        name = _command_name(frame.type)
        if self.faults.drop_next > 0 or (
            self.config.drop_rate and self._rng.random() < self.config.drop_rate
        ):
            self.faults.drop_next = max(0, self.faults.drop_next - 1)
            self.counters.dropped += 1
            log.debug("simulator dropped %s seq %d", name, frame.seq)
            return
        if self.faults.busy_next > 0:
            self.faults.busy_next -= 1
            self.counters.busy += 1
            busy = self._error_frame(frame.seq, ErrorCode.BUSY, _ERROR_TEXT[ErrorCode.BUSY])
            self._respond(busy, now, self.config.latency_s)  # not remembered
            return
        last = self._last
        if last is not None and last.seq == frame.seq and last.type == frame.type:
            self.counters.replayed += 1
            log.debug("simulator replays %s seq %d", name, frame.seq)
            self._respond(last.frame, now, self.config.latency_s)
            return
        extra_delay = 0.0
        after: Callable[[], None] | None = None
        try:
            command = Command(frame.type)
        except ValueError:
            response = self._error_frame(
                frame.seq, ErrorCode.UNKNOWN_COMMAND, f"unknown type {frame.type:02X}"
            )
        else:
            try:
                fields = frame.fields()
                payload, extra_delay, after = self._execute(command, fields)
                response = encode_frame(command | RESPONSE_BIT, frame.seq, payload)
                self.counters.executed[command] += 1
            except MalformedPayload as exc:
                response = self._error_frame(frame.seq, ErrorCode.BAD_FRAME, str(exc))
            except _Reject as rej:
                response = self._error_frame(frame.seq, rej.code, rej.message)
            if self.faults.unplug_on == command:
                # The port vanishes after the command ran and before its answer left.
                self.faults.unplug_on = None
                self._last = _LastResponse(frame.seq, frame.type, response)
                self._busy_until = now + self.config.latency_s + extra_delay
                log.info("simulator: unplugging in the middle of %s", command.name)
                if self._on_unplug is not None:
                    self._on_unplug()
                return
        self._last = _LastResponse(frame.seq, frame.type, response)
        self._respond(response, now, self.config.latency_s + extra_delay)
        if after is not None:
            gen = self._power_gen
            self._timers.call_at(self._busy_until, lambda: self._if_powered(gen, after))

    def _respond(self, data: bytes, now: float, delay: float) -> None:
        if self.faults.corrupt_next > 0 or (
            self.config.corrupt_rate and self._rng.random() < self.config.corrupt_rate
        ):
            self.faults.corrupt_next = max(0, self.faults.corrupt_next - 1)
            self.counters.corrupted += 1
            data = self._corrupt(data)
        self._busy_until = now + delay
        gen = self._power_gen
        if delay <= 0:
            self._send(data)
        else:
            self._timers.call_at(self._busy_until, lambda: self._if_powered(gen, self._send, data))

    def _corrupt(self, data: bytes) -> bytes:
        # Flip one byte of type, seq, payload or CRC: never magic, version or length, so a host
        # sees a whole frame whose CRC fails rather than waiting for bytes that never come.
        positions = [3, 4, *range(7, len(data))]
        pos = self._rng.choice(positions)
        out = bytearray(data)
        out[pos] ^= self._rng.randrange(1, 256)
        return bytes(out)

    def _if_powered(self, gen: int, fn: Callable[..., None], *args: Any) -> None:
        if gen == self._power_gen and not self._closed:
            fn(*args)

    def _error_frame(self, seq: int, code: ErrorCode, text: str) -> bytes:
        fields: list[tuple[int, bytes]] = [(Tag.ERROR_CODE, bytes([code]))]
        if self.config.error_messages and text:
            fields.append((Tag.MESSAGE, cut_utf8(text, MESSAGE_MAX)))
        log.debug("simulator answers ERROR %02X (%s) to seq %d", code, code.name, seq)
        return encode_frame(FrameType.ERROR, seq, _encode_tlv(fields))

    def _execute(
        self, command: Command, fields: dict[int, bytes]
    ) -> tuple[bytes, float, Callable[[], None] | None]:
        """Run one command: (response payload, extra delay, what to do once it was answered)."""
        handler = {
            Command.HELLO: self._cmd_hello,
            Command.WRITE: self._cmd_write,
            Command.VERIFY: self._cmd_verify,
            Command.COMMIT: self._cmd_commit,
            Command.SET_WIFI: self._cmd_set_wifi,
            Command.STATUS: self._cmd_status,
            Command.IDENTIFY: self._cmd_identify,
            Command.REBOOT: self._cmd_reboot,
            Command.FACTORY_RESET: self._cmd_factory_reset,
        }[command]
        return handler(fields)

    def _cmd_hello(self, fields: dict[int, bytes]) -> tuple[bytes, float, None]:
        state = self._state()
        out: list[tuple[int, bytes]] = [
            (Tag.PROTO, bytes([self.config.proto])),
            (Tag.MODEL_ID, self.config.model_id.encode("ascii")),
            (Tag.FW_VERSION, self.config.fw_version.encode("ascii")),
            (Tag.HW_ID, self._flash.hw_id),
            (Tag.STATE, bytes([state])),
        ]
        sn = self._current_sn()
        if state > DeviceState.BLANK and sn is not None:
            out.append((Tag.SN, sn.encode("ascii")))
        return _encode_tlv(out), 0.0, None

    def _cmd_write(self, fields: dict[int, bytes]) -> tuple[bytes, float, None]:
        sn_raw = _require(fields, Tag.SN, _SN_RE, "SN must be 1..128 characters 0-9 A-Z a-z")
        secret_raw = _require(
            fields, Tag.SECRET_NO, _SECRET_RE, "SECRET_NO must be 1..128 printable ASCII bytes"
        )
        sn, secret = sn_raw.decode("ascii"), Secret(secret_raw.decode("ascii"))
        if self._flash.sn is not None:
            if self._flash.sn != sn or self._flash.secret_no != secret:
                raise _Reject(ErrorCode.LOCKED, "provisioned with a different credential")
            self._log("I", "prov", f"credential already stored, sn={sn}")
            return b"", 0.0, None
        self._staged = (sn, secret)
        self._log("I", "prov", f"credential staged in RAM, sn={sn}")
        return b"", 0.0, None

    def _cmd_verify(self, fields: dict[int, bytes]) -> tuple[bytes, float, None]:
        nonce = fields.get(Tag.NONCE)
        if nonce is None or len(nonce) != 16:
            raise _Reject(ErrorCode.BAD_VALUE, "NONCE must be exactly 16 bytes")
        credential = self._staged or (
            (self._flash.sn, self._flash.secret_no)
            if self._flash.sn is not None and self._flash.secret_no is not None
            else None
        )
        if credential is None:
            raise _Reject(ErrorCode.NOT_STAGED, _ERROR_TEXT[ErrorCode.NOT_STAGED])
        sn, secret = credential
        proof = hmac.new(
            secret.reveal().encode("ascii"), nonce + sn.encode("ascii"), hashlib.sha256
        ).digest()
        return _encode_tlv([(Tag.SN, sn.encode("ascii")), (Tag.PROOF, proof)]), 0.0, None

    def _cmd_commit(
        self, fields: dict[int, bytes]
    ) -> tuple[bytes, float, Callable[[], None] | None]:
        if self._staged is None:
            if self._flash.sn is None:
                raise _Reject(ErrorCode.NOT_STAGED, _ERROR_TEXT[ErrorCode.NOT_STAGED])
            return b"", 0.0, None  # already committed: nothing to write
        sn, secret = self._staged
        if self._flash.sn == sn and self._flash.secret_no == secret:
            self._staged = None
            return b"", 0.0, None
        if self.faults.flash_fail_next > 0:
            self.faults.flash_fail_next -= 1
            self._log("E", "flash", "program failed at 0x3f0000, credential not stored")
            raise _Reject(ErrorCode.FLASH_FAIL, _ERROR_TEXT[ErrorCode.FLASH_FAIL])
        self._store(dataclasses.replace(self._flash, sn=sn, secret_no=secret))
        self._staged = None
        self._log("I", "prov", f"credential committed to flash, sn={sn}")
        # WeCom registration starts once the answer is out, so its events follow the response.
        return b"", self.config.commit_latency_s, self._update_wecom

    def _cmd_set_wifi(self, fields: dict[int, bytes]) -> tuple[bytes, float, Callable[[], None]]:
        if not self.config.wifi:
            raise _Reject(ErrorCode.UNKNOWN_COMMAND, "this board has no Wi-Fi")
        ssid_raw = fields.get(Tag.SSID)
        psk_raw = fields.get(Tag.PSK)
        ssid = _utf8(ssid_raw)
        if ssid is None or not 1 <= len(ssid_raw or b"") <= 32:
            raise _Reject(ErrorCode.BAD_VALUE, "SSID must be 1..32 bytes of UTF-8")
        psk = _utf8(psk_raw)
        if psk is None or not _psk_ok(psk, len(psk_raw or b"")):
            raise _Reject(
                ErrorCode.BAD_VALUE, "PSK must be empty, 8..63 bytes of UTF-8 or 64 hex digits"
            )
        self._store(dataclasses.replace(self._flash, ssid=ssid, psk=Secret(psk)))
        self._log("I", "wifi", f"credentials stored, joining '{ssid}'")
        return b"", 0.0, self._start_join

    def _cmd_status(self, fields: dict[int, bytes]) -> tuple[bytes, float, None]:
        return _encode_tlv(self._state_fields()), 0.0, None

    def _cmd_identify(self, fields: dict[int, bytes]) -> tuple[bytes, float, None]:
        self._identify_until = time.monotonic() + self.config.identify_s
        self._log("I", "ui", f"identify: LED blinking and beeping for {self.config.identify_s:g} s")
        gen = self._power_gen
        self._timers.call_later(
            self.config.identify_s,
            lambda: self._if_powered(gen, self._log, "I", "ui", "identify: done"),
        )
        return b"", 0.0, None

    def _cmd_reboot(self, fields: dict[int, bytes]) -> tuple[bytes, float, Callable[[], None]]:
        self._log("I", "sys", "reboot requested")

        def restart_soon() -> None:
            gen = self._power_gen
            self._timers.call_later(
                REBOOT_RESTART_DELAY_S, lambda: self._if_powered(gen, self._restart, "SW_RESET")
            )

        return b"", 0.0, restart_soon

    def _cmd_factory_reset(
        self, fields: dict[int, bytes]
    ) -> tuple[bytes, float, Callable[[], None]]:
        confirm = fields.get(Tag.CONFIRM)
        if confirm is None or not hmac.compare_digest(confirm, self._flash.hw_id):
            raise _Reject(ErrorCode.BAD_VALUE, "CONFIRM must equal HW_ID")
        self._store(_Flash(hw_id=self._flash.hw_id))
        self._staged = None
        self._log("W", "prov", "factory reset: credential and Wi-Fi erased")
        # Wi-Fi is forgotten (the network drops); an ethernet link stays up.
        return b"", 0.0, self._start_join if self.config.wifi else self._update_wecom

    def _store(self, flash: _Flash) -> None:
        """Write ``flash`` and make it current; FLASH_FAIL (nothing changed) when writing fails."""
        try:
            self._file.save(flash)
        except SimulatorStateError:
            log.exception("simulator flash write failed")
            raise _Reject(ErrorCode.FLASH_FAIL, _ERROR_TEXT[ErrorCode.FLASH_FAIL]) from None
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

    def _settle(self) -> None:
        """The steady state of a board that has been on for a while (no events)."""
        if self._can_join():
            self._net = NetState.ONLINE
        if self._state() == DeviceState.PROVISIONED and self._net == NetState.ONLINE:
            self._wecom = WecomState.BOUND if self._flash.bound_corp else WecomState.WAITING_BIND

    def _can_join(self) -> bool:
        if not self.config.wifi:
            return True  # ethernet
        if self._flash.ssid is None:
            return False
        known = self.config.known_networks
        if known is None:
            return True
        if self._flash.ssid not in known:
            return False
        given = self._flash.psk.reveal() if self._flash.psk else ""
        expected = known[self._flash.ssid]
        if len(given) == 64 and _HEX64_RE.fullmatch(given):
            return hmac.compare_digest(given.lower(), wpa_psk(expected, self._flash.ssid))
        return hmac.compare_digest(given.encode(), expected.encode())

    def _set_net(self, state: NetState) -> None:
        if state != self._net:
            self._net = state
            self._event(EventCode.NET_CHANGED)
        self._update_wecom()

    def _start_join(self) -> None:
        """(Re)join the network in the background: DOWN now, LINK_UP half-way, then ONLINE."""
        self._net_gen += 1
        gen, power = self._net_gen, self._power_gen
        self._set_net(NetState.DOWN)
        if not self.config.wifi:
            self._log("I", "eth", "link negotiation")
        elif self._flash.ssid is None:
            return
        join = self.config.wifi_join_s

        def step(state: NetState) -> None:
            if gen != self._net_gen or power != self._power_gen or self._closed:
                return
            if state == NetState.LINK_UP and not self._can_join():
                self._log(
                    "W", "wifi", f"cannot join '{self._flash.ssid}': auth failed or not found"
                )
                return
            self._log("I", "net", "link up" if state == NetState.LINK_UP else "online")
            self._set_net(state)

        self._timers.call_later(join / 2, lambda: step(NetState.LINK_UP))
        self._timers.call_later(join, lambda: step(NetState.ONLINE))

    def _set_wecom(self, state: WecomState) -> None:
        if state != self._wecom:
            self._wecom = state
            self._log("I", "wecom", f"state {state.name}")
            self._event(EventCode.WECOM_CHANGED)

    def _update_wecom(self) -> None:
        """Move WECOM_STATE towards what the board's state and network allow."""
        if self._state() != DeviceState.PROVISIONED or self._net != NetState.ONLINE:
            self._wecom_gen += 1
            self._set_wecom(WecomState.IDLE)
            return
        if self._wecom == WecomState.IDLE:
            self._wecom_gen += 1
            gen = self._wecom_gen
            self._timers.call_at(
                max(time.monotonic(), self._busy_until) + self.config.wecom_step_s,
                lambda: self._wecom_step(gen),
            )

    def _wecom_step(self, gen: int) -> None:
        if gen != self._wecom_gen or self._closed or self._booting:
            return
        if self._wecom == WecomState.IDLE:
            self._set_wecom(WecomState.REGISTERED)
            self._timers.call_later(self.config.wecom_step_s, lambda: self._wecom_step(gen))
        elif self._wecom == WecomState.REGISTERED:
            self._set_wecom(
                WecomState.BOUND if self._flash.bound_corp is not None else WecomState.WAITING_BIND
            )

    def _apply_binding(self, corp_name: str | None) -> None:
        changed = corp_name != self._flash.bound_corp
        if changed:
            try:
                self._store(dataclasses.replace(self._flash, bound_corp=corp_name))
            except _Reject:
                self._flash.bound_corp = corp_name  # a cache: keep it in RAM at least
        if self._wecom not in (WecomState.WAITING_BIND, WecomState.BOUND):
            return  # the REGISTERED step picks it up
        target = WecomState.BOUND if corp_name is not None else WecomState.WAITING_BIND
        if target != self._wecom:
            self._set_wecom(target)
        elif changed and target == WecomState.BOUND:
            self._event(EventCode.WECOM_CHANGED)  # bound to another enterprise

    def _probe_loop(self, probe: BindingProbe) -> None:
        while not self._probe_stop.wait(self.config.probe_interval_s):
            with self._lock:
                ready = (
                    not self._booting
                    and self._state() == DeviceState.PROVISIONED
                    and self._net == NetState.ONLINE
                )
                sn = self._flash.sn if ready else None
            if sn is None:
                continue
            try:
                corp = probe(sn)
            except Exception:
                log.exception("binding probe failed")
                continue
            with self._lock:
                if not self._closed and self._flash.sn == sn:
                    self._apply_binding(corp)

    # ----------------------------------------------------------------- boot and noise
    def _restart(self, reason: str) -> None:
        self._power_gen += 1
        gen = self._power_gen
        self._booting = True
        self._boot_time = time.monotonic()
        self._rx.clear()
        self._decoder.reset()
        self._staged = None
        self._last = None
        self._busy_until = 0.0
        self._identify_until = 0.0
        self._net_gen += 1
        self._wecom_gen += 1
        self._net, self._wecom = NetState.DOWN, WecomState.IDLE  # no events: the board is off
        log.debug("simulator restarts (%s)", reason)
        state = self._state()
        lines = [
            # A ROM prints at another baud rate first: garbage to the host, A5 included.
            b"\x00\xff\xa5\x13\x8c\r\n",
            b"ESP-ROM:esp32s3-20210327\r\n",
            f"rst:0x1 ({reason}),boot:0x8 (SPI_FAST_FLASH_BOOT)\r\n".encode(),
            f"I (31) boot: {self.config.model_id} bootloader\r\n".encode(),
            f"I (118) app: {self.config.model_id} fw {self.config.fw_version} "
            f"hw {self.hw_id_hex}\r\n".encode(),
            f"I (152) prov: state {state.name}".encode()
            + (f" sn={self._flash.sn}".encode() if self._flash.sn else b"")
            + b"\r\n",
        ]
        boot = self.config.boot_s
        for i, line in enumerate(lines):
            self._timers.call_later(
                boot * i / (len(lines) + 1),
                functools.partial(self._if_powered, gen, self._send, line),
            )
        self._timers.call_later(boot, lambda: self._if_powered(gen, self._boot_done))

    def _boot_done(self) -> None:
        self._booting = False
        self._decoder.reset()
        self._log("I", "main", "ready")
        self._event(EventCode.BOOTED)
        if not self.config.wifi or self._flash.ssid is not None:
            self._start_join()

    def _schedule_noise(self) -> None:
        delay = self._rng.expovariate(1.0 / self.config.noise_interval_s)
        self._timers.call_later(delay, self._noise)

    def _noise(self) -> None:
        if self._closed:
            return
        template = self._rng.choice(_NOISE_LINES)
        count = template.count(b"%d")
        values = (self._ms(), *(self._rng.randrange(1000, 99999) for _ in range(count - 1)))
        line = template % values[:count] if count else template
        self._send(line)
        self._schedule_noise()


def _command_name(frame_type: int) -> str:
    try:
        return Command(frame_type).name
    except ValueError:
        return f"type {frame_type:02X}"


def _require(fields: dict[int, bytes], tag: Tag, pattern: re.Pattern[bytes], text: str) -> bytes:
    value = fields.get(tag)
    if value is None or not pattern.fullmatch(value):
        raise _Reject(ErrorCode.BAD_VALUE, text)
    return value


def _utf8(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _psk_ok(psk: str, n_bytes: int) -> bool:
    if n_bytes == 0:
        return True
    if n_bytes == 64:
        return _HEX64_RE.fullmatch(psk) is not None
    return 8 <= n_bytes <= 63


def _random_hw_id() -> bytes:
    raw = bytearray(os.urandom(6))
    raw[0] = (raw[0] & 0xFE) | 0x02  # a locally administered, unicast MAC
    return bytes(raw)
