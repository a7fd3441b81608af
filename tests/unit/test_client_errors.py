"""How OS and pyserial failures become errors a person can act on."""

from __future__ import annotations

import errno
import sys

import pytest
import serial

from installer_app.device import errors
from installer_app.device.serial_port import from_io_error, from_open_error
from installer_app.i18n import Message


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        (FileNotFoundError(errno.ENOENT, "No such file or directory"), errors.PortNotFound),
        (OSError(errno.ENXIO, "No such device or address"), errors.PortNotFound),
        (OSError(errno.EBUSY, "Device or resource busy"), errors.PortBusy),
        (OSError(errno.EIO, "Input/output error"), errors.DeviceDisconnected),
        (
            serial.SerialException(
                errno.ENOENT,
                "could not open port /dev/ttyUSB9: [Errno 2] No such file or directory",
            ),
            errors.PortNotFound,
        ),
        (
            serial.SerialException(
                errno.EAGAIN, "Could not exclusively lock port /dev/ttyUSB0: [Errno 11]"
            ),
            errors.PortBusy,
        ),
        (
            serial.SerialException(errno.EBUSY, "could not open port: Device or resource busy"),
            errors.PortBusy,
        ),
        (
            serial.SerialException(
                "could not open port 'COM7': FileNotFoundError(2, 'The system cannot find the "
                "file specified.', None, 2)"
            ),
            errors.PortNotFound,
        ),
        (serial.SerialException("something odd happened"), errors.PortError),
    ],
)
def test_open_errors_map_to_typed_errors(exc: BaseException, cls: type[errors.DeviceError]) -> None:
    mapped = from_open_error("/dev/ttyUSB0", exc)
    assert type(mapped) is cls
    assert mapped.exit_code == 3
    assert "/dev/ttyUSB0" in mapped.message.english()


def test_permission_denied_on_linux_names_the_dialout_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    mapped = from_open_error(
        "/dev/ttyUSB0",
        serial.SerialException(errno.EACCES, "could not open port: [Errno 13] Permission denied"),
    )
    assert isinstance(mapped, errors.PortPermissionDenied)
    assert mapped.hint is not None
    assert "sudo usermod -aG dialout $USER" in mapped.hint.english()


def test_access_denied_on_windows_means_another_program_holds_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    mapped = from_open_error(
        "COM3",
        serial.SerialException(
            "could not open port 'COM3': PermissionError(13, 'Access is denied.', None, 5)"
        ),
    )
    assert isinstance(mapped, errors.PortBusy)
    assert mapped.hint is not None and "serial monitor" in mapped.hint.english()


@pytest.mark.parametrize(
    "exc",
    [
        serial.SerialException(
            "device reports readiness to read but returned no data (device disconnected or "
            "multiple access on port?)"
        ),
        serial.SerialException("read failed: [Errno 5] Input/output error"),
        serial.SerialException("socket disconnected"),
        OSError(errno.EBADF, "Bad file descriptor"),
    ],
)
def test_io_errors_mean_disconnected(exc: BaseException) -> None:
    assert isinstance(from_io_error("COM3", exc), errors.DeviceDisconnected)


def test_port_busy_names_the_holders() -> None:
    err = errors.PortBusy("/dev/ttyUSB0", ["minicom (pid 4242)"])
    assert "minicom (pid 4242)" in str(err)
    assert "Close the other program" in str(err)


def test_device_text_is_cleaned_and_bounded() -> None:
    assert errors.clean_device_text(b"bad\x00\x07 value\xff") == "bad   value\ufffd"
    assert len(errors.clean_device_text("x" * 1000)) == 200
    err = errors.error_response("WRITE", 0x04, "held\nby\tother")
    assert err.code == 0x04 and "another credential" in str(err)
    assert err.device_message == "held by other"


def test_every_device_error_renders_message_and_hint() -> None:
    samples: list[errors.DeviceError] = [
        errors.DeviceTimeout("/dev/x", "HELLO", 3),
        errors.PortNotFound("/dev/x"),
        errors.PortBusy("/dev/x"),
        errors.PortPermissionDenied("/dev/x"),
        errors.DeviceDisconnected("/dev/x"),
        errors.UnsupportedProtocol("/dev/x", 0),
        errors.MalformedResponse("HELLO", "HW_ID is missing"),
        *(errors.error_response("COMMIT", code) for code in range(1, 9)),
    ]
    for err in samples:
        message, hint = err.describe()
        assert isinstance(err.message, Message)
        assert message and "{" not in message
        assert hint is None or "{" not in hint
        assert err.exit_code == 3
