"""Errors of the device link, each with a message and a hint a person can act on.

``DeviceErrorResponse`` is the device's own ERROR answer, its message and hint from one table
(``REFUSALS``, one row per ERROR_CODE; a subclass only where the flow catches the code); the rest
are about the port and the link (``serial_port.from_open_error`` and ``from_io_error`` turn what
pyserial and the OS raise into these, naming the port). A device's MESSAGE field is
untrusted text: it is cleaned (printable, bounded) before it reaches a person.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass

from installer_app.device.protocol import Command, ErrorCode
from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message, Source

_MAX_DEVICE_TEXT = 200


class DeviceError(InstallerError):
    exit_code = ExitCode.DEVICE


class MalformedResponse(DeviceError):
    """A response whose fields are missing or of the wrong shape (a firmware fault)."""

    def __init__(self, command: str, problem: str) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP(
                    "device", "The device sent a malformed answer to {command}: {problem}."
                ),
                command=command,
                problem=problem,
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "device",
                    "Check that the port belongs to a supported board and that its firmware "
                    "is up to date.",
                )
            ),
        )
        self.command = command
        self.problem = problem


def clean_device_text(raw: bytes | str | None) -> str:
    """Make untrusted device text safe to show: decoded, printable, bounded."""
    if raw is None:
        return ""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return text[:_MAX_DEVICE_TEXT]


def command_name(command: int) -> str:
    try:
        return Command(command).name
    except ValueError:
        return f"0x{command:02X}"


class DeviceErrorResponse(DeviceError):
    """The device answered ERROR (type FF). ``code`` is the ERROR_CODE; ``device_message`` the
    device's optional MESSAGE, cleaned of control characters (it is untrusted text). Build it with
    ``error_response``: the message and hint come from ``REFUSALS``."""

    def __init__(self, command: str, code: int, device_message: str = "") -> None:
        self.code = code
        self.command = command
        self.device_message = clean_device_text(device_message)
        row = REFUSALS.get(code)
        what = Message(
            row.what if row else QT_TRANSLATE_NOOP("device", "the device reported error {code}"),
            code=f"0x{code:02X}",
        )
        if self.device_message:
            message = Message(
                QT_TRANSLATE_NOOP("device", "The device refused {command}: {what} ({detail})."),
                command=command,
                what=what,
                detail=self.device_message,
            )
        else:
            message = Message(
                QT_TRANSLATE_NOOP("device", "The device refused {command}: {what}."),
                command=command,
                what=what,
            )
        super().__init__(message, Message(row.hint) if row else None)


class UnknownCommand(DeviceErrorResponse):
    """The firmware does not know the command (the flow skips an optional step)."""


class Busy(DeviceErrorResponse):
    """The device stayed busy past the client's budget (the flow retries the step)."""


@dataclass(frozen=True)
class Refusal:
    """What one ERROR_CODE means to a person, and the class code catches it by."""

    what: Source
    hint: Source
    raises: type[DeviceErrorResponse] = DeviceErrorResponse


# The device protocol's ERROR_CODE table.
REFUSALS: Mapping[int, Refusal] = {
    ErrorCode.BAD_FRAME: Refusal(
        QT_TRANSLATE_NOOP("device", "it could not read the request"),
        QT_TRANSLATE_NOOP("device", "Try again; if it keeps happening, update the app."),
    ),
    ErrorCode.UNKNOWN_COMMAND: Refusal(
        QT_TRANSLATE_NOOP("device", "its firmware does not know this command"),
        QT_TRANSLATE_NOOP("device", "Update the board's firmware."),
        UnknownCommand,
    ),
    ErrorCode.BAD_VALUE: Refusal(
        QT_TRANSLATE_NOOP("device", "a value was missing, too long or not allowed"),
        QT_TRANSLATE_NOOP("device", "Check the SN, the credential or the confirmation sent."),
    ),
    ErrorCode.LOCKED: Refusal(
        QT_TRANSLATE_NOOP("device", "it is already provisioned with another credential"),
        QT_TRANSLATE_NOOP(
            "device",
            "This board belongs to another SN. Use installer-app device factory-reset only if "
            "you are sure it must be provisioned again.",
        ),
    ),
    ErrorCode.NOT_STAGED: Refusal(
        QT_TRANSLATE_NOOP("device", "no credential has been written to it"),
        QT_TRANSLATE_NOOP("device", "Write the credential first, then try again."),
    ),
    ErrorCode.FLASH_FAIL: Refusal(
        QT_TRANSLATE_NOOP("device", "writing its flash failed; nothing was stored"),
        QT_TRANSLATE_NOOP(
            "device", "Try again; if it fails again the board is faulty: set it aside."
        ),
    ),
    ErrorCode.BUSY: Refusal(
        QT_TRANSLATE_NOOP("device", "it stayed busy"),
        QT_TRANSLATE_NOOP("device", "Wait a few seconds and try again."),
        Busy,
    ),
}


def error_response(command: str, code: int, device_message: str = "") -> DeviceErrorResponse:
    """The error for an ERROR frame's code (the base class for a code we do not know)."""
    row = REFUSALS.get(code)
    cls = row.raises if row else DeviceErrorResponse
    return cls(command, code, device_message)


class DeviceTimeout(DeviceError):
    def __init__(self, port: str, command: str, tries: int) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP(
                    "device",
                    "No answer from the device on {port} to {command} after {tries} tries.",
                ),
                port=port,
                command=command,
                tries=tries,
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "device",
                    "Check the cable and the power, and that this is the right port.",
                )
            ),
        )
        self.port = port
        self.command = command


class PortNotFound(DeviceError):
    def __init__(self, port: str) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP("device", "The serial port {port} does not exist."), port=port
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "device",
                    "Plug the board in, then run installer-app ports to see the ports there are.",
                )
            ),
        )
        self.port = port


class PortBusy(DeviceError):
    def __init__(self, port: str, holders: list[str] | None = None) -> None:
        self.port = port
        self.holders = holders or []
        if self.holders:
            message = Message(
                QT_TRANSLATE_NOOP("device", "The serial port {port} is in use by {holders}."),
                port=port,
                holders=", ".join(self.holders),
            )
        else:
            message = Message(
                QT_TRANSLATE_NOOP("device", "The serial port {port} is in use by another program."),
                port=port,
            )
        super().__init__(
            message,
            Message(
                QT_TRANSLATE_NOOP(
                    "device", "Close the other program (e.g. a serial monitor), then try again."
                )
            ),
        )


class PortPermissionDenied(DeviceError):
    def __init__(self, port: str) -> None:
        if sys.platform.startswith("linux"):
            hint = Message(
                QT_TRANSLATE_NOOP(
                    "device",
                    "Add your user to the dialout group: sudo usermod -aG dialout $USER, then "
                    "log out and in again.",
                )
            )
        else:
            hint = Message(
                QT_TRANSLATE_NOOP(
                    "device",
                    "Close any other program using the port, or check the port's permissions.",
                )
            )
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP("device", "Permission denied opening the serial port {port}."),
                port=port,
            ),
            hint,
        )
        self.port = port


class DeviceDisconnected(DeviceError):
    def __init__(self, port: str) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP("device", "The device on {port} was disconnected."), port=port
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "device", "Check that the cable is plugged in firmly, then try again."
                )
            ),
        )
        self.port = port


class UnsupportedProtocol(DeviceError):
    def __init__(self, port: str, proto: int) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP(
                    "device",
                    "The device on {port} speaks provisioning protocol version {proto}; this app "
                    "speaks version 1.",
                ),
                port=port,
                proto=proto,
            ),
            Message(QT_TRANSLATE_NOOP("device", "Update the app or the board's firmware.")),
        )
        self.port = port
        self.proto = proto


class PortError(DeviceError):
    """Any other failure to open or use a port, with the OS's reason."""

    def __init__(self, port: str, reason: str) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP("device", "Cannot use the serial port {port}: {reason}"),
                port=port,
                reason=clean_device_text(reason),
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "device", "Unplug and re-plug the board, then run installer-app ports."
                )
            ),
        )
        self.port = port
