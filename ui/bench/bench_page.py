"""The bench view: every connected board at once, each on its own card, running in parallel.

A board plugged in appears as a card; with ``[ui] auto_start`` (on by default) a blank board of
the profile's model starts by itself, and every board is identified and shown with its state chip
(done here, provisioned elsewhere, wrong model…; those are left alone). The site's Wi-Fi is asked
once, the binding codes go to the binding queue beside the cards. The window comes here by itself
when more than one board is plugged in; the single-board pages stay for one board at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from installer_app.workflow.events import Outcome, ProvisionResult, Step, WorkflowEvent
from ui.bench.binding_queue import BindingQueue
from ui.bench.board_card import BoardCard
from ui.bench.runner import BenchRunner
from ui.bench.wifi_bar import WifiBar
from ui.widgets.port_list import is_board
from ui.wizard.base import PageId, WizardPage, wrapped_label
from ui.workers import Workers

log = logging.getLogger(__name__)

POLL_MS = 500
COLUMNS = 2


class BenchPage(WizardPage):
    page_id = PageId.BENCH
    back_requested = Signal()
    single_requested = Signal()
    board_bound = Signal(str)  # port

    def __init__(
        self,
        workers: Workers,
        runner: BenchRunner,
        allowlist: Sequence[str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._workers = workers
        self.runner = runner
        self._allowlist = tuple(allowlist)
        self._in_flight = False
        self._spare: BoardCard | None = None
        self._seen: dict[str, Any] = {}  # port -> the PortInfo its card was made for
        self._arrivals: list[str] = []  # ports waiting for their card, one per event-loop turn
        self._busy_elsewhere: Callable[[], str | None] = lambda: None
        self.default_ssid = ""
        self.cards: dict[str, BoardCard] = {}
        self.set_heading(
            self.tr("Bench: every board at once"),
            self.tr(
                "Plug the boards in: each one appears below and a blank board starts by itself. "
                "Boards done here, provisioned elsewhere or of another model are left alone."
            ),
        )
        self.wifi_bar = WifiBar(self)
        self.body.addWidget(self.wifi_bar)
        self.auto_start = QCheckBox(self.tr("Start new blank boards by themselves"), self)
        self.auto_start.setChecked(True)
        self.body.addWidget(self.auto_start)

        self.grid_host = QWidget()
        self.rows = QVBoxLayout(self.grid_host)
        self.empty = wrapped_label(self.tr("No board is plugged in yet."), self.grid_host, "hints")
        self.rows.addWidget(self.empty)
        self.rows.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        # Cards wrap their text to the column's width; never a sideways scroll.
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.grid_host)
        self.queue = BindingQueue(workers, self)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(scroll)
        split.addWidget(self.queue)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        split.setSizes([720, 460])
        self.body.addWidget(split, 1)

        buttons = QHBoxLayout()
        self.back_button = QPushButton(self.tr("Back"), self)
        self.single_button = QPushButton(self.tr("One board at a time"), self)
        self.back_button.clicked.connect(self.back_requested)
        self.single_button.clicked.connect(self.single_requested)
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        buttons.addWidget(self.single_button)
        self.body.addLayout(buttons)

        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.scan)
        self.wifi_bar.answered.connect(self.runner.provide_wifi)
        self.runner.wifi_needed.connect(lambda: self.wifi_bar.ask(self.default_ssid))
        self.runner.board_event.connect(self._on_event)
        self.runner.finished.connect(self._on_result)

    def configure(self, *, allowlist: Sequence[str], auto_start: bool, default_ssid: str) -> None:
        self._allowlist = tuple(allowlist)
        self.auto_start.setChecked(auto_start)
        self.default_ssid = default_ssid

    def set_busy_elsewhere(self, port_in_use: Callable[[], str | None]) -> None:
        """The port the single-board pages are running, left to them."""
        self._busy_elsewhere = port_in_use

    # -- ports ----------------------------------------------------------------------------------

    def start_watching(self) -> None:
        if not self._timer.isActive():
            self._timer.start()
            self.scan()

    def stop_watching(self) -> None:
        self._timer.stop()

    @property
    def watching(self) -> bool:
        return self._timer.isActive()

    def scan(self) -> None:
        if self._in_flight:
            return
        self._in_flight = True
        allowlist = self._allowlist

        def list_now(cancel: threading.Event) -> list[Any]:
            from installer_app.device.ports import list_ports

            return [p for p in list_ports(allowlist) if is_board(p)]

        self._workers.submit(
            list_now, name="bench_ports", on_success=self._update, on_failure=self._failed
        )

    def _failed(self, exc: BaseException) -> None:
        self._in_flight = False
        log.warning("listing serial ports failed: %s", exc)

    def _update(self, boards: list[Any]) -> None:
        self._in_flight = False
        present = {p.device: p for p in boards}
        # Gone, or another board on the same port name between two scans (HW_ID, USB serial).
        for port in [p for p in self.cards if present.get(p) != self._seen.get(p)]:
            self._gone(port)
        self._seen = present
        in_use = self._busy_elsewhere()
        self._arrivals = [p for p in self._arrivals if p in present]
        for port in boards:
            new = port.device not in self.cards and port.device not in self._arrivals
            if new and port.device != in_use:
                self._arrivals.append(port.device)
        if self._arrivals:
            QTimer.singleShot(0, self._next_arrival)

    def _next_arrival(self) -> None:
        """One card per event-loop turn: eight boards plugged at once must not freeze a frame."""
        if not self._arrivals:
            return
        port = self._arrivals.pop(0)
        if port not in self.cards:
            self._arrived(port)
        if self._arrivals:
            QTimer.singleShot(0, self._next_arrival)

    def warm_up(self) -> None:
        """Make one card ahead of time, when idle: the first card of a session pays for Qt's
        one-time set-up of its widget types, which would otherwise land in the arrival burst."""
        if self._spare is None:
            self._spare = BoardCard("", self.grid_host)
            self._spare.hide()

    def _new_card(self, port: str) -> BoardCard:
        card, self._spare = self._spare, None
        if card is None:
            return BoardCard(port, self.grid_host)
        card.set_port(port)
        card.show()
        return card

    def _arrived(self, port: str) -> None:
        card = self._new_card(port)
        card.action_requested.connect(lambda p: self.start_board(p, forced=True))
        self.cards[port] = card
        self._layout_cards()
        if self.auto_start.isChecked():
            self.start_board(port)
        else:
            card.offer_start()

    def _gone(self, port: str) -> None:
        card = self.cards.pop(port)
        self.runner.cancel(port)
        self.queue.withdraw(port)
        card.setParent(None)
        card.deleteLater()
        self._layout_cards()

    def _layout_cards(self) -> None:
        """Rows of COLUMNS cards in a box layout (a grid squeezes wrapped text: it does not
        give a row the height its cards need at their width)."""
        while self.rows.count():
            item = self.rows.takeAt(0)
            row = item.layout() if item is not None else None
            while row is not None and row.count():
                row.takeAt(0)
        self.empty.setVisible(not self.cards)
        if not self.cards:
            self.rows.addWidget(self.empty)
        cards = list(self.cards.values())
        for first in range(0, len(cards), COLUMNS):
            row = QHBoxLayout()
            for card in cards[first : first + COLUMNS]:
                row.addWidget(card, 1)
            for _ in range(COLUMNS - len(cards[first : first + COLUMNS])):
                row.addStretch(1)
            self.rows.addLayout(row)
        self.rows.addStretch(1)

    def start_board(self, port: str, *, forced: bool = False) -> bool:
        card = self.cards.get(port)
        if card is None or not self.runner.start(port, forced=forced):
            return False
        card.started()
        return True

    # -- the runs -------------------------------------------------------------------------------

    def _on_event(self, event: WorkflowEvent) -> None:
        port = event.port or ""
        card = self.cards.get(port)
        if card is None:
            return
        card.apply_event(event)
        if event.step is Step.QR and event.outcome in (Outcome.OK, Outcome.PROGRESS):
            url = event.data.get("url")
            if isinstance(url, str) and url:
                self.queue.offer(port, url, card.hw_id, card.sn)
        elif event.step is Step.BINDING and event.outcome is Outcome.OK:
            corp = event.data.get("corp_name") or event.data.get("corpid") or ""
            self.queue.confirm(port, str(corp))
            self.board_bound.emit(port)

    def _on_result(self, result: ProvisionResult, left_alone: bool) -> None:
        port = result.port or ""
        card = self.cards.get(port)
        if card is not None:
            card.apply_result(result, left_alone)
        if result.ok:
            self.queue.confirm(port, result.corp_name or result.corpid or "")
        else:
            self.queue.withdraw(port)

    def running(self) -> list[str]:
        return self.runner.running()
