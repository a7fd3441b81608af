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

from dataclasses import dataclass
from pathlib import Path

from installer_app.errors import ExitCode
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
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


def parse_inventory(path: Path, *, expected_model_id: str | None = None) -> ParsedInventory:
    """Read ``path``; rows whose ``model_id`` differs from ``expected_model_id`` (when given and
    the row has one) are rejected. Raises ``InventoryFileError`` for a file that is not a table."""
    raise NotImplementedError


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
