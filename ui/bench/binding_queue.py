"""The binding queue: the enterprise admin scans one large QR code after another.

Every bench board that reaches the binding joins the queue. One code is shown at a time with
"3 of 12" and the board's HW_ID and SN; the moment WeCom confirms a board (its BINDING ok), the
queue moves on to the next waiting board by itself, so the admin scans twelve codes in a row
without the installer touching the laptop. *Skip* moves on and leaves the board waiting (it can
still be scanned: *Back* returns to it); when no board waits any more, a summary replaces the code.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from ui.widgets.plain import plain_label
from ui.widgets.qr_view import QrView


@dataclass
class QueueEntry:
    port: str
    url: str
    hw_id: str
    sn: str
    bound: bool = False
    skipped: bool = False
    corp_name: str = ""

    @property
    def waiting(self) -> bool:
        return not self.bound


class BindingQueue(QFrame):
    current_changed = Signal(str)  # the port whose code is shown ("" for the summary)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("bindingQueue")
        self.entries: list[QueueEntry] = []
        self._current: int | None = None
        column = QVBoxLayout(self)
        self.heading = plain_label(self.tr("Binding queue"), self)
        self.heading.setObjectName("queueHeading")
        self.position = plain_label("", self)
        self.position.setObjectName("queuePosition")
        self.position.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr = QrView(self, minimum=220)
        self.board = plain_label("", self)
        self.board.setObjectName("queueBoard")
        self.board.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.board.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.help = plain_label(
            self.tr(
                "Enterprise admin: in WeCom, scan each code in turn. The next one comes up by "
                "itself as soon as WeCom confirms the board."
            ),
            self,
        )
        self.help.setWordWrap(True)
        self.help.setObjectName("hints")
        self.summary = plain_label("", self)
        self.summary.setObjectName("queueSummary")
        self.summary.setWordWrap(True)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignCenter)
        buttons = QHBoxLayout()
        self.back_button = QPushButton(self.tr("Back"), self)
        self.skip_button = QPushButton(self.tr("Skip"), self)
        self.back_button.clicked.connect(self.back)
        self.skip_button.clicked.connect(self.skip)
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        buttons.addWidget(self.skip_button)
        column.addWidget(self.heading)
        column.addWidget(self.position)
        column.addWidget(self.qr, 1)
        column.addWidget(self.board)
        column.addWidget(self.summary, 1)
        column.addWidget(self.help)
        column.addLayout(buttons)
        self._render()

    # -- the queue ----------------------------------------------------------------------------

    def _index(self, port: str) -> int | None:
        for i, entry in enumerate(self.entries):
            if entry.port == port:
                return i
        return None

    def offer(self, port: str, url: str, hw_id: str, sn: str) -> None:
        """A board shows a binding code (a renewed dynamic code replaces the old one)."""
        i = self._index(port)
        if i is None:
            self.entries.append(QueueEntry(port, url, hw_id, sn))
            i = len(self.entries) - 1
        else:
            entry = self.entries[i]
            entry.url, entry.hw_id, entry.sn = url, hw_id or entry.hw_id, sn or entry.sn
            entry.bound = False
        if self._current is None:
            self._current = i
        self._render()

    def confirm(self, port: str, corp_name: str = "") -> None:
        """WeCom confirmed this board: move on to the next waiting one by itself."""
        i = self._index(port)
        if i is None:
            return
        entry = self.entries[i]
        entry.bound, entry.corp_name = True, corp_name
        if self._current == i:
            self._current = self._next_waiting(i)
        self._render()

    def withdraw(self, port: str) -> None:
        """The board went away (unplugged, stopped) before it was bound."""
        i = self._index(port)
        if i is None or self.entries[i].bound:
            return
        current = self.current()
        del self.entries[i]
        self._current = None
        if current is not None and current.port != port:
            self._current = self._index(current.port)
        if self._current is None:
            self._current = self._next_waiting(-1)
        self._render()

    def _next_waiting(self, after: int) -> int | None:
        n = len(self.entries)
        for step in range(1, n + 1):
            i = (after + step) % n
            # Skipped boards come round again only once every other board had its turn.
            if (
                self.entries[i].waiting
                and (i != after or n == 1)
                and (not self.entries[i].skipped or all(e.skipped or e.bound for e in self.entries))
            ):
                return i
        return None

    def skip(self) -> None:
        if self._current is None:
            return
        self.entries[self._current].skipped = True
        nxt = self._next_waiting(self._current)
        self._current = nxt if nxt != self._current else None
        self._render()

    def back(self) -> None:
        """The previous board in the queue, bound or not (to read its HW_ID again, or to scan a
        skipped one)."""
        if not self.entries:
            return
        start = self._current if self._current is not None else len(self.entries)
        for i in range(start - 1, -1, -1):
            if self.entries[i].waiting:
                self.entries[i].skipped = False
                self._current = i
                self._render()
                return

    def current(self) -> QueueEntry | None:
        return self.entries[self._current] if self._current is not None else None

    def waiting_count(self) -> int:
        return sum(1 for e in self.entries if e.waiting)

    # -- rendering ------------------------------------------------------------------------------

    def _render(self) -> None:
        entry = self.current()
        showing = entry is not None
        for widget in (self.qr, self.board, self.position, self.skip_button, self.help):
            widget.setVisible(showing)
        self.summary.setVisible(not showing)
        self.back_button.setEnabled(any(e.waiting for e in self.entries))
        if entry is not None and self._current is not None:
            self.position.setText(
                self.tr("{n} of {total}").format(n=self._current + 1, total=len(self.entries))
            )
            self.qr.set_url(entry.url)
            self.board.setText(
                self.tr("HW_ID {hw_id} · SN {sn}").format(hw_id=entry.hw_id, sn=entry.sn)
            )
            self.current_changed.emit(entry.port)
            return
        self.qr.set_url("")
        bound = sum(1 for e in self.entries if e.bound)
        waiting = self.waiting_count()
        if not self.entries:
            self.summary.setText(self.tr("No board is waiting for the binding yet."))
        elif waiting:
            self.summary.setText(
                self.tr(
                    "{bound} bound; {waiting} skipped, still waiting (Back shows them)."
                ).format(bound=bound, waiting=waiting)
            )
        else:
            self.summary.setText(
                self.tr("All {bound} boards are bound. The queue is empty.").format(bound=bound)
            )
        self.current_changed.emit("")
