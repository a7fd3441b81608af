"""A coloured dot with a label: idle, busy, ok, warning or failed."""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ui.widgets.plain import plain_label


class Light(StrEnum):
    IDLE = "idle"
    BUSY = "busy"
    OK = "ok"
    WARNING = "warning"
    FAILED = "failed"


COLOURS = {
    Light.IDLE: QColor("#b0b5bb"),
    Light.BUSY: QColor("#2f7de1"),
    Light.OK: QColor("#2e9e4f"),
    Light.WARNING: QColor("#e0a100"),
    Light.FAILED: QColor("#d23b3b"),
}


_DOT_PX = 14
_dots: dict[tuple[Light, float], QPixmap] = {}


def _dot_pixmap(state: Light, dpr: float) -> QPixmap:
    """The dot for ``state``, drawn once per state and pixel ratio."""
    pixmap = _dots.get((state, dpr))
    if pixmap is None:
        pixmap = QPixmap(round(_DOT_PX * dpr), round(_DOT_PX * dpr))
        pixmap.setDevicePixelRatio(dpr)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(COLOURS[state])
        painter.drawEllipse(1, 1, 12, 12)
        painter.end()
        _dots[(state, dpr)] = pixmap
    return pixmap


class _Dot(QLabel):
    """A label showing a ready-made pixmap: Qt paints it without calling into Python (a paint
    handler in Python would wait for the interpreter lock on every frame while board threads
    run, eight dots at a time on the bench)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = Light.IDLE
        self.setTextFormat(Qt.TextFormat.PlainText)  # it never shows text; were it to, plainly
        self.setFixedSize(QSize(_DOT_PX, _DOT_PX))
        self.show_state(Light.IDLE)

    def show_state(self, state: Light) -> None:
        self.state = state
        self.setPixmap(_dot_pixmap(state, self.devicePixelRatioF()))


class StatusLight(QWidget):
    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._dot = _Dot(self)
        self.label = plain_label(text, self)
        self.label.setWordWrap(True)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.detail = plain_label("", self)
        self.detail.setObjectName("detail")
        self.detail.setWordWrap(True)
        self.detail.setVisible(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.addWidget(self._dot, 0, Qt.AlignmentFlag.AlignTop)
        column = QWidget(self)
        inner = QVBoxLayout(column)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.setSpacing(0)
        inner.addWidget(self.label)
        inner.addWidget(self.detail)
        layout.addWidget(column, 1)

    @property
    def state(self) -> Light:
        return self._dot.state

    def set_state(self, state: Light, detail: str | None = None) -> None:
        self._dot.show_state(state)
        self._dot.setToolTip(state.value)
        if detail is not None:
            self.detail.setText(detail)
            self.detail.setVisible(bool(detail))

    def set_text(self, text: str) -> None:
        self.label.setText(text)
