"""The simulated board's flash: what survives a power cycle, kept in a JSON state file.

The file is replaced atomically and created owner-only: it holds SECRET_NO and the Wi-Fi PSK in
clear, as the board's flash would.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from installer_app.atomic_write import replace_atomically
from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.secrets import Secret

STATE_FILE_FORMAT = 1


class SimulatorStateError(InstallerError):
    """The simulator's state file cannot be read or written."""

    exit_code = ExitCode.USAGE


@dataclass
class Flash:
    """What survives a power cycle."""

    hw_id: bytes
    sn: str | None = None
    secret_no: Secret | None = None
    ssid: str | None = None
    psk: Secret | None = None
    bound_corp: str | None = None  # last binding the board heard of, cached like firmware does


class FlashFile:
    """The board's flash as a JSON file replaced atomically, or RAM only when there is no file.

    The file holds SECRET_NO and the PSK as the board's flash would: it is created owner-only.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def load(self) -> Flash | None:
        if self.path is None or not self.path.exists():
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            cred = data.get("credential") or {}
            wifi = data.get("wifi") or {}
            return Flash(
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

    def save(self, flash: Flash) -> None:
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
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with replace_atomically(self.path) as fh:  # owner-only: it holds the SecretNo
                json.dump(data, fh, indent=2)
        except OSError as exc:
            raise SimulatorStateError(
                Message(
                    QT_TRANSLATE_NOOP("device", "Cannot write the simulator's state file {path}."),
                    path=str(self.path),
                ),
                Message(QT_TRANSLATE_NOOP("device", "Check the folder exists and is writable.")),
            ) from exc


def random_hw_id() -> bytes:
    raw = bytearray(os.urandom(6))
    raw[0] = (raw[0] & 0xFE) | 0x02  # a locally administered, unicast MAC
    return bytes(raw)
