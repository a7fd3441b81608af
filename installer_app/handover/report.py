"""The site handover as a PDF ``Document``: a cover (enterprise, installers, dates, counts per
state, signature lines for the installer and the customer), then the table of every board."""

from __future__ import annotations

import math

from installer_app.handover.rows import STATE_NAMES, Handover
from installer_app.handover.tables import header, table
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.labels.layout import A4_MM
from installer_app.printing.document import Box, Document, Frame, Line, Page, Text, has_cjk

MARGIN = 15.0
# Column widths in mm (sum: the 180 mm between the margins), as tables.COLUMNS.
WIDTHS = (8.0, 30.0, 26.0, 24.0, 30.0, 20.0, 26.0, 16.0)
ROW_H = 7.0
HEAD_H = 10.0  # two lines of a wrapped heading
TABLE_PT = 7.5
LINE_MM = 3.9  # one line of 7.5 pt text in a CJK font (its line spacing is about 1.47 em)
MAX_LINES = 4
PT_PER_MM = 72 / 25.4


def report_document(handover: Handover) -> Document:
    width, height = A4_MM
    title = Message(QT_TRANSLATE_NOOP("handover", "Site handover")).render()
    doc = Document(f"{title} — {handover.corp_name or handover.corpid}")
    doc.pages.append(_cover(handover, title))
    rows = table(handover, neutralised=False)  # a PDF runs no formula: show the text as it is
    bottom = height - MARGIN - 8.0  # above the page footer
    page: Page | None = None
    y = 0.0
    for values in rows:
        row_h = row_height(values)
        if page is None or y + row_h > bottom:
            page = _table_page(handover, width, height)
            doc.pages.append(page)
            y = MARGIN + 10 + HEAD_H
        _row(page, y, values, row_h, bold=False, fill=None)
        y += row_h
    total = len(doc.pages)
    for number, page in enumerate(doc.pages, start=1):
        page.add(
            Text(
                Box(MARGIN, height - MARGIN + 3, width - 2 * MARGIN, 6),
                Message(
                    QT_TRANSLATE_NOOP("handover", "{corp} — page {page} of {pages}"),
                    corp=handover.corpid,
                    page=number,
                    pages=total,
                ).render(),
                size_pt=7,
                align="right",
            )
        )
    return doc


def _table_page(handover: Handover, width: float, height: float) -> Page:
    page = Page(width, height)
    page.add(
        Text(
            Box(MARGIN, MARGIN, width - 2 * MARGIN, 7),
            Message(
                QT_TRANSLATE_NOOP("handover", "Devices at {corp}"),
                corp=handover.corp_name or handover.corpid,
            ).render(),
            size_pt=11,
            bold=True,
        )
    )
    _row(page, MARGIN + 10, header(), HEAD_H, bold=True, fill=225)
    return page


def row_height(values: list[str]) -> float:
    """Enough height for the longest cell, wrapped (estimated: an ideograph is 1 em wide, any
    other character about 0.55 em), up to ``MAX_LINES`` lines."""
    em_mm = TABLE_PT / PT_PER_MM
    lines = 1
    for width, value in zip(WIDTHS, values, strict=True):
        ems = sum(1.0 if has_cjk(ch) else 0.55 for ch in value)
        lines = max(lines, math.ceil(ems * em_mm / (width - 2)))
    return max(ROW_H, min(lines, MAX_LINES) * LINE_MM + 2.0)


def _row(
    page: Page, y: float, values: list[str], h: float, *, bold: bool, fill: int | None
) -> None:
    x = MARGIN
    for width, value in zip(WIDTHS, values, strict=True):
        page.add(Frame(Box(x, y, width, h), width_mm=0.15, fill=fill))
        page.add(
            Text(
                Box(x + 1, y + 0.8, width - 2, h - 1),
                value,
                size_pt=TABLE_PT,
                bold=bold,
                wrap_anywhere=not bold,  # headings wrap at words; an SN or HW_ID anywhere
            )
        )
        x += width


def _cover(handover: Handover, title: str) -> Page:
    width, height = A4_MM
    page = Page(width, height)
    inner = width - 2 * MARGIN
    y = MARGIN + 10
    page.add(Text(Box(MARGIN, y, inner, 14), title, size_pt=22, bold=True))
    y += 20
    counts = handover.counts()
    facts = [
        (
            Message(QT_TRANSLATE_NOOP("handover", "Enterprise")).render(),
            f"{handover.corp_name} ({handover.corpid})" if handover.corp_name else handover.corpid,
        ),
        (
            Message(QT_TRANSLATE_NOOP("handover", "Dates")).render(),
            f"{handover.first_day.isoformat()} — {handover.last_day.isoformat()}",
        ),
        (
            Message(QT_TRANSLATE_NOOP("handover", "Installers")).render(),
            ", ".join(handover.installers) or "—",
        ),
        (
            Message(QT_TRANSLATE_NOOP("handover", "Devices")).render(),
            str(len(handover.rows)),
        ),
    ]
    facts += [(STATE_NAMES[state].render(), str(n)) for state, n in counts.items() if n]
    for label, value in facts:
        page.add(Text(Box(MARGIN, y, 45, 8), label, size_pt=11, bold=True))
        page.add(Text(Box(MARGIN + 47, y, inner - 47, 16), value, size_pt=11))
        y += 9 if len(value) < 70 else 15
    y += 8
    page.add(
        Text(
            Box(MARGIN, y, inner, 20),
            Message(
                QT_TRANSLATE_NOOP(
                    "handover",
                    "The devices listed on the following pages were installed at the site above. "
                    "Failed and skipped devices are listed too.",
                )
            ).render(),
            size_pt=10,
        )
    )
    y = height - MARGIN - 70
    for who in (
        Message(QT_TRANSLATE_NOOP("handover", "Installer")).render(),
        Message(QT_TRANSLATE_NOOP("handover", "Customer")).render(),
    ):
        page.add(Text(Box(MARGIN, y, inner, 7), who, size_pt=11, bold=True))
        y += 16
        signature = Message(QT_TRANSLATE_NOOP("handover", "Signature")).render()
        date_word = Message(QT_TRANSLATE_NOOP("handover", "Date")).render()
        page.add(Line(MARGIN, y, MARGIN + 100, y))
        page.add(Line(MARGIN + 115, y, width - MARGIN, y))
        page.add(Text(Box(MARGIN, y + 1, 100, 6), signature, size_pt=8))
        page.add(Text(Box(MARGIN + 115, y + 1, 50, 6), date_word, size_pt=8))
        y += 14
    return page
