"""The rows of an .xlsx workbook's first sheet, streamed with the standard library.

openpyxl, even in ``read_only`` mode, parses a whole sheet once when it opens the workbook if the
sheet has no ``<dimension>`` element (openpyxl's own write-only files and many generators write
none): a 0.3 MB file of 2 million rows took 19 s and 200 MB before its first row. Here one pass
reads the sheet: each ``<row>`` is turned into values and emptied before the next is read,
so memory holds one row (and an emptied element per row read) and the shared strings.

Bounds (the caller checks the unpacked size of the archive first): at most
``MAX_SHARED_STRINGS`` shared strings, each kept to ``keep_chars`` characters (a longer one is
still longer than any cell the caller accepts), columns past ``max_columns`` not read.
XML comes through ``xml.etree`` (expat): no external entities, and expat refuses entity-expansion
bombs.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Generator
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

MAX_SHARED_STRINGS = 1_000_000

_OFFICE_DOCUMENT = "/officeDocument"
_SHARED_STRINGS = "/sharedStrings"
_CELL_REF = re.compile(r"([A-Za-z]{1,3})([0-9]+)")
_INTEGER = re.compile(r"-?[0-9]+")

Value = str | int | float | bool | None


class XlsxError(Exception):
    """The archive is not a workbook this reader understands; ``args[0]`` says why (English,
    for the log and the message's parenthesis)."""


def _local(tag: str) -> str:
    """A tag without its namespace: transitional and strict OOXML use different ones."""
    return tag.rsplit("}", 1)[-1]


def _attr(element: ElementTree.Element, name: str) -> str | None:
    for key, value in element.attrib.items():
        if _local(key) == name:
            return value
    return None


def _relationships(archive: zipfile.ZipFile, part: str) -> list[tuple[str, str, str]]:
    """(Id, Type, resolved target) of ``part``'s relationships."""
    folder, name = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", name + ".rels")
    try:
        root = ElementTree.fromstring(archive.read(rels))
    except KeyError:
        return []
    found = []
    for rel in root:
        target = rel.get("Target", "")
        resolved = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        found.append((rel.get("Id", ""), rel.get("Type", ""), posixpath.normpath(resolved)))
    return found


def _first_sheet(archive: zipfile.ZipFile) -> tuple[str, str | None]:
    """The first sheet's part and the shared strings' part (None if the workbook has none)."""
    workbook = next(
        (t for _, kind, t in _relationships(archive, "") if kind.endswith(_OFFICE_DOCUMENT)),
        "xl/workbook.xml",
    )
    rels = _relationships(archive, workbook)
    root = ElementTree.fromstring(archive.read(workbook))
    sheet = next((e for e in root.iter() if _local(e.tag) == "sheet"), None)
    if sheet is None:
        raise XlsxError("no sheet")
    rel_id = _attr(sheet, "id")
    part = next((t for i, _, t in rels if i == rel_id), None)
    if part is None:
        raise XlsxError("no sheet part")
    strings = next((t for _, kind, t in rels if kind.endswith(_SHARED_STRINGS)), None)
    return part, strings


def _text(element: ElementTree.Element, keep_chars: int) -> str:
    """The text of an ``<si>`` or ``<is>``: its ``<t>`` runs, without phonetic (``rPh``) ones."""
    parts: list[str] = []
    size = 0
    for child in element.iter():
        tag = _local(child.tag)
        if tag == "rPh":
            for run in child.iter():
                run.text = None  # skipped: the reading aid of East Asian text, not the text
        elif tag == "t" and child.text and size <= keep_chars:
            parts.append(child.text)
            size += len(child.text)
    return "".join(parts)[: keep_chars + 1]


def _shared_strings(source: IO[bytes], keep_chars: int) -> list[str]:
    strings: list[str] = []
    root: ElementTree.Element | None = None
    for event, element in ElementTree.iterparse(source, events=("start", "end")):
        if root is None:
            root = element
        elif event == "end" and _local(element.tag) == "si":
            if len(strings) >= MAX_SHARED_STRINGS:
                raise XlsxError(f"more than {MAX_SHARED_STRINGS} shared strings")
            strings.append(_text(element, keep_chars))
            root.clear()
    return strings


def _column(ref: str | None, previous: int) -> int:
    """The 0-based column of a cell reference (``AB12`` is 27), or the next one without one."""
    if ref is None:
        return previous + 1
    match = _CELL_REF.fullmatch(ref)
    if match is None:
        raise XlsxError(f"bad cell reference {ref[:20]!r}")
    index = 0
    for letter in match.group(1).upper():
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def _value(cell: ElementTree.Element, strings: list[str], keep_chars: int) -> Value:
    kind = cell.get("t", "n")
    if kind == "inlineStr":
        inline = next((e for e in cell if _local(e.tag) == "is"), None)
        return None if inline is None else _text(inline, keep_chars)
    v = next((e for e in cell if _local(e.tag) == "v"), None)
    raw = v.text if v is not None else None
    if raw is None:
        return None
    if kind == "s":
        try:
            return strings[int(raw)]
        except (ValueError, IndexError):
            raise XlsxError("bad shared string index") from None
    if kind == "b":
        return raw.strip() == "1"
    if kind in ("str", "e", "d"):  # a formula's text, an error such as #N/A, an ISO date
        return raw[: keep_chars + 1]
    try:
        return int(raw) if _INTEGER.fullmatch(raw.strip()) else float(raw)
    except ValueError:
        raise XlsxError("bad number") from None


def _row(
    element: ElementTree.Element, strings: list[str], max_columns: int, keep_chars: int
) -> list[Value]:
    values: list[Value] = []
    column = -1
    for cell in element:
        if cell.tag != "c" and not cell.tag.endswith("}c"):
            continue
        column = _column(cell.get("r"), column)
        if column >= max_columns:
            continue
        if column >= len(values):
            values.extend([None] * (column + 1 - len(values)))
        values[column] = _value(cell, strings, keep_chars)
    return values


def iter_rows(
    path: Path, *, max_columns: int, keep_chars: int
) -> Generator[tuple[int, list[Value]], None, None]:
    """(row number, values) for each ``<row>`` of the first sheet, in order; rows the sheet
    leaves out are not yielded. Raises ``XlsxError``, ``zipfile.BadZipFile`` or ``OSError``."""
    with zipfile.ZipFile(path) as archive:
        try:
            sheet_part, strings_part = _first_sheet(archive)
            strings: list[str] = []
            if strings_part is not None and strings_part in archive.namelist():
                with archive.open(strings_part) as source:
                    strings = _shared_strings(source, keep_chars)
            with archive.open(sheet_part) as source:
                number = 0
                for _event, element in ElementTree.iterparse(source):
                    tag = element.tag
                    if tag != "row" and not tag.endswith("}row"):
                        continue
                    r = element.get("r")
                    number = int(r) if r is not None and r.isdigit() else number + 1
                    values = _row(element, strings, max_columns, keep_chars)
                    # Emptied, a row read takes a few dozen bytes until the sheet ends; the
                    # caller stops after its row limit, so they stay few.
                    element.clear()
                    yield number, values
        except KeyError as exc:
            raise XlsxError(f"missing part {exc}") from None
        except ElementTree.ParseError as exc:
            raise XlsxError(f"bad XML: {exc}") from None
