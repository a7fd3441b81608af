"""The store's rows, one owner for ``Store`` (db.py) and its team-mode tables (team_tables.py):
times as the store writes them, a ``credentials`` row as a ``DeviceRecord``, an ``events`` row as
an ``EventRecord``, and the row reads and writes both run inside their transactions.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from installer_app.store.errors import SnConflict
from installer_app.store.records import DeviceRecord, EventRecord, Source, Stage

RECORD_COLUMNS = (
    "sn, hw_id, model_id, qr_code, source, stage, corpid, corp_name, agentid, installer, "
    "created_at, updated_at, reserved_at, written_at, verified_at, committed_at, bound_at, "
    "app_installed_at, seed_credential, location, lease_id"
)


def iso(moment: datetime) -> str:
    """Every time in the store is UTC ISO 8601 to the microsecond: as text they compare as times."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def record_from_row(row: Sequence[Any]) -> DeviceRecord:
    """A row of ``SELECT {RECORD_COLUMNS} FROM credentials``."""
    (sn, hw_id, model_id, qr, source, stage, corpid, corp_name, agentid, installer) = row[:10]
    times = [_time(v) for v in row[10:18]]
    created, updated = times[0], times[1]
    assert created is not None and updated is not None
    return DeviceRecord(
        sn=sn,
        hw_id=hw_id,
        model_id=model_id,
        qr_code=qr,
        source=Source(source),
        stage=Stage(stage),
        corpid=corpid,
        corp_name=corp_name,
        agentid=agentid,
        installer=installer,
        created_at=created,
        updated_at=updated,
        reserved_at=times[2],
        written_at=times[3],
        verified_at=times[4],
        committed_at=times[5],
        bound_at=times[6],
        app_installed_at=times[7],
        seed_credential=bool(row[18]),
        location=row[19],
        lease_id=row[20],
    )


def event_from_row(r: Sequence[Any]) -> EventRecord:
    """A row of ``SELECT id, sn, hw_id, what, time, installer, detail FROM events``."""
    return EventRecord(
        id=r[0],
        sn=r[1],
        hw_id=r[2],
        what=r[3],
        time=datetime.fromisoformat(r[4]),
        installer=r[5],
        detail=r[6],
    )


def record_by_sn(conn: sqlite3.Connection, sn: str) -> DeviceRecord | None:
    row = conn.execute(f"SELECT {RECORD_COLUMNS} FROM credentials WHERE sn = ?", (sn,)).fetchone()
    return record_from_row(row) if row else None


def record_by_hw_id(conn: sqlite3.Connection, hw_id: str) -> DeviceRecord | None:
    row = conn.execute(
        f"SELECT {RECORD_COLUMNS} FROM credentials WHERE hw_id = ?", (hw_id,)
    ).fetchone()
    return record_from_row(row) if row else None


def add_event(
    conn: sqlite3.Connection,
    sn: str,
    hw_id: str | None,
    what: str,
    now: str,
    installer: str | None,
    detail: str | None,
) -> None:
    conn.execute(
        "INSERT INTO events (sn, hw_id, what, time, installer, detail) VALUES (?, ?, ?, ?, ?, ?)",
        (sn, hw_id, what, now, installer, detail),
    )


def assign(
    conn: sqlite3.Connection,
    sn: str,
    hw_id: str,
    installer: str,
    now: str,
    *,
    seed: bool = False,
) -> None:
    """Give the free credential ``sn`` to board ``hw_id`` (reserved), with its event."""
    cursor = conn.execute(
        "UPDATE credentials SET hw_id = ?, stage = 'reserved', reserved_at = ?, "
        "installer = ?, updated_at = ?, seed_credential = ? "
        "WHERE sn = ? AND hw_id IS NULL",
        (hw_id, now, installer, now, int(seed), sn),
    )
    if cursor.rowcount != 1:  # cannot happen inside BEGIN IMMEDIATE; refuse if it does
        raise SnConflict(sn, None, hw_id)
    add_event(conn, sn, hw_id, Stage.RESERVED.value, now, installer, Source.INVENTORY.value)
