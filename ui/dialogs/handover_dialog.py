"""The site handover: choose an enterprise and a date range, write the PDF report, the CSV and
the XLSX into a folder (on a worker), then show the folder."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.error_text import error_text
from ui.widgets.plain import plain_label
from ui.workers import Workers


def _day(edit: QDateEdit) -> date:
    value = edit.date()
    return date(value.year(), value.month(), value.day())


class HandoverDialog(QDialog):
    sites_loaded = Signal(int)
    saved = Signal(object)  # installer_app.handover.package.Package
    failed = Signal(str)

    def __init__(
        self,
        store: Any,
        workers: Workers,
        *,
        corpid: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Site handover"))
        self.setObjectName("handoverDialog")
        self._store = store
        self._workers = workers
        self._preferred = corpid
        self.open_after_save = True
        layout = QVBoxLayout(self)
        intro = plain_label(
            self.tr(
                "One PDF for the customer to sign (every device of the site, failed and skipped "
                "ones included), with the same rows as CSV and XLSX."
            ),
            self,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.site = QComboBox(self)
        form.addRow(self.tr("Enterprise:"), self.site)
        today = QDate.currentDate()
        self.first = QDateEdit(today.addDays(-7), self)
        self.last = QDateEdit(today, self)
        for edit in (self.first, self.last):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        form.addRow(self.tr("From:"), self.first)
        form.addRow(self.tr("To:"), self.last)
        layout.addLayout(form)
        self.status = plain_label(self.tr("Loading…"), self)
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QHBoxLayout()
        close = QPushButton(self.tr("Close"), self)
        self.save_button = QPushButton(self.tr("Save package…"), self)
        self.save_button.setObjectName("primary")
        self.save_button.setEnabled(False)
        buttons.addStretch(1)
        buttons.addWidget(close)
        buttons.addWidget(self.save_button)
        layout.addLayout(buttons)
        close.clicked.connect(self.reject)
        self.save_button.clicked.connect(self._choose_folder)
        self._load_sites()

    def _load_sites(self) -> None:
        store = self._store

        def sites(cancel: threading.Event) -> list[tuple[str, str]]:
            found: dict[str, str] = {}
            for record in store.history(limit=1_000_000):
                if record.corpid:
                    found.setdefault(record.corpid, record.corp_name or "")
            return sorted(found.items(), key=lambda item: item[1] or item[0])

        self._workers.submit(
            sites,
            name="handover_sites",
            on_success=self._show_sites,
            on_failure=lambda exc: self.status.setText(error_text(exc)),
        )

    def _show_sites(self, sites: list[tuple[str, str]]) -> None:
        for corpid, name in sites:
            self.site.addItem(f"{name} ({corpid})" if name else corpid, corpid)
            if corpid == self._preferred:
                self.site.setCurrentIndex(self.site.count() - 1)
        self.save_button.setEnabled(bool(sites))
        self.status.setText("" if sites else self.tr("No board is bound to an enterprise yet."))
        self.sites_loaded.emit(len(sites))

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, self.tr("Save the handover package in"), str(Path.home())
        )
        if folder:
            self.save(Path(folder))

    def save(self, folder: Path) -> None:
        """Write the package of the chosen site and dates into ``folder``, on a worker."""
        store, corpid = self._store, str(self.site.currentData() or "")
        first, last = _day(self.first), _day(self.last)

        def write(cancel: threading.Event) -> Any:
            from installer_app.handover.package import write_package
            from installer_app.handover.rows import collect, require_rows
            from ui.document_pdf import render

            return write_package(require_rows(collect(store, corpid, first, last)), folder, render)

        def done(package: Any) -> None:
            self.save_button.setEnabled(True)
            text = self.tr("Saved {pdf}, {csv} and {xlsx}.").format(
                pdf=package.pdf.name, csv=package.csv.name, xlsx=package.xlsx.name
            )
            if package.rendered.missing_cjk_font:
                text += " " + self.tr("This computer has no font for Chinese text.")
            self.status.setText(text)
            self.saved.emit(package)
            if self.open_after_save:
                QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

        def failed(exc: BaseException) -> None:
            self.save_button.setEnabled(True)
            self.status.setText(error_text(exc))
            self.failed.emit(error_text(exc))

        self.save_button.setEnabled(False)
        self.status.setText(self.tr("Saving…"))
        self._workers.submit(write, name="handover", on_success=done, on_failure=failed)
