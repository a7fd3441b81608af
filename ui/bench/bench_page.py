"""The bench view: every connected board at once, each on its own card, running in parallel.

A board plugged in appears as a card; with ``[ui] auto_start`` (on by default) a blank board of
the profile's model starts by itself, and every board is identified and shown with its state chip
(done here, provisioned elsewhere, wrong model…; those are left alone). The site's Wi-Fi is asked
once, the binding codes go to the binding queue beside the cards. The window comes here by itself
when more than one board is plugged in; the single-board pages stay for one board at a time.

A barcode scanner works here as on the Connect page (``ui.scanner``): a board's SN, HW_ID or label
QR selects its card; a location tag scanned (or typed) while a card is selected becomes that
board's location. *Print labels…* prints the selected cards, or every done board on the bench.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from installer_app.workflow.board_status import BoardStatus
from installer_app.workflow.events import Outcome, ProvisionResult, Step, WorkflowEvent
from ui.bench.binding_queue import BindingQueue
from ui.bench.board_card import BoardCard
from ui.bench.runner import BenchRunner
from ui.bench.wifi_bar import WifiBar
from ui.scanner import WedgeScanner, resolve_on_worker
from ui.widgets.location_box import LocationBox
from ui.widgets.port_list import is_board
from ui.widgets.port_poller import PortPoller
from ui.wizard.base import PageId, WizardPage, wrapped_label
from ui.workers import Workers

log = logging.getLogger(__name__)

COLUMNS = 2
# Cards made ahead of time, one per idle event-loop turn: a card made while boards run costs
# several ms of the GUI thread (its widgets, their first polish), and each of its widgets' first
# calls into Python waits for the interpreter lock a board thread holds.
SPARE_CARDS = 8
# Boards plugged in together get their cards one at a time, this far apart: each card shown
# costs a few ms of layout and paint, and back to back they froze a frame (issue #15).
NEXT_CARD_MS = 4


class BenchPage(WizardPage):
    page_id = PageId.BENCH
    back_requested = Signal()
    single_requested = Signal()
    board_bound = Signal(str)  # port
    scan_handled = Signal(str, bool)  # the scanned text, whether it selected a board
    labels_opened = Signal(object)  # the LabelsDialog

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
        self._poller = PortPoller(workers, allowlist, "bench_ports", self)
        self._poller.listed.connect(self._listed)
        self._spares: list[BoardCard] = []
        # The page's own timer: it goes with the page (a window closed while warming up).
        self._warm_timer = QTimer(self)
        self._warm_timer.setSingleShot(True)
        self._warm_timer.timeout.connect(self.warm_up)
        self._arrival_timer = QTimer(self)
        self._arrival_timer.setSingleShot(True)
        self._arrival_timer.timeout.connect(self._next_arrival)
        self._seen: dict[str, Any] = {}  # port -> the PortInfo its card was made for
        self._arrivals: list[str] = []  # ports waiting for their card (``_next_arrival``)
        self._busy_elsewhere: Callable[[], str | None] = lambda: None
        self.default_ssid = ""
        self.cards: dict[str, BoardCard] = {}
        self.selected: list[str] = []  # ports, in the order chosen; the last one takes a location
        self._store: Any | None = None
        self._installer = ""
        self._dynamic_profile = False
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
        self.card_scroll = scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        # Cards wrap their text to the column's width; never a sideways scroll.
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.grid_host)
        # The selected card's location: the page's scanner tells a location tag from a board's
        # label, so the box has no scanner of its own; labels come from the page's button.
        self.location = LocationBox(self, own_scanner=False, label_button=False)
        self.note = wrapped_label("", self, "note")
        self.note.setVisible(False)
        cards_column = QWidget(self)
        column = QVBoxLayout(cards_column)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(scroll, 1)
        column.addWidget(self.note)
        column.addWidget(self.location)
        self.queue = BindingQueue(workers, self)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(cards_column)
        split.addWidget(self.queue)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        split.setSizes([720, 460])
        self.body.addWidget(split, 1)

        buttons = QHBoxLayout()
        self.back_button = QPushButton(self.tr("Back"), self)
        self.single_button = QPushButton(self.tr("One board at a time"), self)
        self.labels_button = QPushButton(self.tr("Print labels…"), self)
        self.labels_button.setToolTip(
            self.tr("Labels for the selected boards, or for every done board if none is selected.")
        )
        self.labels_button.setEnabled(False)
        self.back_button.clicked.connect(self.back_requested)
        self.single_button.clicked.connect(self.single_requested)
        self.labels_button.clicked.connect(self.print_labels)
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        buttons.addWidget(self.labels_button)
        buttons.addWidget(self.single_button)
        self.body.addLayout(buttons)

        self.wifi_bar.answered.connect(self.runner.provide_wifi)
        self.runner.wifi_needed.connect(lambda: self.wifi_bar.ask(self.default_ssid))
        self.runner.board_events.connect(self._on_events)
        self.runner.finished.connect(self._on_result)
        self.scanner = WedgeScanner(self)
        self.scanner.scanned.connect(self._scanned)

    def configure(self, *, allowlist: Sequence[str], auto_start: bool, default_ssid: str) -> None:
        self._poller.set_allowlist(allowlist)
        self.auto_start.setChecked(auto_start)
        self.default_ssid = default_ssid

    def set_session(self, store: Any | None, installer: str, *, dynamic_profile: bool) -> None:
        """The session's store: scans are looked up in it, locations and labels come from it."""
        self._store, self._installer, self._dynamic_profile = store, installer, dynamic_profile
        self.location.set_session(store, self._workers, dynamic_profile=dynamic_profile)
        self.labels_button.setEnabled(store is not None)
        self._follow_current()

    def set_busy_elsewhere(self, port_in_use: Callable[[], str | None]) -> None:
        """The port the single-board pages are running, left to them."""
        self._busy_elsewhere = port_in_use

    # -- ports ----------------------------------------------------------------------------------

    def start_watching(self) -> None:
        self.runner.prepare()
        self._poller.start()

    def stop_watching(self) -> None:
        self._poller.stop()

    @property
    def watching(self) -> bool:
        return self._poller.polling

    def scan(self) -> None:
        self._poller.scan()

    def _listed(self, ports: list[Any]) -> None:
        self._update([p for p in ports if is_board(p)])

    def _update(self, boards: list[Any]) -> None:
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
        if self._arrivals and not self._arrival_timer.isActive():
            self._arrival_timer.start(0)

    def _next_arrival(self) -> None:
        """One card at a time, ``NEXT_CARD_MS`` apart: eight boards plugged at once must not
        freeze a frame."""
        if not self._arrivals:
            return
        port = self._arrivals.pop(0)
        if port not in self.cards:
            self._arrived(port)
        if self._arrivals:
            self._arrival_timer.start(NEXT_CARD_MS)

    def warm_up_after(self, delay_ms: int) -> None:
        """``warm_up`` once the window has been idle for ``delay_ms``."""
        self._warm_timer.start(delay_ms)

    @property
    def warmed_up(self) -> bool:
        """Whether the cards made ahead of time are ready (``warm_up``)."""
        return len(self._spares) >= SPARE_CARDS

    def warm_up(self) -> None:
        """Make cards ahead of time (``SPARE_CARDS``), one per turn of the event loop while it
        is idle: the first card of a session also pays for Qt's one-time set-up of its widget
        types, which would otherwise land in the arrival burst."""
        if len(self._spares) >= SPARE_CARDS or self._arrivals:
            return
        spare = BoardCard("", self.grid_host)
        spare.hide()
        spare.ensurePolished()
        self._spares.append(spare)
        self._warm_timer.start(0)

    def _new_card(self, port: str) -> BoardCard:
        if not self._spares:
            return BoardCard(port, self.grid_host)
        card = self._spares.pop()
        card.set_port(port)
        card.show()
        return card

    def _arrived(self, port: str) -> None:
        card = self._new_card(port)
        card.action_requested.connect(lambda p: self.start_board(p, forced=True))
        card.select_requested.connect(self.select_card)
        self.cards[port] = card
        self._append_card(card)
        if self.auto_start.isChecked():
            self.start_board(port)
        else:
            card.offer_start()

    def _gone(self, port: str) -> None:
        card = self.cards.pop(port)
        if port in self.selected:
            self.selected.remove(port)
            self._follow_current()
        self.runner.cancel(port)
        self.queue.withdraw(port)
        card.setParent(None)
        card.deleteLater()
        self._layout_cards()

    def _append_card(self, card: BoardCard) -> None:
        """The newest card after the others (``_layout_cards``' rows): into the free column
        of the last row, or a new row; the other cards stay where they are."""
        count = len(self.cards)
        last = self.rows.itemAt(self.rows.count() - 2)  # the final item is the stretch
        row = last.layout() if last is not None else None
        if count == 1 or not isinstance(row, QHBoxLayout):
            self._layout_cards()
            return
        column = (count - 1) % COLUMNS
        if column == 0:
            self.rows.insertLayout(self.rows.count() - 1, _row([card]))
            return
        row.takeAt(column)  # the stretch that kept the free column's place
        row.insertWidget(column, card, 1)

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
            self.rows.addLayout(_row(cards[first : first + COLUMNS]))
        self.rows.addStretch(1)

    def start_board(self, port: str, *, forced: bool = False) -> bool:
        card = self.cards.get(port)
        if card is None or not self.runner.start(port, forced=forced):
            return False
        card.started()
        return True

    # -- the runs -------------------------------------------------------------------------------

    def _on_events(self, events: list[WorkflowEvent]) -> None:
        """A frame's worth of the boards' events (``BenchRunner.board_events``)."""
        for event in events:
            self._on_event(event)
        if self.selected:
            self._follow_current()  # the SN a blank board just got

    def _on_event(self, event: WorkflowEvent) -> None:
        port = event.port or ""
        card = self.cards.get(port)
        if card is None:
            return
        card.apply_event(event)
        if event.step is Step.QR and event.outcome in (Outcome.OK, Outcome.PROGRESS):
            url = event.data.get("url")
            if isinstance(url, str) and url:
                self.queue.offer(port, url, card.hw_id, card.sn, self.runner.code(url))
        elif event.step is Step.BINDING and event.outcome is Outcome.OK:
            corp = event.data.get("corp_name") or event.data.get("corpid") or ""
            self.queue.confirm(port, str(corp))
            self.board_bound.emit(port)

    def _on_result(self, result: ProvisionResult, left_alone: bool) -> None:
        port = result.port or ""
        card = self.cards.get(port)
        if card is not None:
            card.apply_result(result, left_alone)
            if self.selected and self.selected[-1] == port:
                self._follow_current()
        if result.ok:
            self.queue.confirm(port, result.corp_name or result.corpid or "")
        else:
            self.queue.withdraw(port)

    def running(self) -> list[str]:
        return self.runner.running()

    # -- selection, scans, locations and labels -------------------------------------------------

    def select_card(self, port: str, add: bool = False) -> None:
        """Select ``port``'s card (``add``: Ctrl+click, toggles it in the selection)."""
        if port not in self.cards:
            return
        if add and port in self.selected:
            self.selected.remove(port)
        elif add:
            self.selected.append(port)
        else:
            self.selected = [port]
        for name, card in self.cards.items():
            card.set_selected(name in self.selected)
        if port in self.selected:
            self.card_scroll.ensureWidgetVisible(self.cards[port])
        self._follow_current()

    def _follow_current(self) -> None:
        """The location box follows the card chosen last (a location names one board)."""
        card = self.cards.get(self.selected[-1]) if self.selected else None
        sn = card.sn if card is not None and card.sn else None
        if sn != self.location.sn:
            self.location.set_device(sn, self._installer)

    def _scanned(self, text: str) -> None:
        resolve_on_worker(self._workers, text, self._store, self._scan_resolved)

    def _scan_resolved(self, match: Any | None, text: str) -> None:
        from installer_app.labels.scan import clean

        scanned = match.text if match is not None else clean(text)
        port = self._port_of(match) if match is not None else None
        if port is not None:
            card = self.cards[port]
            if match is not None and match.sn and not card.sn:
                card.sn = match.sn  # the store's record for this board's HW_ID
            self.select_card(port)
            self._show_note(
                self.tr("Scanned {code}: selected {port}.").format(code=scanned, port=port)
            )
        elif self._is_location(match, scanned):
            self._show_note("")
            self.location.take_scan(scanned)
        else:
            self._show_note(
                self.tr("Scanned {code}: no board on the bench matches.").format(code=scanned)
            )
        self.scan_handled.emit(scanned, port is not None)

    def _port_of(self, match: Any) -> str | None:
        """The card the scan names: the Connect page's port match (a simulator's HW_ID, a USB
        serial number), else what the cards learnt from their board (HELLO's HW_ID, the SN)."""
        from installer_app.labels.scan import pick_port

        port = pick_port(match, [self._seen[p] for p in self.cards if p in self._seen])
        if port is not None:
            return str(port.device)
        for name, card in self.cards.items():
            if (card.hw_id and card.hw_id.lower() in match.hw_ids) or (
                match.sn and card.sn == match.sn
            ):
                return name
        return None

    def _is_location(self, match: Any | None, scanned: str) -> bool:
        """A scan that names no board here is a location tag when a card with an SN is chosen,
        unless it is a board's own code (an SN the store knows, a binding link)."""
        if not scanned or self.location.sn is None:
            return False
        if match is not None and match.sn:
            return False
        return not scanned.lower().startswith("https://")

    def _show_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def print_labels(self) -> QDialog | None:
        """The labels dialog for the selected cards, or for every done board on the bench."""
        from ui.dialogs.labels_dialog import LabelsDialog

        if self._store is None:
            return None
        chosen = [self.cards[p] for p in self.selected if p in self.cards]
        if not chosen:
            chosen = [c for c in self.cards.values() if c.status is BoardStatus.DONE_HERE]
        sns = list(dict.fromkeys(c.sn for c in chosen if c.sn))
        if not sns:
            self._show_note(
                self.tr(
                    "No board to label yet: select a card whose board has an SN, or wait until "
                    "a board is done."
                )
            )
            return None
        dialog = LabelsDialog(
            self._store,
            self._workers,
            sns=sns,
            dynamic_profile=self._dynamic_profile,
            parent=self,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.labels_opened.emit(dialog)
        return dialog


def _row(cards: list[BoardCard]) -> QHBoxLayout:
    """One row of the bench: its cards, then a stretch holding the place of each free column."""
    row = QHBoxLayout()
    for card in cards:
        row.addWidget(card, 1)
    for _ in range(COLUMNS - len(cards)):
        row.addStretch(1)
    return row
