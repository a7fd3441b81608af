"""Team mode on the laptop (issue 13) against the real team server on a real PostgreSQL, with the
provider emulator as WeCom and simulated boards on ptys.

The laptop runs the real CLI (``main``) and the real workflow; the server is S's app, in this
process, on loopback HTTP. Nothing here gives the laptop the provider secret.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
import pytest

from installer_app.cli import main
from installer_app.cli.provision_cmds import CliAnswers, Printer, provision_boards
from installer_app.config import (
    BindingSettings,
    Settings,
    TeamSettings,
    load_secrets,
    load_settings,
    save_settings,
)
from installer_app.demo import DemoEnvironment
from installer_app.device.client import DeviceClient
from installer_app.device.protocol import DeviceState
from installer_app.secrets import Secret
from installer_app.store import open_store
from installer_app.workflow.wiring import open_session
from tests.server.conftest import (
    MODEL,
    add_token,
)
from tests.server.team_helpers import Server, fill_valid_pool, with_suite

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="simulated boards need a pty")


@dataclass
class Laptop:
    env: DemoEnvironment
    settings: Settings  # team mode, the installer token in it
    config: Path  # the same settings on disk (no secret in it)
    data_dir: Path
    token: str

    def run(self, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[Any]]:
        capsys.readouterr()
        code = main([*argv, "--config", str(self.config), "--data-dir", str(self.data_dir)])
        out = capsys.readouterr().out
        return code, [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.fixture
def start_server(db_url: str) -> Iterator[Callable[..., Server]]:
    """Start a team server on this test's database (``config``: ServerConfig fields); every one
    started is stopped after the test."""
    started: list[Server] = []

    def start(emulator: Any = None, **config: Any) -> Server:
        server = Server(db_url, emulator, **config).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def start_boards() -> Iterator[Callable[[Path, int], DemoEnvironment]]:
    """Simulated boards (with the demo's provider emulator) under a folder; stopped after."""
    started: list[DemoEnvironment] = []

    def start(root: Path, boards: int) -> DemoEnvironment:
        env = DemoEnvironment(root, boards=boards, auto_scan_after_s=0.2, install_delay_s=0)
        started.append(env.start())
        return env

    yield start
    for env in started:
        env.stop()


@pytest.fixture
def make_laptop(
    db_url: str, start_boards: Callable[[Path, int], DemoEnvironment]
) -> Callable[..., Laptop]:
    """A laptop in team mode for ``server``, its installer ``name`` with a token of its own, its
    files under ``root``, with ``boards`` new simulated boards (or those of ``env``)."""

    def make(
        root: Path, server: Server, name: str, *, boards: int, env: DemoEnvironment | None = None
    ) -> Laptop:
        if env is None:
            env = start_boards(root, boards)
        token = add_token(db_url, name)
        settings = replace(
            env.settings,
            team=TeamSettings(url=server.url),
            binding=BindingSettings(qr="static", poll_interval_s=0.2, timeout_s=60),
        ).with_secrets(None, None)
        config = root / f"{name}.toml"
        save_settings(settings, config)
        data_dir = root / f"{name}-data"
        data_dir.mkdir(parents=True)
        return Laptop(env, settings.with_secrets(None, Secret(token)), config, data_dir, token)

    return make


@pytest.fixture
def inventory_site(
    tmp_path: Path,
    db_url: str,
    start_server: Callable[..., Server],
    make_laptop: Callable[..., Laptop],
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., tuple[Server, Laptop]]:
    """The usual set-up: a pool of ``pool`` credentials named ``prefix``…, a server handing them
    out, and one laptop with ``boards`` boards whose CLI finds its token in the environment."""

    def make(prefix: str, pool: int, name: str, *, boards: int) -> tuple[Server, Laptop]:
        fill_valid_pool(db_url, pool, prefix)
        server = start_server(source="inventory")
        laptop = make_laptop(tmp_path, server, name, boards=boards)
        monkeypatch.setenv("INSTALLER_PARTNER_TOKEN", laptop.token)
        return server, laptop

    return make


def _server_events(db_url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute("SELECT event_id, device_sn, hw_id, step FROM events").fetchall()


def _server_devices(db_url: str) -> dict[str, str]:
    with psycopg.connect(db_url) as conn:
        return dict(conn.execute("SELECT hw_id, device_sn FROM devices").fetchall())


def _laptop_sns(laptop: Laptop) -> list[str]:
    with open_store(laptop.settings, laptop.data_dir) as store:
        return [record.sn for record in store.history()]


def _outbox_ids(laptop: Laptop) -> list[str]:
    import sqlite3

    conn = sqlite3.connect(laptop.data_dir / "installer.db")
    try:
        return [r[0] for r in conn.execute("SELECT event_id FROM outbox")]
    finally:
        conn.close()


def _board_state(port: str) -> tuple[DeviceState, str | None]:
    with DeviceClient.open(port) as client:
        hello = client.hello()
    return hello.state, hello.sn


# -- the tests -----------------------------------------------------------------------------------


def test_provision_in_team_mode_never_reads_the_provider_secret(
    tmp_path: Path,
    db_url: str,
    start_server: Callable[..., Server],
    start_boards: Callable[[Path, int], DemoEnvironment],
    make_laptop: Callable[..., Laptop],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = start_boards(tmp_path, 2)
    emulator = env.emulator
    server = with_suite(
        emulator, lambda: start_server(emulator, source="register", sn_prefix="TEAM")
    )
    laptop = make_laptop(tmp_path, server, "alice", boards=2, env=env)

    # The laptop's environment, configuration and credential store hold no provider secret, and
    # team mode would not even read one that was there.
    monkeypatch.setenv("INSTALLER_PARTNER_TOKEN", laptop.token)
    assert "INSTALLER_PROVIDER_SECRET" not in os.environ
    assert emulator.provider_secret not in laptop.config.read_text()
    loaded = load_secrets(
        load_settings(laptop.config),
        {"INSTALLER_PROVIDER_SECRET": "would-be-read", "INSTALLER_PARTNER_TOKEN": laptop.token},
    )
    assert loaded.provider_secret is None and loaded.partner_token is not None

    code, lines = laptop.run(capsys, "check", "--json")
    assert code == 0
    assert lines[0]["items"][0]["name"] == "team"
    assert lines[0]["items"][0]["installer"] == "alice"

    ports = env.ports
    argv = ["provision", "--json", *[a for p in ports for a in ("--port", p)]]
    code, lines = laptop.run(capsys, *argv)
    results = [line for line in lines if line.get("event") == "result"]
    assert code == 0, lines[-5:]
    assert len(results) == 2
    assert all(r["ok"] and r["corpid"] and r["app_installed"] is True for r in results)
    sns = {r["device_sn"] for r in results}
    assert all(sn.startswith("TEAM") for sn in sns)
    for port in ports:
        state, sn = _board_state(port)
        assert state is DeviceState.PROVISIONED and sn in sns

    code, lines = laptop.run(capsys, "sync", "--json")
    assert code == 0 and lines[0]["left"] == 0
    ids = _outbox_ids(laptop)
    events = _server_events(db_url)
    assert sorted(str(e[0]) for e in events) == sorted(ids)
    assert {e[3] for e in events} >= {"reserved", "written", "verified", "committed", "bound"}
    # The server knows both boards, each with the SN the laptop gave it.
    devices = _server_devices(db_url)
    with open_store(laptop.settings, laptop.data_dir) as store:
        for record in store.history():
            assert devices[record.hw_id or ""] == record.sn
            assert store.sync_state_for(record.sn) == "sent"
    code, lines = laptop.run(capsys, "history", "--json")
    assert {line["team_server"] for line in lines} == {"sent"}


def test_offline_site_with_a_lease_then_sync_delivers_every_event_once(
    db_url: str,
    inventory_site: Callable[..., tuple[Server, Laptop]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, laptop = inventory_site("LEASE", 5, "bob", boards=2)

    code, lines = laptop.run(capsys, "leases", "take", "3", "--json")
    assert code == 0 and lines[0]["count"] == 3 and lines[0]["held_offline"] == 3

    server.stop()  # the site has no network
    with open_session(laptop.settings, laptop.data_dir) as session:
        ports = laptop.env.ports
        code = provision_boards(
            session, ports, Printer(json_lines=True, several=True), CliAnswers(None)
        )
    out = capsys.readouterr().out
    results = [json.loads(x) for x in out.splitlines() if '"event": "result"' in x]
    assert code == 0, out[-2000:]
    assert all(r["ok"] and r["binding"] == "to_be_confirmed_by_server" for r in results)
    leased = {r["device_sn"] for r in results}
    assert len(leased) == 2 and all(sn.startswith("LEASE") for sn in leased)
    for port in ports:
        state, sn = _board_state(port)
        assert state is DeviceState.PROVISIONED and sn in leased

    code, lines = laptop.run(capsys, "sync", "--json")
    assert code == 4 and lines[0]["left"] > 0  # nothing lost, nothing sent
    left = lines[0]["left"]

    server.start()  # back in the office, same address
    code, lines = laptop.run(capsys, "sync", "--json")
    assert code == 0, lines
    assert lines[0]["left"] == 0 and lines[0]["sent"] == left
    code, lines = laptop.run(capsys, "sync", "--json")
    assert code == 0 and lines[0]["sent"] == 0 and lines[0]["left"] == 0

    events = _server_events(db_url)
    assert len(events) == len({e[0] for e in events}) == len(_outbox_ids(laptop))
    devices = _server_devices(db_url)
    assert sorted(devices.values()) == sorted(leased)  # each leased SN tied to its board

    code, lines = laptop.run(capsys, "leases", "return", "--json")
    assert code == 0 and lines[0]["returned"] == 1
    code, lines = laptop.run(capsys, "leases", "list", "--json")
    assert lines[0]["held_offline"] == 0
    assert [(x["unused"], x["used"], x["returned"]) for x in lines[0]["leases"]] == [(0, 2, True)]


def test_two_laptops_sharing_one_pool_never_share_an_sn(
    tmp_path: Path,
    db_url: str,
    start_server: Callable[..., Server],
    make_laptop: Callable[..., Laptop],
) -> None:
    fill_valid_pool(db_url, 8, "POOL")
    server = start_server(source="inventory")
    laptops = [make_laptop(tmp_path / name, server, name, boards=4) for name in ("carol", "dave")]
    codes: list[int] = []

    def provision(laptop: Laptop) -> None:
        with open_session(laptop.settings, laptop.data_dir) as session:
            codes.append(
                provision_boards(
                    session,
                    laptop.env.ports,
                    Printer(json_lines=True, several=True),
                    CliAnswers(None),
                    no_wait=True,
                )
            )

    threads = [threading.Thread(target=provision, args=(laptop,)) for laptop in laptops]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert codes == [0, 0]
    held = [sn for laptop in laptops for sn in _laptop_sns(laptop)]
    assert len(held) == 8 and len(set(held)) == 8
    devices = _server_devices(db_url)
    assert sorted(devices.values()) == sorted(held)


# -- killed at each step -------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
ONLINE_KILLS = ("credential", "write", "verify", "commit", "qr")
OFFLINE_KILLS = ("credential", "write", "commit")


def _provision_cmd(laptop: Laptop, port: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "installer_app",
        "provision",
        "--config",
        str(laptop.config),
        "--data-dir",
        str(laptop.data_dir),
        "--port",
        port,
        "--json",
        "--no-wait",
    ]


def _cli_env(laptop: Laptop) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), INSTALLER_PARTNER_TOKEN=laptop.token)
    env.pop("INSTALLER_PROVIDER_SECRET", None)
    return env


def _kill_at(laptop: Laptop, port: str, step: str) -> None:
    """Run ``provision`` and SIGKILL it once its output says ``step`` is done."""
    proc = subprocess.Popen(
        _provision_cmd(laptop, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
        env=_cli_env(laptop),
    )
    assert proc.stdout is not None
    killed = False
    seen: list[str] = []
    for line in proc.stdout:
        seen.append(line)
        event = json.loads(line)
        if event.get("step") == step and event.get("outcome") == "ok":
            proc.send_signal(signal.SIGKILL)
            killed = True
            break
    proc.wait(timeout=60)
    proc.stdout.close()
    assert killed, f"the run ended before {step}: {seen[-2:]}"


def _rerun(laptop: Laptop, port: str) -> dict[str, Any]:
    done = subprocess.run(
        _provision_cmd(laptop, port),
        capture_output=True,
        text=True,
        env=_cli_env(laptop),
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    results = [json.loads(x) for x in done.stdout.splitlines() if '"event": "result"' in x]
    assert done.returncode == 0 and results and results[-1]["ok"], done.stdout[-1500:]
    return results[-1]


def _agree(laptop: Laptop, db_url: str, ports: list[str]) -> None:
    """Server and laptop agree: every board holds the SN both sides give its HW_ID, no SN is on
    two boards, and the server has every event of the outbox exactly once."""
    with open_store(laptop.settings, laptop.data_dir) as store:
        records = store.history()
        assert store.outbox_counts().pending == 0 and store.outbox_refused() == []
    devices = _server_devices(db_url)
    assert len(records) == len(ports)
    assert len({r.sn for r in records}) == len(records)
    for record in records:
        assert devices[record.hw_id or ""] == record.sn
    on_boards = {_board_state(port)[1] for port in ports}
    assert on_boards == {r.sn for r in records}
    events = _server_events(db_url)
    ids = _outbox_ids(laptop)
    assert len(events) == len({e[0] for e in events})
    assert sorted(str(e[0]) for e in events) == sorted(ids)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("offline", "step"),
    [(False, step) for step in ONLINE_KILLS] + [(True, step) for step in OFFLINE_KILLS],
)
def test_killed_at_a_step_then_rerun_and_sync_server_and_laptop_agree(
    db_url: str,
    inventory_site: Callable[..., tuple[Server, Laptop]],
    capsys: pytest.CaptureFixture[str],
    offline: bool,
    step: str,
) -> None:
    server, laptop = inventory_site("KILL", 3, "erin", boards=1)
    port = laptop.env.ports[0]
    if offline:
        assert laptop.run(capsys, "leases", "take", "1", "--json")[0] == 0
        server.stop()
    _kill_at(laptop, port, step)
    result = _rerun(laptop, port)
    assert result["device_sn"].startswith("KILL")
    if offline:
        assert result["binding"] == "to_be_confirmed_by_server"
        server.start()
    code, lines = laptop.run(capsys, "sync", "--json")
    assert code == 0 and lines[0]["left"] == 0, lines
    _agree(laptop, db_url, [port])


def test_a_conflict_the_server_reports_stops_the_board_and_keeps_both_records(
    db_url: str,
    inventory_site: Callable[..., tuple[Server, Laptop]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, laptop = inventory_site("CONF", 2, "gina", boards=1)
    assert laptop.run(capsys, "leases", "take", "1", "--json")[0] == 0
    server.stop()
    port = laptop.env.ports[0]
    code, lines = laptop.run(capsys, "provision", "--json", "--port", port)
    assert code == 0
    sn = next(x["device_sn"] for x in lines if x.get("event") == "result")
    # Meanwhile the server gave that SN to another board (an expired lease, an operator).
    other = "ff" * 8
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE credentials SET hw_id = %s, lease_id = NULL WHERE device_sn = %s", (other, sn)
        )
        conn.execute(
            "INSERT INTO devices (hw_id, device_sn, model_id) VALUES (%s, %s, %s)",
            (other, sn, MODEL),
        )
    server.start()

    code, lines = laptop.run(capsys, "sync", "--json")
    assert code == 4 and lines[0]["left"] == 0
    assert lines[0]["refused"] and {r["device_sn"] for r in lines[0]["refused"]} == {sn}
    assert all("600036" in r["reason"] for r in lines[0]["refused"])
    code, lines = laptop.run(capsys, "history", "--json")
    assert lines[0]["team_server"] == "refused" and lines[0]["stage"] == "committed"
    assert _server_devices(db_url)[other] == sn  # nothing overwritten on the server

    # The board, run again, stops with the server's refusal (exit 4); the record stays.
    code, lines = laptop.run(capsys, "provision", "--json", "--port", port)
    result = next(x for x in lines if x.get("event") == "result")
    assert code == 4 and not result["ok"] and sn in result["error"]
    assert "refused" in result["error"]


def test_the_long_poll_answers_at_once_a_binding_the_laptop_has_not_seen(
    db_url: str, start_server: Callable[..., Server]
) -> None:
    fill_valid_pool(db_url, 1, "POLL")
    server = start_server(source="inventory")
    token = add_token(db_url, "hank")
    import httpx

    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        sn = client.post("/v1/devices", json={"model_id": MODEL, "hw_id": "abcd"}).json()[
            "device_sn"
        ]
        with psycopg.connect(db_url) as conn:
            conn.execute(
                "UPDATE devices SET bind_status = 1, corpid = 'wwc', corp_name = 'C' "
                "WHERE device_sn = %s",
                (sn,),
            )
        started = time.monotonic()
        answer = client.get(f"/v1/devices/{sn}", params={"wait": 5, "bind_status": 0}).json()
        assert answer["bind_status"] == 1 and time.monotonic() - started < 2
        started = time.monotonic()
        client.get(f"/v1/devices/{sn}", params={"wait": 1})
        assert time.monotonic() - started >= 1  # without it: held until a change, or the wait


def test_the_bench_board_host_runs_team_mode_and_the_wizard_session_sends_its_outbox(
    tmp_path: Path,
    db_url: str,
    start_server: Callable[..., Server],
    start_boards: Callable[[Path, int], DemoEnvironment],
    make_laptop: Callable[..., Laptop],
) -> None:
    """The bench view's boards run in the board host (a second process) on the wizard's team
    settings; the host writes the outbox to the shared store and the wizard's own session, which
    sends it in the background, delivers every event once."""
    from installer_app.workflow.events import ProvisionResult, WifiCredentials
    from installer_app.workflow.host_client import BoardHost

    env = start_boards(tmp_path, 2)
    emulator = env.emulator
    server = with_suite(
        emulator, lambda: start_server(emulator, source="register", sn_prefix="HOST")
    )
    laptop = make_laptop(tmp_path, server, "hana", boards=2, env=env)
    assert laptop.settings.provider_secret is None

    results: dict[str, ProvisionResult] = {}
    done = threading.Condition()

    def on_result(result: ProvisionResult, _left_alone: bool) -> None:
        with done:
            results[result.port or ""] = result
            done.notify_all()

    with open_session(laptop.settings, laptop.data_dir) as wizard_session:
        host = BoardHost(
            laptop.settings,
            laptop.data_dir,
            on_event=lambda _event: None,
            on_result=on_result,
            on_wifi_needed=lambda: None,
        )
        host.provide_wifi(WifiCredentials("site-net", Secret("site-pass-0017")))
        host.launch()
        for port in env.ports:
            assert host.start(port)
        with done:
            assert done.wait_for(lambda: len(results) == 2, 60)
        assert host.close()
        assert all(r.ok and r.app_installed for r in results.values()), results
        assert all((r.device_sn or "").startswith("HOST") for r in results.values())
        deadline = time.monotonic() + 20
        while wizard_session.store.outbox_counts().pending and time.monotonic() < deadline:
            time.sleep(0.2)
        assert wizard_session.store.outbox_counts().pending == 0

    events = _server_events(db_url)
    assert sorted(str(e[0]) for e in events) == sorted(_outbox_ids(laptop))
    assert {e[3] for e in events} >= {"reserved", "written", "verified", "committed", "bound"}
    devices = _server_devices(db_url)
    assert sorted(devices.values()) == sorted(r.device_sn or "" for r in results.values())
