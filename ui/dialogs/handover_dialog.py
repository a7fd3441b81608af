"""The site handover: choose an enterprise and a date range, write the PDF report, the CSV and
the XLSX into a folder (on a worker), then show the folder.

In team mode the rows come from the team server's records by default (every installer's boards
of the site, docs/team-mode.md), or from this laptop's; the enterprise may then also be typed,
since a site another installer worked may not be in this laptop's history."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, Signal
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

from ui.dialogs.save_step import Saved, save_on_worker
from ui.error_text import error_text
from ui.widgets.plain import plain_label
from ui.workers import Workers

if TYPE_CHECKING:
    from installer_app.provider.team import TeamClient

TEAM, LOCAL = "team", "local"


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
        team: TeamClient | None = None,  # team mode: the team server's records may be used
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Site handover"))
        self.setObjectName("handoverDialog")
        self._store = store
        self._workers = workers
        self._team = team
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
        self.source = QComboBox(self)
        self.source.addItem(self.tr("Team server (every installer)"), TEAM)
        self.source.addItem(self.tr("This laptop"), LOCAL)
        if team is not None:
            form.addRow(self.tr("Records:"), self.source)
        else:
            self.source.setCurrentIndex(1)
            self.source.hide()
        self.site = QComboBox(self)
        # A site another installer worked may be missing from this laptop's history: type it.
        self.site.setEditable(team is not None)
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

    def from_team(self) -> bool:
        return self._team is not None and self.source.currentData() == TEAM

    def chosen_corpid(self) -> str:
        """The enterprise chosen from the list, or typed (team mode)."""
        index = self.site.currentIndex()
        text = self.site.currentText().strip()
        if index >= 0 and self.site.itemText(index) == self.site.currentText():
            return str(self.site.itemData(index) or "")
        return text

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
        typed = self._team is not None
        self.save_button.setEnabled(bool(sites) or typed)
        if sites:
            self.status.setText("")
        elif typed:
            self.status.setText(self.tr("Type the enterprise's corpid."))
        else:
            self.status.setText(self.tr("No board is bound to an enterprise yet."))
        self.sites_loaded.emit(len(sites))

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, self.tr("Save the handover package in"), str(Path.home())
        )
        if folder:
            self.save(Path(folder))

    def save(self, folder: Path) -> None:
        """Write the package of the chosen site and dates into ``folder``, on a worker (the
        team server's records are fetched there too, never on the GUI thread)."""
        store, corpid = self._store, self.chosen_corpid()
        team = self._team if self.from_team() else None
        first, last = _day(self.first), _day(self.last)

        def write(cancel: threading.Event) -> Any:
            from installer_app.handover.package import write_package
            from installer_app.handover.rows import collect, require_rows
            from installer_app.handover.team import collect_from_team
            from ui.document_pdf import render

            handover = (
                collect_from_team(team, corpid, first, last)
                if team is not None
                else collect(store, corpid, first, last)
            )
            return write_package(require_rows(handover), folder, render)

        def describe(package: Any) -> Saved:
            text = self.tr("Saved {pdf}, {csv} and {xlsx}.").format(
                pdf=package.pdf.name, csv=package.csv.name, xlsx=package.xlsx.name
            )
            return Saved(text, package.rendered.missing_cjk_font, folder)

        save_on_worker(
            self._workers,
            write,
            name="handover",
            button=self.save_button,
            status=self.status,
            describe=describe,
            on_saved=self.saved.emit,
            on_failed=self.failed.emit,
            open_after_save=self.open_after_save,
        )
