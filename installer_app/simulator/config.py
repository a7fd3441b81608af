"""How a simulated board looks and misbehaves: ``SimulatorConfig`` and its checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from installer_app.device.protocol import Command

BindingProbe = Callable[[str], str | None]

MAX_COMMIT_LATENCY_S = 1.5


@dataclass
class SimulatorConfig:
    """How the simulated board looks and misbehaves. Times are in seconds."""

    model_id: str = "WX-ATT-200"
    fw_version: str = "1.4.2"
    hw_id: bytes | None = None  # None: the state file's, else 6 fresh random bytes
    proto: int = 1
    latency_s: float = 0.0  # before each response
    commit_latency_s: float = 0.2  # flash write time of a COMMIT (the spec allows 1.5 s in all)
    boot_s: float = 0.5  # boot log and deaf time after power-on or REBOOT (the spec allows 3 s)
    wifi: bool = True  # False: SET_WIFI is UNKNOWN_COMMAND and the board is online by ethernet
    wifi_join_s: float = 1.0  # from (re)join to ONLINE; LINK_UP comes half-way
    known_networks: dict[str, str] | None = None  # SSID -> passphrase; None: every network joins
    binding_probe: BindingProbe | None = None  # SN -> corp name once bound, None while unbound
    probe_interval_s: float = 1.0
    wecom_step_s: float = 0.1  # ONLINE -> REGISTERED -> WAITING_BIND
    identify_s: float = 5.0
    error_messages: bool = True  # add a MESSAGE field to ERROR responses
    # Fault injection
    noise: bool = False  # log lines at random times, some holding A5 and A5 5A
    noise_interval_s: float = 0.3  # mean time between noise lines
    drop_rate: float = 0.0  # share of requests silently ignored
    drop_next: int = 0  # the next n requests are silently ignored
    corrupt_rate: float = 0.0  # share of responses sent with a flipped byte (CRC fails)
    corrupt_next: int = 0
    flash_fail_next: int = 0  # the next n COMMITs that write flash fail with FLASH_FAIL
    busy_next: int = 0  # the next n requests are answered BUSY
    unplug_on: str | None = None  # command name: the port vanishes while executing it (once)
    replug_after_s: float | None = 1.0  # a server re-plugs this long after unplug_on fired
    seed: int | None = None  # makes noise, drop and corruption reproducible

    def __post_init__(self) -> None:
        if not (1 <= len(self.model_id) <= 64 and self.model_id.isascii()):
            raise ValueError("model_id must be 1..64 ASCII characters")
        if not (1 <= len(self.fw_version) <= 32 and self.fw_version.isascii()):
            raise ValueError("fw_version must be 1..32 ASCII characters")
        if self.hw_id is not None and not 6 <= len(self.hw_id) <= 16:
            raise ValueError("hw_id must be 6..16 bytes")
        if not 1 <= self.proto <= 255:
            raise ValueError("proto must be 1..255")
        if not 0 <= self.commit_latency_s < MAX_COMMIT_LATENCY_S:
            raise ValueError("commit_latency_s must be at least 0 and under 1.5 s")
        for name in ("latency_s", "boot_s", "wifi_join_s", "wecom_step_s", "identify_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.probe_interval_s <= 0 or self.noise_interval_s <= 0:
            raise ValueError("intervals must be positive")
        for name in ("drop_rate", "corrupt_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        for name in ("drop_next", "corrupt_next", "flash_fail_next", "busy_next"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.unplug_on is not None:
            self.unplug_on = parse_command_name(self.unplug_on).name


def parse_command_name(name: str) -> Command:
    """``"commit"`` or ``"COMMIT"`` -> Command.COMMIT; ValueError for an unknown name."""
    try:
        return Command[name.strip().upper().replace("-", "_")]
    except KeyError:
        known = ", ".join(c.name for c in Command)
        raise ValueError(f"unknown command {name!r} (one of {known})") from None
