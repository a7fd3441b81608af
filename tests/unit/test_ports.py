"""Port ranking and finding a board again.

USB hardware cannot be plugged in here, so ``comports()`` is the one edge replaced: it returns
pyserial's own ``ListPortInfo`` objects filled as a real bridge would fill them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from serial.tools.list_ports_common import ListPortInfo

from installer_app.device import ports
from installer_app.device.errors import PortNotFound
from installer_app.device.ports import PortInfo, find_again, list_ports, parse_allowlist
from installer_app.simulator import registry as sim_registry


def usb(device: str, vid: int | None, pid: int | None, serial: str | None = None) -> ListPortInfo:
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.serial_number = vid, pid, serial
    info.description = f"bridge on {device}"
    return info


@pytest.fixture
def os_ports(monkeypatch: pytest.MonkeyPatch) -> Callable[[list[ListPortInfo]], None]:
    def install(found: list[ListPortInfo]) -> None:
        monkeypatch.setattr(ports, "_os_ports", lambda: list(found))

    return install


@pytest.fixture
def no_simulators(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ports, "_simulated_ports", lambda: [])


def test_allowlist_parsing_is_case_insensitive_and_skips_junk() -> None:
    assert parse_allowlist(["10c4:ea60", " 1A86:7523 ", "nonsense", "zz:01"]) == [
        (0x10C4, 0xEA60),
        (0x1A86, 0x7523),
    ]


def test_likely_ports_come_first_in_allowlist_order(
    os_ports: Callable[[list[ListPortInfo]], None], no_simulators: None
) -> None:
    os_ports(
        [
            usb("/dev/ttyS0", None, None),
            usb("/dev/ttyUSB1", 0x0403, 0x6001, "FT1"),
            usb("/dev/ttyACM0", 0x2341, 0x0043),
            usb("/dev/ttyUSB0", 0x10C4, 0xEA60, "CP1"),
        ]
    )
    found = list_ports()
    assert [p.device for p in found] == [
        "/dev/ttyUSB0",
        "/dev/ttyUSB1",
        "/dev/ttyACM0",
        "/dev/ttyS0",
    ]
    assert [p.likely for p in found] == [True, True, False, False]
    assert found[0].vid_pid == "10C4:EA60" and found[0].serial_number == "CP1"
    # A custom allowlist, lower case, reorders.
    custom = list_ports(allowlist=["0403:6001", "10c4:ea60"])
    assert [p.device for p in custom][:2] == ["/dev/ttyUSB1", "/dev/ttyUSB0"]


def test_simulators_from_the_registry_are_listed_as_likely(
    os_ports: Callable[[list[ListPortInfo]], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    os_ports([usb("/dev/ttyS0", None, None)])
    entry = sim_registry.SimPortEntry(
        device="/dev/pts/9",
        description="simulated WX-ATT-200",
        serial_number="SIM-1",
        hw_id_hex="240AC4123456",
        model_id="WX-ATT-200",
        pid=1234,
    )
    monkeypatch.setattr(sim_registry, "list_running", lambda: [entry])
    found = list_ports()
    assert found[0] == PortInfo(
        device="/dev/pts/9",
        vid=None,
        pid=None,
        serial_number="SIM-1",
        description="simulated WX-ATT-200",
        likely=True,
        simulated=True,
        hw_id_hex="240ac4123456",
    )
    assert found[0].to_json()["simulated"] is True


def test_a_broken_registry_hides_no_real_port(
    os_ports: Callable[[list[ListPortInfo]], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    os_ports([usb("/dev/ttyUSB0", 0x10C4, 0xEA60)])

    def explode() -> list[object]:
        raise OSError("registry unreadable")

    monkeypatch.setattr(sim_registry, "list_running", explode)
    assert [p.device for p in list_ports()] == ["/dev/ttyUSB0"]


def info(
    device: str,
    vid: int | None = 0x10C4,
    pid: int | None = 0xEA60,
    sn: str | None = None,
    likely: bool = True,
    hw: str | None = None,
) -> PortInfo:
    return PortInfo(device, vid, pid, sn, "", likely, hw is not None, hw)


def test_find_again_prefers_the_usb_serial_number() -> None:
    before = info("/dev/ttyUSB0", sn="CP1")
    after = [info("/dev/ttyUSB0", sn="OTHER"), info("/dev/ttyUSB3", sn="CP1")]
    probed: list[str] = []

    def probe(device: str, timeout: float) -> bytes | None:
        probed.append(device)
        return None

    assert find_again(before, b"\x01" * 6, 1.0, lister=lambda: after, probe=probe) == "/dev/ttyUSB3"
    assert probed == []


def test_find_again_by_hw_id_among_same_vid_pid() -> None:
    before = info("/dev/ttyUSB0")  # no serial number (cheap CH340 bridges have none)
    after = [info("/dev/ttyACM0", 0x2341, 0x0043), info("/dev/ttyUSB1"), info("/dev/ttyUSB2")]
    hw_ids = {"/dev/ttyUSB1": b"\x02" * 6, "/dev/ttyUSB2": b"\x01" * 6}
    probed: list[str] = []

    def probe(device: str, timeout: float) -> bytes | None:
        probed.append(device)
        return hw_ids.get(device)

    assert find_again(before, b"\x01" * 6, 1.0, lister=lambda: after, probe=probe) == "/dev/ttyUSB2"
    assert "/dev/ttyACM0" not in probed


def test_find_again_uses_the_simulator_hw_id_without_probing() -> None:
    after = [info("/dev/pts/7", None, None, hw="010101010101")]
    found = find_again(
        None, b"\x01" * 6, 1.0, lister=lambda: after, probe=lambda d, t: pytest.fail("probed")
    )
    assert found == "/dev/pts/7"


def test_find_again_polls_until_the_port_returns() -> None:
    calls = {"n": 0}

    def lister() -> list[PortInfo]:
        calls["n"] += 1
        return [info("/dev/ttyUSB5", sn="CP1")] if calls["n"] >= 3 else []

    assert find_again(info("/dev/ttyUSB0", sn="CP1"), None, 10.0, lister=lister) == "/dev/ttyUSB5"
    assert calls["n"] == 3


def test_find_again_gives_up_with_port_not_found() -> None:
    with pytest.raises(PortNotFound) as caught:
        find_again(info("/dev/ttyUSB0", sn="CP1"), None, 0.3, lister=lambda: [])
    assert "/dev/ttyUSB0" in str(caught.value)
