"""Where running simulators announce their ports, so port discovery lists them like USB boards.

Each served port is one small JSON file in ``$INSTALLER_SIM_REGISTRY`` (default: the platformdirs
user runtime dir ``/sim-ports``). A file whose process has died, or whose device path is gone, is
not listed; the files of dead processes are removed when seen.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import uuid
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import platformdirs

from installer_app.paths import APP_AUTHOR, APP_NAME

ENV_VAR = "INSTALLER_SIM_REGISTRY"
SOCKET_PREFIX = "socket://"


@dataclass(frozen=True)
class SimPortEntry:
    device: str  # a pty path or a socket:// URL
    description: str
    serial_number: str  # stable pseudo USB serial number, derived from HW_ID
    hw_id_hex: str
    model_id: str
    pid: int


def registry_dir() -> Path:
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override)
    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR platformdirs warns and falls back to a private /tmp folder,
        # which suits the registry just as well.
        warnings.simplefilter("ignore")
        runtime = platformdirs.user_runtime_dir(APP_NAME, APP_AUTHOR)
    return Path(runtime) / "sim-ports"


def pseudo_serial_number(hw_id: bytes) -> str:
    """What a USB bridge would report as its serial number; the same for the life of the board."""
    return "SIM" + hw_id.hex().upper()


def describe(model_id: str) -> str:
    return f"installer-app simulated {model_id}"


def register(entry: SimPortEntry) -> Path:
    """Announce a port; returns the handle to give to ``unregister``."""
    directory = registry_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{entry.pid}-{uuid.uuid4().hex}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(entry)), encoding="utf-8")
    os.replace(tmp, path)  # a reader never sees half a file
    return path


def unregister(handle: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        handle.unlink()


def list_running() -> list[SimPortEntry]:
    directory = registry_dir()
    try:
        paths = sorted(directory.glob("*.json"))
    except OSError:
        return []
    entries: list[SimPortEntry] = []
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entry = SimPortEntry(
                device=str(data["device"]),
                description=str(data["description"]),
                serial_number=str(data["serial_number"]),
                hw_id_hex=str(data["hw_id_hex"]),
                model_id=str(data["model_id"]),
                pid=int(data["pid"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue  # being written or removed right now, or not ours
        if not process_alive(entry.pid):
            unregister(path)
            continue
        if not entry.device.startswith(SOCKET_PREFIX) and not os.path.exists(entry.device):
            continue
        entries.append(entry)
    return entries


def process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, belongs to someone else
    return True


def _windows_process_alive(pid: int) -> bool:
    # os.kill on Windows terminates the process whatever the signal, so ask the kernel instead.
    import ctypes

    process_query_limited_information = 0x1000
    still_active = 259
    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
    handle = kernel32.OpenProcess(process_query_limited_information, False, pid)
    if not handle:
        return False
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return False
        return bool(code.value == still_active)
    finally:
        kernel32.CloseHandle(handle)
