"""CSV cells a spreadsheet would run as a formula get a leading apostrophe; others are kept."""

from __future__ import annotations

import csv
import io

import pytest

from installer_app.server.dashboard.csv_export import cell, csv_line


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+86 138", "'+86 138"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Alpha 公司", "Alpha 公司"),
        ("a=b", "a=b"),
        (None, ""),
        (42, "42"),
    ],
)
def test_formula_cells_are_neutralised(value: object, written: str) -> None:
    assert cell(value) == written


def test_a_line_is_quoted_csv_that_reads_back() -> None:
    line = csv_line(['say "hi", then', "=cmd|' /C calc'!A0", "多行\n文本"])
    assert line.endswith("\r\n")
    assert next(csv.reader(io.StringIO(line))) == [
        'say "hi", then',
        "'=cmd|' /C calc'!A0",
        "多行\n文本",
    ]
