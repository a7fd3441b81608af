"""Text from outside is plain text in the wizard: a hostile simulated board whose MODEL_ID and
FW_VERSION hold HTML shows those characters, not styled text or links."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFormLayout, QLabel, QMessageBox, QWidget

from tests.gui.conftest import SLOW_MS, emulator_settings
from tests.gui.helpers import LEFT, start_run
from ui.main_window import MainWindow
from ui.widgets.plain import plain_message, plain_tooltip
from ui.wizard.base import PageId

# Dialogs shown on the offscreen platform (as in test_dialogs.py).
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

HOSTILE_MODEL = "<font color=red>X</font>"
HOSTILE_FW = "<b>1.0</b><a href=x>link</a>"  # FW_VERSION holds at most 32 characters


def shows_literally(label: QLabel) -> bool:
    """The label is plain, and draws differently from the same text taken as rich text (so
    the check would see styled text or a link)."""
    assert label.textFormat() == Qt.TextFormat.PlainText
    shown = label.grab().toImage()
    label.setTextFormat(Qt.TextFormat.RichText)
    as_rich = label.grab().toImage()
    label.setTextFormat(Qt.TextFormat.PlainText)
    return bool(label.grab().toImage() == shown) and shown != as_rich


def every_label_is_plain(widget: QWidget) -> list[str]:
    """Labels that could interpret markup; a QFormLayout's own row captions (our translated
    words, each the buddy of its field) are left out."""
    captions = set()
    for form in widget.findChildren(QFormLayout):
        for row in range(form.rowCount()):
            item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            if item is not None and item.widget() is not None:
                captions.add(shiboken6.getCppPointer(item.widget())[0])
    return [
        label.objectName() or label.text()[:40]
        for label in widget.findChildren(QLabel)
        if label.textFormat() != Qt.TextFormat.PlainText
        and shiboken6.getCppPointer(label)[0] not in captions
    ]


def test_a_hostile_board_shows_its_html_as_text(
    qtbot: Any, make_window: Any, make_sim: Any
) -> None:
    sim = make_sim("pty", model_id=HOSTILE_MODEL, fw_version=HOSTILE_FW)
    window: MainWindow = make_window()
    window.show()
    with qtbot.waitSignal(window.run_finished, timeout=SLOW_MS) as finished:
        start_run_without_question(qtbot, window, sim.url)
    result = finished.args[0]
    assert not result.ok  # the model does not match the settings' model
    page = window.device_page
    window.show_page(PageId.DEVICE)
    assert page.model.text() == HOSTILE_MODEL
    assert page.firmware.text() == HOSTILE_FW
    for label in (page.model, page.firmware):
        assert shows_literally(label)
    # The failure names the board's model: the banner shows the tags as characters too.
    assert HOSTILE_MODEL in window.banner_text.text()
    assert window.banner_text.textFormat() == Qt.TextFormat.PlainText
    assert every_label_is_plain(window) == []


def start_run_without_question(qtbot: Any, window: MainWindow, device: str) -> None:
    """Connect → select → Provision, for a board that fails before any question."""
    qtbot.mouseClick(window.start_page.begin_button, LEFT)
    ports = window.connect_page.ports
    qtbot.waitUntil(lambda: ports.select_device(device), timeout=SLOW_MS)
    qtbot.mouseClick(window.connect_page.provision_button, LEFT)


def test_the_factory_reset_question_names_a_hostile_board_literally(
    qtbot: Any, make_window: Any, make_sim: Any, emulator: Any, tmp_path: Any
) -> None:
    settings = emulator_settings(emulator, tmp_path)
    settings = replace(settings, provider=replace(settings.provider, model_id=HOSTILE_MODEL))
    sim = make_sim("pty", model_id=HOSTILE_MODEL, fw_version=HOSTILE_FW)
    window: MainWindow = make_window(settings)
    window.show()
    question = start_run(qtbot, window, sim.url)
    assert question.board.model_id == HOSTILE_MODEL
    seen: list[tuple[Qt.TextFormat, str]] = []

    def look_and_cancel() -> None:
        box = next(w for w in window.findChildren(QMessageBox) if w.isVisible())
        seen.append((box.textFormat(), box.text()))
        box.button(QMessageBox.StandardButton.Cancel).click()

    qtbot.waitUntil(lambda: window.device_page.reset_button.isVisible(), timeout=SLOW_MS)
    QTimer.singleShot(200, look_and_cancel)
    window.device_page.reset_button.click()
    assert seen and seen[0][0] == Qt.TextFormat.PlainText
    assert HOSTILE_MODEL in seen[0][1]
    assert not question.answered  # cancelled: the board question still waits
    qtbot.waitUntil(lambda: not window.findChildren(QMessageBox), timeout=SLOW_MS)  # not kept
    assert every_label_is_plain(window.device_page) == []


def test_dialogs_and_tooltips_are_plain(qtbot: Any, make_window: Any) -> None:
    window: MainWindow = make_window()
    settings = window.open_settings()
    qtbot.addWidget(settings)
    assert every_label_is_plain(settings) == []
    history = window.open_history()
    assert history is not None
    qtbot.addWidget(history)
    assert every_label_is_plain(history) == []
    box = plain_message(None, QMessageBox.Icon.Warning, "t", HOSTILE_MODEL)
    assert box.textFormat() == Qt.TextFormat.PlainText
    # A tool tip is rich text when it looks like it; escaped, it shows the characters.
    tip = plain_tooltip(HOSTILE_FW)
    assert "<b>" not in tip and "&lt;b&gt;" in tip
