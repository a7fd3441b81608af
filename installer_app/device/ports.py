"""Which serial ports there are, which of them are likely our boards, and finding a board again.

``list_ports`` merges the OS's ports (pyserial's ``comports()``) with the ports of simulators
running on this machine (``installer_app.simulator.registry.list_running``), likely boards first:
USB-serial bridges on the VID/PID allowlist in allowlist order, then simulators, then everything
else by name.

``find_again`` finds a board after REBOOT or a USB re-plug, when its port may come back under
another name: by USB serial number first, else among ports with the same VID/PID by asking each
for its HW_ID.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from serial.tools import list_ports as pyserial_list_ports

from installer_app.config import DEFAULT_ALLOWLIST
from installer_app.device.errors import PortNotFound
from installer_app.simulator import registry

log = logging.getLogger(__name__)

_POLL_S = 0.2


@dataclass(frozen=True)
class PortInfo:
    device: str  # what to pass to DeviceClient.open: a path, COMn or a pyserial URL
    vid: int | None
    pid: int | None
    serial_number: str | None
    description: str
    likely: bool
    simulated: bool
    hw_id_hex: str | None = None  # known without asking for simulators only

    @property
    def vid_pid(self) -> str:
        """``"10C4:EA60"``, or ``""`` for a port that is not USB."""
        if self.vid is None or self.pid is None:
            return ""
        return f"{self.vid:04X}:{self.pid:04X}"

    def to_json(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "vid_pid": self.vid_pid or None,
            "vid": self.vid,
            "pid": self.pid,
            "serial_number": self.serial_number,
            "description": self.description,
            "likely": self.likely,
            "simulated": self.simulated,
        }


def parse_allowlist(allowlist: Iterable[str]) -> list[tuple[int, int]]:
    """``["10c4:ea60", ...]`` → ``[(0x10C4, 0xEA60), ...]``; entries that do not parse are
    skipped (the settings loader reports them)."""
    pairs: list[tuple[int, int]] = []
    for entry in allowlist:
        vid, sep, pid = entry.strip().partition(":")
        try:
            if sep:
                pairs.append((int(vid, 16), int(pid, 16)))
        except ValueError:
            log.debug("ignored allowlist entry %r", entry)
    return pairs


def _os_ports() -> list[Any]:
    try:
        return list(pyserial_list_ports.comports())
    except Exception:
        log.warning("listing serial ports failed", exc_info=True)
        return []


def _field(entry: Any, name: str) -> Any:
    if isinstance(entry, dict):
        return entry.get(name)
    return getattr(entry, name, None)


def _simulated_ports() -> list[PortInfo]:
    """Ports of simulators running on this machine, from the simulator registry: its one
    read-only function is all the host side knows of the simulator."""
    try:
        entries = list(registry.list_running())
    except Exception:
        log.debug("no simulator registry", exc_info=True)
        return []
    found: list[PortInfo] = []
    for entry in entries:
        device = _field(entry, "device")
        if not isinstance(device, str) or not device:
            continue
        serial_number = _field(entry, "serial_number")
        hw_id_hex = _field(entry, "hw_id_hex")
        found.append(
            PortInfo(
                device=device,
                vid=None,
                pid=None,
                serial_number=str(serial_number) if serial_number else None,
                description=str(_field(entry, "description") or "installer-app device simulator"),
                likely=True,
                simulated=True,
                hw_id_hex=str(hw_id_hex).lower() if hw_id_hex else None,
            )
        )
    return found


def list_ports(allowlist: Sequence[str] = DEFAULT_ALLOWLIST) -> list[PortInfo]:
    """Every port, likely boards first (allowlist order), then simulators, then the rest."""
    allowed = parse_allowlist(allowlist)
    ranked: list[tuple[int, str, PortInfo]] = []
    for p in _os_ports():
        vid: int | None = getattr(p, "vid", None)
        pid: int | None = getattr(p, "pid", None)
        pair = (vid, pid) if vid is not None and pid is not None else None
        rank = allowed.index(pair) if pair is not None and pair in allowed else None
        info = PortInfo(
            device=str(p.device),
            vid=vid,
            pid=pid,
            serial_number=getattr(p, "serial_number", None) or None,
            description=str(getattr(p, "description", "") or ""),
            likely=rank is not None,
            simulated=False,
        )
        ranked.append((rank if rank is not None else 10_000, info.device, info))
    for info in _simulated_ports():
        ranked.append((5_000, info.device, info))
    ranked.sort(key=lambda item: (item[0], item[1]))
    seen: set[str] = set()
    result: list[PortInfo] = []
    for _, device, info in ranked:
        if device not in seen:
            seen.add(device)
            result.append(info)
    return result


def find_again(
    previous: PortInfo | None,
    hw_id: bytes | None,
    timeout_s: float,
    *,
    probe_timeout: float = 0.5,
    lister: Callable[[], list[PortInfo]] = list_ports,
    probe: Callable[[str, float], bytes | None] | None = None,
) -> str:
    """The port of the same board, once it is back: same USB serial number first, else a port
    with the same VID/PID (any likely port when the old one was unknown) whose HELLO gives
    ``hw_id``. Polls until ``timeout_s``; raises PortNotFound after.

    ``probe(device, timeout_s)`` asks a port for its board's HW_ID (the client passes
    ``client.probe_hw_id``; this module never opens a client). Without it only ports whose HW_ID
    is known without asking (simulators) match by HW_ID."""
    deadline = time.monotonic() + timeout_s
    name = previous.device if previous else (hw_id.hex() if hw_id else "?")
    while True:
        ports = lister()
        match = _by_serial_number(previous, ports)
        if match is None and hw_id is not None:
            match = _by_hw_id(previous, hw_id, ports, probe, probe_timeout)
        if match is not None:
            return match
        if time.monotonic() + _POLL_S >= deadline:
            raise PortNotFound(name)
        time.sleep(_POLL_S)


def _by_serial_number(previous: PortInfo | None, ports: list[PortInfo]) -> str | None:
    if previous is None or not previous.serial_number:
        return None
    for info in ports:
        if info.serial_number != previous.serial_number:
            continue
        if previous.vid is not None and (info.vid, info.pid) != (previous.vid, previous.pid):
            continue
        return info.device
    return None


def _by_hw_id(
    previous: PortInfo | None,
    hw_id: bytes,
    ports: list[PortInfo],
    probe: Callable[[str, float], bytes | None] | None,
    probe_timeout: float,
) -> str | None:
    wanted = hw_id.hex()
    for info in ports:
        if info.hw_id_hex is not None:
            if info.hw_id_hex == wanted:
                return info.device
            continue
        if previous is not None and previous.vid is not None:
            if (info.vid, info.pid) != (previous.vid, previous.pid):
                continue
        elif not info.likely:
            continue
        if probe is not None and probe(info.device, probe_timeout) == hw_id:
            return info.device
    return None
