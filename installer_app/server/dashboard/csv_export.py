"""CSV for spreadsheets: UTF-8 with a BOM (so Excel reads the Chinese), and every cell that a
spreadsheet would take for a formula neutralised with a leading apostrophe (OWASP's "CSV
injection"): an enterprise name or a detail is text from outside.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

BOM = "\ufeff"
# What starts a formula in Excel, LibreOffice or Google Sheets.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_line(values: Iterable[object]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([cell(v) for v in values])
    return out.getvalue()
