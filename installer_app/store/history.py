"""The history of provisioned boards as plain data and as a CSV file for Excel.

Never a secret: ``DeviceRecord`` has no SecretNo to give. The CSV is UTF-8 with a BOM, which is
what makes Excel read Chinese enterprise names correctly; times are ISO 8601 in UTC.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from installer_app.atomic_write import SHARED, replace_atomically
from installer_app.errors import ExitCode
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.store.errors import StoreError
from installer_app.store.records import DeviceRecord, EventRecord


class ExportError(StoreError):
    exit_code = ExitCode.USAGE


HISTORY_COLUMNS: tuple[str, ...] = (
    "device_sn",
    "hw_id",
    "model_id",
    "source",
    "stage",
    "corp_name",
    "corpid",
    "agentid",
    "installer",
    "created_at",
    "reserved_at",
    "written_at",
    "verified_at",
    "committed_at",
    "bound_at",
    "app_installed_at",
    "updated_at",
)
# Text that Excel would run as a formula (CSV injection) is kept as text with a leading quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def record_to_dict(record: DeviceRecord) -> dict[str, Any]:
    """A record as JSON-ready values (``--json`` and the CSV), keyed by ``HISTORY_COLUMNS``."""
    return {
        "device_sn": record.sn,
        "hw_id": record.hw_id,
        "model_id": record.model_id,
        "source": record.source.value,
        "stage": record.stage.value,
        "corp_name": record.corp_name,
        "corpid": record.corpid,
        "agentid": record.agentid,
        "installer": record.installer,
        "created_at": record.created_at.isoformat(),
        "reserved_at": _iso(record.reserved_at),
        "written_at": _iso(record.written_at),
        "verified_at": _iso(record.verified_at),
        "committed_at": _iso(record.committed_at),
        "bound_at": _iso(record.bound_at),
        "app_installed_at": _iso(record.app_installed_at),
        "updated_at": record.updated_at.isoformat(),
    }


def event_to_dict(event: EventRecord) -> dict[str, Any]:
    return {
        "device_sn": event.sn,
        "hw_id": event.hw_id,
        "what": event.what,
        "time": event.time.isoformat(),
        "installer": event.installer,
        "detail": event.detail,
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_history_csv(records: Iterable[DeviceRecord], path: Path) -> int:
    """Write ``records`` to ``path`` (replaced atomically); returns how many rows were written."""
    path = Path(path)
    count = 0
    try:
        with replace_atomically(path, mode=SHARED, encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(HISTORY_COLUMNS)
            for record in records:
                values = record_to_dict(record)
                writer.writerow([_csv_cell(values[c]) for c in HISTORY_COLUMNS])
                count += 1
    except OSError as exc:
        raise ExportError(
            Message(
                QT_TRANSLATE_NOOP("store", "Cannot write {file}: {reason}."),
                file=str(path),
                reason=exc.strerror or type(exc).__name__,
            ),
            Message(QT_TRANSLATE_NOOP("store", "Choose a folder you can write to.")),
        ) from None
    return count
