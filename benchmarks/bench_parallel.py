"""Provision N simulated boards in parallel against one board alone; print both and the ratio.

Each board is a ``simulate-device`` process on its own pty, answering after a fixed device latency
(``--latency``, default 10 ms: a real board's UART at 115200 baud plus its firmware; 0 measures
the app alone, where 8 board processes and the app then share this machine's cores); the
provider emulator is an ``emulate-provider`` process on loopback that binds every SN as soon as
it is registered, so the figures measure the workflow itself: serial exchanges, HTTP calls,
store transactions and the binding watch (0.2 s polls), with only the app in this process.
Each round uses fresh boards and a fresh store; the median of the rounds is reported.

    .venv/bin/python benchmarks/bench_parallel.py [--boards 8] [--rounds 3]

Target: N boards in parallel take at most 1.25 x one board.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from installer_app.config import (
    BindingSettings,
    CredentialSettings,
    PartnerSettings,
    ProviderSettings,
    Settings,
    StoreSettings,
)
from installer_app.secrets import Secret
from installer_app.workflow.events import (
    BoardInfo,
    ResumeQuestion,
    WifiCredentials,
    WorkflowEvent,
)
from installer_app.workflow.wiring import open_session

MODEL_ID = "WX-ATT-200"
ROOT = Path(__file__).resolve().parents[1]
# The emulator's fixed test values (not real secrets).
EMULATOR_CORPID = "wwemulator0000001"
EMULATOR_SECRET = "emulator-provider-secret"
EMULATOR_TOKEN = "emulator-installer-token"


class Answers:
    def proceed_with_board(self, board: BoardInfo) -> str:
        return "continue"

    def resume_or_skip(self, question: ResumeQuestion) -> str:
        return "resume"

    def wifi_credentials(self, current_ssid: str | None) -> WifiCredentials | None:
        return None


def _python_m(*args: str) -> list[str]:
    return [sys.executable, "-m", "installer_app", *args]


def _start(cmd: list[str], workdir: Path, name: str) -> tuple[subprocess.Popen[str], str]:
    """Start a helper process and return it with its first meaningful stdout line."""
    proc = subprocess.Popen(
        [*cmd, "--data-dir", str(workdir / name)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def provision(count: int, workdir: Path, latency_s: float) -> float:
    """Seconds from the start of the first board to the end of the last.

    The emulator and each board run in their own processes, as WeCom and real boards are
    outside the app: only the app's own work shares this process.
    """
    helpers: list[subprocess.Popen[str]] = []
    try:
        emulator, banner = _start(
            _python_m(
                "emulate-provider",
                "--port",
                "0",
                "--no-state",
                "--auto-scan",
                "0",
                "--install-delay",
                "0",
            ),
            workdir,
            "emulator",
        )
        helpers.append(emulator)
        base = banner.rsplit(" ", 1)[-1]
        ports = []
        for index in range(count):
            board, url = _start(
                _python_m(
                    "simulate-device",
                    "--pty",
                    "--state-file",
                    str(workdir / f"board-{index}.json"),
                    "--provider-url",
                    base,
                    "--latency",
                    str(latency_s),
                ),
                workdir,
                f"sim-{index}",
            )
            helpers.append(board)
            ports.append(url)
        settings = Settings(
            provider=ProviderSettings(
                wecom_base_url=base, corpid=EMULATOR_CORPID, model_id=MODEL_ID
            ),
            partner=PartnerSettings(base_url=base),
            credentials=CredentialSettings(source="register", sn_prefix="B"),
            binding=BindingSettings(poll_interval_s=0.2, timeout_s=60.0),
            store=StoreSettings(key_file=str(workdir / "bench.key")),
        ).with_secrets(Secret(EMULATOR_SECRET), Secret(EMULATOR_TOKEN))
        with open_session(settings, workdir / "data") as session:
            results = []
            lock = threading.Lock()

            def run(url: str) -> None:
                result = session.provisioner.run(
                    url,
                    answers=Answers(),  # type: ignore[arg-type]
                    on_event=_ignore,
                    cancel=threading.Event(),
                )
                with lock:
                    results.append(result)

            threads = [threading.Thread(target=run, args=(url,)) for url in ports]
            start = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - start
        failed = [r for r in results if not r.ok]
        if failed:
            raise SystemExit(f"{len(failed)} boards failed: {failed[0].error}")
        return elapsed
    finally:
        for proc in helpers:
            _stop(proc)


def _ignore(event: WorkflowEvent) -> None:
    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.01, help="device latency, seconds")
    args = parser.parse_args()
    os.environ.pop("INSTALLER_KEY_FILE", None)
    singles, parallels = [], []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as many:
            singles.append(provision(1, Path(one), args.latency))
            parallels.append(provision(args.boards, Path(many), args.latency))
    single, parallel = statistics.median(singles), statistics.median(parallels)
    print(f"device latency: {args.latency * 1000:.0f} ms")
    print(f"one board alone:        {single:.3f} s  (rounds: {_fmt(singles)})")
    print(f"{args.boards} boards in parallel: {parallel:.3f} s  (rounds: {_fmt(parallels)})")
    print(f"ratio: {parallel / single:.3f}  (target <= 1.25)")
    return 0


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
