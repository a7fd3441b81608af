"""Label pages as a ``Document``: an A4 sheet grid, or one label per page for a roll printer."""

from __future__ import annotations

from collections.abc import Sequence

from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.labels.content import LabelData
from installer_app.labels.layout import RollLabel, SheetGrid
from installer_app.printing.document import Box, Document, Frame, Page, QrCode, Text

# Inside a label: padding, and the share of the width the QR code may take.
PAD_MM = 1.5
QR_SHARE = 0.5
PT_PER_MM = 72 / 25.4


def draw_label(page: Page, box: Box, label: LabelData, *, outline: bool) -> None:
    """One label in ``box``: the QR code on the left, SN / HW_ID / model on the right."""
    if outline:
        page.add(Frame(box, width_mm=0.1))
    inner = Box(box.x + PAD_MM, box.y + PAD_MM, box.w - 2 * PAD_MM, box.h - 2 * PAD_MM)
    side = min(inner.h, inner.w * QR_SHARE)
    if label.qr_url:
        page.add(QrCode(Box(inner.x, inner.y + (inner.h - side) / 2, side, side), label.qr_url))
    else:
        page.add(
            Text(
                Box(inner.x, inner.y + inner.h / 2 - 4, side, 8),
                Message(QT_TRANSLATE_NOOP("labels", "no static QR code")).render(),
                size_pt=6,
                align="center",
            )
        )
    text_x = inner.x + side + PAD_MM
    text_w = inner.right - text_x
    # Four lines share the height; the type size follows the label (at most 11 pt for the SN).
    line_h = inner.h / 4
    size = max(4.5, min(11.0, line_h * PT_PER_MM * 0.62))
    rows = (
        (label.sn, size, True),
        (f"HW_ID {label.hw_id}", size * 0.72, False),
        (
            Message(QT_TRANSLATE_NOOP("labels", "Model {model}"), model=label.model_id).render(),
            size * 0.72,
            False,
        ),
    )
    y = inner.y + (inner.h - line_h * 3.4) / 2
    for text, wanted_pt, bold in rows:
        # Shrink a long line to the width (a glyph is about 0.6 em wide) before wrapping it.
        em = 0.7 if bold else 0.62
        pt = max(4.5, min(wanted_pt, text_w * PT_PER_MM / (em * max(1, len(text)))))
        height = line_h * (1.4 if bold else 1.0)
        page.add(
            Text(Box(text_x, y, text_w, height), text, size_pt=pt, bold=bold, wrap_anywhere=True)
        )
        y += height


def sheet_document(
    labels: Sequence[LabelData], grid: SheetGrid, *, outline: bool = True
) -> Document:
    grid.check()
    doc = Document(Message(QT_TRANSLATE_NOOP("labels", "Device labels")).render())
    for index, label in enumerate(labels):
        page_no, box = grid.slot(index)
        while len(doc.pages) <= page_no:
            doc.pages.append(Page(grid.page_w, grid.page_h))
        draw_label(doc.pages[page_no], box, label, outline=outline)
    return doc


def roll_document(labels: Sequence[LabelData], size: RollLabel) -> Document:
    size.check()
    doc = Document(Message(QT_TRANSLATE_NOOP("labels", "Device labels")).render())
    for label in labels:
        page = Page(size.width, size.height)
        draw_label(page, Box(0, 0, size.width, size.height), label, outline=False)
        doc.pages.append(page)
    return doc
