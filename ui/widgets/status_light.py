"""A coloured dot with a label: idle, busy, ok, warning or failed."""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QVBoxLayout, QWidget

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


class _Dot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = Light.IDLE
        self.setFixedSize(QSize(14, 14))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(COLOURS[self.state])
        painter.drawEllipse(1, 1, 12, 12)
        painter.end()


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
        self._dot.state = state
        self._dot.setToolTip(state.value)
        self._dot.update()
        if detail is not None:
            self.detail.setText(detail)
            self.detail.setVisible(bool(detail))

    def set_text(self, text: str) -> None:
        self.label.setText(text)
