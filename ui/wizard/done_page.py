"""Done: the summary, the next device, and the installation report as a PDF."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QWidget,
)

from installer_app.localtime import local_time
from installer_app.workflow.events import ProvisionResult
from ui import report_pdf
from ui.widgets.location_box import LocationBox
from ui.widgets.plain import plain_label
from ui.wizard.base import PageId, WizardPage, wrapped_label
from ui.workers import Workers


class DonePage(WizardPage):
    page_id = PageId.DONE
    next_requested = Signal()
    report_saved = Signal(str)  # the path
    report_failed = Signal(str)  # what went wrong

    def __init__(self, workers: Workers, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._workers = workers
        self._saving = False
        self.set_heading(self.tr("Done"), self.tr("The board is provisioned and bound."))
        box = QGroupBox(self.tr("Summary"), self)
        form = QFormLayout(box)
        self.sn = plain_label("—", box)
        self.hw_id = plain_label("—", box)
        self.enterprise = plain_label("—", box)
        self.app = plain_label("—", box)
        self.when = plain_label("—", box)
        self.installer = plain_label("—", box)
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
        self.when.setText(local_time(self.finished_at, seconds=True))
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

    def save_report(self, path: Path) -> bool:
        """Render the one-page PDF on the pool; ``report_saved`` or ``report_failed`` follows.
        False when there is nothing to report or a report is being written."""
        if self.result is None or self._saving:
            return False
        result = self.result
        report = report_pdf.Report(
            title=self.tr("Installation report"),
            rows=[
                (self.tr("SN:"), result.device_sn or "—"),
                (self.tr("HW_ID:"), result.hw_id or "—"),
                (self.tr("Enterprise:"), self.enterprise.text()),
                (self.tr("Companion app:"), self.app.text()),
                (self.tr("Finished:"), self.when.text()),
                (self.tr("Installer:"), self.installer_name),
            ],
            qr_caption=self.tr("Binding QR code:"),
            qr_url=result.qr_url,
            cannot_write=self.tr("Cannot write {path}").format(path=str(path)),
        )
        self._saving = True
        self.report_button.setEnabled(False)
        self.report_note.setText(self.tr("Writing the report…"))
        self._workers.submit(
            lambda _cancel: report_pdf.render_report(report, path),
            name="report_pdf",
            on_success=self._report_written,
            on_failure=self._report_not_written,
        )
        return True

    def _report_written(self, path: Path) -> None:
        self._saving = False
        self.report_button.setEnabled(True)
        self.report_note.setText(self.tr("Report saved to {path}").format(path=str(path)))
        self.report_saved.emit(str(path))

    def _report_not_written(self, exc: BaseException) -> None:
        self._saving = False
        self.report_button.setEnabled(True)
        text = self.tr("The report was not saved: {reason}").format(reason=str(exc))
        self.report_note.setText(text)
        self.report_failed.emit(text)
