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

``--team`` compares team mode with direct mode instead (docs/team-mode.md): in each round N boards
go once straight to the emulator (direct mode) and N fresh boards once through the team server
(``installer-app serve`` in its own process on a private PostgreSQL, register mode, the emulator
as its WeCom pushing the companion app's callbacks to it), after one warm-up round of each that
is printed but not counted. Target: team / direct at most 1.25.
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
    TeamSettings,
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


# The emulator in its own process, with its suite side pushing callbacks to the team server.
_EMULATOR_WITH_SUITE = """
import signal, sys, threading
from installer_app.provider.emulator import ProviderEmulator
from installer_app.provider.emulator.suite import SuiteConfig
emu = ProviderEmulator(None, install_delay_s=0, auto_scan_after_s=0)
emu.suite.config = SuiteConfig(callback_url=sys.argv[1])
print("emulator at", emu.start(), flush=True)
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: done.set())
done.wait()
emu.stop()
"""


def _python_m(*args: str) -> list[str]:
    return [sys.executable, "-m", "installer_app", *args]


def _start(cmd: list[str], workdir: Path | None, name: str) -> tuple[subprocess.Popen[str], str]:
    """Start a helper process and return it with its first meaningful stdout line."""
    proc = subprocess.Popen(
        [*cmd, "--data-dir", str(workdir / name)] if workdir is not None else cmd,
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


class TeamServer:
    """A private PostgreSQL, the emulator (with callbacks) and ``installer-app serve``, each
    outside this process, as in production."""

    def __init__(self, workdir: Path) -> None:
        import base64
        import socket

        from installer_app.server.db import migrate
        from installer_app.server.local_pg import LocalPostgres, temporary_folder

        self.pg = LocalPostgres(temporary_folder()).start()
        self.db_url = self.pg.create_database("bench")
        migrate(self.db_url)
        with socket.socket() as probe:  # the server's port, known before the emulator starts
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.emulator, banner = _start(
            [sys.executable, "-c", _EMULATOR_WITH_SUITE, self.url + "/wecom/callback"],
            None,
            "emulator",
        )
        self.emulator_url = banner.rsplit(" ", 1)[-1]
        config = workdir / "server.toml"
        config.write_text(
            f'[server]\nmodel_ids = ["{MODEL_ID}"]\nsource = "register"\nsn_prefix = "T"\n'
            f'corpid = "{EMULATOR_CORPID}"\nwecom_base_url = "{self.emulator_url}"\n'
            'suite_id = "wwsuite0000000001"\npoll_interval_s = 0.2\n'
            "rate_limit_per_s = 100000\n"
        )
        env = dict(
            os.environ,
            PYTHONPATH=str(ROOT),
            INSTALLER_SERVER_KEY=base64.b64encode(os.urandom(32)).decode(),
            INSTALLER_DATABASE_URL=self.db_url,
            INSTALLER_PROVIDER_SECRET=EMULATOR_SECRET,
            INSTALLER_SUITE_SECRET="emulator-suite-secret",
            INSTALLER_CALLBACK_TOKEN="emulatorCallbackToken",
            INSTALLER_CALLBACK_AES_KEY="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        )
        self.server = subprocess.Popen(
            [
                *_python_m("serve", "--config", str(config), "--port", str(port)),
                "--data-dir",
                str(workdir / "server-data"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        assert self.server.stdout is not None
        self.server.stdout.readline()  # "listening on ..."
        self._installers = 0

    def token(self) -> Secret:
        from installer_app.server.accounts import add_installer
        from installer_app.server.db import connect

        self._installers += 1
        with connect(self.db_url) as conn:
            token: Secret = add_installer(conn, f"bench{self._installers}", "installer", None)
        return token

    def stop(self) -> None:
        _stop(self.server)
        _stop(self.emulator)
        self.pg.stop_server("immediate")


def _boards(
    count: int, workdir: Path, latency_s: float, base: str, helpers: list[subprocess.Popen[str]]
) -> list[str]:
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
    return ports


def provision(count: int, workdir: Path, latency_s: float, team: TeamServer | None = None) -> float:
    """Seconds from the start of the first board to the end of the last.

    The emulator (and the team server) and each board run in their own processes, as WeCom and
    real boards are outside the app: only the app's own work shares this process.
    """
    helpers: list[subprocess.Popen[str]] = []
    try:
        if team is not None:
            ports = _boards(count, workdir, latency_s, team.emulator_url, helpers)
            # Team mode: the laptop holds its installer token only.
            settings = Settings(
                provider=ProviderSettings(model_id=MODEL_ID),
                team=TeamSettings(url=team.url),
                binding=BindingSettings(poll_interval_s=0.2, timeout_s=60.0),
                store=StoreSettings(key_file=str(workdir / "bench.key")),
            ).with_secrets(None, team.token())
            return _timed(settings, workdir, ports)
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
        ports = _boards(count, workdir, latency_s, base, helpers)
        settings = Settings(
            provider=ProviderSettings(
                wecom_base_url=base, corpid=EMULATOR_CORPID, model_id=MODEL_ID
            ),
            partner=PartnerSettings(base_url=base),
            credentials=CredentialSettings(source="register", sn_prefix="B"),
            binding=BindingSettings(poll_interval_s=0.2, timeout_s=60.0),
            store=StoreSettings(key_file=str(workdir / "bench.key")),
        ).with_secrets(Secret(EMULATOR_SECRET), Secret(EMULATOR_TOKEN))
        return _timed(settings, workdir, ports)
    finally:
        for proc in helpers:
            _stop(proc)


def _timed(settings: Settings, workdir: Path, ports: list[str]) -> float:
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


def _ignore(event: WorkflowEvent) -> None:
    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.01, help="device latency, seconds")
    parser.add_argument(
        "--team", action="store_true", help="N boards through the team server against N direct"
    )
    args = parser.parse_args()
    os.environ.pop("INSTALLER_KEY_FILE", None)
    # A registry of simulated boards of this run only: the machine-wide one would show these
    # boards to any other run of the app here (a bench view starts every blank board it sees).
    registry = tempfile.mkdtemp(prefix="bench-sim-registry-")
    os.environ["INSTALLER_SIM_REGISTRY"] = str(Path(registry) / "sim-ports")
    if args.team:
        return _compare_team(args)
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


def _compare_team(args: argparse.Namespace) -> int:
    directs, teams = [], []
    with tempfile.TemporaryDirectory() as root:
        team = TeamServer(Path(root))
        try:
            # One round of each first, not counted: the server's first requests pay what a
            # team server running all day has paid long before (its connection pool filling,
            # WeCom's access token, psycopg preparing its statements).
            for counted in [False] + [True] * args.rounds:
                with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
                    direct = provision(args.boards, Path(a), args.latency)
                    through = provision(args.boards, Path(b), args.latency, team)
                if counted:
                    directs.append(direct)
                    teams.append(through)
                else:
                    warm = f"direct {direct:.3f} s, team {through:.3f} s"
        finally:
            team.stop()
    direct, through = statistics.median(directs), statistics.median(teams)
    print(f"device latency: {args.latency * 1000:.0f} ms; warm-up round (not counted): {warm}")
    print(f"{args.boards} boards, direct mode: {direct:.3f} s  (rounds: {_fmt(directs)})")
    print(f"{args.boards} boards, team server: {through:.3f} s  (rounds: {_fmt(teams)})")
    print(f"ratio team / direct: {through / direct:.3f}  (target <= 1.25)")
    return 0


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
