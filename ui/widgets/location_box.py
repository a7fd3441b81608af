"""Where the board went, and its label: on the Done page, a location field ("3F-301 前台") that a
scanned location tag fills and saves by itself (or typed, then Enter or Save), and a button that
prints this board's label. Saving runs on a worker; the location goes into the board's record.

On the bench view the page's own scanner decides whether a scan names a board or is a location
tag (``own_scanner=False``, then ``take_scan``), and the bench prints labels itself."""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout, QWidget

from installer_app.store.db import MAX_LOCATION_CHARS
from ui.error_text import error_text
from ui.scanner import WedgeScanner
from ui.widgets.plain import plain_label
from ui.workers import Workers


class LocationBox(QWidget):
    location_saved = Signal(str)
    labels_opened = Signal(object)  # the LabelsDialog

    def __init__(
        self, parent: QWidget | None = None, *, own_scanner: bool = True, label_button: bool = True
    ) -> None:
        super().__init__(parent)
        self._store: Any | None = None
        self._workers: Workers | None = None
        self._sn: str | None = None
        self._installer = ""
        self._dynamic_profile = False
        self.field = QLineEdit(self)
        self.field.setObjectName("locationField")
        self.field.setMaxLength(MAX_LOCATION_CHARS)
        self.field.setPlaceholderText(self.tr("Location, e.g. 3F-301 front desk (type or scan)"))
        self.save_button = QPushButton(self.tr("Save location"), self)
        self.label_button = QPushButton(self.tr("Print label…"), self)
        self.status = plain_label("", self)
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(plain_label(self.tr("Location:"), self))
        row.addWidget(self.field, 1)
        row.addWidget(self.save_button)
        row.addWidget(self.label_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.status)
        self.label_button.setVisible(label_button)
        self.scanner: WedgeScanner | None = None
        if own_scanner:
            self.scanner = WedgeScanner(self)
            self.scanner.scanned.connect(self.take_scan)
        self.field.returnPressed.connect(self.save)
        self.save_button.clicked.connect(self.save)
        self.label_button.clicked.connect(self.open_labels)
        self._update()

    def set_session(self, store: Any | None, workers: Workers, *, dynamic_profile: bool) -> None:
        self._store, self._workers, self._dynamic_profile = store, workers, dynamic_profile
        self._update()

    def set_device(self, sn: str | None, installer: str) -> None:
        self._sn, self._installer = sn, installer
        self.field.clear()
        self.status.setText("")
        self._update()

    def _update(self) -> None:
        ready = bool(self._sn and self._store is not None and self._workers is not None)
        for widget in (self.field, self.save_button, self.label_button):
            widget.setEnabled(ready)

    @property
    def sn(self) -> str | None:
        return self._sn

    def take_scan(self, text: str) -> None:
        # A location tag scanned anywhere on the page: it is the whole location, not an addition.
        self.field.setText(text)
        self.save()

    def save(self) -> None:
        store, sn, installer = self._store, self._sn, self._installer
        if store is None or sn is None or self._workers is None:
            return
        text = self.field.text()

        def write(cancel: threading.Event) -> str:
            record = store.set_location(sn, text, installer=installer)
            return str(record.location or "")

        def done(saved: str) -> None:
            self.field.setText(saved)
            self.status.setText(
                self.tr("Location saved: {location}").format(location=saved)
                if saved
                else self.tr("Location cleared.")
            )
            self.location_saved.emit(saved)

        self._workers.submit(
            write,
            name="location",
            on_success=done,
            on_failure=lambda exc: self.status.setText(error_text(exc)),
        )

    def open_labels(self) -> Any:
        from ui.dialogs.labels_dialog import LabelsDialog

        if self._store is None or self._workers is None or self._sn is None:
            return None
        dialog = LabelsDialog(
            self._store,
            self._workers,
            sns=[self._sn],
            dynamic_profile=self._dynamic_profile,
            parent=self,
        )
        dialog.set_layout("roll")
        dialog.open()
        self.labels_opened.emit(dialog)
        return dialog
