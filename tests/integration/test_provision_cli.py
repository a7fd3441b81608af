"""``installer-app provision`` as a script sees it: a real process, real pty boards, the emulator
on loopback HTTP, the SQLite store on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from installer_app.config import save_settings
from installer_app.store.db import DB_FILENAME
from tests.fixtures.provider import EMULATOR_PARTNER_TOKEN, EMULATOR_PROVIDER_SECRET
from tests.fixtures.workflow import WorkflowEnv

ROOT = Path(__file__).resolve().parents[2]
RESULT_KEYS = {"event", "ok", "device_sn", "hw_id", "corpid", "corp_name", "app_installed"}
WIFI_PSK = "correct-horse-battery"


@dataclass
class Cli:
    code: int
    stdout: str
    stderr: str

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines()]


def run_cli(
    wf: WorkflowEnv, args: Sequence[str], *, env: dict[str, str] | None = None, **sections: Any
) -> Cli:
    config = wf.data_dir.parent / "config.toml"
    save_settings(wf.settings(**sections), config)
    full_env = dict(os.environ)
    full_env.update(
        {
            "INSTALLER_PROVIDER_SECRET": EMULATOR_PROVIDER_SECRET,
            "INSTALLER_PARTNER_TOKEN": EMULATOR_PARTNER_TOKEN,
            "PYTHONPATH": str(ROOT),
        }
    )
    full_env.update(env or {})
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "installer_app",
            "provision",
            "--config",
            str(config),
            "--data-dir",
            str(wf.data_dir),
            *args,
        ],
        capture_output=True,
        text=True,
        env=full_env,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    return Cli(proc.returncode, proc.stdout, proc.stderr)


def assert_no_secret(wf: WorkflowEnv, cli: Cli, secrets: Sequence[str]) -> None:
    files = [p for p in wf.data_dir.rglob("*") if p.is_file()]
    assert any(p.name == DB_FILENAME for p in files)
    assert any(p.suffix == ".log" for p in files)
    for secret in secrets:
        assert secret not in cli.stdout
        assert secret not in cli.stderr
        for path in files:
            assert secret.encode() not in path.read_bytes(), path


@pytest.fixture
def auto_scan_wf(wf: WorkflowEnv, emulator_factory: Any) -> WorkflowEnv:
    wf.emulator = emulator_factory(auto_scan_after_s=0.3)
    return wf


def test_json_output_is_only_json_lines_and_ends_with_the_result(auto_scan_wf: WorkflowEnv) -> None:
    wf = auto_scan_wf
    board = wf.board()
    cli = run_cli(
        wf,
        ["--port", board.url, "--json", "--wifi-ssid", "SiteNet"],
        env={"INSTALLER_WIFI_PSK": WIFI_PSK},
    )
    assert cli.code == 0, cli.stderr
    lines = cli.json_lines()
    assert all("event" in line for line in lines)
    result = lines[-1]
    assert result["event"] == "result"
    assert set(result) >= RESULT_KEYS
    assert result["ok"] is True
    hw_id = board.simulator.hw_id.hex()
    assert result["hw_id"] == hw_id and result["device_sn"] == "T" + hw_id.upper()
    assert result["corpid"] and result["corp_name"] and result["app_installed"] is True
    steps = [(line["step"], line["outcome"]) for line in lines[:-1]]
    assert ("wifi", "ok") in steps and ("binding", "ok") in steps and ("done", "ok") in steps
    qr = next(line for line in lines if line.get("step") == "qr" and line["outcome"] == "ok")
    assert qr["url"].startswith("https://open.work.weixin.qq.com/connect/hardware?")
    # The drawing of the QR code went to stderr, not into the JSON stream.
    assert "\u2580" in cli.stderr or "\u2584" in cli.stderr
    registered = wf.emulator.state.find(result["device_sn"])
    assert registered is not None
    secret_no = registered.secret_no
    assert_no_secret(
        wf, cli, [secret_no, EMULATOR_PROVIDER_SECRET, EMULATOR_PARTNER_TOKEN, WIFI_PSK]
    )


def test_no_wait_stops_after_the_qr_code(wf: WorkflowEnv) -> None:
    board = wf.board()
    cli = run_cli(wf, ["--port", board.url, "--json", "--no-wait"])
    assert cli.code == 0, cli.stderr
    result = cli.json_lines()[-1]
    assert result["ok"] is True and result["corpid"] is None and result["device_sn"]
    assert not any(line.get("step") == "binding" for line in cli.json_lines())
    device = wf.emulator.device(result["device_sn"])
    assert device is not None and not device["bound"]


def test_timeout_waiting_for_the_binding_exits_5(wf: WorkflowEnv) -> None:
    board = wf.board()
    cli = run_cli(wf, ["--port", board.url, "--json", "--timeout", "1"])
    assert cli.code == 5, cli.stderr
    result = cli.json_lines()[-1]
    assert result["ok"] is False and result["exit_code"] == 5 and "error" in result


def test_human_output_prints_the_qr_code_and_its_url(auto_scan_wf: WorkflowEnv) -> None:
    board = auto_scan_wf.board()
    cli = run_cli(auto_scan_wf, ["--port", board.url])
    assert cli.code == 0, cli.stderr
    assert "https://open.work.weixin.qq.com/connect/hardware?" in cli.stdout
    assert "\u2580" in cli.stdout or "\u2584" in cli.stdout
    assert "Done:" in cli.stdout
    # The other way to bind: the SN alone on its own framed line, with the admin's steps.
    sn = cli.stdout.split("Done: SN ")[1].split()[0]
    lines = cli.stdout.splitlines()
    assert f"|   {sn}   |" in lines
    assert "工作台 → 管理企业 → 智慧硬件 → 添加设备 → 输入SN" in cli.stdout
    assert cli.stdout.count(f"|   {sn}   |") == 1  # once per board, not per renewed code


def test_sn_fallback_is_translated(auto_scan_wf: WorkflowEnv) -> None:
    board = auto_scan_wf.board()
    cli = run_cli(auto_scan_wf, ["--port", board.url], env={"INSTALLER_LANG": "zh_CN"})
    assert cli.code == 0, cli.stderr
    assert "输入SN" in cli.stdout and "无法扫码" in cli.stdout


def test_cloud_mode_refuses_a_wifi_network_by_the_workflow_rule(wf: WorkflowEnv) -> None:
    """The CLI checks --wifi-ssid against the same rule the Provisioner (and so the wizard)
    applies: in cloud mode the partner's cloud sets the board's network up."""
    board = wf.board()
    cli = run_cli(
        wf,
        ["--port", board.url, "--wifi-ssid", "SiteNet"],
        env={"INSTALLER_WIFI_PSK": WIFI_PSK},
        provider={"mode": "cloud"},
        credentials={"source": "partner"},
    )
    assert cli.code == 2, cli.stderr
    assert "--wifi-ssid" in cli.stderr and "partner's cloud" in cli.stderr
    assert cli.stdout == ""


def test_missing_corpid_is_a_configuration_error_naming_the_setting(wf: WorkflowEnv) -> None:
    board = wf.board()
    cli = run_cli(wf, ["--port", board.url], provider={"corpid": ""})
    assert cli.code == 2
    assert "[provider] corpid" in cli.stderr
    assert cli.stdout == ""


def test_wifi_password_without_terminal_or_environment_is_refused(wf: WorkflowEnv) -> None:
    board = wf.board()
    cli = run_cli(wf, ["--port", board.url, "--json", "--wifi-ssid", "SiteNet"])
    assert cli.code == 2
    result = cli.json_lines()[-1]
    assert result["event"] == "result" and result["ok"] is False
    assert "INSTALLER_WIFI_PSK" in cli.stderr


def test_several_ports_run_in_parallel_each_with_its_own_lines(auto_scan_wf: WorkflowEnv) -> None:
    boards = [auto_scan_wf.board(), auto_scan_wf.board()]
    args = [arg for b in boards for arg in ("--port", b.url)]
    cli = run_cli(auto_scan_wf, [*args, "--json"])
    assert cli.code == 0, cli.stderr
    results = [line for line in cli.json_lines() if line["event"] == "result"]
    assert {r["port"] for r in results} == {b.url for b in boards}
    assert len({r["device_sn"] for r in results}) == 2
    assert all(line.get("port") in {b.url for b in boards} for line in cli.json_lines())
