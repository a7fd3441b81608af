"""A read-only pane showing the application's log, redacted like every other log handler."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from installer_app.logsetup import LOG_FORMAT
from installer_app.secrets import RedactingFilter, redact

MAX_LINES = 2000


class _Emitter(QObject):
    line = Signal(str)


class QtLogHandler(logging.Handler):
    """A logging handler that hands each formatted, redacted line to the GUI thread by signal."""

    def __init__(self, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.emitter = _Emitter()
        self.setFormatter(logging.Formatter(LOG_FORMAT, "%H:%M:%S"))
        self.addFilter(RedactingFilter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            # The filter already redacted the message; redact the whole line again so a
            # traceback or an argument rendered by the formatter cannot bring a secret back.
            text = redact(self.format(record))
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)
            return
        self.emitter.line.emit(text)


class LogPane(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(MAX_LINES)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setObjectName("logPane")
        self.setAccessibleName(self.tr("Log"))
        self.handler = QtLogHandler()
        self.handler.emitter.line.connect(self.append_line, Qt.ConnectionType.QueuedConnection)

    def attach(self, logger: logging.Logger | None = None) -> None:
        (logger or logging.getLogger()).addHandler(self.handler)

    def detach(self, logger: logging.Logger | None = None) -> None:
        (logger or logging.getLogger()).removeHandler(self.handler)

    @Slot(str)
    def append_line(self, text: str) -> None:
        self.appendPlainText(redact(text))
