"""The site handover from the team server's records (issue 16, team mode): two laptops, two
installer tokens, two local stores, one enterprise; the package made on one laptop lists every
board of both installers once. Real server, real PostgreSQL, the provider emulator as WeCom,
simulated boards on ptys, the real CLI."""

from __future__ import annotations

import csv
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path

import httpx
import psycopg
import pytest

from installer_app.cli import main
from installer_app.config import (
    BindingSettings,
    InstallerSettings,
    Settings,
    TeamSettings,
    save_settings,
)
from installer_app.demo import DEMO_MODEL_ID, DemoEnvironment
from installer_app.handover.report import report_document
from installer_app.handover.rows import State
from installer_app.handover.team import TeamRecordsUnavailable, collect_from_team
from installer_app.provider.emulator.probe import emulator_binding_probe
from installer_app.provider.team import TeamClient
from installer_app.secrets import Secret
from installer_app.server.accounts import revoke
from installer_app.simulator.config import SimulatorConfig
from installer_app.simulator.server import PtySimulator
from tests.fixtures.site import embedded_fonts, pdf_images
from tests.server.conftest import (
    MODEL,
    RunningServer,
    add_token,
)
from tests.server.team_helpers import Server, fill_valid_pool, with_suite

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="simulated boards need a pty")

OTHER_CORP = "wwtestcorp000002"


@dataclass
class Laptop:
    name: str
    config: Path
    data_dir: Path
    token: str

    def run(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str
    ) -> tuple[int, str, str]:
        monkeypatch.setenv("INSTALLER_PARTNER_TOKEN", self.token)
        capsys.readouterr()
        code = main([*argv, "--config", str(self.config), "--data-dir", str(self.data_dir)])
        captured = capsys.readouterr()
        return code, captured.out, captured.err


@pytest.fixture
def site(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[DemoEnvironment, Server, PtySimulator]]:
    monkeypatch.setenv("INSTALLER_LANG", "en")
    env = DemoEnvironment(tmp_path, boards=4, auto_scan_after_s=0.2, install_delay_s=0).start()
    emulator = env.emulator
    server = with_suite(
        emulator, lambda: Server(db_url, emulator, source="register", sn_prefix="SITE").start()
    )
    # A board whose flash refuses every COMMIT: it fails after it got its SN, so its failure
    # reaches the server (an event of a board without an SN stays on the laptop).
    failing = PtySimulator(
        SimulatorConfig(
            model_id=DEMO_MODEL_ID,
            flash_fail_next=1000,
            binding_probe=emulator_binding_probe(emulator.base_url),
        ),
        tmp_path / "failing.json",
    )
    failing.start()
    try:
        yield env, server, failing
    finally:
        failing.stop()
        server.stop()
        env.stop()


def _laptop(
    root: Path, env: DemoEnvironment, server: Server, db_url: str, name: str, person: str
) -> Laptop:
    token = add_token(db_url, name)
    settings: Settings = replace(
        env.settings,
        team=TeamSettings(url=server.url),
        binding=BindingSettings(qr="static", poll_interval_s=0.2, timeout_s=60),
        installer=InstallerSettings(name=person),
    ).with_secrets(None, None)
    config = root / f"{name}.toml"
    save_settings(settings, config)
    data_dir = root / f"{name}-data"
    data_dir.mkdir(parents=True)
    return Laptop(person, config, data_dir, token)


def _csv_rows(folder: Path) -> list[list[str]]:
    (path,) = folder.glob("*.csv")
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def test_a_site_worked_by_two_installers_gives_one_package_from_the_server(
    tmp_path: Path,
    db_url: str,
    site: tuple[DemoEnvironment, Server, PtySimulator],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env, server, failing = site
    alice = _laptop(tmp_path, env, server, db_url, "alice", "李工")
    bob = _laptop(tmp_path, env, server, db_url, "bob", "王工")
    ports = env.ports
    assert failing.url is not None

    # Alice's failing board first, with nobody scanning: its SN was registered, the board
    # failed, and the SN is deleted again (WeCom never sees it bound).
    env.emulator.state.auto_scan_after_s = None
    code, out, _err = alice.run(capsys, monkeypatch, "provision", "--json", "--port", failing.url)
    assert code != 0 and '"ok": false' in out, out[-1500:]
    for device in env.emulator.devices():
        env.emulator.state.del_device(device["device_sn"])
    env.emulator.state.auto_scan_after_s = 0.2

    # Each laptop provisions its own boards of the one enterprise, then sends its outbox.
    code, out, _err = alice.run(
        capsys, monkeypatch, "provision", "--json", "--port", ports[0], "--port", ports[1]
    )
    assert code == 0, out[-1500:]
    code, out, _err = bob.run(
        capsys, monkeypatch, "provision", "--json", "--port", ports[2], "--port", ports[3]
    )
    assert code == 0, out[-1500:]
    for laptop in (alice, bob):
        code, out, _err = laptop.run(capsys, monkeypatch, "sync", "--json")
        assert code == 0 and '"left": 0' in out, out

    with psycopg.connect(db_url) as conn:
        bound = dict(
            conn.execute("SELECT device_sn, corpid FROM devices WHERE bind_status = 1").fetchall()
        )
        (failed_sn,) = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT device_sn FROM events WHERE step = 'failed'"
            ).fetchall()
        ]
    assert len(bound) == 4 and len(set(bound.values())) == 1
    corp = next(iter(bound.values()))
    every_sn = sorted([*bound, failed_sn])

    # The package from the server's records, made on Alice's laptop: every board of both.
    out_dir = tmp_path / "handover"
    code, out, err = alice.run(capsys, monkeypatch, "handover", "--corp", corp, "-o", str(out_dir))
    assert code == 0, err
    assert "(5 devices)" in out and "no font for Chinese" not in err
    rows = _csv_rows(out_dir)
    sns = [row[2] for row in rows[1:]]
    assert sorted(sns) == every_sn  # each board once
    by_sn = {row[2]: row for row in rows[1:]}
    assert by_sn[failed_sn][4] == "failed" and by_sn[failed_sn][7] == "李工"
    assert {by_sn[sn][7] for sn in bound} == {"李工", "王工"}
    assert all(by_sn[sn][4] in ("bound", "bound, app installed") for sn in bound)

    # The same rows as the builder gives, both installers on the cover, Chinese rendered.
    client = TeamClient(server.url, Secret(alice.token))
    try:
        handover = collect_from_team(client, corp)
        assert handover.installers == ["李工", "王工"]
        assert handover.counts()[State.FAILED] == 1
        texts = report_document(handover).texts()
        assert any("李工" in t and "王工" in t for t in texts)
        other = collect_from_team(client, OTHER_CORP)
        assert other.rows == ()
        assert collect_from_team(client, "not a corpid").rows == ()
    finally:
        client.close()
    (pdf,) = out_dir.glob("*.pdf")
    assert any("CJK" in name for name in embedded_fonts(pdf))
    assert all(page.getbbox() is not None for page in pdf_images(pdf, dpi=60))

    # Alice's own records hold only her boards.
    local_dir = tmp_path / "local"
    code, out, err = alice.run(
        capsys, monkeypatch, "handover", "--corp", corp, "--local", "-o", str(local_dir)
    )
    assert code == 0, err
    assert "(3 devices)" in out
    assert {row[7] for row in _csv_rows(local_dir)[1:]} == {"李工"}

    # Another enterprise: none of these boards.
    code, out, err = alice.run(
        capsys, monkeypatch, "handover", "--corp", OTHER_CORP, "-o", str(tmp_path / "other")
    )
    assert code == 2 and "No boards for the enterprise" in err

    # A revoked token: the endpoint says 401, the command says what to do (exit 4).
    with psycopg.connect(db_url) as conn:
        revoke(conn, "bob")
    with httpx.Client(base_url=server.url, timeout=10) as http:
        answer = http.get(f"/v1/sites/{corp}", headers={"Authorization": f"Bearer {bob.token}"})
        assert answer.status_code == 401 and answer.json()["errcode"] == 401
        assert http.get(f"/v1/sites/{corp}").status_code == 401
    code, out, err = bob.run(
        capsys, monkeypatch, "handover", "--corp", corp, "-o", str(tmp_path / "bob")
    )
    assert code == 4 and "--local" in err and "Traceback" not in err

    # The server away: exit 4 and the way out; --local still works.
    server.stop()
    code, out, err = alice.run(
        capsys, monkeypatch, "handover", "--corp", corp, "-o", str(tmp_path / "away")
    )
    assert code == 4 and "cannot be read now" in err and "--local" in err
    offline = TeamClient(server.url, Secret(alice.token))
    try:
        with pytest.raises(TeamRecordsUnavailable):
            collect_from_team(offline, corp)
    finally:
        offline.close()
    code, out, err = alice.run(
        capsys, monkeypatch, "handover", "--corp", corp, "--local", "-o", str(tmp_path / "away")
    )
    assert code == 0 and "(3 devices)" in out


def test_the_site_answer_is_plain_text_and_holds_no_secret(
    db_url: str, server: RunningServer
) -> None:
    fill_valid_pool(db_url, 2, "TEXT")
    token = add_token(db_url, "ivy")
    client = TeamClient(server.url, Secret(token))
    try:
        issued = client.register_device(MODEL, "c0c0")
        at = datetime.now(UTC).isoformat()
        events = [
            {
                "event_id": str(uuid.uuid4()),
                "device_sn": issued.device_sn,
                "hw_id": "c0c0",
                "step": step,
                "outcome": "ok",
                "at": at,
                "installer": "li\nwang",  # C4 lets a newline through: shown folded
                "detail": detail,
            }
            for step, detail in (("bound", "x"), ("location", "3F\u202e-301\t前台"))
        ]
        assert client.send_events(events).refused == {}
        with psycopg.connect(db_url) as conn:
            conn.execute(
                "UPDATE devices SET bind_status = 1, corpid = 'wwtext', corp_name = '文' "
                "WHERE device_sn = %s",
                (issued.device_sn,),
            )
        with server.client(token) as http:
            answer = http.get("/v1/sites/wwtext")
            assert answer.status_code == 200
            assert issued.credential.reveal() not in answer.text
            assert set(answer.json()["devices"][0]) == {
                "device_sn",
                "hw_id",
                "model_id",
                "location",
                "state",
                "app_installed",
                "at",
                "installer",
                "detail",
            }
            wrong = http.get(
                "/v1/sites/wwtext", params={"since": at, "until": "2000-01-01T00:00:00Z"}
            )
            assert wrong.status_code == 400 and wrong.json()["errcode"] == 40035
            assert http.get("/v1/sites/ww%20text").status_code == 400
        (row,) = collect_from_team(client, "wwtext").rows
        assert row.location == "3F\\u202e-301 前台"  # the bidi override visible, not obeyed
        assert row.installer == "li wang" and row.state is State.BOUND
    finally:
        client.close()


def test_a_board_bound_nowhere_belongs_to_the_site_its_installer_visited_that_local_day(
    db_url: str, server: RunningServer
) -> None:
    fill_valid_pool(db_url, 8, "VISIT")
    beijing = timezone(timedelta(hours=8))
    day = date(2026, 11, 30)

    def at(hour: float, days: int = 0) -> str:
        moment = datetime.combine(day + timedelta(days=days), time(0), tzinfo=beijing)
        return (moment + timedelta(hours=hour)).isoformat()

    def work(token: str, installer: str, hw_id: str, steps: list[tuple[str, str]]) -> str:
        with TeamClient(server.url, Secret(token)) as client:
            sn = client.register_device(MODEL, hw_id).device_sn
            events = [
                {
                    "event_id": str(uuid.uuid4()),
                    "device_sn": sn,
                    "hw_id": hw_id,
                    "step": step,
                    "outcome": "failed" if step == "failed" else "ok",
                    "at": when,
                    "installer": installer,
                }
                for step, when in steps
            ]
            assert client.send_events(events).refused == {}
        return sn

    ivy, jack = add_token(db_url, "ivy"), add_token(db_url, "jack")
    bound = work(ivy, "ivy", "b1b1", [("written", at(10)), ("bound", at(10.1))])
    other = work(ivy, "ivy", "0101", [("written", at(11)), ("bound", at(11.1))])
    same_day = work(ivy, "ivy", "f1f1", [("written", at(15)), ("failed", at(15.1))])
    late = work(ivy, "ivy", "f4f4", [("failed", at(23.5))])  # 15:30 UTC: still that day here
    next_day = work(ivy, "ivy", "f5f5", [("failed", at(0.5, days=1))])
    day_before = work(ivy, "ivy", "f2f2", [("failed", at(15, days=-1))])
    colleague = work(jack, "jack", "f3f3", [("failed", at(15))])
    with psycopg.connect(db_url) as conn:
        for sn, corp in ((bound, "wwvisit"), (other, "wwother")):
            conn.execute(
                "UPDATE devices SET bind_status = 1, corpid = %s WHERE device_sn = %s", (corp, sn)
            )
    with TeamClient(server.url, Secret(jack)) as client:
        handover = collect_from_team(
            client, "wwvisit", day - timedelta(days=1), day + timedelta(days=1), beijing
        )
    shown = {row.sn: row.state for row in handover.rows}
    assert shown == {bound: State.BOUND, same_day: State.FAILED, late: State.FAILED}
    assert {other, next_day, day_before, colleague}.isdisjoint(shown)
