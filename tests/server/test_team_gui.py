"""Team mode in the wizard, against the real team server: the Start page shows the server, the
installer it knows and the credentials held offline; taking and returning a lease is one click;
Settings → Team server signs in and leaves the provider secret out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from installer_app.config import BindingSettings, ProviderSettings, Settings, TeamSettings
from installer_app.secrets import Secret
from tests.server.conftest import MODEL, add_token
from tests.server.team_helpers import Server, fill_valid_pool

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

SLOW_MS = 30_000


def test_start_page_and_settings_in_team_mode(
    qtbot: Any, tmp_path: Path, db_url: str, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QInputDialog

    from ui.main_window import MainWindow

    fill_valid_pool(db_url, 4, "GUI")
    server = Server(db_url, None, source="inventory").start()
    try:
        token = add_token(db_url, "frank")
        settings = Settings(
            provider=ProviderSettings(model_id=MODEL),
            team=TeamSettings(url=server.url),
            binding=BindingSettings(poll_interval_s=0.2),
            source_file=tmp_path / "config.toml",
        ).with_secrets(None, Secret(token))
        window = MainWindow(settings, tmp_path / "data", tmp_path / "config.toml", None)
        qtbot.addWidget(window)
        try:
            page = window.start_page
            qtbot.waitUntil(lambda: window.session is not None, timeout=SLOW_MS)
            assert server.url in page.mode.text()
            assert not page.offline.isHidden()
            qtbot.waitUntil(lambda: "frank" in page.check_items.text(), timeout=SLOW_MS)
            qtbot.waitUntil(lambda: "0" in page.held_offline.text(), timeout=SLOW_MS)

            monkeypatch.setattr(QInputDialog, "getInt", lambda *a, **k: (3, True))
            page.take_button.click()
            qtbot.waitUntil(lambda: "3" in page.held_offline.text(), timeout=SLOW_MS)
            assert page.return_button.isEnabled()
            page.return_button.click()
            qtbot.waitUntil(lambda: "0" in page.held_offline.text(), timeout=SLOW_MS)

            dialog = window.open_settings()
            qtbot.addWidget(dialog)
            assert dialog.team.url.text() == server.url
            assert not dialog.provider.secret.isEnabled() and not dialog.provider.corpid.isEnabled()
            dialog.team.sign_in_button.click()
            qtbot.waitUntil(lambda: "frank" in dialog.team.sign_in_result.text(), timeout=SLOW_MS)
            assert dialog.team.sign_in_result.text().startswith("✔")
            dialog.reject()

            # History: a record of this laptop's team-mode store that the server has, one it
            # does not have yet.
            window.session.outbox.close(flush=False)  # no background send during this check
            store = window.session.store
            store.reserve(
                "GUIREC1", "0a0a", Secret("s1"), source="partner", model_id=MODEL, installer="frank"
            )
            store.reserve(
                "GUIREC2", "0b0b", Secret("s2"), source="partner", model_id=MODEL, installer="frank"
            )
            sent = [e.event_id for e in store.outbox_batch(10) if e.sn == "GUIREC1"]
            store.outbox_done(sent, {})
            history = window.open_history()
            qtbot.addWidget(history)
            qtbot.waitUntil(lambda: history.table.rowCount() == 2, timeout=SLOW_MS)
            assert not history.table.isColumnHidden(6)
            shown = {
                history.table.item(r, 0).text(): history.table.item(r, 6).text() for r in range(2)
            }
            assert shown == {"GUIREC1": "has it", "GUIREC2": "waiting to be sent"}
            history.reject()
        finally:
            window.shutdown()
    finally:
        server.stop()
