"""Draw an ``installer_app.printing.document.Document`` to a PDF file with QPdfWriter.

Reached from the core through ``installer_app.launch.render_pdf`` (the CLI, headless, on the
``offscreen`` platform) and from the wizard's workers: QPdfWriter and QPainter on it work off the
GUI thread. Fonts are the machine's: a CJK family is chosen when there is one, so Chinese renders
and is embedded (subset) in the PDF; without one Qt draws empty boxes and ``Rendered`` says so.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QMarginsF, QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontDatabase,
    QPageLayout,
    QPageSize,
    QPainter,
    QPainterPath,
    QPdfWriter,
    QPen,
)

from installer_app.printing.document import (
    Document,
    Frame,
    Line,
    Page,
    QrCode,
    Rendered,
    Text,
    has_cjk,
)
from installer_app.provider.qr import qr_matrix

DPI = 600
# The families tried first, in order: the ones Linux, Windows and macOS ship for Simplified Chinese.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "PingFang SC",
    "Noto Sans SC",
    "WenQuanYi Micro Hei",
    "SimSun",
)
QR_BORDER_MODULES = 2


def cjk_family() -> str | None:
    """A font family that has Simplified Chinese, or None on a machine without one."""
    available = QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese)
    for family in CJK_FAMILIES:
        if family in available:
            return family
    return available[0] if available else None


def _page_size(page: Page) -> QPageSize:
    return QPageSize(
        QSizeF(page.width_mm, page.height_mm),
        QPageSize.Unit.Millimeter,
        "",
        QPageSize.SizeMatchPolicy.ExactMatch,
    )


def render(document: Document, path: Path) -> Rendered:
    """Write ``document`` to ``path`` (replaced only when the whole file is written)."""
    if not document.pages:
        raise ValueError("a document without pages")
    family = cjk_family()
    needs_cjk = any(has_cjk(t) for t in [document.title, *document.texts()])
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    writer = QPdfWriter(str(tmp))
    writer.setResolution(DPI)
    writer.setTitle(document.title)
    writer.setCreator("installer-app")
    first = document.pages[0]
    writer.setPageLayout(
        QPageLayout(_page_size(first), QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0))
    )
    painter = QPainter()
    if not painter.begin(writer):
        tmp.unlink(missing_ok=True)
        raise OSError(f"cannot write {path}")
    try:
        for number, page in enumerate(document.pages):
            if number:
                writer.setPageLayout(
                    QPageLayout(
                        _page_size(page), QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0)
                    )
                )
                writer.newPage()
            _draw_page(painter, page, family)
    except BaseException:
        painter.end()
        tmp.unlink(missing_ok=True)
        raise
    painter.end()
    os.replace(tmp, path)
    return Rendered(
        pages=len(document.pages),
        missing_cjk_font=needs_cjk and family is None,
        font_family=family or QFont().family(),
    )


def _draw_page(painter: QPainter, page: Page, family: str | None) -> None:
    scale = DPI / 25.4  # device pixels per mm

    def rect(x: float, y: float, w: float, h: float) -> QRectF:
        return QRectF(x * scale, y * scale, w * scale, h * scale)

    for item in page.items:
        if isinstance(item, Text):
            font = QFont(family) if family else QFont()
            font.setPointSizeF(item.size_pt)
            font.setBold(item.bold)
            painter.setFont(font)
            painter.setPen(QPen(QColor(0, 0, 0)))
            flags = {
                "left": Qt.AlignmentFlag.AlignLeft,
                "center": Qt.AlignmentFlag.AlignHCenter,
                "right": Qt.AlignmentFlag.AlignRight,
            }[item.align] | Qt.AlignmentFlag.AlignTop
            wrap = Qt.TextFlag.TextWrapAnywhere if item.wrap_anywhere else Qt.TextFlag.TextWordWrap
            box = rect(item.box.x, item.box.y, item.box.w, item.box.h)
            painter.save()
            painter.setClipRect(box)
            painter.drawText(box, int(flags) | int(wrap), item.text)
            painter.restore()
        elif isinstance(item, QrCode):
            _draw_qr(painter, rect(item.box.x, item.box.y, item.box.w, item.box.h), item.url)
        elif isinstance(item, Line):
            painter.setPen(QPen(QColor(0, 0, 0), item.width_mm * scale))
            painter.drawLine(
                QPointF(item.x1 * scale, item.y1 * scale), QPointF(item.x2 * scale, item.y2 * scale)
            )
        elif isinstance(item, Frame):
            painter.setPen(QPen(QColor(0, 0, 0), item.width_mm * scale))
            painter.setBrush(
                QBrush(QColor(item.fill, item.fill, item.fill))
                if item.fill is not None
                else Qt.BrushStyle.NoBrush
            )
            painter.drawRect(rect(item.box.x, item.box.y, item.box.w, item.box.h))
            painter.setBrush(Qt.BrushStyle.NoBrush)


def _draw_qr(painter: QPainter, box: QRectF, url: str) -> None:
    """The modules as one filled path (crisp in any viewer; one PDF object, not thousands)."""
    matrix = qr_matrix(url, border=QR_BORDER_MODULES)
    module = box.width() / len(matrix)
    painter.fillRect(box, QColor(255, 255, 255))
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.WindingFill)
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):  # one rectangle per run of dark modules: half the PDF operators
            if not row[c]:
                c += 1
                continue
            end = c
            while end < len(row) and row[end]:
                end += 1
            path.addRect(
                QRectF(box.x() + c * module, box.y() + r * module, (end - c) * module, module)
            )
            c = end
    painter.fillPath(path, QColor(0, 0, 0))
