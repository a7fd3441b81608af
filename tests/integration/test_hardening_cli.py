"""Small hardening items as a person meets them: a real process, a message and no traceback, or
the emulator refusing a foreign page's requests over real loopback HTTP (issue 11, item 7)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from installer_app.provider.emulator import ProviderEmulator

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "installer_app", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "INSTALLER_LANG": "en", **(env or {})},
    )


def assert_message_not_traceback(result: subprocess.CompletedProcess[str], code: int) -> None:
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.usefixtures("key_file")
def test_history_csv_with_an_empty_name_is_refused(tmp_path: Path) -> None:
    result = cli("history", "--csv", "", "--data-dir", str(tmp_path / "data"))
    assert_message_not_traceback(result, 2)
    assert "the CSV file name must not be empty" in result.stderr


@pytest.mark.usefixtures("key_file")
@pytest.mark.parametrize("limit", ["-1", "0", "many"])
def test_history_limit_below_one_is_refused(tmp_path: Path, limit: str) -> None:
    result = cli("history", "--limit", limit, "--data-dir", str(tmp_path / "data"))
    assert_message_not_traceback(result, 2)
    assert "not a whole number of at least 1" in result.stderr


def test_key_file_env_naming_a_folder_is_a_message(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    result = cli(
        "history", "--data-dir", str(tmp_path / "data"), env={"INSTALLER_KEY_FILE": str(folder)}
    )
    assert_message_not_traceback(result, 2)
    assert str(folder) in result.stderr and "not a regular file" in result.stderr


def test_emulator_with_a_binary_state_file_is_a_message(tmp_path: Path) -> None:
    state = tmp_path / "state.bin"
    state.write_bytes(os.urandom(4096))
    result = cli("emulate-provider", "--port", "0", "--state", str(state))
    assert_message_not_traceback(result, 2)
    assert f"The emulator state file {state} is damaged." in result.stderr


def test_emulator_on_every_interface_warns(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "installer_app",
            "emulate-provider",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--no-state",
            "--data-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "INSTALLER_LANG": "en"},
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while "Provider emulator running" not in proc.stdout.readline():
            assert time.monotonic() < deadline and proc.poll() is None
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    assert "Warning: --host 0.0.0.0 makes the emulator reachable from other computers" in err


def test_control_endpoints_refuse_foreign_hosts_and_origins(emulator: ProviderEmulator) -> None:
    base = emulator.base_url
    port = base.rsplit(":", 1)[1]
    emulator.register("WXHOST1")
    form = {"sn": "WXHOST1"}
    with httpx.Client(base_url=base, timeout=10) as http:
        # A DNS-rebinding page reaches the emulator under its own name.
        assert http.get("/", headers={"Host": f"evil.example:{port}"}).status_code == 403
        rebound = http.get("/_emulator/devices", headers={"Host": "evil.example"})
        assert rebound.status_code == 403
        # A form posted from another site's page.
        for header in (
            {"Origin": "https://evil.example"},
            {"Origin": "null"},
            {"Referer": "https://evil.example/page.html"},
            {"Origin": f"http://localhost:{int(port) + 1}"},
        ):
            refused = http.post("/_emulator/reset", data=form, headers=header)
            assert refused.status_code == 403, header
        assert emulator.device("WXHOST1") is not None  # nothing was reset
        # The operator page's own forms and scripts without those headers still work.
        for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
            page = http.get("/", headers={"Host": host})
            assert page.status_code == 200
        own = http.post(
            "/_emulator/latency",
            data={"seconds": "0"},
            headers={"Origin": base, "Referer": base + "/"},
        )
        assert own.status_code in (200, 303)
        assert http.post("/_emulator/reset", json={}).status_code == 200
    assert emulator.device("WXHOST1") is None
