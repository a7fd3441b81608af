"""The host side of the provisioning protocol: one board, one port, one request at a time.

``DeviceClient.open(url)`` opens any pyserial URL (``/dev/ttyUSB0``, ``COM3``, ``socket://h:p``,
``loop://``); ``DeviceClient(serial_obj)`` takes a port that is already open. One reader thread
decodes every byte the port gives: a response whose seq matches the request in flight completes
it; EVENT frames go to the event listeners (never taken as a response); late or stray responses
are dropped; bytes that are not frames (the firmware's log) go to the log listeners.

Timing follows the spec: a request gets ``response_timeout`` (COMMIT ``commit_timeout``) per try
and is sent again with the SAME seq, ``tries`` tries in all (the device's replay cache answers a
repeat without executing it twice). After an ERROR the next request uses a new seq; BUSY is
retried after 200 ms with a new seq for up to ``busy_budget`` seconds. REBOOT is never sent twice.

DTR/RTS: the client never sets them. The OS asserts both when a port is opened, and pyserial's
default (both asserted) re-states exactly that, so no edge reaches the board. Setting them to
False before ``open()`` would make pyserial clear them right after the OS raised them, which is
the very toggle that resets boards with an auto-reset circuit. (Closing a port may still drop
DTR where the OS does so on last close (HUPCL); that is outside a client's control.)

Secrets: SECRET_NO and PSK arrive as ``Secret`` and are revealed only into the frame bytes.
Frames are logged at DEBUG as type, seq and length, never their payload.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import serial

from installer_app.device import errors
from installer_app.device.codec import (
    Frame,
    FrameDecoder,
    MalformedPayload,
    decode_tlv,
    encode_frame,
    encode_tlv,
)
from installer_app.device.errors import DeviceDisconnected, DeviceError, DeviceTimeout
from installer_app.device.protocol import (
    BAUDRATE,
    BUSY_RETRY_S,
    COMMIT_TIMEOUT_S,
    MAX_TRIES,
    REBOOT_BOOTED_WAIT_S,
    REBOOT_HELLO_WAIT_S,
    RESPONSE_BIT,
    RESPONSE_TIMEOUT_S,
    Command,
    DeviceState,
    ErrorCode,
    EventCode,
    FrameType,
    NetState,
    Tag,
    WecomState,
)
from installer_app.secrets import Secret, redact

log = logging.getLogger(__name__)
device_log = logging.getLogger("installer_app.device.firmware")

# How long the reader blocks in one read: bounds how late it notices close() on ports that have
# no cancel_read (sockets, loop://).
_READ_POLL_S = 0.1
_WRITE_TIMEOUT_S = 2.0
_BUSY_BUDGET_S = 3.0
_MAX_READ_CHUNK = 4096


# --- typed results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HelloInfo:
    proto: int
    model_id: str
    fw_version: str
    hw_id: bytes
    state: DeviceState
    sn: str | None

    @property
    def hw_id_hex(self) -> str:
        return self.hw_id.hex()


@dataclass(frozen=True)
class VerifyResult:
    sn: str
    proof: bytes


@dataclass(frozen=True)
class DeviceStatus:
    net_state: NetState
    wecom_state: WecomState
    corp_name: str | None


@dataclass(frozen=True)
class DeviceEvent:
    code: int  # an EventCode, or a newer code this app does not know
    net_state: NetState
    wecom_state: WecomState
    corp_name: str | None


def compute_proof(secret_no: Secret, nonce: bytes, sn: str) -> bytes:
    """The PROOF a device holding ``secret_no`` for ``sn`` answers to VERIFY ``nonce``."""
    key = secret_no.reveal().encode("utf-8")
    return hmac.new(key, nonce + sn.encode("utf-8"), hashlib.sha256).digest()


class _Fields:
    """A response's TLV fields with checked accessors: a missing or mis-shaped field raises
    BadResponse instead of a KeyError deep in a caller."""

    def __init__(self, command: str, fields: dict[int, bytes]) -> None:
        self.command = command
        self.fields = fields

    def _bad(self, tag: Tag, problem: str) -> errors.BadResponse:
        return errors.BadResponse(self.command, f"{tag.name} {problem}")

    def raw(self, tag: Tag, lo: int = 0, hi: int = 255) -> bytes:
        value = self.fields.get(tag)
        if value is None:
            raise self._bad(tag, "is missing")
        if not lo <= len(value) <= hi:
            raise self._bad(tag, f"has {len(value)} bytes")
        return value

    def optional(self, tag: Tag) -> bytes | None:
        return self.fields.get(tag)

    def u8(self, tag: Tag) -> int:
        return self.raw(tag, 1, 1)[0]

    def text(self, tag: Tag, lo: int, hi: int, encoding: str = "ascii") -> str:
        value = self.raw(tag, lo, hi)
        try:
            return value.decode(encoding)
        except UnicodeDecodeError:
            raise self._bad(tag, f"is not {encoding} text") from None

    def enum(self, tag: Tag, cls: Any) -> Any:
        value = self.u8(tag)
        try:
            return cls(value)
        except ValueError:
            raise self._bad(tag, f"has unknown value {value}") from None


def _corp_name(f: _Fields) -> str | None:
    raw = f.optional(Tag.CORP_NAME)
    # Untrusted text shown to people: decoded leniently, control characters dropped.
    return None if raw is None else errors.clean_device_text(raw)


def parse_hello(f: _Fields) -> HelloInfo:
    state = f.enum(Tag.STATE, DeviceState)
    sn = f.text(Tag.SN, 1, 128) if state != DeviceState.BLANK else None
    return HelloInfo(
        proto=f.u8(Tag.PROTO),
        model_id=f.text(Tag.MODEL_ID, 1, 64),
        fw_version=f.text(Tag.FW_VERSION, 1, 32),
        hw_id=f.raw(Tag.HW_ID, 6, 16),
        state=state,
        sn=sn,
    )


def parse_status(f: _Fields) -> DeviceStatus:
    wecom = f.enum(Tag.WECOM_STATE, WecomState)
    return DeviceStatus(f.enum(Tag.NET_STATE, NetState), wecom, _corp_name(f))


def parse_event(f: _Fields) -> DeviceEvent:
    code = f.u8(Tag.EVENT_CODE)
    wecom = f.enum(Tag.WECOM_STATE, WecomState)
    with contextlib.suppress(ValueError):  # a newer firmware's event keeps its number
        code = EventCode(code)
    return DeviceEvent(code, f.enum(Tag.NET_STATE, NetState), wecom, _corp_name(f))


# --- the client ---------------------------------------------------------------------------------


class _Pending:
    __slots__ = ("command", "done", "error", "frame", "seq")

    def __init__(self, command: int, seq: int) -> None:
        self.command = command
        self.seq = seq
        self.done = threading.Event()
        self.frame: Frame | None = None
        self.error: DeviceError | None = None


EventListener = Callable[[DeviceEvent], None]
LogListener = Callable[[bytes], None]


def _configure(port: Any) -> None:
    port.baudrate = BAUDRATE
    port.bytesize = serial.EIGHTBITS
    port.parity = serial.PARITY_NONE
    port.stopbits = serial.STOPBITS_ONE
    port.xonxoff = False
    port.rtscts = False
    port.dsrdtr = False


def open_port(url: str) -> Any:
    """Open ``url`` the way the client does (115200 8N1, no flow control, DTR/RTS untouched,
    exclusive where the OS supports it); raise a DeviceError naming the port on failure."""
    try:
        port = serial.serial_for_url(url, do_not_open=True)
    except (ValueError, serial.SerialException, OSError) as exc:
        raise errors.from_open_error(url, exc) from None
    _configure(port)
    port.timeout = _READ_POLL_S
    port.write_timeout = _WRITE_TIMEOUT_S
    # flock() on POSIX: a second opener (another installer-app, esptool) gets PortBusy.
    # Windows opens serial ports exclusively anyway; URL handlers ignore the setting.
    port.exclusive = True
    try:
        port.open()
    except (serial.SerialException, OSError, ValueError) as exc:
        raise errors.from_open_error(url, exc) from None
    return port


class DeviceClient:
    """The protocol client. Methods block and are thread-safe (one request at a time);
    ``close()`` may be called from any thread and aborts a waiting request."""

    def __init__(
        self,
        port: Any,
        *,
        response_timeout: float = RESPONSE_TIMEOUT_S,
        commit_timeout: float = COMMIT_TIMEOUT_S,
        tries: int = MAX_TRIES,
        busy_budget: float = _BUSY_BUDGET_S,
        reboot_wait: tuple[float, float] = (REBOOT_BOOTED_WAIT_S, REBOOT_HELLO_WAIT_S),
        first_seq: int | None = None,
        url: str | None = None,
    ) -> None:
        self.response_timeout = response_timeout
        self.commit_timeout = commit_timeout
        self.tries = max(1, tries)
        self.busy_budget = busy_budget
        self.reboot_wait = reboot_wait
        self._url = url
        self.port_name: str = url or str(getattr(port, "port", None) or getattr(port, "name", "?"))
        self._seq = first_seq if first_seq is not None else random.randint(1, 255)
        if not 1 <= self._seq <= 255:
            raise ValueError("seq is 1..255")
        self._request_lock = threading.RLock()
        self._pending_lock = threading.Lock()
        self._pending: _Pending | None = None
        self._listeners_lock = threading.Lock()
        self._event_listeners: list[EventListener] = []
        self._log_listeners: list[LogListener] = []
        self._closed = threading.Event()
        self._last_hello: HelloInfo | None = None
        self._port: Any = None
        self._reader: threading.Thread | None = None
        self._link_lost: DeviceError | None = None
        self._stop = threading.Event()
        self._decoder = FrameDecoder()
        self._decoder_lock = threading.Lock()
        self._attach(port)

    @classmethod
    def open(
        cls,
        url: str,
        *,
        response_timeout: float = RESPONSE_TIMEOUT_S,
        commit_timeout: float = COMMIT_TIMEOUT_S,
        tries: int = MAX_TRIES,
        **kwargs: Any,
    ) -> DeviceClient:
        return cls(
            open_port(url),
            response_timeout=response_timeout,
            commit_timeout=commit_timeout,
            tries=tries,
            url=url,
            **kwargs,
        )

    # --- lifecycle ------------------------------------------------------------------------------

    def _attach(self, port: Any) -> None:
        """Start reading ``port`` (at construction, and again after a re-plug)."""
        if getattr(port, "timeout", None) is None:
            port.timeout = _READ_POLL_S  # the reader must wake to notice close()
        self._port = port
        self._stop = threading.Event()
        self._link_lost = None
        with self._decoder_lock:
            self._decoder = FrameDecoder()
        self._reader = threading.Thread(
            target=self._read_loop,
            args=(port, self._stop),
            name=f"device-reader {self.port_name}",
            daemon=True,
        )
        self._reader.start()

    def _detach(self) -> None:
        """Stop the reader and close the port; safe from any thread, more than once."""
        self._stop.set()
        port, reader = self._port, self._reader
        cancel = getattr(port, "cancel_read", None)
        if callable(cancel):
            with contextlib.suppress(Exception):  # a vanished port cannot be cancelled; fine
                cancel()
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout=5.0)
        try:
            port.close()
        except Exception:
            log.debug("closing %s failed", self.port_name, exc_info=True)

    def close(self) -> None:
        """Stop the reader, close the port, and abort a waiting request (DeviceDisconnected)."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._fail_pending(DeviceDisconnected(self.port_name))
        self._detach()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def __enter__(self) -> DeviceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- listeners ------------------------------------------------------------------------------

    def add_event_listener(self, callback: EventListener) -> Callable[[], None]:
        """Call ``callback(DeviceEvent)`` (reader thread) for each EVENT; returns a remover."""
        with self._listeners_lock:
            self._event_listeners.append(callback)
        return lambda: self._remove(self._event_listeners, callback)

    def add_log_listener(self, callback: LogListener) -> Callable[[], None]:
        """Call ``callback(bytes)`` with the device's log text (every byte outside a frame)."""
        with self._listeners_lock:
            self._log_listeners.append(callback)
        return lambda: self._remove(self._log_listeners, callback)

    def _remove(self, listeners: list[Any], callback: Any) -> None:
        with self._listeners_lock:
            if callback in listeners:
                listeners.remove(callback)

    # --- commands -------------------------------------------------------------------------------

    @property
    def last_hello(self) -> HelloInfo | None:
        return self._last_hello

    def hello(self, *, tries: int | None = None) -> HelloInfo:
        f = self._request(Command.HELLO, tries=tries)
        proto = f.u8(Tag.PROTO)
        if proto < 1:
            raise errors.UnsupportedProtocol(self.port_name, proto)
        info = parse_hello(f)
        self._last_hello = info
        return info

    def write(self, sn: str, secret_no: Secret) -> None:
        self._request(
            Command.WRITE,
            [(Tag.SN, sn.encode("utf-8")), (Tag.SECRET_NO, secret_no.reveal().encode("utf-8"))],
        )

    def verify(self, nonce: bytes) -> VerifyResult:
        f = self._request(Command.VERIFY, [(Tag.NONCE, nonce)])
        return VerifyResult(f.text(Tag.SN, 1, 128), f.raw(Tag.PROOF, 32, 32))

    def commit(self) -> None:
        self._request(Command.COMMIT, timeout=self.commit_timeout)

    def set_wifi(self, ssid: str, psk: Secret) -> None:
        self._request(
            Command.SET_WIFI,
            [(Tag.SSID, ssid.encode("utf-8")), (Tag.PSK, psk.reveal().encode("utf-8"))],
        )

    def status(self) -> DeviceStatus:
        return parse_status(self._request(Command.STATUS))

    def identify(self) -> None:
        self._request(Command.IDENTIFY)

    def factory_reset(self, hw_id: bytes) -> None:
        self._request(Command.FACTORY_RESET, [(Tag.CONFIRM, hw_id)])

    def request(self, command: int, payload: bytes = b"") -> dict[int, bytes]:
        """Send any request type with a raw TLV payload and return the response's fields.

        For probing optional commands (UNKNOWN_COMMAND answers the probe) and for diagnostics;
        the same retries and typed errors as the named commands.
        """
        return self._request(command, raw_payload=payload).fields

    def reboot(self) -> HelloInfo:
        """Restart the board and return its HELLO once it is back.

        REBOOT is sent once. Then: up to 5 s for EVENT BOOTED, else HELLO (new seq each time)
        until it answers or 5 more seconds pass. If the port vanishes meanwhile (USB re-plug), it
        is found again by USB serial number, else by VID/PID and HW_ID, and reopened.
        """
        with self._request_lock:
            before = self._last_hello or self.hello()
            previous = self._port_info()
            booted = threading.Event()

            def on_event(event: DeviceEvent) -> None:
                if event.code == EventCode.BOOTED:
                    booted.set()

            remove = self.add_event_listener(on_event)
            try:
                try:
                    self._request(Command.REBOOT, tries=1)
                except DeviceTimeout:
                    log.info(
                        "no answer to REBOOT on %s; waiting for the board anyway", self.port_name
                    )
                except DeviceDisconnected:
                    if self.closed:
                        raise
                booted_wait, hello_wait = self.reboot_wait
                deadline = time.monotonic() + booted_wait
                while not booted.is_set() and time.monotonic() < deadline:
                    if self._link_lost is not None:
                        try:
                            self._reconnect(previous, before.hw_id, deadline)
                        except errors.PortNotFound:
                            break  # not back yet: keep looking while sending HELLO
                        continue
                    if self._closed.wait(0.05):
                        raise DeviceDisconnected(self.port_name)
                deadline = time.monotonic() + hello_wait
                while True:
                    try:
                        if self._link_lost is not None:
                            self._reconnect(previous, before.hw_id, deadline)
                        return self.hello(tries=1)
                    except (DeviceTimeout, DeviceDisconnected, errors.PortNotFound):
                        if self.closed or time.monotonic() >= deadline:
                            raise
            finally:
                remove()

    # --- reconnecting after a re-plug -------------------------------------------------------------

    def _port_info(self) -> Any:
        if self._url is None:
            return None
        from installer_app.device import ports

        try:
            for info in ports.list_ports():
                if info.device == self._url:
                    return info
        except Exception:
            log.debug("listing ports failed", exc_info=True)
        return None

    def _reconnect(self, previous: Any, hw_id: bytes, deadline: float) -> None:
        if self._url is None or self.closed:
            raise DeviceDisconnected(self.port_name)
        from installer_app.device import ports

        self._detach()
        remaining = max(0.5, deadline - time.monotonic())
        url = ports.find_again(previous, hw_id, remaining, probe_timeout=self.response_timeout)
        log.info("board on %s is back as %s", self.port_name, url)
        port = open_port(url)
        if self.closed:
            port.close()
            raise DeviceDisconnected(self.port_name)
        self._url = url
        self.port_name = url
        self._attach(port)

    # --- the request engine ----------------------------------------------------------------------

    def _next_seq(self) -> int:
        seq = self._seq
        self._seq = 1 if seq >= 255 else seq + 1
        return seq

    def _request(
        self,
        command: int,
        fields: list[tuple[int, bytes]] | None = None,
        *,
        timeout: float | None = None,
        tries: int | None = None,
        raw_payload: bytes | None = None,
    ) -> _Fields:
        name = errors.command_name(command)
        try:
            payload = raw_payload if raw_payload is not None else encode_tlv(fields or [])
        except ValueError:
            raise errors.BadValue(name) from None
        with self._request_lock:
            busy_deadline = time.monotonic() + self.busy_budget
            while True:
                frame = self._exchange(
                    command, payload, timeout or self.response_timeout, tries or self.tries
                )
                try:
                    decoded = _Fields(name, decode_tlv(frame.payload))
                except MalformedPayload as exc:
                    raise errors.BadResponse(name, str(exc)) from None
                if frame.type != FrameType.ERROR:
                    return decoded
                code = decoded.u8(Tag.ERROR_CODE)
                message = errors.clean_device_text(decoded.optional(Tag.MESSAGE))
                if code == ErrorCode.BUSY and time.monotonic() + BUSY_RETRY_S < busy_deadline:
                    log.debug("%s: device busy, trying again in %.1f s", name, BUSY_RETRY_S)
                    if self._closed.wait(BUSY_RETRY_S):
                        raise DeviceDisconnected(self.port_name)
                    continue  # with a new seq, as after any ERROR
                raise errors.error_response(name, code, message)

    def _exchange(self, command: int, payload: bytes, timeout: float, tries: int) -> Frame:
        name = errors.command_name(command)
        seq = self._next_seq()
        data = encode_frame(command, seq, payload)
        pending = _Pending(command, seq)
        with self._pending_lock:
            self._pending = pending
        try:
            for attempt in range(1, tries + 1):
                self._check_link()
                log.debug("-> %s seq=%d len=%d try %d/%d", name, seq, len(payload), attempt, tries)
                self._write(data)
                if pending.done.wait(timeout) or self._abandon_partial(pending):
                    if pending.error is not None:
                        raise pending.error
                    assert pending.frame is not None
                    return pending.frame
                log.debug("%s seq=%d: no answer in %.2f s", name, seq, timeout)
            raise DeviceTimeout(self.port_name, name, tries)
        finally:
            with self._pending_lock:
                if self._pending is pending:
                    self._pending = None

    def _abandon_partial(self, pending: _Pending) -> bool:
        """After a timeout: give up on a half-received candidate (a log line may have started
        with A5 5A) and deliver whatever complete frames that reveals."""
        with self._decoder_lock:
            frames = self._decoder.abandon_partial()
        for frame in frames:
            self._dispatch(frame)
        return pending.done.is_set()

    def _check_link(self) -> None:
        if self._closed.is_set():
            raise DeviceDisconnected(self.port_name)
        if self._link_lost is not None:
            raise self._link_lost

    def _write(self, data: bytes) -> None:
        try:
            self._port.write(data)
        except serial.SerialTimeoutException:
            raise DeviceTimeout(self.port_name, "write", 1) from None
        except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
            # TypeError/AttributeError: pyserial's fd is already None when closed under us.
            if self._closed.is_set():
                raise DeviceDisconnected(self.port_name) from None
            raise errors.from_io_error(self.port_name, exc) from None

    # --- the reader thread -----------------------------------------------------------------------

    def _read_loop(self, port: Any, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                data = port.read(1)
                if data:
                    waiting = port.in_waiting
                    while waiting and len(data) < _MAX_READ_CHUNK:
                        data += port.read(waiting)
                        waiting = port.in_waiting
            except Exception as exc:  # noqa: BLE001 - any failure here means the link is gone
                if not stop.is_set():
                    err = errors.from_io_error(self.port_name, exc)
                    log.info("lost %s: %s", self.port_name, exc)
                    self._link_lost = err
                    self._fail_pending(err)
                return
            if data and not stop.is_set():
                self._on_bytes(data)

    def _on_bytes(self, data: bytes) -> None:
        with self._decoder_lock:
            frames = self._decoder.feed(data)
            skipped = self._decoder.take_skipped()
        if skipped:
            self._deliver_log(skipped)
        for frame in frames:
            self._dispatch(frame)

    def _deliver_log(self, text: bytes) -> None:
        if device_log.isEnabledFor(logging.DEBUG):
            device_log.debug("%s", redact(text.decode("utf-8", errors="replace")).rstrip())
        with self._listeners_lock:
            listeners = list(self._log_listeners)
        for listener in listeners:
            try:
                listener(text)
            except Exception:
                log.exception("device log listener failed")

    def _dispatch(self, frame: Frame) -> None:
        if frame.type == FrameType.EVENT:
            self._deliver_event(frame)
            return
        if not frame.type & RESPONSE_BIT:
            log.debug("ignored a request frame type=%02x seq=%d", frame.type, frame.seq)
            return
        with self._pending_lock:
            pending = self._pending
            matches = (
                pending is not None
                and frame.seq == pending.seq
                and frame.type in (pending.command | RESPONSE_BIT, FrameType.ERROR)
                and not pending.done.is_set()
            )
            if matches and pending is not None:
                pending.frame = frame
                pending.done.set()
        log.debug(
            "<- type=%02x seq=%d len=%d%s",
            frame.type,
            frame.seq,
            len(frame.payload),
            "" if matches else " (stray, ignored)",
        )

    def _deliver_event(self, frame: Frame) -> None:
        try:
            event = parse_event(_Fields("EVENT", decode_tlv(frame.payload)))
        except (DeviceError, MalformedPayload) as exc:
            log.debug("ignored a malformed event: %s", exc)
            return
        log.debug("<- event %s", event)
        with self._listeners_lock:
            listeners = list(self._event_listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("device event listener failed")

    def _fail_pending(self, error: DeviceError) -> None:
        with self._pending_lock:
            pending = self._pending
            if pending is not None and not pending.done.is_set():
                pending.error = error
                pending.done.set()


@contextmanager
def connect(url: str, **kwargs: Any) -> Iterator[DeviceClient]:
    """``with connect(url) as client:`` — open, and always close."""
    client = DeviceClient.open(url, **kwargs)
    try:
        yield client
    finally:
        client.close()
