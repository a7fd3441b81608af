"""The binding queue: the enterprise admin scans one large QR code after another.

Every bench board that reaches the binding joins the queue. One code is shown at a time with
"3 of 12" and the board's HW_ID and SN; the moment WeCom confirms a board (its BINDING ok), the
queue moves on to the next waiting board by itself, so the admin scans twelve codes in a row
without the installer touching the laptop. *Skip* moves on and leaves the board waiting (it can
still be scanned: *Back* returns to it); when no board waits any more, a summary replaces the code.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ui.widgets.plain import plain_label
from ui.widgets.qr_view import QrView, qr_image, qr_matrix
from ui.workers import Workers


@dataclass
class QueueEntry:
    port: str
    url: str
    hw_id: str
    sn: str
    bound: bool = False
    skipped: bool = False
    corp_name: str = ""
    matrix: list[list[bool]] = field(default_factory=list)  # for ``url``, made on a worker
    image: QImage | None = None

    @property
    def waiting(self) -> bool:
        return not self.bound


class BindingQueue(QFrame):
    current_changed = Signal(str)  # the port whose code is shown ("" for the summary)

    def __init__(self, workers: Workers, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._workers = workers
        self.setObjectName("bindingQueue")
        self.entries: list[QueueEntry] = []
        self._current: int | None = None
        self._announced: str | None = None
        self._shown_matrix = False
        self._drawing: set[str] = set()  # URLs whose code a worker is drawing now
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

    def offer(
        self, port: str, url: str, hw_id: str, sn: str, modules: list[list[bool]] | None = None
    ) -> None:
        """A board shows a binding code (a renewed dynamic code replaces the old one);
        ``modules``: its QR code, drawn already (by the board host), else drawn here when its
        turn comes."""
        i = self._index(port)
        if i is None:
            entry = QueueEntry(port, url, hw_id, sn)
            self.entries.append(entry)
            i = len(self.entries) - 1
        else:
            entry = self.entries[i]
            if entry.url != url:
                entry.matrix, entry.image = [], None
            entry.url, entry.hw_id, entry.sn = url, hw_id or entry.hw_id, sn or entry.sn
            entry.bound = False
        if modules and not entry.matrix:
            entry.matrix, entry.image = modules, qr_image(modules)  # a copy of bytes: ~0.1 ms
        if self._current is None:
            self._current = i
        self._render()

    def _draw_soon(self) -> None:
        """Draw the code shown now and the one after it, if the board host did not, nothing
        more: eight boards reach the binding within a second, and each code is ~3 ms of pure
        Python on a worker that holds the interpreter lock the GUI thread needs. The rest are
        drawn as the queue advances."""
        current = self._current
        if current is None:
            return
        wanted = [self.entries[current]]
        following = self._next_waiting(current)
        if following is not None and following != current:
            wanted.append(self.entries[following])
        for entry in wanted:
            if not entry.matrix and entry.url not in self._drawing:
                self._draw(entry)

    def _draw(self, entry: QueueEntry) -> None:
        url = entry.url
        self._drawing.add(url)

        def draw(_cancel: threading.Event) -> tuple[list[list[bool]], QImage]:
            matrix = qr_matrix(url, quick=True)
            return matrix, qr_image(matrix)

        self._workers.submit(
            draw,
            name="queue_qr",
            on_success=lambda drawn: self._drawn(entry, url, *drawn),
            on_finished=lambda: self._drawing.discard(url),
        )

    def _drawn(self, entry: QueueEntry, url: str, matrix: list[list[bool]], image: QImage) -> None:
        if entry.url == url:
            entry.matrix, entry.image = matrix, image
            if self.current() is entry:
                self.qr.set_matrix(url, matrix, image)
                self._shown_matrix = True

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
        self._draw_soon()
        entry = self.current()
        showing = entry is not None
        # Only what changed: a visibility toggle re-lays the panel out (tens of ms with 8 boards).
        for widget in (self.qr, self.board, self.position, self.skip_button, self.help):
            if widget.isHidden() == showing:
                widget.setVisible(showing)
        if self.summary.isHidden() != showing:
            self.summary.setVisible(not showing)
        self.back_button.setEnabled(any(e.waiting for e in self.entries))
        if entry is not None and self._current is not None:
            _set_text(
                self.position,
                self.tr("{n} of {total}").format(n=self._current + 1, total=len(self.entries)),
            )
            if self.qr.url() != entry.url or (entry.matrix and not self._shown_matrix):
                # Empty until its worker drew it.
                self.qr.set_matrix(entry.url, entry.matrix, entry.image)
                self._shown_matrix = bool(entry.matrix)
            _set_text(
                self.board,
                self.tr("HW_ID {hw_id} · SN {sn}").format(hw_id=entry.hw_id, sn=entry.sn),
            )
            self._announce(entry.port)
            return
        if self.qr.url():
            self.qr.set_matrix("", [])
        bound = sum(1 for e in self.entries if e.bound)
        waiting = self.waiting_count()
        if not self.entries:
            text = self.tr("No board is waiting for the binding yet.")
        elif waiting:
            text = self.tr(
                "{bound} bound; {waiting} skipped, still waiting (Back shows them)."
            ).format(bound=bound, waiting=waiting)
        else:
            text = self.tr("All {bound} boards are bound. The queue is empty.").format(bound=bound)
        _set_text(self.summary, text)
        self._announce("")

    def _announce(self, port: str) -> None:
        if port != self._announced:
            self._announced = port
            self.current_changed.emit(port)


def _set_text(label: QLabel, text: str) -> None:
    if label.text() != text:
        label.setText(text)
