"""The request engine under ``DeviceClient``: one port, one reader thread, one request at a time.

The reader decodes every byte the port gives: a response whose seq matches the request in flight
completes it; EVENT frames go to the event listeners (never taken as a response); late or stray
responses are dropped; bytes that are not frames (the firmware's log) go to the log listeners.

Timing follows the spec: a request gets its timeout per try and is sent again with the SAME seq,
``tries`` tries in all (the device's replay cache answers a repeat without executing it twice).
After an ERROR the next request uses a new seq; BUSY is retried after 200 ms with a new seq for
up to ``busy_budget`` seconds.

Frames are logged at DEBUG as type, seq and length, never their payload: payloads carry secrets.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable
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
from installer_app.device.log_lines import DeviceLogWriter
from installer_app.device.protocol import BUSY_RETRY_S, RESPONSE_BIT, ErrorCode, FrameType, Tag
from installer_app.device.responses import DeviceEvent, ResponseFields, parse_event
from installer_app.device.serial_port import READ_POLL_S, close_port, from_io_error

log = logging.getLogger(__name__)
device_log = logging.getLogger("installer_app.device.firmware")

_MAX_READ_CHUNK = 4096

EventListener = Callable[[DeviceEvent], None]
LogListener = Callable[[bytes], None]


class _Pending:
    __slots__ = ("command", "done", "error", "frame", "seq")

    def __init__(self, command: int, seq: int) -> None:
        self.command = command
        self.seq = seq
        self.done = threading.Event()
        self.frame: Frame | None = None
        self.error: DeviceError | None = None


class FrameLink:
    """Requests and answers over one open port. Thread-safe; ``close()`` may be called from any
    thread and aborts a waiting request with DeviceDisconnected."""

    def __init__(
        self,
        port: Any,
        *,
        response_timeout: float,
        tries: int,
        busy_budget: float,
        first_seq: int | None,
        port_name: str,
    ) -> None:
        self.response_timeout = response_timeout
        self.tries = max(1, tries)
        self.busy_budget = busy_budget
        self.port_name = port_name
        self._seq = first_seq if first_seq is not None else random.randint(1, 255)
        if not 1 <= self._seq <= 255:
            raise ValueError("seq is 1..255")
        self.request_lock = threading.RLock()  # held by one request, or a whole reboot
        self._pending_lock = threading.Lock()
        self._pending: _Pending | None = None
        self._listeners_lock = threading.Lock()
        self._event_listeners: list[EventListener] = []
        self._log_listeners: list[LogListener] = []
        self._device_log = DeviceLogWriter(device_log)
        self._closed = threading.Event()
        self._close_lock = threading.Lock()
        self._port: Any = None
        self._reader: threading.Thread | None = None
        self._link_lost: DeviceError | None = None
        self._stop = threading.Event()
        self._decoder = FrameDecoder()
        self._decoder_lock = threading.Lock()
        self.attach(port)

    # --- lifecycle ------------------------------------------------------------------------------

    def attach(self, port: Any) -> None:
        """Start reading ``port`` (at construction, and again after a re-plug)."""
        if getattr(port, "timeout", None) is None:
            port.timeout = READ_POLL_S  # the reader must wake to notice close()
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

    def detach(self) -> None:
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
            close_port(port)
        except Exception:
            log.debug("closing %s failed", self.port_name, exc_info=True)

    def close(self) -> None:
        """Stop the reader, close the port, and abort a waiting request (DeviceDisconnected).

        Returns once the port is closed, also when another thread's close() was first: a caller
        that reopens the port next (a retry, the next run) must not find it still held."""
        with self._close_lock:
            if self._closed.is_set():
                return
            self._closed.set()
            self._fail_pending(DeviceDisconnected(self.port_name))
            self.detach()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def wait_closed(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` unless ``close()`` is called meanwhile; True if it was."""
        return self._closed.wait(timeout)

    @property
    def link_lost(self) -> DeviceError | None:
        """Why the reader stopped (the port vanished or failed), or None while it runs."""
        return self._link_lost

    # --- listeners ------------------------------------------------------------------------------

    def add_event_listener(self, callback: EventListener) -> Callable[[], None]:
        """Call ``callback(DeviceEvent)`` (reader thread) for each EVENT; returns a remover."""
        return self._add_listener(self._event_listeners, callback)

    def add_log_listener(self, callback: LogListener) -> Callable[[], None]:
        """Call ``callback(bytes)`` with the device's log text (every byte outside a frame)."""
        return self._add_listener(self._log_listeners, callback)

    def _add_listener(self, listeners: list[Any], callback: Any) -> Callable[[], None]:
        with self._listeners_lock:
            listeners.append(callback)

        def remove() -> None:
            with self._listeners_lock:
                if callback in listeners:
                    listeners.remove(callback)

        return remove

    def _notify(self, listeners: list[Any], value: object, what: str) -> None:
        with self._listeners_lock:
            targets = list(listeners)
        for listener in targets:
            try:
                listener(value)
            except Exception:
                log.exception("device %s listener failed", what)

    # --- requests -------------------------------------------------------------------------------

    def _next_seq(self) -> int:
        seq = self._seq
        self._seq = 1 if seq >= 255 else seq + 1
        return seq

    def call(
        self,
        command: int,
        fields: list[tuple[int, bytes]] | None = None,
        *,
        timeout: float | None = None,
        tries: int | None = None,
        raw_payload: bytes | None = None,
    ) -> ResponseFields:
        """Send ``command`` (TLV ``fields``, or ``raw_payload`` as is) and return the answer's
        fields; retries and BUSY as described above, an ERROR raises its typed DeviceError."""
        name = errors.command_name(command)
        try:
            payload = raw_payload if raw_payload is not None else encode_tlv(fields or [])
        except ValueError:
            raise errors.error_response(name, ErrorCode.BAD_VALUE) from None
        with self.request_lock:
            busy_deadline = time.monotonic() + self.busy_budget
            while True:
                frame = self._exchange(
                    command, payload, timeout or self.response_timeout, tries or self.tries
                )
                try:
                    decoded = ResponseFields(name, decode_tlv(frame.payload))
                except MalformedPayload as exc:
                    raise errors.MalformedResponse(name, str(exc)) from None
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
            raise from_io_error(self.port_name, exc) from None

    def _fail_pending(self, error: DeviceError) -> None:
        with self._pending_lock:
            pending = self._pending
            if pending is not None and not pending.done.is_set():
                pending.error = error
                pending.done.set()

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
                    err = from_io_error(self.port_name, exc)
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
        self._device_log.write(text)
        self._notify(self._log_listeners, text, "log")

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
            event = parse_event(ResponseFields("EVENT", decode_tlv(frame.payload)))
        except (DeviceError, MalformedPayload) as exc:
            log.debug("ignored a malformed event: %s", exc)
            return
        log.debug("<- event %s", event)
        self._notify(self._event_listeners, event, "event")
