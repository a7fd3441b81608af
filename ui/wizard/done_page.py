"""Done: the summary, the next device, and the installation report as a PDF."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, Qt, Signal
from PySide6.QtGui import QFont, QPageLayout, QPageSize, QPainter, QPdfWriter
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from installer_app.workflow.events import ProvisionResult
from ui.widgets.location_box import LocationBox
from ui.widgets.qr_view import qr_matrix
from ui.wizard.base import PageId, WizardPage, wrapped_label


class DonePage(WizardPage):
    page_id = PageId.DONE
    next_requested = Signal()
    report_saved = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.set_heading(self.tr("Done"), self.tr("The board is provisioned and bound."))
        box = QGroupBox(self.tr("Summary"), self)
        form = QFormLayout(box)
        self.sn = QLabel("—", box)
        self.hw_id = QLabel("—", box)
        self.enterprise = QLabel("—", box)
        self.app = QLabel("—", box)
        self.when = QLabel("—", box)
        self.installer = QLabel("—", box)
        for label in (self.sn, self.hw_id, self.enterprise, self.app, self.when, self.installer):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.tr("SN:"), self.sn)
        form.addRow(self.tr("HW_ID:"), self.hw_id)
        form.addRow(self.tr("Enterprise:"), self.enterprise)
        form.addRow(self.tr("Companion app:"), self.app)
        form.addRow(self.tr("Finished:"), self.when)
        form.addRow(self.tr("Installer:"), self.installer)
        self.body.addWidget(box)
        self.location = LocationBox(self)
        self.body.addWidget(self.location)
        self.report_note = wrapped_label("", self, "reportNote")
        self.body.addWidget(self.report_note)
        self.body.addStretch(1)
        buttons = QHBoxLayout()
        self.report_button = QPushButton(self.tr("Save installation report (PDF)…"), self)
        self.next_button = QPushButton(self.tr("Next device"), self)
        self.next_button.setObjectName("primary")
        self.next_button.setDefault(True)
        buttons.addWidget(self.report_button)
        buttons.addStretch(1)
        buttons.addWidget(self.next_button)
        self.body.addLayout(buttons)
        self.report_button.clicked.connect(self._choose_report_file)
        self.next_button.clicked.connect(self.next_requested)
        self.result: ProvisionResult | None = None
        self.finished_at: datetime | None = None
        self.installer_name = ""

    def show_result(self, result: ProvisionResult, installer: str) -> None:
        self.result = result
        self.finished_at = datetime.now().astimezone()
        self.installer_name = installer
        self.sn.setText(result.device_sn or "—")
        self.hw_id.setText(result.hw_id or "—")
        corp = result.corp_name or ""
        if result.corpid:
            corp = f"{corp} ({result.corpid})" if corp else result.corpid
        self.enterprise.setText(corp or "—")
        self.app.setText(
            self.tr("installed")
            if result.app_installed
            else self.tr("not checkable (no partner service)")
            if result.app_installed is None
            else self.tr("not installed yet")
        )
        self.when.setText(self.finished_at.strftime("%Y-%m-%d %H:%M:%S %Z"))
        self.installer.setText(installer)
        self.location.set_device(result.device_sn, installer)
        self.report_note.setText("")

    def reset(self) -> None:
        self.result = None
        self.report_note.setText("")

    def _choose_report_file(self) -> None:
        if self.result is None:
            return
        name = f"installation-{self.result.device_sn or 'board'}.pdf"
        path, _filter = QFileDialog.getSaveFileName(
            self,
            self.tr("Save installation report"),
            str(Path.home() / name),
            self.tr("PDF (*.pdf)"),
        )
        if path:
            self.save_report(Path(path))

    def save_report(self, path: Path) -> Path:
        """Write a one-page PDF: QR, SN, HW_ID, enterprise, time, installer."""
        if self.result is None:
            raise RuntimeError("no result to report")
        result = self.result
        # QPdfWriter (QtGui) rather than QPrinter: the report is only ever a file, and leaving out
        # QtPrintSupport keeps 0.8 MB out of the frozen build.
        printer = QPdfWriter(str(path))
        printer.setResolution(1200)
        printer.setPageLayout(
            QPageLayout(
                QPageSize(QPageSize.PageSizeId.A4),
                QPageLayout.Orientation.Portrait,
                QMarginsF(18, 18, 18, 18),
                QPageLayout.Unit.Millimeter,
            )
        )
        printer.setTitle(self.tr("Installation report"))
        painter = QPainter()
        if not painter.begin(printer):
            raise OSError(self.tr("Cannot write {path}").format(path=str(path)))
        try:
            page = printer.pageLayout().paintRectPixels(printer.resolution())
            dpi = printer.resolution()
            title_font = QFont()
            title_font.setPointSize(18)
            title_font.setBold(True)
            body_font = QFont()
            body_font.setPointSize(11)
            painter.setFont(title_font)
            line: float = painter.fontMetrics().height()
            y = 0.0
            painter.drawText(QRectF(0, y, page.width(), line * 1.5), self.tr("Installation report"))
            y += line * 2
            painter.setFont(body_font)
            line = painter.fontMetrics().height() * 1.4
            rows = [
                (self.tr("SN:"), result.device_sn or "—"),
                (self.tr("HW_ID:"), result.hw_id or "—"),
                (self.tr("Enterprise:"), self.enterprise.text()),
                (self.tr("Companion app:"), self.app.text()),
                (self.tr("Finished:"), self.when.text()),
                (self.tr("Installer:"), self.installer_name),
            ]
            label_w = page.width() * 0.3
            for label, value in rows:
                painter.drawText(QRectF(0, y, label_w, line), label)
                painter.drawText(QRectF(label_w, y, page.width() - label_w, line), value)
                y += line
            if result.qr_url:
                y += line
                painter.drawText(QRectF(0, y, page.width(), line), self.tr("Binding QR code:"))
                y += line
                matrix = qr_matrix(result.qr_url)
                side = int(dpi * 2.2)  # about 5.6 cm
                module = max(1, side // len(matrix))
                painter.fillRect(
                    QRectF(0, y, module * len(matrix), module * len(matrix)), Qt.GlobalColor.white
                )
                for r, row in enumerate(matrix):
                    for c, dark in enumerate(row):
                        if dark:
                            painter.fillRect(
                                QRectF(c * module, y + r * module, module, module),
                                Qt.GlobalColor.black,
                            )
                y += module * len(matrix) + line * 0.5
                small = QFont(body_font)
                small.setPointSize(8)
                painter.setFont(small)
                painter.drawText(
                    QRectF(0, y, page.width(), line * 3),
                    int(Qt.TextFlag.TextWrapAnywhere),
                    result.qr_url,
                )
        finally:
            painter.end()
        self.report_note.setText(self.tr("Report saved to {path}").format(path=str(path)))
        self.report_saved.emit(str(path))
        return path
