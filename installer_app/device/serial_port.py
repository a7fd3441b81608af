"""Opening and closing a port the way the client needs it, and what the OS's failures mean.

``from_open_error`` and ``from_io_error`` map what pyserial and the OS raise to a DeviceError naming
the port; a busy port names the processes holding it where the OS tells (Linux ``/proc``).

DTR/RTS: never set. The OS asserts both when a port is opened, and pyserial's default (both
asserted) re-states exactly that, so no edge reaches the board. Setting them to False before
``open()`` would make pyserial clear them right after the OS raised them, which is the very toggle
that resets boards with an auto-reset circuit. (Closing a port may still drop DTR where the OS
does so on last close (HUPCL); that is outside a client's control.)
"""

from __future__ import annotations

import errno
import logging
import os
import sys
from pathlib import Path
from typing import Any

import serial

from installer_app.device.errors import (
    DeviceDisconnected,
    DeviceError,
    PortBusy,
    PortError,
    PortNotFound,
    PortPermissionDenied,
)
from installer_app.device.protocol import BAUDRATE

log = logging.getLogger(__name__)

# How long a read blocks: bounds how late a reader notices close() on ports that have no
# cancel_read (sockets, loop://).
READ_POLL_S = 0.1
WRITE_TIMEOUT_S = 2.0


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
        raise from_open_error(url, exc) from None
    _configure(port)
    port.timeout = READ_POLL_S
    port.write_timeout = WRITE_TIMEOUT_S
    # flock() on POSIX: a second opener (another installer-app, esptool) gets PortBusy.
    # Windows opens serial ports exclusively anyway; URL handlers ignore the setting.
    port.exclusive = True
    try:
        port.open()
    except (serial.SerialException, OSError, ValueError) as exc:
        raise from_open_error(url, exc) from None
    return port


def close_port(port: Any) -> None:
    """Close ``port``, and its socket too for ``socket://`` URLs.

    pyserial's socket:// ``close()`` skips closing the socket when ``shutdown()`` fails, as it
    does once the peer has reset the connection; the socket then leaks (a ResourceWarning).
    Raises what ``port.close()`` raises, after the socket is closed.
    """
    sock = getattr(port, "_socket", None)
    try:
        port.close()
    finally:
        if sock is not None:
            sock.close()


def port_holders(port: str) -> list[str]:
    """Which processes hold ``port`` open, as "name (pid N)", where the OS tells us (Linux /proc).

    Best effort: processes of other users are not readable without privileges.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    try:
        target = os.path.realpath(port)
    except OSError:
        return []
    me = os.getpid()
    holders: list[str] = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) == target:
                    name = (entry / "comm").read_text(encoding="utf-8", errors="replace").strip()
                    holders.append(f"{name} (pid {entry.name})")
                    break
            except OSError:
                continue
    return holders


_NOT_FOUND_TEXTS = (
    "filenotfounderror",
    "cannot find the file",
    "no such file",
    "does not exist",
    "connection refused",  # socket:// with nothing listening
)
_DENIED_TEXTS = ("access is denied", "permission denied", "permissionerror")
_BUSY_TEXTS = ("could not exclusively lock", "resource busy", "device or resource busy")
_GONE_TEXTS = (
    "device disconnected",
    "socket disconnected",
    "returned no data",
    "input/output error",
    "no such device",
    "the device does not recognize the command",
)


def _errno_of(exc: BaseException) -> int | None:
    value = getattr(exc, "errno", None)
    if isinstance(value, int):
        return value
    for arg in getattr(exc, "args", ()):
        if isinstance(arg, int):
            return arg
    return None


def from_open_error(port: str, exc: BaseException) -> DeviceError:
    """Map a failure to open ``port`` (pyserial SerialException or OSError) to a DeviceError."""
    code = _errno_of(exc)
    text = str(exc).lower()
    if isinstance(exc, FileNotFoundError) or code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return PortNotFound(port)
    if isinstance(exc, PermissionError) or code in (errno.EACCES, errno.EPERM):
        # Windows reports a port held by another program as "Access is denied".
        if sys.platform == "win32":
            return PortBusy(port)
        return PortPermissionDenied(port)
    if code in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK) or any(
        t in text for t in _BUSY_TEXTS
    ):
        return PortBusy(port, port_holders(port))
    if any(t in text for t in _NOT_FOUND_TEXTS):
        return PortNotFound(port)
    if any(t in text for t in _DENIED_TEXTS):
        return PortBusy(port) if sys.platform == "win32" else PortPermissionDenied(port)
    if code in (errno.EIO,) or any(t in text for t in _GONE_TEXTS):
        return DeviceDisconnected(port)
    return PortError(port, str(exc))


def from_io_error(port: str, exc: BaseException) -> DeviceError:
    """Map a failure while reading or writing an open port: almost always the port went away."""
    code = _errno_of(exc)
    text = str(exc).lower()
    if code in (errno.EIO, errno.ENXIO, errno.ENODEV, errno.EBADF, errno.EPIPE) or any(
        t in text for t in _GONE_TEXTS
    ):
        return DeviceDisconnected(port)
    if isinstance(exc, OSError | ConnectionError):
        return DeviceDisconnected(port)
    return PortError(port, str(exc))
