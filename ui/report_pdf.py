"""The installation report as a one-page PDF, drawn without any widget.

``render_report`` runs on a worker thread (``DonePage.save_report`` submits it to the pool):
QPdfWriter and QPainter on a paint device that is not a widget may be used off the GUI thread,
so a slow disk or a big QR code never freezes the window. It takes plain values, never a widget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, Qt
from PySide6.QtGui import QFont, QPageLayout, QPageSize, QPainter, QPdfWriter

from ui.widgets.qr_view import qr_matrix


@dataclass(frozen=True)
class Report:
    title: str
    rows: Sequence[tuple[str, str]]  # (label, value), already translated
    qr_caption: str
    qr_url: str | None
    cannot_write: str  # the message when the file cannot be opened, already translated


def render_report(report: Report, path: Path) -> Path:
    """Write the report to ``path``: title, rows, the binding QR code and its URL."""
    try:  # QPdfWriter only says "false" (and warns); the OS says why
        path.open("wb").close()
    except OSError as exc:
        raise OSError(f"{report.cannot_write} ({exc.strerror})") from exc
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
    printer.setTitle(report.title)
    painter = QPainter()
    if not painter.begin(printer):
        raise OSError(report.cannot_write)
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
        painter.drawText(QRectF(0, y, page.width(), line * 1.5), report.title)
        y += line * 2
        painter.setFont(body_font)
        line = painter.fontMetrics().height() * 1.4
        label_w = page.width() * 0.3
        for label, value in report.rows:
            painter.drawText(QRectF(0, y, label_w, line), label)
            painter.drawText(QRectF(label_w, y, page.width() - label_w, line), value)
            y += line
        if report.qr_url:
            y += line
            painter.drawText(QRectF(0, y, page.width(), line), report.qr_caption)
            y += line
            matrix = qr_matrix(report.qr_url)
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
                report.qr_url,
            )
    finally:
        painter.end()
    return path
