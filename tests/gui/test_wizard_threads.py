"""Threads and ports: hot-plug, cancel on close, nothing left running, the screen size."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, QThreadPool

from installer_app.device.client import DeviceClient
from installer_app.workflow.events import Outcome, Step
from tests.gui.conftest import SLOW_MS
from tests.gui.helpers import LEFT, start_run
from ui.main_window import MainWindow
from ui.questions import AskBoard
from ui.wizard.base import PageId


def python_threads() -> set[str]:
    return {t.name for t in threading.enumerate()}


def test_hot_plugged_board_appears_within_a_second(
    qtbot: Any, make_window: Any, make_sim: Any
) -> None:
    window = make_window()
    window.show()
    qtbot.mouseClick(window.start_page.begin_button, LEFT)
    ports = window.connect_page.ports
    qtbot.waitUntil(lambda: ports.scans >= 1, timeout=SLOW_MS)  # the list is live
    assert ports.board_count() == 0  # (a built-in ttyS0 may be listed, but is no board)
    assert "dialout" in window.connect_page.hints.text()

    plugged = time.monotonic()
    sim = make_sim("pty")
    # The thing under test: the 0.5 s poll shows the board within a second, no refresh button.
    qtbot.waitUntil(lambda: sim.url in [p.device for p in ports.ports()], timeout=1000)
    assert time.monotonic() - plugged <= 1.0 + 0.25  # waitUntil's own polling granularity
    assert ports.selected_port().device == sim.url  # the board is preselected
    assert window.connect_page.provision_button.isEnabled()

    sim.stop()
    qtbot.waitUntil(lambda: ports.board_count() == 0, timeout=SLOW_MS)
    assert ports.selected_port() is None or ports.selected_port().device != sim.url


def test_closing_mid_write_cancels_and_releases_the_port(
    qtbot: Any, make_window: Any, make_sim: Any
) -> None:
    before = python_threads()
    # A slow board, so the close lands while the credential steps are running.
    sim = make_sim("pty", latency_s=0.25, commit_latency_s=0.8)
    window: MainWindow = make_window()
    window.show()
    start_run(qtbot, window, sim.url)
    results: list[Any] = []
    window.wizard.result.connect(results.append)
    with qtbot.waitSignal(
        window.wizard.workflow_event,
        timeout=SLOW_MS,
        check_params_cb=lambda e: e.step is Step.WRITE and e.outcome is Outcome.STARTED,
    ):
        qtbot.mouseClick(window.device_page.continue_button, LEFT)
    assert window.wizard.busy

    window.close()  # closeEvent: cancel, join every worker, close the store

    assert window.workers.running() == []
    assert not window.wizard.busy or window.wizard.answers is not None
    assert QThreadPool.globalInstance().activeThreadCount() == 0
    assert window.workers.pool.activeThreadCount() == 0  # the window's own pool, joined
    leftover = {n for n in python_threads() - before if not n.startswith("Dummy")}
    # The workflow's own helper threads (cancel watcher, device reader) ended with it.
    assert not any(n.startswith(("cancel-", "worker:")) for n in leftover), leftover
    # The port is free again: another client opens it and the board answers.
    with DeviceClient.open(sim.url) as client:
        assert client.hello().model_id == "WX-ATT-200"


def test_closing_while_a_question_waits_releases_the_workflow(
    qtbot: Any, make_window: Any, make_sim: Any
) -> None:
    sim = make_sim("pty")
    window: MainWindow = make_window()
    window.show()
    question = start_run(qtbot, window, sim.url)
    assert isinstance(question, AskBoard) and not question.answered
    assert window.shutdown()
    assert question.answered  # released with the safe default
    assert window.workers.running() == []
    with DeviceClient.open(sim.url) as client:
        assert client.hello().state.name == "BLANK"  # nothing was written


def test_stop_button_cancels_and_returns_to_the_port_list(
    qtbot: Any, make_window: Any, make_sim: Any
) -> None:
    sim = make_sim("pty")
    window: MainWindow = make_window()
    window.show()
    start_run(qtbot, window, sim.url)
    assert window.stop_button.isVisible()
    with qtbot.waitSignal(window.run_finished, timeout=SLOW_MS) as finished:
        qtbot.mouseClick(window.stop_button, LEFT)
    assert finished.args[0].exit_code == 130
    assert window.current_page() is PageId.CONNECT
    assert not window.stop_button.isVisible()


def test_window_fits_a_1366x768_laptop(qtbot: Any, make_window: Any) -> None:
    window: MainWindow = make_window(wait=False)
    screen_room = QSize(1366, 768 - 80)  # task bar and title bar
    for hint in (window.sizeHint(), window.minimumSizeHint(), window.minimumSize()):
        assert hint.width() <= screen_room.width(), hint
        assert hint.height() <= screen_room.height(), hint
    for page in window.pages.values():
        needed = page.minimumSizeHint()
        assert needed.width() <= screen_room.width(), (page.page_id, needed)
        assert needed.height() <= screen_room.height() - 60, (page.page_id, needed)


def test_session_opens_once_the_window_has_painted(qtbot: Any, make_window: Any) -> None:
    """Start-up: the session (store, keyring, provider clients) waits for the first frame."""
    window: MainWindow = make_window(wait=False)
    assert window.session is None and not window._session_started
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.session is not None, timeout=SLOW_MS)


def test_session_opened_for_replaced_settings_is_closed_not_used(
    qtbot: Any, make_window: Any
) -> None:
    from dataclasses import replace

    window: MainWindow = make_window(wait=False)
    first = window.settings
    window.open_session()
    newer = replace(first, installer=replace(first.installer, name="second installer"))
    opened: list[Any] = []
    window.session_ready.connect(opened.append)
    window.apply_settings(newer)  # while the first session is still opening
    qtbot.waitUntil(lambda: bool(opened), timeout=SLOW_MS)
    assert window.session is not None, opened
    qtbot.wait(200)  # let the first session's result arrive too, if it were to be used
    assert len(opened) == 1 and opened[0] is window.session
    assert window.session.settings.installer.name == "second installer"
    assert window.settings.installer.name == "second installer"


_MANY_QUICK_TASKS = """
import sys
from PySide6.QtWidgets import QApplication
from ui.workers import Workers

app = QApplication([])
workers = Workers()
done = [0]


def chain(_value=None):
    done[0] += 1
    if done[0] >= 3000:
        app.quit()
    else:
        workers.submit(lambda cancel: None, on_success=chain)


for _ in range(6):
    workers.submit(lambda cancel: None, on_success=chain)
app.exec()
print("done", done[0], workers.shutdown())
"""


def test_thousands_of_quick_tasks_never_deadlock_the_gui_thread(tmp_path: Path) -> None:
    """Submitting while earlier workers end: a runner deleted on its own thread took the GIL
    under Qt's signal-slot lock while the GUI thread, holding the GIL, waited for that lock.
    Run in a child process: a deadlock holds the GIL, so no in-process timeout could end it."""
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(root))
    done = subprocess.run(
        [sys.executable, "-c", _MANY_QUICK_TASKS],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "done" and done.stdout.split()[-1] == "True"
