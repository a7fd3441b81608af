"""``installer-app ports`` and ``installer-app device ...`` as a person runs them: a subprocess
against the simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from installer_app.device.client import DeviceClient
from installer_app.device.protocol import Command, DeviceState
from installer_app.secrets import Secret
from tests.fixtures.device import RunningSim

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), INSTALLER_LANG="en")
    return subprocess.run(
        [sys.executable, "-m", "installer_app", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


def provision(board: RunningSim) -> None:
    with DeviceClient.open(board.url) as client:
        client.write("WXA2000012345", Secret("8f14e45fceea167a5a36dedd4bea2543"))
        client.commit()


@pytest.fixture(params=["pty", "tcp"])
def board(request: pytest.FixtureRequest, make_sim: Callable[..., RunningSim]) -> RunningSim:
    return make_sim(str(request.param))


def test_device_info_json(board: RunningSim) -> None:
    result = run("device", "info", "--port", board.url, "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    info = json.loads(lines[0])
    assert info["model_id"] == "WX-ATT-200"
    assert info["fw_version"] == "1.4.2"
    assert info["hw_id"] == board.simulator.hw_id_hex
    assert info["hw_id"] == info["hw_id"].lower()
    assert info["proto"] == 1
    assert info["state"] == "BLANK"
    assert info["sn"] is None


def test_device_info_for_people_after_provisioning(make_sim: Callable[..., RunningSim]) -> None:
    board = make_sim("pty")
    provision(board)
    result = run("device", "info", "--port", board.url)
    assert result.returncode == 0, result.stderr
    assert "WX-ATT-200" in result.stdout
    assert board.simulator.hw_id_hex in result.stdout
    assert "PROVISIONED" in result.stdout
    assert "WXA2000012345" in result.stdout
    assert "8f14e45fceea167a5a36dedd4bea2543" not in result.stdout + result.stderr


def test_status_identify_reboot(make_sim: Callable[..., RunningSim]) -> None:
    board = make_sim("pty")
    status = run("device", "status", "--port", board.url, "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["wecom_state"] in ("IDLE", "REGISTERED", "WAITING_BIND")

    identify = run("device", "identify", "--port", board.url)
    assert identify.returncode == 0, identify.stderr
    assert "blinking" in identify.stdout

    reboot = run("device", "reboot", "--port", board.url, "--json")
    assert reboot.returncode == 0, reboot.stderr
    assert json.loads(reboot.stdout)["hw_id"] == board.simulator.hw_id_hex
    assert board.simulator.counters.executed[Command.REBOOT] == 1


def test_factory_reset_needs_yes_and_names_the_board(make_sim: Callable[..., RunningSim]) -> None:
    board = make_sim("pty")
    provision(board)

    refused = run("device", "factory-reset", "--port", board.url)
    assert refused.returncode == 2
    assert "--yes" in refused.stderr
    assert board.simulator.state is DeviceState.PROVISIONED

    done = run("device", "factory-reset", "--port", board.url, "--yes")
    assert done.returncode == 0, done.stderr
    assert board.simulator.hw_id_hex in done.stdout
    assert "WXA2000012345" in done.stdout and "BLANK" in done.stdout
    assert board.simulator.state is DeviceState.BLANK


def test_ports_lists_the_simulator(board: RunningSim) -> None:
    as_json = run("ports", "--json")
    assert as_json.returncode == 0, as_json.stderr
    ports = json.loads(as_json.stdout)
    mine = [p for p in ports if p["device"] == board.url]
    assert mine and mine[0]["simulated"] is True and mine[0]["likely"] is True
    assert ports.index(mine[0]) < len(ports)

    table = run("ports")
    assert table.returncode == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if board.url in line)
    assert "simulated" in row


def test_missing_port_is_exit_3_with_a_hint() -> None:
    result = run("device", "info", "--port", "/dev/does-not-exist")
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert "/dev/does-not-exist does not exist" in result.stderr
    assert "installer-app ports" in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals")
def test_silent_port_is_exit_3_not_answering() -> None:
    import pty
    import tty

    master, slave = pty.openpty()
    tty.setraw(slave)
    try:
        result = run("device", "info", "--port", os.ttyname(slave), "--json")
    finally:
        os.close(master)
        os.close(slave)
    assert result.returncode == 3
    assert "Check the cable and the power" in result.stderr
    assert result.stdout == ""
