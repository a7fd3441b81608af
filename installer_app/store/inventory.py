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

import contextlib
import csv
import io
import re
import zipfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

from installer_app.errors import ExitCode
from installer_app.formats import is_secret_no, is_sn
from installer_app.i18n import QT_TRANSLATE_NOOP, Message, Source
from installer_app.provider.qr import InvalidQrCode, static_qr_url
from installer_app.secrets import Secret
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


def _cell(value: object) -> str:
    """A cell as text: Excel gives numbers for an all-digit SN; 12345.0 is 12345."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


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


def _read_csv(path: Path, data: bytes) -> Generator[tuple[int, list[str]], None, None]:
    if b"\x00" in data:
        raise _file_error(
            path, Message(QT_TRANSLATE_NOOP("store", "it is not a text or .xlsx file"))
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _file_error(
            path,
            Message(
                QT_TRANSLATE_NOOP("store", "it is not UTF-8 text (bad byte at offset {offset})"),
                offset=exc.start,
            ),
        ) from None
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",\t;", key=first.count)
    try:
        for number, cells in enumerate(
            csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 1
        ):
            yield number, [_cell(c) for c in cells]
    except csv.Error as exc:
        raise _file_error(
            path,
            Message(
                QT_TRANSLATE_NOOP("store", "it is not a valid CSV file ({reason})"), reason=exc
            ),
        ) from None


def _read_xlsx(path: Path) -> Generator[tuple[int, list[str]], None, None]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
        raise _file_error(
            path,
            Message(
                QT_TRANSLATE_NOOP("store", "it is not a readable .xlsx workbook ({reason})"),
                reason=type(exc).__name__,
            ),
        ) from None
    try:
        sheet = workbook.worksheets[0]
        rows = enumerate(sheet.iter_rows(min_row=1, values_only=True), 1)
        while True:
            try:
                number, values = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on bad XML
                raise _file_error(
                    path,
                    Message(
                        QT_TRANSLATE_NOOP(
                            "store", "it is not a readable .xlsx workbook ({reason})"
                        ),
                        reason=type(exc).__name__,
                    ),
                ) from None
            yield number, [_cell(v) for v in values]
    finally:
        workbook.close()


def _rows(path: Path) -> Generator[tuple[int, list[str]], None, None]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _file_error(
            path, Message(QT_TRANSLATE_NOOP("store", "{reason}"), reason=exc.strerror or exc)
        ) from None
    if data.startswith(_OLE_MAGIC):
        raise _file_error(
            path,
            Message(
                QT_TRANSLATE_NOOP(
                    "store", "it is an old .xls workbook; save it as .xlsx or CSV in Excel"
                )
            ),
        )
    if data.startswith(_XLSX_MAGIC) or path.suffix.lower() == ".xlsx":
        return _read_xlsx(path)
    return _read_csv(path, data)


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


def parse_inventory(path: Path, *, expected_model_id: str | None = None) -> ParsedInventory:
    """Read ``path``; rows whose ``model_id`` differs from ``expected_model_id`` (when given and
    the row has one) are rejected. Raises ``InventoryFileError`` for a file that is not a table."""
    path = Path(path)
    with contextlib.closing(_rows(path)) as records:
        return _parse_rows(path, records, expected_model_id)


def _parse_rows(
    path: Path, records: Iterator[tuple[int, list[str]]], expected_model_id: str | None
) -> ParsedInventory:
    columns: dict[str, int] | None = None
    rows: list[InventoryRow] = []
    rejected: list[RejectedRow] = []
    first_row_of: dict[str, int] = {}
    for number, cells in records:
        if not any(cells):
            continue
        if columns is None:
            columns = _columns(path, cells)
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
