"""Print device labels: choose the layout (A4 sheet grid, roll, ZPL), save, open the PDF.

The boards are chosen by the caller (the Done page: this board; History: the selected rows or a
site). Reading the store, drawing the PDF and writing the file run on a worker.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ui.dialogs.save_step import Saved, save_on_worker
from ui.widgets.plain import plain_label
from ui.workers import Workers

LAYOUTS = ("sheet", "roll", "zpl")


def _mm_box(value: float, maximum: float, parent: QWidget) -> QDoubleSpinBox:
    box = QDoubleSpinBox(parent)
    box.setRange(0.0, maximum)
    box.setDecimals(1)
    box.setSingleStep(0.5)
    box.setSuffix(" mm")
    box.setValue(value)
    return box


class LabelsDialog(QDialog):
    saved = Signal(str)  # the file written
    failed = Signal(str)  # what went wrong, for a person

    def __init__(
        self,
        store: Any,
        workers: Workers,
        *,
        sns: Sequence[str] = (),
        corpid: str | None = None,
        dynamic_profile: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Print labels"))
        self.setObjectName("labelsDialog")
        self._store = store
        self._workers = workers
        self._sns = list(sns)
        self._corpid = corpid
        self.open_after_save = True
        layout = QVBoxLayout(self)
        what = (
            self.tr("Labels for the boards of {corp}.").format(corp=corpid)
            if corpid
            else self.tr("Labels for %n board(s).", "", len(self._sns))
        )
        layout.addWidget(plain_label(what, self))
        if dynamic_profile:
            note = plain_label(
                self.tr(
                    "This profile shows dynamic binding QR codes, which expire: labels carry the "
                    "static code from registration instead, never a dynamic one."
                ),
                self,
            )
            note.setWordWrap(True)
            layout.addWidget(note)
        form = QFormLayout()
        self.layout_choice = QComboBox(self)
        self.layout_choice.addItem(self.tr("A4 sheet (PDF)"), "sheet")
        self.layout_choice.addItem(self.tr("One label per page, roll printer (PDF)"), "roll")
        self.layout_choice.addItem(self.tr("Zebra printer (ZPL)"), "zpl")
        form.addRow(self.tr("Layout:"), self.layout_choice)
        self.cols = QSpinBox(self)
        self.cols.setRange(1, 20)
        self.cols.setValue(3)
        self.rows = QSpinBox(self)
        self.rows.setRange(1, 40)
        self.rows.setValue(8)
        grid = QHBoxLayout()
        grid.addWidget(self.cols)
        grid.addWidget(plain_label("×", self))
        grid.addWidget(self.rows)
        form.addRow(self.tr("Columns × rows:"), grid)
        self.margin = _mm_box(10.0, 50.0, self)
        form.addRow(self.tr("Margins:"), self.margin)
        self.gap = _mm_box(2.5, 20.0, self)
        form.addRow(self.tr("Gap between labels:"), self.gap)
        self.label_w = _mm_box(50.0, 300.0, self)
        self.label_h = _mm_box(30.0, 300.0, self)
        size = QHBoxLayout()
        size.addWidget(self.label_w)
        size.addWidget(plain_label("×", self))
        size.addWidget(self.label_h)
        form.addRow(self.tr("Label size:"), size)
        self.printer = QLineEdit(self)
        self.printer.setPlaceholderText(self.tr("optional, e.g. \\\\server\\zebra"))
        form.addRow(self.tr("Also copy to printer share:"), self.printer)
        layout.addLayout(form)
        self.status = plain_label("", self)
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QHBoxLayout()
        self.save_button = QPushButton(self.tr("Save…"), self)
        self.save_button.setObjectName("primary")
        close = QPushButton(self.tr("Close"), self)
        buttons.addStretch(1)
        buttons.addWidget(close)
        buttons.addWidget(self.save_button)
        layout.addLayout(buttons)
        close.clicked.connect(self.reject)
        self.save_button.clicked.connect(self._choose_file)
        self.layout_choice.currentIndexChanged.connect(lambda _i: self._update_fields())
        self._update_fields()

    def chosen_layout(self) -> str:
        return str(self.layout_choice.currentData())

    def set_layout(self, layout: str) -> None:
        self.layout_choice.setCurrentIndex(LAYOUTS.index(layout))

    def _update_fields(self) -> None:
        sheet = self.chosen_layout() == "sheet"
        for box in (self.cols, self.rows, self.margin, self.gap):
            box.setEnabled(sheet)
        self.label_w.setEnabled(not sheet)
        self.label_h.setEnabled(not sheet)
        self.printer.setEnabled(self.chosen_layout() == "zpl")

    def _choose_file(self) -> None:
        zpl = self.chosen_layout() == "zpl"
        name = "labels.zpl" if zpl else "labels.pdf"
        path, _filter = QFileDialog.getSaveFileName(
            self,
            self.tr("Save labels"),
            str(Path.home() / name),
            self.tr("ZPL (*.zpl)") if zpl else self.tr("PDF (*.pdf)"),
        )
        if path:
            self.save(Path(path))

    def save(self, path: Path) -> None:
        """Write the labels to ``path`` on a worker; ``saved`` or ``failed`` tells the end."""
        store, sns, corpid = self._store, list(self._sns), self._corpid
        layout = self.chosen_layout()
        grid = (self.cols.value(), self.rows.value(), self.margin.value(), self.gap.value())
        size = (self.label_w.value(), self.label_h.value())
        share = self.printer.text().strip()

        def write(cancel: threading.Event) -> tuple[int, bool]:
            from installer_app.labels.content import labels_for, records_for_sns
            from installer_app.labels.layout import RollLabel, SheetGrid
            from installer_app.labels.pages import roll_document, sheet_document
            from installer_app.labels.zpl import document_zpl, write_zpl
            from ui.document_pdf import render

            records = store.records_for_corp(corpid) if corpid else records_for_sns(store, sns)
            labels = labels_for(records)
            if layout == "zpl":
                text = document_zpl(labels, RollLabel(*size))
                write_zpl(text, path, printer_share=Path(share) if share else None)
                return len(labels), False
            cols, rows, margin, gap = grid
            document = (
                sheet_document(
                    labels,
                    SheetGrid(cols, rows, margin, margin, margin, margin, gap, gap),
                )
                if layout == "sheet"
                else roll_document(labels, RollLabel(*size))
            )
            return len(labels), render(document, path).missing_cjk_font

        def describe(result: tuple[int, bool]) -> Saved:
            count, missing_font = result
            return Saved(
                self.tr("Saved %n label(s) to {path}.", "", count).format(path=str(path)),
                missing_font,
                None if layout == "zpl" else path,
            )

        save_on_worker(
            self._workers,
            write,
            name="labels",
            button=self.save_button,
            status=self.status,
            describe=describe,
            on_saved=lambda _result: self.saved.emit(str(path)),
            on_failed=self.failed.emit,
            open_after_save=self.open_after_save,
        )
