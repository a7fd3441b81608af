"""The pipe between the wizard and its board host (``host_child``, ``host_client``).

The bench view runs its boards' workflows in a second process of the app, the board host, so
that the window's thread shares the interpreter lock with nothing but its own work: eight boards'
serial I/O, HTTP, store writes and encryption in the window's process made its frames wait for
the lock (issue #15's stall). The two processes speak in whole messages over the host's stdin and
stdout: a 4-byte length, then a pickled tuple whose first item names it.

Pickle carries the core's own frozen dataclasses (events, results, their ``Message`` reasons)
between two processes of the same build, never anything read from outside. A ``Secret`` refuses to
be pickled; the few secrets the host needs (the session's provider secret and partner token, the
site's Wi-Fi password) travel as plain strings inside the pipe only and become ``Secret``\\ s again
on the other side: nothing is written anywhere, nothing is on a command line.

From the wizard: ``("open", settings without secrets, data dir, provider secret, partner token,
log level)`` first, then ``("start", port, forced)``, ``("cancel", port)``,
``("wifi", ssid or None, password)``, ``("close",)``.
From the host: ``("ready",)`` or ``("failed", Message)``, then ``("event", WorkflowEvent)``,
``("code", url, modules)`` (a binding code drawn, just before the event that shows it),
``("result", ProvisionResult, left alone)``, ``("refused", port)`` (that port still runs),
``("wifi_needed",)``, ``("log", level, logger name, text)``, ``("closed",)``.
"""

from __future__ import annotations

import contextlib
import pickle
import struct
import threading
from typing import IO, Any

from installer_app.config import Settings
from installer_app.secrets import Secret
from installer_app.workflow.events import WifiCredentials

_LENGTH = struct.Struct(">I")
# The largest message either side sends is an event or a result: a few kB.
MAX_MESSAGE = 1 << 20

HostMessage = tuple[Any, ...]


class ProtocolError(Exception):
    """The other side sent something that is not a message of this protocol."""


class Channel:
    """Whole messages over a pair of pipes; ``send`` may be called from several threads."""

    def __init__(self, reader: IO[bytes] | None, writer: IO[bytes] | None) -> None:
        self._reader = reader
        self._writer = writer
        self._lock = threading.Lock()

    def send(self, message: HostMessage) -> None:
        """Raises OSError (BrokenPipeError) when the other side is gone."""
        assert self._writer is not None
        body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            self._writer.write(_LENGTH.pack(len(body)) + body)
            self._writer.flush()

    def receive(self) -> HostMessage | None:
        """The next message; None when the other side closed the pipe."""
        assert self._reader is not None
        header = _read_exactly(self._reader, _LENGTH.size)
        if header is None:
            return None
        (length,) = _LENGTH.unpack(header)
        if length > MAX_MESSAGE:
            raise ProtocolError(f"a message of {length} bytes")
        body = _read_exactly(self._reader, length)
        if body is None:
            return None
        message = pickle.loads(body)  # our own process of the same build
        if not isinstance(message, tuple) or not message or not isinstance(message[0], str):
            raise ProtocolError(f"not a message: {type(message).__name__}")
        return message

    def close(self) -> None:
        for stream in (self._writer, self._reader):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def _read_exactly(reader: IO[bytes], size: int) -> bytes | None:
    chunks: list[bytes] = []
    left = size
    while left:
        chunk = reader.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def open_message(settings: Settings, data_dir: str, log_level: int) -> HostMessage:
    """The host's first message: the session's settings, their secrets apart."""
    return (
        "open",
        settings.with_secrets(None, None),
        data_dir,
        _reveal(settings.provider_secret),
        _reveal(settings.partner_token),
        log_level,
    )


def settings_of(message: HostMessage) -> tuple[Settings, str, int]:
    """The settings (with their secrets again), data dir and log level of an ``open`` message."""
    _tag, settings, data_dir, provider_secret, partner_token, log_level = message
    if not isinstance(settings, Settings):
        raise ProtocolError("an open message without settings")
    return (
        settings.with_secrets(_secret(provider_secret), _secret(partner_token)),
        str(data_dir),
        int(log_level),
    )


def wifi_message(wifi: WifiCredentials | None) -> HostMessage:
    if wifi is None:
        return ("wifi", None, "")
    return ("wifi", wifi.ssid, wifi.psk.reveal())


def wifi_of(message: HostMessage) -> WifiCredentials | None:
    _tag, ssid, psk = message
    return None if ssid is None else WifiCredentials(str(ssid), Secret(str(psk)))


def _reveal(secret: Secret | None) -> str | None:
    return secret.reveal() if secret is not None else None


def _secret(value: object) -> Secret | None:
    return Secret(value) if isinstance(value, str) and value else None
