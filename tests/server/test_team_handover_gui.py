"""History → Site handover in team mode, against the real team server on a real PostgreSQL: the
dialog offers the team server's records (the default) or this laptop's, fetches on a worker,
writes one package with both installers' boards, and says what to do when the server is away."""

from __future__ import annotations

import csv
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from installer_app.config import BindingSettings, ProviderSettings, Settings, TeamSettings
from installer_app.provider.team import TeamClient
from installer_app.secrets import Secret
from tests.server.conftest import MODEL, add_token
from tests.server.team_helpers import Server, fill_valid_pool

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

SLOW_MS = 30_000
CORP = "wwhandover00001"


def _event(sn: str, hw_id: str, step: str, installer: str, at: datetime, **extra: str) -> Any:
    outcome = step if step in ("failed", "skipped") else "ok"
    return {
        "event_id": str(uuid.uuid4()),
        "device_sn": sn,
        "hw_id": hw_id,
        "step": step,
        "outcome": outcome,
        "at": at.isoformat(),
        "installer": installer,
        **extra,
    }


def _work_site(server_url: str, db_url: str) -> dict[str, str]:
    """Two installers, each with their own token, work the site through C1 and C4: three boards
    bound to CORP, one of Alice's failed, one skipped. Returns SN → installer name."""
    now = datetime.now(UTC) - timedelta(minutes=5)
    worked: dict[str, str] = {}
    team = (("alice", "李工", ("a1a1", "a2a2")), ("bob", "王工", ("b1b1",)))
    for account, person, boards in team:
        client = TeamClient(server_url, Secret(add_token(db_url, account)))
        try:
            events = []
            for hw_id in (*boards, "f0f0", "e0e0") if account == "alice" else boards:
                sn = client.register_device(MODEL, hw_id).device_sn
                worked[sn] = person
                events.append(_event(sn, hw_id, "written", person, now))
                if hw_id == "f0f0":
                    events.append(_event(sn, hw_id, "failed", person, now, detail="flash failed"))
                    continue
                if hw_id == "e0e0":
                    events.append(_event(sn, hw_id, "skipped", person, now))
                    continue
                events.append(_event(sn, hw_id, "bound", person, now))
                events.append(_event(sn, hw_id, "location", person, now, detail="3F-301 前台"))
                with psycopg.connect(db_url) as conn:
                    conn.execute(
                        "UPDATE devices SET bind_status = 1, corpid = %s, corp_name = %s, "
                        "bound_at = %s WHERE device_sn = %s",
                        (CORP, "交接测试有限公司", now, sn),
                    )
            assert client.send_events(events).refused == {}
        finally:
            client.close()
    return worked


def test_handover_dialog_takes_the_team_servers_records_on_a_worker(
    qtbot: Any, tmp_path: Path, db_url: str, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ui.main_window import MainWindow

    fill_valid_pool(db_url, 6, "HAND")
    server = Server(db_url, None, source="inventory").start()
    threads: list[str] = []
    site = TeamClient.site

    def site_on(self: TeamClient, *args: Any) -> Any:
        threads.append(threading.current_thread().name)
        return site(self, *args)

    monkeypatch.setattr(TeamClient, "site", site_on)
    try:
        worked = _work_site(server.url, db_url)
        settings = Settings(
            provider=ProviderSettings(model_id=MODEL),
            team=TeamSettings(url=server.url),
            binding=BindingSettings(poll_interval_s=0.2),
            source_file=tmp_path / "config.toml",
        ).with_secrets(None, Secret(add_token(db_url, "carol")))
        window = MainWindow(settings, tmp_path / "data", tmp_path / "config.toml", None)
        qtbot.addWidget(window)
        try:
            qtbot.waitUntil(lambda: window.session is not None, timeout=SLOW_MS)
            history = window.open_history()
            qtbot.addWidget(history)
            dialog = history.open_handover()
            qtbot.addWidget(dialog)
            dialog.open_after_save = False
            qtbot.waitUntil(lambda: "corpid" in dialog.status.text(), timeout=SLOW_MS)
            # This laptop has no record of the site: the team server's records are the
            # default, and the enterprise is typed.
            assert dialog.source.isVisibleTo(dialog) and dialog.from_team()
            assert dialog.save_button.isEnabled()
            dialog.site.setEditText(CORP)

            with qtbot.waitSignal(dialog.saved, timeout=SLOW_MS) as saved:
                dialog.save(tmp_path / "team")
            package = saved.args[0]
            with package.csv.open(encoding="utf-8-sig", newline="") as f:
                rows = list(csv.reader(f))[1:]
            assert sorted(r[2] for r in rows) == sorted(worked)
            assert {r[2]: r[7] for r in rows} == worked
            assert {r[4] for r in rows} == {"bound", "failed", "skipped"}
            assert threads and threading.main_thread().name not in threads
            assert "Saved" in dialog.status.text()

            # This laptop's records: nothing of the site here.
            dialog.source.setCurrentIndex(dialog.source.findData("local"))
            with qtbot.waitSignal(dialog.failed, timeout=SLOW_MS) as failed:
                dialog.save(tmp_path / "local")
            assert "No boards for the enterprise" in failed.args[0]

            # The server away: the message and the way out, and the dialog stays usable.
            server.stop()
            dialog.source.setCurrentIndex(dialog.source.findData("team"))
            with qtbot.waitSignal(dialog.failed, timeout=SLOW_MS) as failed:
                dialog.save(tmp_path / "away")
            text = failed.args[0]
            assert "cannot be read now" in text and "this laptop's records" in text
            assert dialog.status.text() == text and dialog.save_button.isEnabled()
            dialog.reject()
            history.reject()
        finally:
            window.shutdown()
    finally:
        server.stop()
