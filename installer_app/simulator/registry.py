"""Where running simulators announce their ports, so port discovery lists them like USB boards.

Each served port is one small JSON file in ``$INSTALLER_SIM_REGISTRY`` (default: ``sim-ports`` in
the user's runtime dir: ``$XDG_RUNTIME_DIR/installer-app`` when that is a private folder, else
``installer-app-<uid>`` in the temporary directory; platformdirs' runtime dir on Windows and macOS).
A file whose process has died, or whose device path is gone, is not listed;
the files of dead processes are removed when seen.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import tempfile
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import platformdirs

from installer_app.atomic_write import SHARED, replace_atomically
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
    if sys.platform in ("win32", "darwin"):
        # platformdirs' runtime dir there is a per-user temporary folder and never warns.
        return Path(platformdirs.user_runtime_dir(APP_NAME, APP_AUTHOR)) / "sim-ports"
    # On Linux and the BSDs platformdirs warns (RuntimeDirWarning) when XDG_RUNTIME_DIR is unset
    # or unfit, as in a plain shell or a service, and `installer-app ports` must stay quiet.
    # (Silencing it with warnings.catch_warnings is not thread-safe: the GUI lists ports on a
    # worker.) So use XDG_RUNTIME_DIR only when it is a private folder of ours, else a per-user
    # folder in the temporary directory.
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and _private_dir(Path(runtime)):
        return Path(runtime) / APP_NAME / "sim-ports"
    return Path(tempfile.gettempdir()) / f"{APP_NAME}-{os.getuid()}" / "sim-ports"


def _private_dir(path: Path) -> bool:
    """An existing real folder owned by this user that no one else can enter."""
    try:
        st = path.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077


def pseudo_serial_number(hw_id: bytes) -> str:
    """What a USB bridge would report as its serial number; the same for the life of the board."""
    return "SIM" + hw_id.hex().upper()


def describe(model_id: str) -> str:
    return f"installer-app simulated {model_id}"


def register(entry: SimPortEntry) -> Path:
    """Announce a port; returns the handle to give to ``unregister``."""
    directory = registry_dir()
    # Owner-only: another user must not announce ports to this one.
    directory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.mkdir(mode=0o700, exist_ok=True)
    path = directory / f"{entry.pid}-{uuid.uuid4().hex}.json"
    with replace_atomically(path, mode=SHARED) as out:  # a reader never sees half a file
        out.write(json.dumps(asdict(entry)))
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
