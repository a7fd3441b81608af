"""What the bench view's tests share: counting a person's clicks and keystrokes, plugging boards,
and playing the enterprise admin who scans the binding queue's codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from installer_app.provider.emulator import ProviderEmulator
from installer_app.simulator.flash import STATE_FILE_FORMAT
from tests.gui.conftest import SLOW_MS
from tests.gui.helpers import LEFT
from ui.questions import AskBoard, AskWifi

SSID = "site-wifi"
PSK = "correct horse battery"


class InputCounter(QObject):
    """Every mouse press and key press the application receives (what a person would do)."""

    def __init__(self) -> None:
        super().__init__()
        self.clicks = 0
        self.keys = 0
        self._last: tuple[int, QWidget] | None = None
        app = QApplication.instance()
        assert app is not None
        app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        kind = event.type()
        if kind not in (QEvent.Type.MouseButtonPress, QEvent.Type.KeyPress):
            return False
        if not isinstance(watched, QWidget):
            return False  # a QWindow hands it on to its widget: counted there
        # An event the widget ignored travels up to its parents: the same press, once.
        last = self._last
        if (
            last is not None
            and last[0] == id(event)
            and watched is not last[1]  # (Qt counts a widget among its own ancestors)
            and watched.isAncestorOf(last[1])
        ):
            self._last = (id(event), watched)
            return False
        self._last = (id(event), watched)
        if kind == QEvent.Type.MouseButtonPress:
            self.clicks += 1
        else:
            self.keys += 1
        return False

    def remove(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)


def foreign_state(path: Path, sn: str, hw_id: str) -> Path:
    """A board's flash holding a credential another computer locked in."""
    path.write_text(
        json.dumps(
            {
                "format": STATE_FILE_FORMAT,
                "hw_id": hw_id,
                "credential": {"sn": sn, "secret_no": "f" * 32},
                "wifi": None,
                "bound_corp": None,
            }
        )
    )
    return path


def scan_queue(qtbot: Any, window: Any, emulator: ProviderEmulator, expected: int) -> list[str]:
    """The admin scans the queue's codes one after another, never touching the laptop: each
    code comes up by itself once WeCom confirmed the previous board. Returns the positions
    shown ("1 of 5", ...)."""
    queue = window.bench_page.queue
    shown: list[str] = []
    for _ in range(expected):
        qtbot.waitUntil(lambda: queue.current() is not None, timeout=SLOW_MS)
        entry = queue.current()
        shown.append(queue.position.text())
        emulator.scan(entry.url)
        qtbot.waitUntil(
            lambda entry=entry: entry.bound and queue.current() is not entry, timeout=SLOW_MS
        )
    return shown


def single_board(
    qtbot: Any, window: Any, make_sim: Any, emulator: ProviderEmulator, *, unplug: bool = True
) -> Any:
    """One board through the single-board pages as an installer does it today: plug, Provision,
    Continue, the Wi-Fi password, Apply, the admin's scan, Next device."""
    sim = make_sim("pty")
    ports = window.connect_page.ports
    qtbot.waitUntil(
        lambda: ports.selected_port() is not None and ports.selected_port().device == sim.url,
        timeout=SLOW_MS,
    )
    with qtbot.waitSignal(window.wizard.question, timeout=SLOW_MS) as asked:
        qtbot.mouseClick(window.connect_page.provision_button, LEFT)
    assert isinstance(asked.args[0], AskBoard)
    with qtbot.waitSignal(window.wizard.question, timeout=SLOW_MS) as asked:
        qtbot.mouseClick(window.device_page.continue_button, LEFT)
    assert isinstance(asked.args[0], AskWifi)
    page = window.network_page
    if not page.ssid.text():
        QTest.keyClicks(page.ssid, SSID)
    QTest.keyClicks(page.password, PSK)
    qtbot.mouseClick(page.apply_button, LEFT)
    qtbot.waitUntil(lambda: window.bind_page.qr.url() != "", timeout=SLOW_MS)
    with qtbot.waitSignal(window.run_finished, timeout=SLOW_MS) as finished:
        emulator.scan(window.bind_page.qr.url())
    assert finished.args[0].ok
    qtbot.mouseClick(window.done_page.next_button, LEFT)
    if unplug:
        sim.unplug()  # the installer takes the finished board away
    return sim
