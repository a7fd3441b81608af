"""Settings, history, crash handler, demo mode and the translator bridge."""

from __future__ import annotations

import csv
import logging
import os
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QDialogButtonBox

from installer_app import i18n
from installer_app.config import load_settings
from installer_app.demo import DemoEnvironment
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.provider.emulator import ProviderEmulator
from tests.gui.conftest import SLOW_MS
from tests.gui.helpers import LEFT, start_run
from ui.app import install_core_translator
from ui.dialogs.crash_dialog import CrashDialog, CrashHandler
from ui.wizard.base import PageId

# The offscreen platform plugin says this whenever a dialog is shown; it is about the plugin.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def test_settings_are_saved_and_secrets_never_reach_the_file(
    qtbot: Any, make_window: Any, tmp_path: Path
) -> None:
    window = make_window()
    dialog = window.open_settings()
    qtbot.addWidget(dialog)
    dialog.provider.corpid.setText("wwsettings0001")
    dialog.provider.model_id.setText("WX-DOOR-100")
    dialog.provider.secret.setText("a-brand-new-provider-secret")
    dialog.provisioning.qr_kind.setCurrentIndex(dialog.provisioning.qr_kind.findData("dynamic"))
    dialog.provisioning.language.setCurrentIndex(dialog.provisioning.language.findData("zh_CN"))
    with qtbot.waitSignal(dialog.settings_saved, timeout=SLOW_MS) as saved:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    settings = saved.args[0]
    # The test environment has no credential store: the dialog says so, and keeps the secret
    # for this session.
    qtbot.waitUntil(lambda: dialog.message.isVisible(), timeout=SLOW_MS)
    assert "credential store" in dialog.message.text()
    assert settings.provider_secret.reveal() == "a-brand-new-provider-secret"
    text = (tmp_path / "config.toml").read_text(encoding="utf-8")
    assert "a-brand-new-provider-secret" not in text
    on_disk = load_settings(tmp_path / "config.toml")
    assert on_disk.provider.corpid == "wwsettings0001"
    assert on_disk.binding.qr == "dynamic"
    assert on_disk.ui.language == "zh_CN"
    assert window.settings.provider.model_id == "WX-DOOR-100"
    assert window.start_page.model.text() == "WX-DOOR-100"
    qtbot.waitUntil(lambda: window.session is not None, timeout=SLOW_MS)  # reopened


def test_settings_offer_the_seed_secret_mode_with_static_qr_only(
    qtbot: Any, make_window: Any, tmp_path: Path
) -> None:
    window = make_window()
    dialog = window.open_settings()
    qtbot.addWidget(dialog)
    dialog.provisioning.qr_kind.setCurrentIndex(dialog.provisioning.qr_kind.findData("dynamic"))
    dialog.provider.secret_mode.setCurrentIndex(dialog.provider.secret_mode.findData("seed"))
    assert (
        dialog.provisioning.qr_kind.currentData() == "static"
        and not dialog.provisioning.qr_kind.isEnabled()
    )
    with qtbot.waitSignal(dialog.settings_saved, timeout=SLOW_MS):
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    on_disk = load_settings(tmp_path / "config.toml")
    assert (on_disk.provider.secret_mode, on_disk.binding.qr) == ("seed", "static")
    dialog.provider.secret_mode.setCurrentIndex(dialog.provider.secret_mode.findData("per_device"))
    assert dialog.provisioning.qr_kind.isEnabled()


def test_settings_refuse_a_plain_http_url_to_another_computer(
    qtbot: Any, make_window: Any, tmp_path: Path
) -> None:
    window = make_window()
    dialog = window.open_settings()
    qtbot.addWidget(dialog)
    saved: list[object] = []
    dialog.settings_saved.connect(saved.append)
    before = (
        (tmp_path / "config.toml").read_bytes() if (tmp_path / "config.toml").exists() else None
    )
    dialog.partner.url.setText("http://partner.example")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert dialog.message.isVisible() and "[partner] base_url" in dialog.message.text()
    assert "https://" in dialog.message.text()
    qtbot.mouseClick(dialog.test_button, LEFT)  # nothing is sent there either
    assert dialog.test_button.isEnabled()
    assert saved == [] and dialog.isVisible()
    after = (tmp_path / "config.toml").read_bytes() if (tmp_path / "config.toml").exists() else None
    assert after == before


def test_without_a_credential_store_a_key_file_chosen_in_settings_opens_the_records(
    qtbot: Any, make_window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A computer with no credential store (the default Linux executable): the Start page says
    where to choose a key file, and choosing one in Settings opens the records."""
    from installer_app.store import NoKeyStore

    monkeypatch.delenv("INSTALLER_KEY_FILE")
    window = make_window(wait=False)
    reports: list[object] = []
    window.session_ready.connect(reports.append)
    qtbot.waitUntil(lambda: bool(reports), timeout=SLOW_MS)
    assert isinstance(reports[0], NoKeyStore) and window.session is None
    assert "Settings → Records → Key file" in window.start_page.credentials_left.text()

    dialog = window.open_settings()
    qtbot.addWidget(dialog)
    chosen = tmp_path / "keys" / "chosen.key"
    dialog.records.key_file.setText(str(chosen))
    with qtbot.waitSignal(dialog.settings_saved, timeout=SLOW_MS):
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    qtbot.waitUntil(lambda: window.session is not None, timeout=SLOW_MS)
    assert window.session.store  # the records are open, sealed with the chosen key
    assert chosen.exists() and (os.name != "posix" or chosen.stat().st_mode & 0o077 == 0)
    assert load_settings(tmp_path / "config.toml").store.key_file == str(chosen)


def test_test_connection_runs_the_core_check(
    qtbot: Any, make_window: Any, emulator: ProviderEmulator
) -> None:
    window = make_window()
    dialog = window.open_settings()
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.check_finished, timeout=SLOW_MS) as checked:
        qtbot.mouseClick(dialog.test_button, LEFT)
    report = checked.args[0]
    assert report.ok
    assert "✔" in dialog.test_result.text()
    # And a wrong secret is reported, not raised.
    dialog.provider.secret.setText("not-the-secret")
    with qtbot.waitSignal(dialog.check_finished, timeout=SLOW_MS) as checked:
        qtbot.mouseClick(dialog.test_button, LEFT)
    assert not checked.args[0].ok
    assert "✘" in dialog.test_result.text()


def test_start_page_checks_the_account(qtbot: Any, make_window: Any) -> None:
    window = make_window()
    qtbot.waitUntil(lambda: window.start_page.check_button.isEnabled(), timeout=SLOW_MS)
    qtbot.waitUntil(lambda: window.start_page.check_light.state.value == "ok", timeout=SLOW_MS)
    assert window.start_page.credentials_left.text()


@pytest.fixture
def demo(tmp_path: Path) -> Any:
    env = DemoEnvironment(tmp_path / "demo-data", auto_scan_after_s=None, install_delay_s=0.2)
    env.start()
    yield env
    env.stop()


def test_demo_run_with_the_simulated_scan_then_history(
    qtbot: Any, demo: DemoEnvironment, tmp_path: Path
) -> None:
    from ui.app import create_main_window

    window = create_main_window(demo=demo)
    qtbot.addWidget(window)
    try:
        window.show()
        qtbot.waitUntil(lambda: window.session is not None, timeout=SLOW_MS)
        assert window.start_page.demo_banner.isVisible()
        start_run(qtbot, window, demo.ports[0])
        with qtbot.waitSignal(window.wizard.question, timeout=SLOW_MS):
            qtbot.mouseClick(window.device_page.continue_button, LEFT)
        window.network_page.ssid.setText("demo-wifi")
        qtbot.mouseClick(window.network_page.apply_button, LEFT)
        qtbot.waitUntil(lambda: window.bind_page.qr.url() != "", timeout=SLOW_MS)
        assert window.bind_page.demo_box.isVisible()
        with qtbot.waitSignal(window.run_finished, timeout=SLOW_MS) as finished:
            qtbot.mouseClick(window.bind_page.scan_button, LEFT)
        result = finished.args[0]
        assert result.ok and result.corpid  # the enterprise that scanned
        assert window.current_page() is PageId.DONE

        dialog = window.open_history()
        assert dialog is not None
        qtbot.addWidget(dialog)
        qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=SLOW_MS)
        assert dialog.table.item(0, 0).text() == result.device_sn
        with qtbot.waitSignal(dialog.loaded, timeout=SLOW_MS) as loaded:
            dialog.search.setText("no-such-board")
        assert loaded.args[0] == 0
        with qtbot.waitSignal(dialog.loaded, timeout=SLOW_MS) as loaded:
            dialog.search.setText(result.device_sn[-6:])
        assert loaded.args[0] == 1
        out = tmp_path / "history.csv"
        with qtbot.waitSignal(dialog.exported, timeout=SLOW_MS):
            dialog.export_csv(out)
        rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
        assert [r["device_sn"] for r in rows] == [result.device_sn]
    finally:
        window.shutdown()


def test_crash_handler_logs_and_shows_a_redacted_dialog(
    qtbot: Any, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    from installer_app.secrets import Secret

    secret = Secret("crash-secret-value-123")
    handler = CrashHandler(tmp_path / "installer-app.log")
    handler.modal = False
    try:
        raise RuntimeError(f"boom with {secret.reveal()}")
    except RuntimeError as exc:
        with qtbot.waitSignal(handler.shown, timeout=SLOW_MS) as shown:
            handler.handle(type(exc), exc, exc.__traceback__)
    dialog = shown.args[0]
    assert isinstance(dialog, CrashDialog)
    qtbot.addWidget(dialog)
    assert "RuntimeError" in dialog.details.toPlainText()
    assert "crash-secret-value-123" not in dialog.details.toPlainText()
    assert any(r.levelno == logging.CRITICAL for r in caplog.records)


def test_core_messages_render_through_qt_translate(qtbot: Any) -> None:
    seen: list[tuple[str, str]] = []
    original = QCoreApplication.translate
    try:
        install_core_translator("zh_CN")
        assert i18n.current_language() == "zh_CN"
        message = Message(QT_TRANSLATE_NOOP("workflow", "SN {sn} is done."), sn="X1")
        assert message.render() == "SN X1 is done."  # no .qm entry: the English source
        i18n.set_translator(lambda c, t: seen.append((c, t)) or original(c, t), "zh_CN")
        message.render()
        assert seen == [("workflow", "SN {sn} is done.")]
    finally:
        i18n.set_translator(lambda c, t: t, "en")


def test_run_opens_the_demo_wizard_and_quits_cleanly(qtbot: Any, demo: DemoEnvironment) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ui import app as app_module
    from ui.main_window import MainWindow

    seen: list[MainWindow] = []
    gave_up: list[str] = []
    deadline = time.monotonic() + SLOW_MS / 1000

    def close_when_ready() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        ready = [w for w in windows if w.isVisible() and w.session is not None]
        if ready:
            seen.extend(ready)
            ready[0].close()
        elif time.monotonic() > deadline:  # fail with what was on screen, never hang in exec()
            gave_up.extend(
                f"visible={w.isVisible()} session={w.session!r} "
                f"status={w.statusBar().currentMessage()!r}"
                for w in windows
            )
            for window in windows:
                window.close()
        else:
            QTimer.singleShot(50, close_when_ready)

    QTimer.singleShot(50, close_when_ready)
    assert app_module.run([], demo=demo) == 0
    assert not gave_up, gave_up
    assert seen and seen[0].workers.running() == []
    assert i18n.current_language() in ("en", "zh_CN")
    i18n.set_translator(lambda c, t: t, "en")
    QApplication.instance().setStyleSheet("")  # leave the shared test application as it was
