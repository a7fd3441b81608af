"""The handover rows as a table: the same cells for the PDF, the CSV and the XLSX.

Cells come from outside (locations typed on site, names from WeCom): a cell a spreadsheet would
run as a formula (starting ``=`` ``+`` ``-`` ``@``, tab or carriage return) gets a leading
apostrophe, in the CSV and the XLSX alike, and the XLSX cell is stored as text whatever it says.
The CSV is UTF-8 with a BOM (Excel then reads the Chinese right).
"""

from __future__ import annotations

import csv
from pathlib import Path

from installer_app.atomic_write import SHARED, replace_atomically
from installer_app.handover.rows import STATE_NAMES, Handover, HandoverError, HandoverRow
from installer_app.i18n import QT_TRANSLATE_NOOP, Message, Source

COLUMNS: tuple[Source, ...] = (
    QT_TRANSLATE_NOOP("handover", "No."),
    QT_TRANSLATE_NOOP("handover", "Location"),
    QT_TRANSLATE_NOOP("handover", "SN"),
    QT_TRANSLATE_NOOP("handover", "HW_ID"),
    QT_TRANSLATE_NOOP("handover", "State"),
    QT_TRANSLATE_NOOP("handover", "Companion app"),
    QT_TRANSLATE_NOOP("handover", "Time"),
    QT_TRANSLATE_NOOP("handover", "Installer"),
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet shows it and never runs it."""
    return "'" + text if text.startswith(FORMULA_START) else text


def header() -> list[str]:
    return [Message(c).render() for c in COLUMNS]


def app_text(row: HandoverRow) -> str:
    if row.app_installed is None:
        return "—"
    return Message(
        QT_TRANSLATE_NOOP("handover", "installed")
        if row.app_installed
        else QT_TRANSLATE_NOOP("handover", "not installed")
    ).render()


def cells(number: int, row: HandoverRow, *, neutralised: bool = True) -> list[str]:
    """One row of the table, as text, formula characters neutralised (for spreadsheets)."""
    values = [
        str(number),
        row.location,
        row.sn,
        row.hw_id,
        STATE_NAMES[row.state].render(),
        app_text(row),
        row.time.strftime("%Y-%m-%d %H:%M"),
        row.installer,
    ]
    return [neutralise(v) for v in values] if neutralised else values


def table(handover: Handover, *, neutralised: bool = True) -> list[list[str]]:
    return [cells(n, row, neutralised=neutralised) for n, row in enumerate(handover.rows, start=1)]


def write_csv(handover: Handover, path: Path) -> None:
    try:
        with replace_atomically(path, mode=SHARED, encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header())
            writer.writerows(table(handover))
    except OSError as exc:
        raise write_error(path, exc) from None


def write_xlsx(handover: Handover, path: Path) -> None:
    import openpyxl  # the only user in the core: loaded when a handover is written

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "handover"
    sheet.append(header())
    for values in table(handover):
        sheet.append(values)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.data_type = "s"  # text, even when it reads like a formula or a number
    for letter, width in zip("ABCDEFGH", (5, 22, 24, 20, 18, 14, 17, 14), strict=True):
        sheet.column_dimensions[letter].width = width
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        workbook.save(tmp)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise write_error(path, exc) from None
    finally:
        workbook.close()


def write_error(path: Path, exc: OSError) -> HandoverError:
    return HandoverError(
        Message(
            QT_TRANSLATE_NOOP("handover", "Cannot write {file}: {reason}."),
            file=str(path),
            reason=exc.strerror or type(exc).__name__,
        ),
        Message(QT_TRANSLATE_NOOP("handover", "Choose a folder you can write to.")),
    )
