"""``installer-app simulate-device`` as a real process, and its binding probe on the emulator."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from installer_app.device.protocol import RESPONSE_BIT, Command, DeviceState, Tag
from installer_app.provider.emulator import ProviderEmulator
from installer_app.provider.emulator.probe import emulator_binding, emulator_binding_probe
from installer_app.simulator import registry as sim_registry
from tests.fixtures.device import RawLink

ROOT = Path(__file__).resolve().parents[2]


class CliSimulator:
    """``simulate-device`` in a child process; its stdout is read line by line by a thread."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "installer_app", "simulate-device", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def line(self, timeout: float = 60.0) -> str:
        got = self._lines.get(timeout=timeout)
        if got is None:
            raise EOFError("simulate-device ended")
        return got

    def stop(self, sig: int | None = signal.SIGTERM) -> tuple[int, str, str]:
        """Send ``sig`` (None: none), wait for the exit; (exit code, rest of stdout, stderr)."""
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=60)
        self._reader.join(timeout=60)
        rest = []
        while (got := self._lines.get_nowait()) is not None:
            rest.append(got)
        assert self.proc.stderr is not None
        err = self.proc.stderr.read()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return code, "\n".join(rest), err


@pytest.mark.skipif(os.name == "nt", reason="pseudo-terminals need Linux or macOS")
def test_pty_port_is_printed_first_and_sigterm_stops_cleanly(tmp_path: Path) -> None:
    state_file = tmp_path / "board.json"
    cli = CliSimulator("--pty", "--state-file", str(state_file), "--hw-id", "24:0a:c4:12:34:56")
    try:
        url, human = cli.line(), cli.line()
        assert url.startswith("/dev/")
        assert "240ac4123456" in human
        with RawLink.open(url) as link:
            fields = link.request(Command.HELLO, timeout=30).fields()
            link.request(Command.WRITE, [(Tag.SN, b"CLI1"), (Tag.SECRET_NO, b"s3cret!")])
            assert link.request(Command.COMMIT, timeout=30).type == Command.COMMIT | RESPONSE_BIT
        assert fields[Tag.HW_ID] == bytes.fromhex("240ac4123456")
        (entry,) = sim_registry.list_running()
        assert (entry.device, entry.pid) == (url, cli.proc.pid)
    finally:
        code, out, err = cli.stop()
    assert code == 0, err
    assert "Traceback" not in err
    assert "stopped" in out
    assert sim_registry.list_running() == []
    # The board's flash outlives the process.
    cli = CliSimulator("--pty", "--state-file", str(state_file))
    try:
        with RawLink.open(cli.line()) as link:
            fields = link.request(Command.HELLO, timeout=30).fields()
    finally:
        code, _, err = cli.stop(signal.SIGINT)
    assert code == 0, err
    assert fields[Tag.STATE] == bytes([DeviceState.PROVISIONED])
    assert fields[Tag.SN] == b"CLI1"


def test_tcp_with_faults() -> None:
    cli = CliSimulator("--tcp", "0", "--busy", "1", "--latency", "0.01", "--noise")
    try:
        url = cli.line()
        assert url.startswith("socket://127.0.0.1:")
        with RawLink.open(url) as link:
            busy = link.request(Command.HELLO, timeout=30)
            assert busy.fields()[Tag.ERROR_CODE] == b"\x07"
            assert link.request(Command.HELLO).type == Command.HELLO | RESPONSE_BIT
    finally:
        code, _, err = cli.stop()
    assert code == 0, err


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--tcp", "0", "--hw-id", "zz"], "Error:"),
        (["--tcp", "0", "--hw-id", "0102"], "Error:"),
        (["--tcp", "0", "--unplug-on", "explode"], "Error:"),
        # Out of its range: refused by the option itself (docs/configuration.md).
        (["--tcp", "0", "--drop-rate", "2"], "error: argument --drop-rate: a number from 0 to 1"),
    ],
)
def test_bad_options_are_explained(args: list[str], said: str) -> None:
    code, out, err = CliSimulator(*args).stop(None)
    assert code == 2
    assert out == ""
    assert said in err
    assert "Traceback" not in err


def test_binding_probe_reads_the_emulator(emulator: ProviderEmulator) -> None:
    base_url = emulator.base_url
    emulator.register("WXA2000012345")
    probe = emulator_binding_probe(base_url)
    assert probe("WXA2000012345") is None
    emulator.bind("WXA2000012345", corp_name="Acme 贸易")
    assert probe("WXA2000012345") == "Acme 贸易"
    assert emulator_binding(base_url, "UNKNOWN1") is None  # 404: not an error for the board


def test_binding_probe_is_none_when_nothing_answers() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    assert emulator_binding(f"http://127.0.0.1:{port}", "WXA2000012345", timeout_s=0.5) is None
    assert time.monotonic() - started < 10
