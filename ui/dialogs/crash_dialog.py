"""The crash handler: an unexpected exception is logged and shown, never a silent exit."""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from installer_app.secrets import redact
from ui.widgets.plain import plain_label

log = logging.getLogger("ui.crash")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def format_exception(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> str:
    return redact("".join(traceback.format_exception(exc_type, exc, tb)))


class CrashDialog(QDialog):
    def __init__(self, details: str, log_file: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Something went wrong"))
        self.setObjectName("crashDialog")
        self.setMinimumSize(560, 360)
        intro = plain_label(
            self.tr(
                "The installer hit an unexpected error. The board's record is safe: every step "
                "is saved as it happens. You can continue, or quit and start again."
            ),
            self,
        )
        intro.setWordWrap(True)
        where = plain_label(
            self.tr("The details are in the log file: {path}").format(path=str(log_file))
            if log_file
            else self.tr("The details below were written to the log."),
            self,
        )
        where.setWordWrap(True)
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details = QPlainTextEdit(redact(details), self)
        self.details.setReadOnly(True)
        buttons = QDialogButtonBox(self)
        self.copy_button = QPushButton(self.tr("Copy details"), self)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.continue_button = buttons.addButton(
            self.tr("Continue"), QDialogButtonBox.ButtonRole.RejectRole
        )
        self.quit_button = buttons.addButton(
            self.tr("Quit"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.copy_button.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(self.details.toPlainText())
        )
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(where)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)


class CrashHandler(QObject):
    """One ``sys.excepthook`` for the process: logs, then shows a ``CrashDialog`` on the GUI
    thread (an exception raised on a worker thread is carried there by a queued signal)."""

    _crashed = Signal(str)
    shown = Signal(object)  # the dialog, for tests

    def __init__(
        self,
        log_file: Path | None,
        parent_widget: Callable[[], QWidget | None] = lambda: None,
        quit_app: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__()
        self._log_file = log_file
        self._parent_widget = parent_widget
        self._quit = quit_app
        self._showing = False
        self._previous: Callable[..., object] | None = None
        self._crashed.connect(self._show, Qt.ConnectionType.QueuedConnection)
        self.modal = True

    def install(self) -> None:
        self._previous = sys.excepthook
        sys.excepthook = self.handle
        threading.excepthook = lambda args: self.handle(
            args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback
        )

    def uninstall(self) -> None:
        if self._previous is not None:
            sys.excepthook = self._previous
            threading.excepthook = threading.__excepthook__

    def handle(
        self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            self._quit()
            return
        log.critical("unexpected error", exc_info=(exc_type, exc, tb))
        self._crashed.emit(format_exception(exc_type, exc, tb))

    @Slot(str)
    def _show(self, details: str) -> None:
        if self._showing:
            return  # one dialog at a time; the rest are in the log
        self._showing = True
        dialog = CrashDialog(details, self._log_file, self._parent_widget())
        self.shown.emit(dialog)
        try:
            if self.modal and dialog.exec() == QDialog.DialogCode.Accepted:
                self._quit()
        finally:
            self._showing = False
            if self.modal:
                dialog.deleteLater()
