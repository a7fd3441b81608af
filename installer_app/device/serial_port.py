"""Opening and closing a port the way the client needs it.

DTR/RTS: never set. The OS asserts both when a port is opened, and pyserial's default (both
asserted) re-states exactly that, so no edge reaches the board. Setting them to False before
``open()`` would make pyserial clear them right after the OS raised them, which is the very toggle
that resets boards with an auto-reset circuit. (Closing a port may still drop DTR where the OS
does so on last close (HUPCL); that is outside a client's control.)
"""

from __future__ import annotations

import logging
from typing import Any

import serial

from installer_app.device import errors
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
        raise errors.from_open_error(url, exc) from None
    _configure(port)
    port.timeout = READ_POLL_S
    port.write_timeout = WRITE_TIMEOUT_S
    # flock() on POSIX: a second opener (another installer-app, esptool) gets PortBusy.
    # Windows opens serial ports exclusively anyway; URL handlers ignore the setting.
    port.exclusive = True
    try:
        port.open()
    except (serial.SerialException, OSError, ValueError) as exc:
        raise errors.from_open_error(url, exc) from None
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
