"""The simulator over a real pseudo-terminal, spoken to with bare pyserial and the codec."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import serial

from installer_app.device.codec import Frame
from installer_app.device.protocol import (
    RESPONSE_BIT,
    Command,
    DeviceState,
    EventCode,
    NetState,
    Tag,
    WecomState,
)
from installer_app.simulator import registry as sim_registry
from tests.fixtures.device import RawLink, RunningSim

pytestmark = pytest.mark.skipif(os.name == "nt", reason="pseudo-terminals need Linux or macOS")

MakeSim = Callable[..., RunningSim]
SN = b"WXA2000012345"
SECRET = b"8f14e45fceea167a5a36dedd4bea2543"


def event(code: EventCode, **values: int) -> Callable[[Frame], bool]:
    def match(frame: Frame) -> bool:
        fields = frame.fields()
        return fields[Tag.EVENT_CODE] == bytes([code]) and all(
            fields[Tag[k.upper()]] == bytes([v]) for k, v in values.items()
        )

    return match


def registered(serial_number: str, timeout: float = 30.0) -> sim_registry.SimPortEntry:
    deadline = time.monotonic() + timeout
    while True:
        for entry in sim_registry.list_running():
            if entry.serial_number == serial_number:
                return entry
        if time.monotonic() > deadline:
            raise TimeoutError(f"{serial_number} did not come back")
        time.sleep(0.02)


@pytest.fixture
def link(sim_pty: RunningSim) -> Iterator[RawLink]:
    with RawLink.open(sim_pty.url) as opened:
        yield opened


def test_hello_over_pty(sim_pty: RunningSim, link: RawLink) -> None:
    reply = link.request(Command.HELLO)
    fields = reply.fields()
    assert reply.type == Command.HELLO | RESPONSE_BIT
    assert fields[Tag.MODEL_ID] == b"WX-ATT-200"
    assert fields[Tag.HW_ID] == sim_pty.simulator.hw_id
    assert fields[Tag.STATE] == bytes([DeviceState.BLANK])


def test_provisioning_over_pty_reaches_flash_and_binding(
    sim_pty: RunningSim, link: RawLink
) -> None:
    assert link.request(Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, SECRET)]).fields() == {}
    nonce = os.urandom(16)
    proof = link.request(Command.VERIFY, [(Tag.NONCE, nonce)]).fields()[Tag.PROOF]
    assert proof == hmac.new(SECRET, nonce + SN, hashlib.sha256).digest()
    assert link.request(Command.COMMIT).type == Command.COMMIT | RESPONSE_BIT
    assert json.loads(sim_pty.state_file.read_text())["credential"]["sn"] == SN.decode()
    link.request(Command.SET_WIFI, [(Tag.SSID, b"office"), (Tag.PSK, b"password1")])
    link.wait_event(event(EventCode.NET_CHANGED, net_state=NetState.ONLINE))
    link.wait_event(event(EventCode.WECOM_CHANGED, wecom_state=WecomState.WAITING_BIND))
    sim_pty.simulator.set_binding("Acme")
    bound = link.wait_event(event(EventCode.WECOM_CHANGED, wecom_state=WecomState.BOUND))
    assert bound.fields()[Tag.CORP_NAME] == b"Acme"
    assert link.request(Command.STATUS).fields()[Tag.CORP_NAME] == b"Acme"


def test_pty_is_registered_with_a_stable_serial_number(sim_pty: RunningSim) -> None:
    (entry,) = sim_registry.list_running()
    assert entry.device == sim_pty.url
    assert entry.serial_number == "SIM" + sim_pty.simulator.hw_id.hex().upper()
    assert entry.hw_id_hex == sim_pty.simulator.hw_id_hex
    assert entry.description == "installer-app simulated WX-ATT-200"
    assert entry.pid == os.getpid()
    sim_pty.stop()
    assert sim_registry.list_running() == []


def test_noise_over_pty(make_sim: MakeSim) -> None:
    sim = make_sim(noise=True, noise_interval_s=0.005)
    with RawLink.open(sim.url) as link:
        for _ in range(20):
            assert link.request(Command.HELLO).type == Command.HELLO | RESPONSE_BIT
        link.wait_log(b"\xa5\x5a")


def test_corrupted_commit_is_retransmitted_and_executed_once(make_sim: MakeSim) -> None:
    sim = make_sim(corrupt_next=1)
    with RawLink.open(sim.url) as link:
        seq = link.send(Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, SECRET)])
        assert link.read_frame(0.5) is None  # corrupted: the host sees nothing but a timeout
        assert link.request(Command.WRITE, seq=seq).type == Command.WRITE | RESPONSE_BIT
        assert link.request(Command.COMMIT).type == Command.COMMIT | RESPONSE_BIT
    assert sim.simulator.counters.executed[Command.WRITE] == 1


def test_latency_delays_each_answer(make_sim: MakeSim) -> None:
    sim = make_sim(latency_s=0.15)
    with RawLink.open(sim.url) as link:
        started = time.monotonic()
        link.request(Command.HELLO)
        assert time.monotonic() - started >= 0.15


def test_unplug_and_replug(sim_pty: RunningSim) -> None:
    old_url = sim_pty.url
    serial_number = sim_registry.pseudo_serial_number(sim_pty.simulator.hw_id)
    with RawLink.open(old_url) as link:
        link.request(Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, SECRET)])
        link.request(Command.COMMIT)
        sim_pty.unplug()
        assert sim_registry.list_running() == []
        with pytest.raises(serial.SerialException):
            link.request(Command.HELLO, timeout=15.0)
    if sys.platform.startswith("linux"):  # macOS keeps its /dev/ttys* nodes around
        assert not os.path.exists(old_url)
    new_url = sim_pty.replug()
    assert registered(serial_number).device == new_url
    with RawLink.open(new_url) as link:
        link.wait_event(event(EventCode.BOOTED))
        fields = link.request(Command.HELLO).fields()
    assert fields[Tag.STATE] == bytes([DeviceState.PROVISIONED])


def test_unplug_in_the_middle_of_commit_then_the_port_comes_back(make_sim: MakeSim) -> None:
    sim = make_sim(unplug_on="COMMIT")
    serial_number = sim_registry.pseudo_serial_number(sim.simulator.hw_id)
    with RawLink.open(sim.url) as link:
        link.request(Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, SECRET)])
        with pytest.raises(serial.SerialException):
            link.request(Command.COMMIT, timeout=15.0)
    entry = registered(serial_number)
    with RawLink.open(entry.device) as link:
        link.wait_event(event(EventCode.BOOTED))
        fields = link.request(Command.HELLO).fields()
    assert fields[Tag.STATE] == bytes([DeviceState.PROVISIONED])  # the flash write completed


def test_reboot_over_pty(sim_pty: RunningSim, link: RawLink) -> None:
    assert link.request(Command.REBOOT).type == Command.REBOOT | RESPONSE_BIT
    link.wait_event(event(EventCode.BOOTED))
    assert b"rst:0x1 (SW_RESET)" in link.log
    assert link.request(Command.HELLO).type == Command.HELLO | RESPONSE_BIT


def test_output_without_a_reader_is_dropped_without_blocking(sim_pty: RunningSim) -> None:
    # Like a UART with nobody listening: once the pty's buffer is full the bytes are lost, and
    # the board goes on answering the next host that opens the port.
    sim_pty.server.write_grace_s = 0.01
    started = time.monotonic()
    for _ in range(64):
        sim_pty.server._send(b"log line nobody reads " * 200)  # 280 kB in all
    assert time.monotonic() - started < 30  # bounded, not stuck
    with RawLink.open(sim_pty.url) as link:
        assert link.request(Command.HELLO).type == Command.HELLO | RESPONSE_BIT


@pytest.mark.parametrize("transport", ["pty", "tcp"])
def test_stop_leaves_no_thread_and_no_fd(make_sim: MakeSim, transport: str) -> None:
    threads_before = set(threading.enumerate())
    fds_before = len(os.listdir("/dev/fd"))
    sim = make_sim(transport, noise=True, binding_probe=lambda sn: None, unplug_on="IDENTIFY")
    with RawLink.open(sim.url) as link:
        link.request(Command.HELLO)
        with pytest.raises(serial.SerialException):
            link.request(Command.IDENTIFY, timeout=15.0)  # unplugs, then re-plugs by itself
    serial_number = sim_registry.pseudo_serial_number(sim.simulator.hw_id)
    registered(serial_number)
    sim.unplug()
    sim.replug()
    sim.stop()
    sim.stop()  # twice is harmless
    assert set(threading.enumerate()) - threads_before == set()
    assert len(os.listdir("/dev/fd")) == fds_before
    assert sim_registry.list_running() == []
