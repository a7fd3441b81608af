"""Bounded, streamed inventory import: row limit, cell length, lossy Excel numbers, unpacked
size, and the encodings Excel writes (UTF-16 "Unicode text", GBK/GB18030)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest

from installer_app.store.inventory import (
    MAX_CELL_CHARS,
    MAX_XLSX_UNPACKED_BYTES,
    InventoryFileError,
    parse_inventory,
)
from tests.fixtures.store import CHINESE_HEADERS, InventoryWriter

SECRET = "8f14e45fceea167a5a36dedd4bea2543"


def file_error(path: Path, **kwargs: int) -> str:
    with pytest.raises(InventoryFileError) as caught:
        parse_inventory(path, **kwargs)
    message, hint = caught.value.describe()
    return f"{message} {hint}"


def numbered_rows(count: int) -> list[tuple[str, str]]:
    return [(f"SN{i:06d}", f"secret-{i:06d}") for i in range(count)]


@pytest.mark.parametrize("name", ["inv.csv", "inv.xlsx"])
def test_row_limit_is_inclusive_and_refuses_the_file_above_it(
    write_inventory: InventoryWriter, name: str
) -> None:
    assert (
        len(parse_inventory(write_inventory(numbered_rows(10), name=name), max_rows=10).rows) == 10
    )
    text = file_error(write_inventory(numbered_rows(11), name=name), max_rows=10)
    assert "more than 10 rows" in text and "split it" in text


def test_rows_past_the_limit_are_never_read(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    # Past the first megabyte (which decides the encoding) a byte that does not decode: the
    # import stops at the row limit, long before it reads that far.
    filler = "".join(f"SN{i},secret{i}\n" for i in range(90_000)).encode()
    path.write_bytes(b"device_sn,secret_no\n" + filler + b"SNX,\x80\xff\n")
    assert "more than 10 rows" in file_error(path, max_rows=10)


def test_blank_rows_count_toward_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("device_sn,secret_no\n" + "\n" * 50 + "SN1,s1\n", encoding="utf-8")
    assert "more than 10 rows" in file_error(path, max_rows=10)


def xlsx(tmp_path: Path, *rows: tuple[object, ...]) -> Path:
    path = tmp_path / "cells.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["device_sn", "secret_no", "qr_code", "notes"])
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    workbook.close()
    return path


QR_PREFIX = "https://open.work.weixin.qq.com/connect/hardware?hw_code="


def test_xlsx_cells_that_lost_digits_or_are_not_text_are_rejected_rows(tmp_path: Path) -> None:
    path = xlsx(
        tmp_path,
        (123456789012345678, SECRET),  # an int past Excel's 15 digits
        (1.2345678901234568e17, SECRET),  # what Excel stores for it
        (12345.5, SECRET),
        ("SNBOOL", True),
        (True, SECRET),
        ("SNLONG", SECRET, "x" * (MAX_CELL_CHARS + 1)),
        # A long cell in a column nobody reads is ignored (the qr_code must be a binding link:
        # issue 11 hardening 4, so it cannot be MAX_CELL_CHARS long).
        ("SNOK", SECRET, QR_PREFIX + "A" * 128, "y" * 5000),
        (123456789012345, SECRET),  # 15 digits are exact
    )
    parsed = parse_inventory(path)
    assert [r.sn for r in parsed.rows] == ["SNOK", "123456789012345"]
    reasons = {r.row: r.reason.english() for r in parsed.rejected}
    assert set(reasons) == {2, 3, 4, 5, 6, 7}
    assert "more than 15 digits" in reasons[2] and "more than 15 digits" in reasons[3]
    assert "fraction" in reasons[4]
    assert reasons[5] == "the secret_no cell is TRUE or FALSE, not text"
    assert reasons[6] == "the device_sn cell is TRUE or FALSE, not text"
    assert reasons[7] == "the qr_code cell is too long"
    assert all(r.sn is None for r in parsed.rejected)


def test_xlsx_that_unpacks_too_large_is_refused_before_it_is_read(tmp_path: Path) -> None:
    good = xlsx(tmp_path, ("SN1", SECRET))
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        dst.writestr("xl/media/padding.bin", b"\0" * (MAX_XLSX_UNPACKED_BYTES + 1))
    assert bomb.stat().st_size < 1_000_000
    assert "unpacks to 64 MB, more than the 64 MB" in file_error(bomb)


ROWS_TEXT = "device_sn\tsecret_no\tmodel_id\r\nWXA1\tabc!1\tWX-ATT-200\r\nWXA2\txyz~2\t型号二\r\n"


@pytest.mark.parametrize(
    "encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8", "gbk", "gb18030", "utf-8-sig"]
)
def test_encodings_excel_writes(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / f"{encoding}.txt"
    path.write_bytes(ROWS_TEXT.encode(encoding))  # "utf-16" has a BOM, -le/-be have none
    parsed = parse_inventory(path)
    assert parsed.rejected == ()
    assert [(r.sn, r.secret_no.reveal(), r.model_id) for r in parsed.rows] == [
        ("WXA1", "abc!1", "WX-ATT-200"),
        ("WXA2", "xyz~2", "型号二"),
    ]


def test_gbk_with_chinese_headers(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes((",".join(CHINESE_HEADERS) + "\r\nWXA1,abc,WX-ATT-200,\r\n").encode("gbk"))
    assert [r.sn for r in parse_inventory(path).rows] == ["WXA1"]


def test_an_endless_csv_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "endless.csv"
    path.write_text("device_sn,secret_no\nSN1," + "a" * 200_000 + "\n", encoding="utf-8")
    assert "a line is longer than 65536 characters" in file_error(path)


def test_a_bad_byte_after_the_sniffed_start_is_an_encoding_error(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    filler = "".join(f"SN{i},secret{i}\n" for i in range(90_000))  # > 1 MB of valid UTF-8
    path.write_bytes(b"device_sn,secret_no\n" + filler.encode() + b"SNX,\xff\xfe\n")
    assert "Save As" in file_error(path)


def test_xlsx_reader_handles_what_other_writers_produce(tmp_path: Path) -> None:
    """No <dimension>, rows and cells without references, rich text and phonetic runs in the
    shared strings, an inline string, a formula's cached text, and a gap between columns."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    path = tmp_path / "other.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="r1" Type="{rel}/officeDocument" Target="/xl/book.xml"/>'
            "</Relationships>",
        )
        archive.writestr(
            "xl/book.xml",
            f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            '<sheet name="导出" sheetId="7" r:id="rS"/></sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/book.xml.rels",
            f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rS" Type="{rel}/worksheet" Target="sheets/s.xml"/>'
            f'<Relationship Id="rT" Type="{rel}/sharedStrings" Target="strings.xml"/>'
            "</Relationships>",
        )
        archive.writestr(
            "xl/strings.xml",
            f'<sst xmlns="{main}"><si><t>设备</t><rPh><t>せつび</t></rPh><r><t>SN</t></r></si>'
            "<si><t>调用凭证</t></si><si><r><t>WXA</t></r><r><t>1</t></r></si></sst>",
        )
        archive.writestr(
            "xl/sheets/s.xml",
            f'<worksheet xmlns="{main}"><sheetData>'
            '<row><c t="s"><v>0</v></c><c t="s"><v>1</v></c><c r="E1" t="inlineStr">'
            "<is><t>notes</t></is></c></row>"
            '<row><c t="s"><v>2</v></c><c t="str"><f>A1</f><v>abc!1</v></c></row>'
            '<row r="5"><c r="A5"><v>1234567</v></c><c r="B5" t="inlineStr"><is><t>x~2</t></is>'
            '</c><c r="E5" t="b"><v>1</v></c></row>'
            "</sheetData></worksheet>",
        )
    parsed = parse_inventory(path)
    assert parsed.rejected == ()
    assert [(r.row, r.sn, r.secret_no.reveal()) for r in parsed.rows] == [
        (2, "WXA1", "abc!1"),
        (5, "1234567", "x~2"),
    ]


def test_xlsx_without_a_sheet_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "nosheet.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook><sheets/></workbook>")
    assert "not a readable .xlsx workbook (XlsxError)" in file_error(path)


def test_xlsx_with_an_entity_expansion_bomb_is_refused(tmp_path: Path) -> None:
    good = xlsx(tmp_path, ("SN1", SECRET))
    bomb = tmp_path / "laughs.xlsx"
    entities = '<!ENTITY a0 "lol">' + "".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)
    )
    sheet = (
        f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetData><row><c t="inlineStr"><is><t>&a9;</t></is></c></row></sheetData></worksheet>'
    )
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = sheet.encode()
            dst.writestr(item, data)
    assert "not a readable .xlsx workbook" in file_error(bomb)
