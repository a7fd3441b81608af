"""Times as a person reads them: local time with its UTC offset. Records keep UTC.

The wizard (History, Done page), the CLI (history) and the report all call ``local_time`` so a
time reads the same everywhere, and a reader in another time zone (a log sent to the office)
still knows which instant it was.
"""

from __future__ import annotations

from datetime import UTC, datetime


def local_time(when: datetime, *, seconds: bool = False) -> str:
    """``2026-12-02 12:48 UTC+08:00``; a naive ``when`` is taken as UTC (what the store keeps)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    local = when.astimezone()
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    shown = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{shown} UTC{sign}{hours:02d}:{mins:02d}"


def parse_utc(text: str) -> datetime | None:
    """An ISO time as the workflow's events carry it; None for anything else."""
    try:
        parsed = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
