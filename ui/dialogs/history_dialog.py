"""History: every board this computer provisioned, searchable, exportable to CSV (by the core)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from installer_app.localtime import local_time
from ui import labels
from ui.error_text import error_text
from ui.widgets.plain import plain_label
from ui.workers import Workers

if TYPE_CHECKING:
    from installer_app.provider.team import TeamClient


class HistoryDialog(QDialog):
    loaded = Signal(int)  # rows shown
    exported = Signal(str)  # the CSV file written

    def __init__(
        self,
        store: Any,
        workers: Workers,
        parent: QWidget | None = None,
        *,
        team: TeamClient | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("History"))
        self.setObjectName("historyDialog")
        self.resize(900, 480)
        self._store = store
        self._workers = workers
        self._team = team  # team mode: the site handover may use the team server's records
        self._records: list[Any] = []
        self._in_flight = False
        self._again = False
        self.search = QLineEdit(self)
        self.search.setPlaceholderText(self.tr("Search SN, HW_ID, enterprise or installer"))
        self.search.setClearButtonEnabled(True)
        self.export_button = QPushButton(self.tr("Export CSV…"), self)
        self.labels_button = QPushButton(self.tr("Labels…"), self)
        self.labels_button.setToolTip(self.tr("Labels for the selected boards (or all shown)"))
        self.handover_button = QPushButton(self.tr("Site handover…"), self)
        self.table = QTableWidget(0, 7, self)
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("SN"),
                self.tr("HW_ID"),
                self.tr("Stage"),
                self.tr("Enterprise"),
                self.tr("Installer"),
                self.tr("Last change"),
                self.tr("Team server"),
            ]
        )
        # Team mode only: whether the team server has each record (docs/team-mode.md).
        self.table.setColumnHidden(6, True)
        self._sync: dict[str, str] = {}
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.status = plain_label("", self)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.export_button)
        top.addWidget(self.labels_button)
        top.addWidget(self.handover_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.export_button.clicked.connect(self._choose_export_file)
        self.labels_button.clicked.connect(self.open_labels)
        self.handover_button.clicked.connect(self.open_handover)
        self.refresh()

    def refresh(self) -> None:
        if self._in_flight:
            self._again = True
            return
        self._in_flight = True
        text = self.search.text().strip() or None
        store = self._store

        def query(cancel: threading.Event) -> tuple[list[Any], dict[str, str]]:
            return list(store.history(text)), dict(store.sync_states())

        self.status.setText(self.tr("Loading…"))
        self._workers.submit(query, name="history", on_success=self._show, on_failure=self._failed)

    def _done(self) -> None:
        self._in_flight = False
        if self._again:
            self._again = False
            self.refresh()

    def _failed(self, exc: BaseException) -> None:
        self.status.setText(error_text(exc))
        self._done()

    def _show(self, found: tuple[list[Any], dict[str, str]]) -> None:
        records, self._sync = found
        self._records = records
        sync_labels = {
            "sent": self.tr("has it"),
            "pending": self.tr("waiting to be sent"),
            "refused": self.tr("refused"),
        }
        self.table.setColumnHidden(6, not self._sync)
        self.table.setRowCount(len(records))
        for row, rec in enumerate(records):
            values = (
                rec.sn,
                rec.hw_id or "",
                labels.stage(rec.stage.value),
                rec.corp_name or rec.corpid or "",
                rec.installer or "",
                local_time(rec.updated_at),
                sync_labels.get(self._sync.get(rec.sn, ""), ""),
            )
            for col, value in enumerate(values):
                self.table.setItem(row, col, QTableWidgetItem(value))
        self.status.setText(self.tr("%n board(s)", "", len(records)))
        self.loaded.emit(len(records))
        self._done()

    def open_labels(self) -> QDialog:
        from ui.dialogs.labels_dialog import LabelsDialog

        rows = sorted({i.row() for i in self.table.selectedIndexes()}) or range(len(self._records))
        sns = [self._records[r].sn for r in rows]
        dialog = LabelsDialog(self._store, self._workers, sns=sns, parent=self)
        dialog.open()
        return dialog

    def open_handover(self) -> QDialog:
        from ui.dialogs.handover_dialog import HandoverDialog

        chosen = [self._records[i.row()].corpid for i in self.table.selectedIndexes()]
        dialog = HandoverDialog(
            self._store,
            self._workers,
            corpid=next((c for c in chosen if c), None),
            team=self._team,
            parent=self,
        )
        dialog.open()
        return dialog

    def _choose_export_file(self) -> None:
        path, _filter = QFileDialog.getSaveFileName(
            self,
            self.tr("Export history"),
            str(Path.home() / "installer-history.csv"),
            self.tr("CSV (*.csv)"),
        )
        if path:
            self.export_csv(Path(path))

    def export_csv(self, path: Path) -> None:
        """Write the rows that match the search to ``path`` (UTF-8 with BOM, for Excel)."""
        store = self._store
        text = self.search.text().strip() or None

        def export(cancel: threading.Event) -> int:
            from installer_app.store.history import write_history_csv

            count: int = write_history_csv(store.history(text, limit=1_000_000), path)
            return count

        def done(count: int) -> None:
            self.status.setText(
                self.tr("Exported %n board(s) to {path}", "", count).format(path=str(path))
            )
            self.exported.emit(str(path))

        self._workers.submit(
            export,
            name="export",
            on_success=done,
            on_failure=lambda exc: self.status.setText(error_text(exc)),
        )
