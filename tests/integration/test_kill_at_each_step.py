"""Kill ``installer-app provision`` (SIGKILL) at each step, run it again, and check that the
second run ends consistent: the board holds the SN the store holds for its HW_ID, WeCom knows no
other SN for it, no registration is left pending, and no secret leaked anywhere.

The board is a separate ``simulate-device`` process (as a real board outlives the app), the
emulator runs in this process on loopback HTTP, the store is the real SQLite file on disk.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from installer_app.config import load_settings, save_settings
from installer_app.device.client import DeviceClient
from installer_app.device.protocol import DeviceState
from installer_app.secrets import Secret
from installer_app.store import open_store
from tests.fixtures.provider import EMULATOR_PARTNER_TOKEN, EMULATOR_PROVIDER_SECRET
from tests.fixtures.workflow import WorkflowEnv

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")]

ROOT = Path(__file__).resolve().parents[2]
WIFI_PSK = "kill-test-wifi-pass"
STEPS = (
    "connect",
    "hello",
    "credential",
    "write",
    "verify",
    "commit",
    "wifi",
    "qr",
    "binding",
    "app",
)


@dataclass
class Board:
    url: str
    proc: subprocess.Popen[str]


@pytest.fixture
def sim_process(tmp_path: Path) -> Iterator[Callable[[str], Board]]:
    started: list[subprocess.Popen[str]] = []

    def start(provider_url: str) -> Board:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "installer_app",
                "simulate-device",
                "--pty",
                "--state-file",
                str(tmp_path / "board" / "flash.json"),
                "--provider-url",
                provider_url,
                "--data-dir",
                str(tmp_path / "sim-data"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
            env=_env(),
        )
        started.append(proc)
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("/dev/"), url
        return Board(url, proc)

    yield start
    for proc in started:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "INSTALLER_PROVIDER_SECRET": EMULATOR_PROVIDER_SECRET,
            "INSTALLER_PARTNER_TOKEN": EMULATOR_PARTNER_TOKEN,
            "INSTALLER_WIFI_PSK": WIFI_PSK,
        }
    )
    env.update(extra)
    return env


def provision_cmd(wf: WorkflowEnv, config: Path, port: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "installer_app",
        "provision",
        "--config",
        str(config),
        "--data-dir",
        str(wf.data_dir),
        "--port",
        port,
        "--json",
        "--wifi-ssid",
        "KillNet",
        "--timeout",
        "40",
    ]


def run_until_step(cmd: list[str], step: str, stderr: Path) -> tuple[list[str], bool]:
    """Run ``cmd`` and SIGKILL it as soon as its JSON output reaches ``step``; returns the lines
    seen and whether it was killed (False: it ended before reaching the step)."""
    with stderr.open("w") as err:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, text=True, env=_env()
        )
        assert proc.stdout is not None
        lines: list[str] = []
        killed = False
        for line in proc.stdout:
            lines.append(line)
            if json.loads(line).get("step") == step:
                proc.send_signal(signal.SIGKILL)
                killed = True
                break
        proc.wait(timeout=60)
        proc.stdout.close()
    return lines, killed


@pytest.fixture
def scanning_wf(wf: WorkflowEnv, emulator_factory: Any) -> WorkflowEnv:
    # The admin scans 2 s after registration: late enough that a run reaches the binding wait.
    wf.emulator = emulator_factory(auto_scan_after_s=2.0)
    return wf


@pytest.mark.parametrize("step", STEPS)
def test_killed_at_each_step_the_next_run_ends_consistent(
    scanning_wf: WorkflowEnv, sim_process: Any, tmp_path: Path, step: str
) -> None:
    wf = scanning_wf
    config = tmp_path / "config.toml"
    save_settings(wf.settings(binding={"poll_interval_s": 0.3, "timeout_s": 40.0}), config)
    board: Board = sim_process(wf.emulator.base_url)
    cmd = provision_cmd(wf, config, board.url)

    first, killed = run_until_step(cmd, step, tmp_path / "first.err")
    assert killed, f"the run ended before {step}: {first[-1:]}"

    second = subprocess.run(
        cmd, capture_output=True, text=True, env=_env(), stdin=subprocess.DEVNULL, timeout=90
    )
    assert second.returncode == 0, second.stderr
    result = json.loads(second.stdout.splitlines()[-1])
    assert result["event"] == "result" and result["ok"] is True
    hw_id = result["hw_id"]

    store = open_store(load_settings(config), wf.data_dir)
    try:
        record = store.record_for_hw_id(hw_id)
        assert record is not None and record.sn == result["device_sn"]
        assert record.stage.value == "app_installed"
        assert store.pending_registrations() == []
        secret = store.secret_for(record.sn)
    finally:
        store.close()

    with DeviceClient.open(board.url) as client:
        hello = client.hello()
    assert hello.state is DeviceState.PROVISIONED and hello.sn == record.sn
    # WeCom holds that SN for the board and nothing else; its SecretNo is the store's.
    assert [d["device_sn"] for d in wf.emulator.devices()] == [record.sn]
    registered = wf.emulator.state.find(record.sn)
    assert registered is not None and Secret(registered.secret_no) == secret

    outputs = [
        "".join(first),
        (tmp_path / "first.err").read_text(),
        second.stdout,
        second.stderr,
    ]
    files = [p for p in wf.data_dir.rglob("*") if p.is_file()]
    for value in (secret.reveal(), EMULATOR_PROVIDER_SECRET, EMULATOR_PARTNER_TOKEN, WIFI_PSK):
        assert all(value not in text for text in outputs)
        assert all(value.encode() not in path.read_bytes() for path in files)
