"""Reading the provider admin's export of pre-registered SNs (provider-api spec, section D).

Accepted: UTF-8 CSV with or without a BOM, comma-, tab- or semicolon-separated (taken from the
header line), or an Excel .xlsx workbook (first sheet). Headers in any order, English or Chinese,
case, spaces and underscores ignored: ``device_sn``/``设备SN`` and ``secret_no``/``SecretNo``/
``调用凭证`` are required, ``model_id``/``型号ID`` and ``qr_code``/``二维码`` optional; other
columns are ignored. Every row that cannot be imported is listed with its row number (as a
spreadsheet shows it: the header is row 1) and a reason. A file that is not a table at all, or
lacks a required column, is one ``InventoryFileError`` naming the file.

SecretNo values become ``Secret`` objects as soon as they are read and are never printed.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import itertools
import re
import zipfile
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from installer_app.errors import ExitCode
from installer_app.formats import is_secret_no, is_sn
from installer_app.i18n import QT_TRANSLATE_NOOP, Message, Source
from installer_app.provider.qr import InvalidQrCode, static_qr_url
from installer_app.secrets import Secret
from installer_app.store import xlsx_rows
from installer_app.store.errors import StoreError


class InventoryFileError(StoreError):
    """The file as a whole cannot be read as an inventory (exit code 2)."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class InventoryRow:
    row: int  # as a spreadsheet numbers it: the header is row 1
    sn: str
    secret_no: Secret
    model_id: str | None
    qr_code: str | None


@dataclass(frozen=True)
class RejectedRow:
    row: int
    sn: str | None  # None when the SN itself is missing or unusable
    reason: Message


@dataclass(frozen=True)
class ParsedInventory:
    source: Path
    rows: tuple[InventoryRow, ...]
    rejected: tuple[RejectedRow, ...]


_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls
_SHOWN_MAX = 40  # an SN quoted in a message is cut here

# Bounds that keep an import's memory and time small whatever the file holds (docs/hardening.md).
MAX_ROWS = 100_000  # data rows in one file; more is refused (split the file)
MAX_CELL_CHARS = 1_024  # a longer cell in a column that counts rejects its row
MAX_XLSX_UNPACKED_BYTES = 64_000_000  # a 100,000-row export unpacks to about 20 MB
_MAX_LINE_CHARS = 65_536  # one CSV line
_MAX_COLUMNS = 256  # columns read from an .xlsx sheet
_SNIFF_BYTES = 1 << 20  # the start of a CSV that decides its encoding
_EXACT_DIGITS_BOUND = 10**15  # Excel keeps 15 significant digits

# A row as read: its number, its cells as text, the unusable cells (index -> reason).
_Record = tuple[int, list[str], dict[int, Source]]

# Normalized header (lower case, no spaces, underscores or hyphens) -> field.
_HEADERS: dict[str, str] = {
    "devicesn": "sn",
    "设备sn": "sn",
    "sn": "sn",
    "secretno": "secret_no",
    "调用凭证": "secret_no",
    "modelid": "model_id",
    "型号id": "model_id",
    "qrcode": "qr_code",
    "二维码": "qr_code",
}
_REQUIRED = (("sn", "device_sn / 设备SN"), ("secret_no", "secret_no / SecretNo / 调用凭证"))


def _normalize_header(value: str) -> str:
    return re.sub(r"[\s_\-]+", "", value).lower()


class _BadCell(Exception):
    """A cell that cannot stand for its text: the row it is in is rejected, if its column counts."""

    def __init__(self, reason: Source) -> None:
        super().__init__(reason.text)
        self.reason = reason


def _cell(value: object) -> str:
    """A cell as text. Excel keeps an all-digit SN as a number: 12345.0 is 12345, but a number
    of more than 15 digits (Excel's precision: the last digits are already lost), a fraction or
    a TRUE/FALSE cell is not an SN, a SecretNo or anything else this file holds."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise _BadCell(QT_TRANSLATE_NOOP("store", "the {column} cell is TRUE or FALSE, not text"))
    if isinstance(value, float):
        if not value.is_integer():
            raise _BadCell(
                QT_TRANSLATE_NOOP("store", "the {column} cell is a fraction, not an SN or text")
            )
        value = int(value)
    if isinstance(value, int) and abs(value) >= _EXACT_DIGITS_BOUND:
        raise _BadCell(
            QT_TRANSLATE_NOOP(
                "store",
                "the {column} cell is a number of more than 15 digits, whose last digits Excel "
                "has already lost; format the column as Text and enter the values again",
            )
        )
    text = str(value).strip()
    if len(text) > MAX_CELL_CHARS:
        raise _BadCell(QT_TRANSLATE_NOOP("store", "the {column} cell is too long"))
    return text


def _cells(values: Iterable[object]) -> tuple[list[str], dict[int, Source]]:
    """A row's cells as text, and the reasons of those that are unusable (left empty)."""
    cells: list[str] = []
    bad: dict[int, Source] = {}
    for index, value in enumerate(values):
        try:
            cells.append(_cell(value))
        except _BadCell as exc:
            bad[index] = exc.reason
            cells.append("")
    return cells, bad


def _file_error(path: Path, reason: Message) -> InventoryFileError:
    return InventoryFileError(
        Message(
            QT_TRANSLATE_NOOP("store", "Cannot import {file}: {reason}."),
            file=str(path),
            reason=reason,
        ),
        Message(
            QT_TRANSLATE_NOOP(
                "store",
                "Use the file exported by the provider admin: UTF-8 CSV (comma or tab) or .xlsx, "
                "with the columns device_sn and secret_no (or 设备SN and 调用凭证).",
            )
        ),
    )


def _encoding_error(path: Path) -> InventoryFileError:
    return InventoryFileError(
        Message(
            QT_TRANSLATE_NOOP(
                "store", "Cannot import {file}: it is not UTF-8, UTF-16 or GB18030 (GBK) text."
            ),
            file=str(path),
        ),
        Message(
            QT_TRANSLATE_NOOP(
                "store",
                'Open it in Excel and choose File > Save As > "CSV UTF-8 (Comma delimited)" '
                "(or save it as .xlsx), then import that file.",
            )
        ),
    )


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 text without a BOM: mostly ASCII, so one byte of each pair is almost always 0."""
    even, odd = head[0::2], head[1::2]
    if len(odd) < 2:
        return None
    if odd.count(0) * 2 >= len(odd) and even.count(0) * 8 <= len(even):
        return "utf-16-le"
    if even.count(0) * 2 >= len(even) and odd.count(0) * 8 <= len(odd):
        return "utf-16-be"
    return None


def _decodes(head: bytes, encoding: str) -> bool:
    """Whether ``head`` (the start of a file, maybe cut inside a character) is ``encoding``."""
    try:
        codecs.getincrementaldecoder(encoding)("strict").decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _csv_encoding(path: Path, head: bytes) -> str:
    """BOM first (UTF-8, UTF-16: Excel's "Unicode text"), then UTF-16 without one, then strict
    UTF-8, then GB18030 (a superset of GBK, what Chinese Windows writes), judged on the first
    ``_SNIFF_BYTES``; a later byte that does not decode stops the import then."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        encoding = _utf16_without_bom(head)
        if encoding is None:
            raise _file_error(
                path, Message(QT_TRANSLATE_NOOP("store", "it is not a text or .xlsx file"))
            )
        return encoding
    for encoding in ("utf-8", "gb18030"):
        if _decodes(head, encoding):
            return encoding
    raise _encoding_error(path)


def _lines(path: Path, text: IO[str]) -> Iterator[str]:
    """The file's lines, each at most ``_MAX_LINE_CHARS`` long: a line without end is refused
    instead of filling the memory."""
    while line := text.readline(_MAX_LINE_CHARS + 1):
        if len(line) > _MAX_LINE_CHARS:
            raise _file_error(
                path,
                Message(
                    QT_TRANSLATE_NOOP("store", "a line is longer than {limit} characters"),
                    limit=_MAX_LINE_CHARS,
                ),
            )
        yield line


def _read_csv(path: Path, head: bytes) -> Generator[_Record, None, None]:
    encoding = _csv_encoding(path, head)
    try:
        with path.open(encoding=encoding, errors="strict", newline="") as text:
            lines = _lines(path, text)
            first: list[str] = []
            for line in lines:
                first.append(line)
                if line.strip():
                    break
            delimiter = max(",\t;", key=(first[-1] if first else "").count)
            reader = csv.reader(itertools.chain(first, lines), delimiter=delimiter)
            for number, values in enumerate(reader, 1):
                yield (number, *_cells(values))
    except UnicodeError:
        raise _encoding_error(path) from None
    except csv.Error as exc:
        raise _file_error(
            path,
            Message(
                QT_TRANSLATE_NOOP("store", "it is not a valid CSV file ({reason})"), reason=exc
            ),
        ) from None
    except OSError as exc:
        raise _file_error(
            path, Message(QT_TRANSLATE_NOOP("store", "{reason}"), reason=exc.strerror or exc)
        ) from None


def _unreadable_xlsx(path: Path, exc: BaseException) -> InventoryFileError:
    return _file_error(
        path,
        Message(
            QT_TRANSLATE_NOOP("store", "it is not a readable .xlsx workbook ({reason})"),
            reason=type(exc).__name__,
        ),
    )


def _check_unpacked_size(path: Path) -> None:
    """A small .xlsx can unpack to gigabytes (one 300 MB cell, millions of shared strings), and
    the shared strings are held while the sheet is read: refuse such a file before reading it.
    The sizes in the zip directory are binding: zipfile stops at them and a lie fails the CRC."""
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _unreadable_xlsx(path, exc) from None
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise _file_error(
            path,
            Message(
                QT_TRANSLATE_NOOP(
                    "store",
                    "it unpacks to {size} MB, more than the {limit} MB an inventory workbook "
                    "may take; split it, or save it as CSV",
                ),
                size=unpacked // 1_000_000,
                limit=MAX_XLSX_UNPACKED_BYTES // 1_000_000,
            ),
        )


def _read_xlsx(path: Path) -> Generator[_Record, None, None]:
    _check_unpacked_size(path)
    rows = xlsx_rows.iter_rows(path, max_columns=_MAX_COLUMNS, keep_chars=MAX_CELL_CHARS)
    with contextlib.closing(rows):
        while True:
            try:
                number, values = next(rows)
            except StopIteration:
                return
            except (xlsx_rows.XlsxError, zipfile.BadZipFile, OSError, ValueError) as exc:
                raise _unreadable_xlsx(path, exc) from None
            yield (number, *_cells(values))


def _rows(path: Path) -> Generator[_Record, None, None]:
    try:
        with path.open("rb") as file:
            head = file.read(_SNIFF_BYTES)
    except OSError as exc:
        raise _file_error(
            path, Message(QT_TRANSLATE_NOOP("store", "{reason}"), reason=exc.strerror or exc)
        ) from None
    if head.startswith(_OLE_MAGIC):
        raise _file_error(
            path,
            Message(
                QT_TRANSLATE_NOOP(
                    "store", "it is an old .xls workbook; save it as .xlsx or CSV in Excel"
                )
            ),
        )
    if head.startswith(_XLSX_MAGIC) or path.suffix.lower() == ".xlsx":
        return _read_xlsx(path)
    return _read_csv(path, head)


def _columns(path: Path, header: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        field = _HEADERS.get(_normalize_header(name))
        if field is None:
            continue
        if field in columns:
            raise _file_error(
                path,
                Message(
                    QT_TRANSLATE_NOOP("store", "the column {column} appears twice"), column=name
                ),
            )
        columns[field] = index
    for field, label in _REQUIRED:
        if field not in columns:
            found = ", ".join(h for h in header if h) or "-"
            raise _file_error(
                path,
                Message(
                    QT_TRANSLATE_NOOP(
                        "store", "it has no {column} column (columns found: {found})"
                    ),
                    column=label,
                    found=found,
                ),
            )
    return columns


def _shown(sn: str) -> str:
    return sn if len(sn) <= _SHOWN_MAX else sn[:_SHOWN_MAX] + "…"


def _reject(row: int, row_sn: str | None, source: Source, **params: object) -> RejectedRow:
    return RejectedRow(row, row_sn, Message(source, **params))


def _field(cells: list[str], columns: dict[str, int], name: str) -> str:
    index = columns.get(name)
    return cells[index] if index is not None and index < len(cells) else ""


def parse_inventory(
    path: Path, *, expected_model_id: str | None = None, max_rows: int = MAX_ROWS
) -> ParsedInventory:
    """Read ``path``; rows whose ``model_id`` differs from ``expected_model_id`` (when given and
    the row has one) are rejected. Raises ``InventoryFileError`` for a file that is not a table
    or has more than ``max_rows`` rows after the header (read one at a time, never whole)."""
    path = Path(path)
    with contextlib.closing(_rows(path)) as records:
        return _parse_rows(path, records, expected_model_id, max_rows)


def _too_many_rows(path: Path, max_rows: int) -> InventoryFileError:
    return _file_error(
        path,
        Message(
            QT_TRANSLATE_NOOP(
                "store",
                "it has more than {limit} rows; split it into files of at most {limit} rows",
            ),
            limit=f"{max_rows:,}",
        ),
    )


def _bad_cell(header: list[str], columns: dict[str, int], bad: dict[int, Source]) -> Message | None:
    """Why the row cannot be imported because of an unusable cell in a column that counts."""
    for index in sorted(columns.values()):
        if index in bad:
            return Message(bad[index], column=header[index])
    return None


def _parse_rows(
    path: Path, records: Iterator[_Record], expected_model_id: str | None, max_rows: int
) -> ParsedInventory:
    columns: dict[str, int] | None = None
    header: list[str] = []
    rows: list[InventoryRow] = []
    rejected: list[RejectedRow] = []
    first_row_of: dict[str, int] = {}
    for number, cells, bad in records:
        if number > max_rows + 1:  # rows as numbered, blank ones too: they take time as well
            raise _too_many_rows(path, max_rows)
        if not any(cells) and not bad:
            continue
        if columns is None:
            header, columns = cells, _columns(path, cells)
            continue
        unusable = _bad_cell(header, columns, bad)
        if unusable is not None:
            rejected.append(RejectedRow(number, None, unusable))
            continue

        sn, secret = _field(cells, columns, "sn"), _field(cells, columns, "secret_no")
        model = _field(cells, columns, "model_id")
        if not sn:
            rejected.append(_reject(number, None, QT_TRANSLATE_NOOP("store", "no device_sn")))
            continue
        if not is_sn(sn):
            rejected.append(
                _reject(
                    number,
                    None,
                    QT_TRANSLATE_NOOP(
                        "store", "SN {sn} is not valid: 1 to 128 letters A-Z, a-z and digits"
                    ),
                    sn=_shown(sn),
                )
            )
            continue
        if not secret:
            rejected.append(
                _reject(number, sn, QT_TRANSLATE_NOOP("store", "SN {sn} has no SecretNo"), sn=sn)
            )
            continue
        if not is_secret_no(secret):
            # Never quote the value: it may be a real secret with a stray character.
            rejected.append(
                _reject(
                    number,
                    sn,
                    QT_TRANSLATE_NOOP(
                        "store",
                        "the SecretNo of SN {sn} is not valid: 1 to 128 printable ASCII "
                        "characters without spaces",
                    ),
                    sn=sn,
                )
            )
            continue
        key = sn.casefold()
        if key in first_row_of:
            rejected.append(
                _reject(
                    number,
                    sn,
                    QT_TRANSLATE_NOOP("store", "SN {sn} appears again (first on row {first})"),
                    sn=sn,
                    first=first_row_of[key],
                )
            )
            continue
        first_row_of[key] = number
        if expected_model_id and model and model != expected_model_id:
            rejected.append(
                _reject(
                    number,
                    sn,
                    QT_TRANSLATE_NOOP(
                        "store", "SN {sn} is for model {model}, not the configured {expected}"
                    ),
                    sn=sn,
                    model=model,
                    expected=expected_model_id,
                )
            )
            continue
        qr_code = _field(cells, columns, "qr_code") or None
        if qr_code is not None:
            # Checked now, not when a board is waiting: a link that is not exactly WeCom's
            # binding page (or that carries the secret) refuses the whole file.
            try:
                qr_code = static_qr_url(qr_code, Secret(secret))
            except InvalidQrCode as exc:
                rejected.append(
                    _reject(
                        number,
                        sn,
                        QT_TRANSLATE_NOOP(
                            "store", "the QR code of SN {sn} is not usable: {problem}"
                        ),
                        sn=sn,
                        problem=exc.problem,
                    )
                )
                continue
        rows.append(
            InventoryRow(
                row=number,
                sn=sn,
                secret_no=Secret(secret),
                model_id=model or None,
                qr_code=qr_code,
            )
        )
    if columns is None:
        raise _file_error(path, Message(QT_TRANSLATE_NOOP("store", "it is empty")))
    return ParsedInventory(source=path, rows=tuple(rows), rejected=tuple(rejected))


def store_rejection(row: InventoryRow) -> RejectedRow:
    """The rejection of a row whose SN the store already holds with another SecretNo."""
    return RejectedRow(
        row.row,
        row.sn,
        Message(
            QT_TRANSLATE_NOOP("store", "SN {sn} is already in the store with another SecretNo"),
            sn=row.sn,
        ),
    )
