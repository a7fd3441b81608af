"""The bench's runs: several boards at once through the core's ``BoardRuns`` (the CLI's
machinery), their answers given without a person, their news relayed to the GUI thread.

A board answers for itself (``BenchAnswers``): ours and not done (blank, in progress, waiting for
the admin) goes on; done here, provisioned elsewhere, another model or old firmware is left alone
after HELLO, unless the installer asked for it (Check again, Start, Retry). The site's Wi-Fi is
asked once (``SiteWifi``) and kept in memory for the session only: never written anywhere.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from installer_app.workflow.board_status import classify, starts_by_itself
from installer_app.workflow.events import (
    BoardInfo,
    ProvisionResult,
    ResumeQuestion,
    WifiCredentials,
    WorkflowEvent,
)
from installer_app.workflow.machine import Provisioner
from installer_app.workflow.parallel import BoardRuns
from ui.workers import Workers

_SLICE_S = 0.1
# The boards' news reaches the cards at most once per frame (60 Hz): eight boards' events, a
# few hundred in a bench run, cost the GUI thread a handful of calls into Python per frame
# instead of one per event, each of which may wait for the interpreter lock a board holds.
FRAME_MS = 16


class SiteWifi:
    """The site's network, asked once for every board of the session (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._given = threading.Event()
        self._wifi: WifiCredentials | None = None
        self._released = False

    @property
    def given(self) -> bool:
        return self._given.is_set()

    @property
    def ssid(self) -> str | None:
        return self._wifi.ssid if self._wifi is not None else None

    def provide(self, wifi: WifiCredentials | None) -> None:
        """None: leave the boards' network as it is."""
        with self._lock:
            self._wifi = wifi
        self._given.set()

    def forget(self) -> None:
        with self._lock:
            self._wifi = None
        self._given.clear()

    def release(self) -> None:
        """Closing: every wait returns None (leave the network), now and later."""
        self._released = True
        self._given.set()

    def wait(self, cancel: threading.Event) -> WifiCredentials | None:
        while not self._given.wait(_SLICE_S):
            if cancel.is_set():
                return None
        with self._lock:
            return None if self._released else self._wifi


class BenchAnswers:
    """The core's ``Answers`` for one bench board (called on the board's thread)."""

    def __init__(
        self,
        provisioner: Provisioner,
        wifi: SiteWifi,
        cancel: threading.Event,
        on_wifi_needed: Callable[[], None],
        *,
        forced: bool,
    ) -> None:
        self._provisioner = provisioner
        self._wifi = wifi
        self._cancel = cancel
        self._on_wifi_needed = on_wifi_needed
        self.forced = forced
        self.left_alone = False

    def proceed_with_board(self, board: BoardInfo) -> Literal["continue", "skip", "factory_reset"]:
        status = classify(
            model_id=board.model_id,
            fw_version=board.fw_version,
            state=board.state,
            known_stage=board.known_stage,
            want_model=self._provisioner.model_id,
            min_fw_version=self._provisioner.rules.min_fw_version,
        )
        if self.forced or starts_by_itself(status):
            return "continue"
        self.left_alone = True
        return "skip"

    def resume_or_skip(self, question: ResumeQuestion) -> Literal["resume", "skip"]:
        return "resume"  # reached only for a board that goes on (see proceed_with_board)

    def wifi_credentials(self, current_ssid: str | None) -> WifiCredentials | None:
        if not self._wifi.given:
            self._on_wifi_needed()
        return self._wifi.wait(self._cancel)


@dataclass(frozen=True)
class _Finished:
    """A board's run ended (queued with its events, so the card sees them in order)."""

    result: ProvisionResult
    left_alone: bool


class BenchRunner(QObject):
    """Every signal fires on the GUI thread."""

    board_events = Signal(object)  # list[WorkflowEvent], in order (each ``port`` names its board)
    finished = Signal(object, bool)  # ProvisionResult, left alone (a skipped done/foreign board)
    wifi_needed = Signal()
    _event_from_worker = Signal(object)  # None: events are waiting in ``_events``
    _result_from_worker = Signal(object, bool)
    _wifi_from_worker = Signal()

    def __init__(self, workers: Workers, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._workers = workers
        self.wifi = SiteWifi()
        self._runs: BoardRuns | None = None
        self._every_runs: list[BoardRuns] = []  # a replaced session's boards are joined too
        self._cancels: dict[str, threading.Event] = {}
        self._closed = False
        # The boards' events and results wait in one list, in order; the first one wakes the
        # GUI thread, which delivers the whole list when the frame is due (``FRAME_MS``).
        self._news: list[WorkflowEvent | _Finished] = []
        self._news_lock = threading.Lock()
        self._frame = QTimer(self)
        self._frame.setSingleShot(True)
        self._frame.setInterval(FRAME_MS)
        self._frame.timeout.connect(self._deliver)
        self._event_from_worker.connect(self._wake, Qt.ConnectionType.QueuedConnection)
        self._result_from_worker.connect(self._on_result, Qt.ConnectionType.QueuedConnection)
        self._wifi_from_worker.connect(self._ask_wifi, Qt.ConnectionType.QueuedConnection)
        self._wifi_asked = False

    def set_provisioner(self, provisioner: Provisioner | None) -> None:
        """A new session: boards still running on the old one finish on it."""
        self._runs = BoardRuns(provisioner) if provisioner is not None else None
        if self._runs is not None:
            self._every_runs.append(self._runs)

    @property
    def ready(self) -> bool:
        return self._runs is not None and not self._closed

    def start(self, port: str, *, forced: bool = False) -> bool:
        runs = self._runs
        if runs is None or self._closed or runs.is_running(port):
            return False
        cancel = threading.Event()
        answers = BenchAnswers(
            runs.provisioner, self.wifi, cancel, self._wifi_from_worker.emit, forced=forced
        )
        self._cancels[port] = cancel

        def done(result: ProvisionResult) -> None:
            self._post(_Finished(result, answers.left_alone))

        def start_now(_cancel: threading.Event) -> None:
            # Thread.start waits for the new thread to run: a few ms each under load, so the
            # board's thread is started from the pool, not from the GUI thread.
            if not runs.start(port, answers, self._post_event, done, cancel=cancel):
                self._result_from_worker.emit(None, False)

        self._workers.submit(start_now, name="bench_start")
        return True

    def running(self) -> list[str]:
        return self._runs.running() if self._runs is not None else []

    def is_running(self, port: str) -> bool:
        return port in self._cancels

    def cancel(self, port: str) -> None:
        cancel = self._cancels.get(port)
        if cancel is not None:
            cancel.set()

    def provide_wifi(self, wifi: WifiCredentials | None) -> None:
        self.wifi.provide(wifi)

    def _post_event(self, event: WorkflowEvent) -> None:
        """On a board's thread."""
        self._post(event)

    def _post(self, news: WorkflowEvent | _Finished) -> None:
        """On a board's thread: queue ``news``; the first of a frame wakes the GUI thread."""
        with self._news_lock:
            wake = not self._news
            self._news.append(news)
        if wake:
            self._event_from_worker.emit(None)

    @Slot(object)
    def _wake(self, _news: object) -> None:
        if not self._frame.isActive():
            self._frame.start()

    @Slot()
    def _deliver(self) -> None:
        """Everything the boards said since the last frame: events in one list, results after
        the events that preceded them."""
        with self._news_lock:
            news, self._news = self._news, []
        events: list[WorkflowEvent] = []
        for item in news:
            if isinstance(item, _Finished):
                if events:
                    self.board_events.emit(events)
                    events = []
                self._on_result(item.result, item.left_alone)
            else:
                events.append(item)
        if events:
            self.board_events.emit(events)

    @Slot()
    def _ask_wifi(self) -> None:
        if not self.wifi.given and not self._wifi_asked:
            self._wifi_asked = True
            self.wifi_needed.emit()

    @Slot(object, bool)
    def _on_result(self, result: ProvisionResult | None, left_alone: bool) -> None:
        if result is None:
            return  # a start that lost a race with a run still ending on that port
        if result.port is not None:
            self._cancels.pop(result.port, None)
        self.finished.emit(result, left_alone)

    def shutdown(self, timeout_s: float = 15.0) -> bool:
        """Cancel every board, release the Wi-Fi wait, join the board threads."""
        self._closed = True
        for cancel in list(self._cancels.values()):
            cancel.set()
        self.wifi.release()
        return all([runs.join(timeout_s) for runs in self._every_runs])
