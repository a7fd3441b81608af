"""The simulator over TCP (``socket://``, the Windows route), with bare pyserial and the codec."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest
import serial

from installer_app.device.codec import Frame
from installer_app.device.protocol import RESPONSE_BIT, Command, DeviceState, EventCode, Tag
from installer_app.simulator import registry as sim_registry
from tests.fixtures.device import RawLink, RunningSim

MakeSim = Callable[..., RunningSim]
SN = b"WXA2000012345"
SECRET = b"8f14e45fceea167a5a36dedd4bea2543"


def booted(frame: Frame) -> bool:
    return frame.fields()[Tag.EVENT_CODE] == bytes([EventCode.BOOTED])


def test_url_and_registry(sim_tcp: RunningSim) -> None:
    assert sim_tcp.url.startswith("socket://127.0.0.1:")
    (entry,) = sim_registry.list_running()
    assert entry.device == sim_tcp.url
    assert entry.serial_number == sim_registry.pseudo_serial_number(sim_tcp.simulator.hw_id)


def test_provisioning_over_tcp(sim_tcp: RunningSim) -> None:
    with RawLink.open(sim_tcp.url) as link:
        assert link.request(Command.HELLO).fields()[Tag.STATE] == bytes([DeviceState.BLANK])
        link.request(Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, SECRET)])
        assert link.request(Command.COMMIT).type == Command.COMMIT | RESPONSE_BIT
        assert link.request(Command.HELLO).fields()[Tag.SN] == SN


def test_one_client_at_a_time(sim_tcp: RunningSim) -> None:
    with RawLink.open(sim_tcp.url) as first:
        first.request(Command.HELLO)
        with RawLink.open(sim_tcp.url) as second, pytest.raises(serial.SerialException):
            second.request(Command.HELLO, timeout=15.0)
        assert first.request(Command.STATUS).type == Command.STATUS | RESPONSE_BIT
    # Once the first host has gone, the next one is served.
    deadline = time.monotonic() + 30
    while True:
        try:
            with RawLink.open(sim_tcp.url) as third:
                assert third.request(Command.HELLO, timeout=5.0).seq
                break
        except (serial.SerialException, TimeoutError):
            if time.monotonic() > deadline:
                raise


def test_unplug_and_replug_keep_the_port_and_the_board(sim_tcp: RunningSim) -> None:
    url = sim_tcp.url
    host, port = url.removeprefix("socket://").split(":")
    with RawLink.open(url) as link:
        link.request(Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, SECRET)])
        link.request(Command.COMMIT)
        sim_tcp.unplug()
        with pytest.raises(serial.SerialException):
            link.request(Command.HELLO, timeout=15.0)
    assert sim_registry.list_running() == []
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=10).close()
    assert sim_tcp.replug() == url
    with RawLink.open(url) as link:
        link.wait_event(booted)
        assert link.request(Command.HELLO).fields()[Tag.STATE] == bytes([DeviceState.PROVISIONED])


def test_unplug_on_over_tcp(make_sim: MakeSim) -> None:
    sim = make_sim("tcp", unplug_on="STATUS")
    with RawLink.open(sim.url) as link, pytest.raises(serial.SerialException):
        link.request(Command.STATUS, timeout=15.0)
    deadline = time.monotonic() + 30
    while sim.server.url is None:
        assert time.monotonic() < deadline, "the port did not come back"
        time.sleep(0.02)
    with RawLink.open(sim.url) as link:
        link.wait_event(booted)
        assert link.request(Command.STATUS).type == Command.STATUS | RESPONSE_BIT
