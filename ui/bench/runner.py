"""The bench's runs: several boards at once, in the board host (a second process of the app,
``installer_app.workflow.host_client``) that runs them through the core's ``BoardRuns`` (the CLI's
machinery) and answers for them as ``BenchAnswers`` says; their news is relayed to the GUI thread.

The boards run outside the window's process so that the GUI thread shares the interpreter lock
with nothing but its own pool: with eight boards' threads in the same process, every call from
Qt into Python (a slot, an event filter, a virtual's override) could wait for the lock a board
held, and frames stalled (issue #15). The site's Wi-Fi is asked once (``SiteWifi``) and kept in
memory for the session only, here and in the host: never written anywhere.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from installer_app.config import Settings
from installer_app.workflow.bench_answers import SiteWifi
from installer_app.workflow.events import ProvisionResult, WifiCredentials, WorkflowEvent
from installer_app.workflow.host_client import BoardHost
from ui.workers import Workers

# The first news after a quiet spell reaches the cards one frame (60 Hz) later, gathered; then
# one board's run of news at a time, NEXT_BOARD_MS apart (see _deliver), not one slot call per
# event.
FRAME_MS = 16
NEXT_BOARD_MS = 4
HOST_CLOSE_TIMEOUT_S = 15.0
KEPT_CODES = 64


@dataclass(frozen=True)
class _Finished:
    """A board's run ended (queued with its events, so the card sees them in order)."""

    result: ProvisionResult
    left_alone: bool


def _same_board(news: WorkflowEvent | _Finished, event: WorkflowEvent) -> bool:
    return isinstance(news, WorkflowEvent) and news.port == event.port


class BenchRunner(QObject):
    """Every signal fires on the GUI thread."""

    board_events = Signal(object)  # list[WorkflowEvent], in order (each ``port`` names its board)
    finished = Signal(object, bool)  # ProvisionResult, left alone (a skipped done/foreign board)
    wifi_needed = Signal()
    _event_from_worker = Signal()  # news is waiting in ``_news``
    _wifi_from_worker = Signal()

    def __init__(self, workers: Workers, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._workers = workers
        self.wifi = SiteWifi()
        self._session: tuple[Settings, Path] | None = None
        self._host: BoardHost | None = None
        self._old_hosts: list[BoardHost] = []  # replaced ones, closed on the pool, joined at close
        self._closed = False
        # The boards' events and results wait in one list, in order; the first one wakes the
        # GUI thread, which hands them to the cards from the next frame on (``_deliver``).
        self._news: list[WorkflowEvent | _Finished] = []
        self._news_lock = threading.Lock()
        # Binding codes the host drew, by link, each until its event asks for it (``code``).
        self._codes: dict[str, list[list[bool]]] = {}
        self._frame = QTimer(self)
        self._frame.setSingleShot(True)
        self._frame.setInterval(FRAME_MS)
        self._frame.timeout.connect(self._deliver)
        self._event_from_worker.connect(self._wake, Qt.ConnectionType.QueuedConnection)
        self._wifi_from_worker.connect(self._ask_wifi, Qt.ConnectionType.QueuedConnection)
        self._wifi_asked = False

    def set_session(self, settings: Settings | None, data_dir: Path | None = None) -> None:
        """The wizard's session (its full settings, secrets included): the bench's boards run in
        a board host opened on it (``prepare``). A replaced host is closed (the window waits for
        the bench to be idle before it changes the settings)."""
        self._retire_host()
        self._session = (settings, data_dir) if settings is not None and data_dir else None

    def prepare(self) -> None:
        """Start the board host now (the bench view opens), so that it is ready when a board
        arrives: starting it takes the host ~0.5 s, and at the session's opening it would
        compete with a single-board run that has only the window's pages to use."""
        if self.ready and self._host is None:
            self._host = self._new_host()

    def _new_host(self) -> BoardHost:
        assert self._session is not None
        settings, data_dir = self._session
        host = BoardHost(
            settings,
            data_dir,
            on_event=self._post,
            on_result=lambda result, left_alone: self._post(_Finished(result, left_alone)),
            on_wifi_needed=self._wifi_from_worker.emit,
            on_code=self._keep_code,
        )
        if self.wifi.given:
            host.provide_wifi(self.wifi.credentials)
        self._workers.submit(lambda _cancel: host.launch(), name="board_host")
        return host

    def _retire_host(self) -> None:
        host, self._host = self._host, None
        if host is not None:
            self._old_hosts.append(host)
            self._workers.submit(lambda _cancel: host.close(), name="board_host_close")

    def _hosts(self) -> list[BoardHost]:
        return [*self._old_hosts, *([self._host] if self._host is not None else [])]

    @property
    def ready(self) -> bool:
        return self._session is not None and not self._closed

    def start(self, port: str, *, forced: bool = False) -> bool:
        if not self.ready or self.is_running(port):
            return False
        if self._host is not None and self._host.lost is not None:
            # The last host ended on its own (its boards were told): the next board starts a
            # new one, and the store has kept where every board had got to.
            self._retire_host()
        self.prepare()
        assert self._host is not None
        return self._host.start(port, forced=forced)

    def running(self) -> list[str]:
        return sorted({port for host in self._hosts() for port in host.running()})

    def is_running(self, port: str) -> bool:
        return any(host.is_running(port) for host in self._hosts())

    def cancel(self, port: str) -> None:
        for host in self._hosts():
            if host.is_running(port):
                host.cancel(port)

    def provide_wifi(self, wifi: WifiCredentials | None) -> None:
        self.wifi.provide(wifi)
        for host in self._hosts():
            host.provide_wifi(wifi)

    def _post(self, news: WorkflowEvent | _Finished) -> None:
        """On a host's reader thread: queue ``news``; the first of a frame wakes the GUI
        thread."""
        with self._news_lock:
            wake = not self._news
            self._news.append(news)
        if wake:
            self._event_from_worker.emit()

    def _keep_code(self, url: str, modules: list[list[bool]]) -> None:
        """On a host's reader thread: a code drawn, just before the event that shows it."""
        with self._news_lock:
            self._codes[url] = modules
            while len(self._codes) > KEPT_CODES:  # codes whose board went before its event
                del self._codes[next(iter(self._codes))]

    def code(self, url: str) -> list[list[bool]] | None:
        """The QR modules the host drew for ``url`` (once: the queue keeps them)."""
        with self._news_lock:
            return self._codes.pop(url, None)

    @Slot()
    def _wake(self) -> None:
        if not self._frame.isActive():
            self._frame.start(FRAME_MS)

    @Slot()
    def _deliver(self) -> None:
        """What one board said since the last frame (its events in order, or its result), then
        the next board's ``NEXT_BOARD_MS`` later: eight boards bound at once cost the cards and
        the queue ~10 ms of the GUI thread (their texts laid out, repainted), which in one turn
        froze a frame. One board at a time, with the event loop's timers, layout and paint in
        between, each turn stays short; measured, 4 ms apart beat the next turn (0 ms), which
        left the heartbeat no room between the turns (benchmarks/README.md, session 5)."""
        with self._news_lock:
            if not self._news:
                return
            first = self._news[0]
            taken = 1  # a result alone, or the run of events of the first one's board
            if not isinstance(first, _Finished):
                while taken < len(self._news) and _same_board(self._news[taken], first):
                    taken += 1
            news, self._news[:taken] = self._news[:taken], []
            more = bool(self._news)
        if more:
            self._frame.start(NEXT_BOARD_MS)
        if isinstance(first, _Finished):
            self.finished.emit(first.result, first.left_alone)
        else:
            self.board_events.emit(news)

    @Slot()
    def _ask_wifi(self) -> None:
        if not self.wifi.given and not self._wifi_asked:
            self._wifi_asked = True
            self.wifi_needed.emit()

    def shutdown(self, timeout_s: float = HOST_CLOSE_TIMEOUT_S) -> bool:
        """Close every host: each cancels its boards, joins them and closes its session."""
        self._closed = True
        self.wifi.release()
        return all([host.close(timeout_s) for host in self._hosts()])
