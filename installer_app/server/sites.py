"""A site's devices from the team's records, for the site handover (``GET /v1/sites/{corpid}``).

One enterprise, a time range: every board the team worked there, whoever the installer, with the
same rule as the laptop's own handover (installer_app/handover/rows.py): a board bound to the
enterprise belongs to it; a board bound nowhere (failed, skipped, unfinished) belongs to it when
the installer who worked on it bound a board there the same local day (a *site visit*); a board
bound to another enterprise never does. The server knows a board from C1 (``devices``) and from
what the laptops report in C4 (``events``: its steps, failures and location).

The answer carries text from laptops (locations, installer names, failure details) as it was
reported: plain text (C4 refuses control characters), and never a secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from installer_app.server.models import SiteAnswer, SiteDevice, SiteState

# Without a range: from the first record to the last.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


# The events of the range that belong to the site (see the module's docstring), read through
# indexes only: the site's boards by enterprise, their events by SN, then the visits' events by
# installer and day (never every event of the range). ``corp_keys``: the corpid asked for and,
# when it is an open corpid, the plain one bindings carry.
_SITE_EVENTS_SQL = """
WITH corp_keys AS (
    SELECT %(corp)s::text AS corpid
    UNION SELECT plain_corpid FROM corp_ids WHERE open_corpid = %(corp)s
), ours AS (
    SELECT upper(device_sn) AS sn_key, installer_id, bound_at FROM devices
    WHERE corpid IN (SELECT corpid FROM corp_keys)
), our_events AS (
    SELECT e.*, upper(e.device_sn) AS sn_key FROM events e
    WHERE upper(e.device_sn) IN (SELECT sn_key FROM ours)
        AND e.at >= %(since)s AND e.at < %(until)s
), visits AS (
    SELECT installer_id, ((at AT TIME ZONE 'UTC') + %(shift)s)::date AS day FROM our_events
    WHERE step IN ('bound', 'app_installed')
    UNION
    SELECT installer_id, ((bound_at AT TIME ZONE 'UTC') + %(shift)s)::date FROM ours
    WHERE bound_at >= %(since)s AND bound_at < %(until)s
), visit_events AS (
    SELECT e.*, upper(e.device_sn) AS sn_key FROM visits v
    JOIN events e ON e.installer_id = v.installer_id
        AND e.at >= greatest(%(since)s, (v.day - %(shift)s) AT TIME ZONE 'UTC')
        AND e.at < least(%(until)s, (v.day + 1 - %(shift)s) AT TIME ZONE 'UTC')
    LEFT JOIN devices d ON upper(d.device_sn) = upper(e.device_sn)
    WHERE d.corpid IS NULL
)
SELECT sn_key, device_sn, hw_id, step, outcome, at, installer, detail, received_at
FROM our_events
UNION ALL
SELECT sn_key, device_sn, hw_id, step, outcome, at, installer, detail, received_at
FROM visit_events
ORDER BY at, received_at
"""

# What the server knows of those boards, and of the site's boards bound in the range that no
# laptop reported there (bound after their installer left: the server's binding watch saw it).
_SITE_DEVICES_SQL = """
WITH corp_keys AS (
    SELECT %(corp)s::text AS corpid
    UNION SELECT plain_corpid FROM corp_ids WHERE open_corpid = %(corp)s
)
SELECT upper(d.device_sn) AS sn_key, d.device_sn, d.hw_id, d.model_id, d.bind_status, d.corp_name,
    d.bound_at, d.corpid IN (SELECT corpid FROM corp_keys) AS ours, i.name AS account,
    coalesce(inst.installed, false) AS companion
FROM devices d
LEFT JOIN installers i ON i.id = d.installer_id
LEFT JOIN corp_ids m ON m.plain_corpid = d.corpid
LEFT JOIN installations inst ON inst.corpid = coalesce(m.open_corpid, d.corpid)
WHERE upper(d.device_sn) = ANY(%(keys)s)
    OR (d.corpid IN (SELECT corpid FROM corp_keys)
        AND d.bound_at >= %(since)s AND d.bound_at < %(until)s)
"""

# The latest location and whether a laptop reported the companion app, for each board (any time:
# a location typed on a later day still says where the board is).
_SITE_FACTS_SQL = """
SELECT DISTINCT ON (upper(device_sn)) upper(device_sn) AS sn_key, detail AS location
FROM events WHERE upper(device_sn) = ANY(%(keys)s) AND step = 'location'
ORDER BY upper(device_sn), at DESC, received_at DESC
"""
_APP_EVENTS_SQL = """
SELECT DISTINCT upper(device_sn) AS sn_key FROM events
WHERE upper(device_sn) = ANY(%(keys)s) AND step = 'app_installed' AND outcome = 'ok'
"""


@dataclass
class _Board:
    events: list[dict[str, Any]]
    device: dict[str, Any] | None = None


async def site_devices(
    conn: psycopg.AsyncConnection[Any],
    corpid: str,
    since: datetime | None,
    until: datetime | None,
    utc_offset_min: int,
) -> SiteAnswer:
    """The site's devices, oldest first; days are local days ``utc_offset_min`` from UTC."""
    params: dict[str, Any] = {
        "corp": corpid,
        "since": since or EARLIEST,
        "until": until or LATEST,
        "shift": timedelta(minutes=utc_offset_min),
    }
    boards: dict[str, _Board] = {}
    cur = await conn.execute(_SITE_EVENTS_SQL, params)
    for event in await cur.fetchall():
        boards.setdefault(event["sn_key"], _Board([])).events.append(event)
    params["keys"] = list(boards)
    cur = await conn.execute(_SITE_DEVICES_SQL, params)
    corp_name = ""
    for device in await cur.fetchall():
        if device["ours"] and device["bind_status"] == 1:
            corp_name = corp_name or device["corp_name"] or ""
        elif device["sn_key"] not in boards:
            continue
        boards.setdefault(device["sn_key"], _Board([])).device = device
    params["keys"] = list(boards)
    cur = await conn.execute(_SITE_FACTS_SQL, params)
    locations = {row["sn_key"]: row["location"] or "" for row in await cur.fetchall()}
    cur = await conn.execute(_APP_EVENTS_SQL, params)
    app_reported = {row["sn_key"] for row in await cur.fetchall()}
    rows = [
        _row(board, locations.get(key, ""), key in app_reported, params)
        for key, board in boards.items()
    ]
    rows.sort(key=lambda r: r.at)
    return SiteAnswer(corpid=corpid, corp_name=corp_name, devices=rows)


def _row(board: _Board, location: str, app_reported: bool, params: dict[str, Any]) -> SiteDevice:
    device, events = board.device, board.events
    bound = device is not None and bool(device["ours"]) and device["bind_status"] == 1
    state: SiteState
    app: bool | None = None
    if bound:
        assert device is not None
        app = app_reported or bool(device["companion"])
        state = "app_installed" if app else "bound"
    else:
        # The last outcome decides: a board skipped after a failure was skipped.
        outcomes = [e["step"] for e in events if e["step"] in ("failed", "skipped")]
        state = "unfinished"
        if outcomes:
            state = "failed" if outcomes[-1] == "failed" else "skipped"
    times: list[datetime] = [e["at"] for e in events]
    bound_at = device["bound_at"] if device is not None else None
    if bound_at is not None and params["since"] <= bound_at < params["until"]:
        times.append(bound_at)
    last = events[-1] if events else None
    failures = [e for e in events if e["step"] == "failed"]
    return SiteDevice(
        device_sn=device["device_sn"] if device is not None else _last(events, "device_sn"),
        hw_id=device["hw_id"] if device is not None else _last(events, "hw_id"),
        model_id=device["model_id"] if device is not None else "",
        location=location,
        state=state,
        app_installed=app,
        at=max(times),
        installer=(last["installer"] if last else "") or (device or {}).get("account") or "",
        detail=(failures[-1]["detail"] or "") if state == "failed" and failures else "",
    )


def _last(events: Sequence[dict[str, Any]], key: str) -> str:
    return str(events[-1][key]) if events else ""
