"""``installer-app emulate-provider`` as a real subprocess: it serves, prints, and stops cleanly."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
URL_LINE = re.compile(r"running at (http://127\.0\.0\.1:\d+)")


class RunningCli:
    def __init__(self, *args: str) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "installer_app", "emulate-provider", "--port", "0", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            env={**os.environ, "PYTHONUNBUFFERED": "1", "INSTALLER_LANG": "en"},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, pattern: re.Pattern[str], timeout_s: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            if match := pattern.search(line):
                return match
        pytest.fail(f"no line matching {pattern.pattern!r}; output so far: {self.seen}")

    def rest(self) -> list[str]:
        self._reader.join(timeout=30)
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                return self.seen
            if line is not None:
                self.seen.append(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def run_cli() -> Iterator[type[RunningCli]]:
    started: list[RunningCli] = []

    class Tracked(RunningCli):
        def __init__(self, *args: str) -> None:
            super().__init__(*args)
            started.append(self)

    yield Tracked
    for cli in started:
        cli.close()


def test_serves_prints_settings_and_stops_on_sigterm(
    run_cli: type[RunningCli], tmp_path: Path
) -> None:
    state = tmp_path / "emu.json"
    cli = run_cli("--state", str(state), "--install-delay", "0.1", "--data-dir", str(tmp_path))
    base_url = cli.wait_for(URL_LINE).group(1)
    page_url = cli.wait_for(re.compile(r"Operator page.*?(http://\S+)")).group(1)
    assert page_url == base_url + "/"
    cli.wait_for(re.compile(r"Press Ctrl-C"))
    banner = "\n".join(cli.seen)
    assert 'corpid = "wwemulator0000001"' in banner
    assert "INSTALLER_PROVIDER_SECRET=emulator-provider-secret" in banner
    assert "test secrets (not real ones)" in banner
    assert str(state) in banner

    with httpx.Client(base_url=base_url, timeout=30) as http:
        assert "WeCom provider emulator" in http.get("/").text
        token = http.post(
            "/cgi-bin/service/get_provider_token",
            json={"corpid": "wwemulator0000001", "provider_secret": "emulator-provider-secret"},
        ).json()
        assert token["expires_in"] == 7200
        registered = http.post(
            "/cgi-bin/service/add_device",
            params={"provider_access_token": token["provider_access_token"]},
            json={"model_id": "WX-ATT-200", "device_sn": "CLI1"},
        ).json()
        assert registered["errcode"] == 0

    cli.proc.send_signal(signal.SIGTERM)
    assert cli.proc.wait(timeout=60) == 0
    assert any("stopped" in line for line in cli.rest())
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert [d["device_sn"] for d in saved["devices"]] == ["CLI1"]


def test_sigint_stops_too_and_auto_scan_is_announced(
    run_cli: type[RunningCli], tmp_path: Path
) -> None:
    cli = run_cli("--no-state", "--auto-scan", "0.5", "--data-dir", str(tmp_path))
    base_url = cli.wait_for(URL_LINE).group(1)
    cli.wait_for(re.compile(r"bound automatically 0\.5 s"))
    cli.wait_for(re.compile(r"Press Ctrl-C"))
    with httpx.Client(base_url=base_url, timeout=30) as http:
        assert http.get("/_emulator/stats").json()["errcode"] == 0
    cli.proc.send_signal(signal.SIGINT)
    assert cli.proc.wait(timeout=60) == 0


def test_port_in_use_is_a_clear_error(run_cli: type[RunningCli], tmp_path: Path) -> None:
    first = run_cli("--no-state", "--data-dir", str(tmp_path))
    port = first.wait_for(URL_LINE).group(1).rsplit(":", 1)[1]
    second = subprocess.run(
        [sys.executable, "-m", "installer_app", "emulate-provider", "--port", port, "--no-state"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        env={**os.environ, "INSTALLER_LANG": "en"},
    )
    assert second.returncode == 2
    assert "Cannot listen on" in second.stderr
    assert "Traceback" not in second.stderr
