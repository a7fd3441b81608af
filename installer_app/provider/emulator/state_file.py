"""The provider emulator's state file: devices, boards, installations and tokens as JSON.

Written after every change through a temporary file and ``os.replace``, so a crash never leaves
half a file; owner-only, since it holds (test) SecretNos. A file that cannot be read or parsed is
an ``EmulatorStateError`` that says what to do, never a silent fresh start.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from installer_app.atomic_write import replace_atomically
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.provider.emulator.records import (
    INT64_MAX,
    Board,
    Device,
    EmulatorStateError,
    Installation,
    sn_key,
)

STATE_VERSION = 1


@dataclass
class Persisted:
    """What survives a restart; the dicts are keyed as in ``EmulatorState``."""

    devices: dict[str, Device] = field(default_factory=dict)  # sn_key -> device, in order
    boards: dict[str, Board] = field(default_factory=dict)  # hw_id -> board
    installations: dict[str, Installation] = field(default_factory=dict)  # corpid -> install
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expires_at (wall time)


def _device(data: dict[str, Any]) -> Device:
    """A device record; files from before device_id was an int64 held "emu<hex>": derive one."""
    device_id = data.get("device_id")
    if not isinstance(device_id, int) or isinstance(device_id, bool):
        digest = hashlib.sha256(str(device_id).encode()).digest()
        data = {**data, "device_id": int.from_bytes(digest[:8], "big") % INT64_MAX + 1}
    return Device(**data)


def load(path: Path) -> Persisted:
    """The state in ``path``; empty when there is no such file."""
    try:
        raw = path.read_bytes()  # decoded below: a binary file is a damaged state, not a crash
    except FileNotFoundError:
        return Persisted()
    except OSError as exc:
        raise EmulatorStateError(
            Message(
                QT_TRANSLATE_NOOP("emulator", "Cannot read the emulator state file {path}."),
                path=str(path),
            ),
            Message(
                QT_TRANSLATE_NOOP("emulator", "Check its permissions: {reason}"),
                reason=exc.strerror or "",
            ),
        ) from exc
    try:
        data = json.loads(raw.decode("utf-8"))
        return Persisted(
            devices={sn_key(d["device_sn"]): _device(d) for d in data.get("devices", [])},
            boards={k: Board(**v) for k, v in data.get("boards", {}).items()},
            installations={k: Installation(**v) for k, v in data.get("installations", {}).items()},
            tokens={str(k): float(v) for k, v in data.get("tokens", {}).items()},
        )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise EmulatorStateError(
            Message(
                QT_TRANSLATE_NOOP("emulator", "The emulator state file {path} is damaged."),
                path=str(path),
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "emulator", "Delete it or pass another --state file to start empty."
                )
            ),
        ) from exc


def save(path: Path, state: Persisted) -> None:
    data = {
        "version": STATE_VERSION,
        "devices": [asdict(d) for d in state.devices.values()],
        "boards": {k: asdict(v) for k, v in state.boards.items()},
        "installations": {k: asdict(v) for k, v in state.installations.items()},
        "tokens": state.tokens,
    }
    text = json.dumps(data, ensure_ascii=False, indent=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replace_atomically(path) as out:  # owner-only: it holds (test) SecretNos
        out.write(text)
