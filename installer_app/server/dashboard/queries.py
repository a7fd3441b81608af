"""The dashboard's reads: devices with filters and keyset paging, the lists that need attention,
sites, one device's history, installers.

Every list is ordered by ``(issued_at, hw_id)`` descending and paged by that key (never OFFSET), so
page 2,000 costs what page 1 costs; migrations/0005_dashboard.sql has an index per filter that ends
with that order (docs/dashboard.md shows the plans).
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import psycopg

PAGE_SIZE = 50
EXPORT_BATCH = 2000
SEARCH_MAX = 64
OPTION_LIMIT = 500
# "Needs attention": how long before a device counts as stuck, and a lease as about to expire.
UNBOUND_AFTER = timedelta(days=1)
NO_APP_AFTER = timedelta(hours=1)
LEASE_WARNING = timedelta(days=2)

NEEDS = ("unbound", "noapp", "failed")
_HEX = re.compile(r"^[0-9a-f]{2,128}$")

DEVICE_COLUMNS = (
    "d.device_sn, d.hw_id, d.model_id, d.stage, d.last_outcome, d.bind_status, d.corpid, "
    "d.corp_name, d.issued_at, d.updated_at, d.bound_at, i.name AS installer, "
    "coalesce(app.installed, false) AS app_installed"
)


def app_of(corpid: str) -> str:
    """SQL: the installations of the enterprise ``corpid`` names. A binding names the plain
    corpid, the suite callbacks the open one; corp_ids maps one to the other (wecom_ids.py)."""
    # = ANY(ARRAY[...]) rather than OR: one probe of the primary key per element.
    return (
        f"x.corpid = ANY(ARRAY[{corpid}, "
        f"(SELECT m.open_corpid FROM corp_ids m WHERE m.plain_corpid = {corpid})])"
    )


# What a listed device shows beside its own row; joined to the page's rows only (see page_sql).
DEVICE_JOINS = (
    "LEFT JOIN installers i ON i.id = d.installer_id "
    "LEFT JOIN LATERAL (SELECT bool_or(x.installed) AS installed FROM installations x "
    f"WHERE {app_of('d.corpid')}) app ON true"
)
DEVICE_FROM = f"FROM devices d {DEVICE_JOINS}"
# The enterprises with bound devices but no companion app: a loose index scan over the distinct
# corpids (a few hundred probes), less those with an installation. Devices are then found through
# their corpid's index, never by testing every bound device.
_NO_APP_CORPS = (
    "(WITH RECURSIVE v AS ((SELECT corpid AS x FROM devices WHERE corpid IS NOT NULL "
    "ORDER BY corpid LIMIT 1) UNION ALL SELECT (SELECT corpid FROM devices WHERE corpid > v.x "
    "ORDER BY corpid LIMIT 1) FROM v WHERE v.x IS NOT NULL) SELECT v.x FROM v "
    "WHERE v.x IS NOT NULL AND NOT EXISTS (SELECT 1 FROM installations x "
    f"WHERE {app_of('v.x')} AND x.installed))"
)


@dataclass(frozen=True)
class Cursor:
    """A position in the (issued_at, hw_id) order."""

    issued_at: datetime
    hw_id: str

    def encode(self) -> str:
        return f"{self.issued_at.isoformat()}~{self.hw_id}"

    @classmethod
    def decode(cls, text: str) -> Cursor | None:
        stamp, _, hw_id = text.partition("~")
        try:
            when = datetime.fromisoformat(stamp)
        except ValueError:
            return None
        if when.tzinfo is None or not _HEX.match(hw_id):
            return None
        return cls(when, hw_id)

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Cursor:
        return cls(row["issued_at"], row["hw_id"])


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class DeviceFilter:
    """What a devices list shows; built from the page's query string, leniently (a value that
    does not parse is ignored, never an error page)."""

    stage: str = ""
    corpid: str = ""
    installer: str = ""
    model: str = ""
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    need: str = ""

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> DeviceFilter:
        def text(name: str) -> str:
            return params.get(name, "").strip()[:128]

        need = text("need")
        return cls(
            stage=text("stage"),
            corpid=text("corpid"),
            installer=text("installer"),
            model=text("model"),
            date_from=_date(text("from")),
            date_to=_date(text("to")),
            q=text("q")[:SEARCH_MAX],
            need=need if need in NEEDS else "",
        )

    def params(self) -> dict[str, str]:
        """The query string's fields (only those set), for links and the CSV export."""
        out = {
            "stage": self.stage,
            "corpid": self.corpid,
            "installer": self.installer,
            "model": self.model,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "q": self.q,
            "need": self.need,
        }
        return {k: v for k, v in out.items() if v}

    def query(self, **extra: str) -> str:
        return urlencode({**self.params(), **{k: v for k, v in extra.items() if v}})

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def where(f: DeviceFilter, tz: str) -> tuple[list[str], list[Any]]:
    """SQL conditions over ``devices d`` and their parameters."""
    conds: list[str] = []
    args: list[Any] = []
    if f.stage:
        conds.append("d.stage = %s")
        args.append(f.stage)
    if f.corpid:
        conds.append("d.corpid = %s")
        args.append(f.corpid)
    if f.installer:
        conds.append("d.installer_id = (SELECT id FROM installers WHERE name = %s)")
        args.append(f.installer)
    if f.model:
        conds.append("d.model_id = %s")
        args.append(f.model)
    # Dates are the viewer's calendar days (tz from the browser), not UTC's.
    if f.date_from:
        conds.append("d.issued_at >= (%s::date)::timestamp AT TIME ZONE %s")
        args += [f.date_from, tz]
    if f.date_to:
        conds.append("d.issued_at < (%s::date + 1)::timestamp AT TIME ZONE %s")
        args += [f.date_to, tz]
    if f.q:
        conds.append(
            "(upper(d.device_sn) LIKE %s OR d.hw_id LIKE %s OR d.corp_name ILIKE %s "
            "OR d.corpid = %s)"
        )
        args += [_like(f.q.upper()), _like(f.q.lower()), _like(f.q), f.q]
    if f.need == "unbound":
        conds.append("d.bind_status = 0 AND d.stage <> 'issued' AND d.issued_at < now() - %s")
        args.append(UNBOUND_AFTER)
    elif f.need == "noapp":
        conds.append(
            f"d.corpid IN {_NO_APP_CORPS} AND d.bind_status = 1 AND d.bound_at < now() - %s"
        )
        args.append(NO_APP_AFTER)
    elif f.need == "failed":
        conds.append("d.last_outcome = 'failed'")
    return conds, args


def page_sql(conds: list[str], backwards: bool = False) -> str:
    """One page of devices: the page's rows are chosen first (an index range scan ending at the
    LIMIT), and only they are joined to their installer and companion app."""
    order = "ASC" if backwards else "DESC"
    keys = f"ORDER BY d.issued_at {order}, d.hw_id {order}"
    return (
        f"SELECT {DEVICE_COLUMNS} FROM (SELECT d.* FROM devices d "
        f"{'WHERE ' + ' AND '.join(conds) if conds else ''} {keys} LIMIT %s) d "
        f"{DEVICE_JOINS} {keys}"
    )


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    newer: Cursor | None
    older: Cursor | None


async def list_devices(
    conn: psycopg.AsyncConnection[Any],
    f: DeviceFilter,
    tz: str,
    after: Cursor | None = None,
    before: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """One page: the newest first; ``after`` pages to older devices, ``before`` to newer ones."""
    conds, args = where(f, tz)
    backwards = before is not None and after is None
    at = before if backwards else after
    if at is not None:
        conds.append(f"(d.issued_at, d.hw_id) {'>' if backwards else '<'} (%s, %s)")
        args += [at.issued_at, at.hw_id]
    # Never prepared: psycopg prepares a query run five times, and PostgreSQL may then plan it once
    # for any value, where a "contains" search or a date range needs the plan for this value.
    sql = page_sql(conds, backwards).encode()
    cur = await conn.execute(sql, [*args, limit + 1], prepare=False)
    rows = list(await cur.fetchall())
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
        newer = Cursor.of(rows[0]) if more and rows else None
        older = Cursor.of(rows[-1]) if rows else None
        return Page(rows, newer, older)
    newer = Cursor.of(rows[0]) if at is not None and rows else None
    older = Cursor.of(rows[-1]) if more else None
    return Page(rows, newer, older)


async def export_devices(
    conn: psycopg.AsyncConnection[Any], f: DeviceFilter, tz: str
) -> AsyncIterator[dict[str, Any]]:
    """Every device the filter matches, in batches by the same keyset (no long transaction)."""
    after: Cursor | None = None
    while True:
        page = await list_devices(conn, f, tz, after=after, limit=EXPORT_BATCH)
        for row in page.rows:
            yield row
        if page.older is None:
            return
        after = page.older


async def count_devices(conn: psycopg.AsyncConnection[Any], f: DeviceFilter, tz: str) -> int:
    conds, args = where(f, tz)
    sql = f"SELECT count(*) AS n FROM devices d {'WHERE ' + ' AND '.join(conds) if conds else ''}"
    cur = await conn.execute(sql.encode(), args, prepare=False)
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


# -- the filters' choices ---------------------------------------------------------------------


async def _distinct(conn: psycopg.AsyncConnection[Any], column: str) -> list[str]:
    """The distinct values of an indexed column by a loose index scan (one index probe per
    value, where SELECT DISTINCT would read every row)."""
    sql = (
        f"WITH RECURSIVE v AS ((SELECT {column} AS x FROM devices WHERE {column} IS NOT NULL "
        f"ORDER BY {column} LIMIT 1) UNION ALL SELECT (SELECT {column} FROM devices "
        f"WHERE {column} > v.x ORDER BY {column} LIMIT 1) FROM v WHERE v.x IS NOT NULL) "
        f"SELECT x FROM v WHERE x IS NOT NULL LIMIT {OPTION_LIMIT}"
    )
    cur = await conn.execute(sql.encode())
    return [row["x"] for row in await cur.fetchall()]


CHOICES_TTL_S = 10.0


@dataclass(frozen=True)
class Choices:
    stages: list[str]
    models: list[str]
    installers: list[str]
    enterprises: list[tuple[str, str]]


class ChoicesCache:
    """The values each filter offers, read again at most every CHOICES_TTL_S (one per app, so
    per worker): they change rarely, and a value missing for a few seconds only means typing it
    into the URL."""

    def __init__(self) -> None:
        self._kept: tuple[float, Choices] | None = None

    async def get(self, conn: psycopg.AsyncConnection[Any], model_ids: tuple[str, ...]) -> Choices:
        now = time.monotonic()
        if self._kept is not None and now - self._kept[0] < CHOICES_TTL_S:
            return self._kept[1]
        found = await _read_choices(conn, model_ids)
        self._kept = (now, found)
        return found


async def _read_choices(conn: psycopg.AsyncConnection[Any], model_ids: tuple[str, ...]) -> Choices:
    stages = await _distinct(conn, "stage")
    models = sorted(set(model_ids) | set(await _distinct(conn, "model_id")))
    cur = await conn.execute("SELECT name FROM installers ORDER BY name")
    installers = [row["name"] for row in await cur.fetchall()]
    corpids = await _distinct(conn, "corpid")
    cur = await conn.execute(
        "SELECT c AS corpid, (SELECT corp_name FROM devices WHERE corpid = c "
        "AND corp_name IS NOT NULL LIMIT 1) AS corp_name FROM unnest(%s::text[]) AS c",
        (corpids,),
    )
    enterprises = sorted(
        ((row["corpid"], row["corp_name"] or "") for row in await cur.fetchall()),
        key=lambda e: (e[1] or e[0]).casefold(),
    )
    return Choices(stages, models, installers, enterprises)


# -- needs attention --------------------------------------------------------------------------


async def attention_counts(conn: psycopg.AsyncConnection[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for need in NEEDS:
        counts[need] = await count_devices(conn, DeviceFilter(need=need), "UTC")
    return counts


async def expiring_leases(conn: psycopg.AsyncConnection[Any]) -> list[dict[str, Any]]:
    """Open leases that end within LEASE_WARNING and still hold SNs not tied to a board."""
    cur = await conn.execute(
        "SELECT l.id, l.model_id, l.created_at, l.expires_at, i.name AS installer, "
        "(SELECT count(*) FROM credentials c WHERE c.lease_id = l.id AND c.hw_id IS NULL) "
        "AS unused FROM leases l JOIN installers i ON i.id = l.installer_id "
        "WHERE l.returned_at IS NULL AND l.expires_at > now() AND l.expires_at < now() + %s "
        "ORDER BY l.expires_at",
        (LEASE_WARNING,),
    )
    return [row for row in await cur.fetchall() if row["unused"] > 0]


# -- one device -------------------------------------------------------------------------------


async def device(conn: psycopg.AsyncConnection[Any], sn: str) -> dict[str, Any] | None:
    cur = await conn.execute(
        f"SELECT {DEVICE_COLUMNS}, c.lease_id, c.origin {DEVICE_FROM} "
        "LEFT JOIN credentials c ON c.device_sn = d.device_sn "
        "WHERE upper(d.device_sn) = upper(%s)",
        (sn,),
    )
    row: dict[str, Any] | None = await cur.fetchone()
    return row


async def history(conn: psycopg.AsyncConnection[Any], sn: str) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "SELECT at, installer, laptop, action, hw_id, detail FROM audit "
        "WHERE upper(device_sn) = upper(%s) ORDER BY at, id",
        (sn,),
    )
    return list(await cur.fetchall())


async def events(conn: psycopg.AsyncConnection[Any], sn: str) -> list[dict[str, Any]]:
    """What the laptops reported, with their own times and details (a failure's reason)."""
    cur = await conn.execute(
        "SELECT at, step, outcome, installer, detail FROM events WHERE device_sn = %s "
        "ORDER BY at, received_at",
        (sn,),
    )
    return list(await cur.fetchall())


# -- sites ------------------------------------------------------------------------------------


async def sites(conn: psycopg.AsyncConnection[Any]) -> list[dict[str, Any]]:
    """Every enterprise with bound devices: counts per stage, times, the companion app (one pass
    over the devices, grouped by enterprise and stage; the totals are summed here)."""
    cur = await conn.execute(
        "SELECT d.corpid, d.stage, count(*) AS n, max(d.corp_name) AS corp_name, "
        "min(d.issued_at) AS first_at, max(d.updated_at) AS last_at FROM devices d "
        "WHERE d.corpid IS NOT NULL GROUP BY d.corpid, d.stage"
    )
    by_corp: dict[str, dict[str, Any]] = {}
    for row in await cur.fetchall():
        site = by_corp.setdefault(
            row["corpid"],
            {
                "corpid": row["corpid"],
                "corp_name": row["corp_name"],
                "devices": 0,
                "first_at": row["first_at"],
                "last_at": row["last_at"],
                "stages": {},
            },
        )
        site["devices"] += row["n"]
        site["stages"][row["stage"]] = row["n"]
        site["corp_name"] = site["corp_name"] or row["corp_name"]
        site["first_at"] = min(site["first_at"], row["first_at"])
        site["last_at"] = max(site["last_at"], row["last_at"])
    rows = sorted(by_corp.values(), key=lambda s: (-s["devices"], s["corpid"]))[:OPTION_LIMIT]
    cur = await conn.execute(
        "SELECT c AS corpid, coalesce((SELECT bool_or(x.installed) FROM installations x "
        f"WHERE {app_of('c')}), false) AS app_installed FROM unnest(%s::text[]) AS c",
        ([r["corpid"] for r in rows],),
    )
    installed = {r["corpid"]: r["app_installed"] for r in await cur.fetchall()}
    for row in rows:
        row["app_installed"] = installed.get(row["corpid"], False)
    return rows


async def site(conn: psycopg.AsyncConnection[Any], corpid: str, tz: str) -> dict[str, Any] | None:
    cur = await conn.execute(
        "SELECT max(corp_name) AS corp_name, count(*) AS devices FROM devices WHERE corpid = %s",
        (corpid,),
    )
    head = await cur.fetchone()
    if head is None or head["devices"] == 0:
        return None
    cur = await conn.execute(
        "SELECT stage AS label, count(*) AS n FROM devices WHERE corpid = %s "
        "GROUP BY stage ORDER BY count(*) DESC, stage",
        (corpid,),
    )
    stages = list(await cur.fetchall())
    cur = await conn.execute(
        "SELECT coalesce(i.name, '') AS label, count(*) AS n FROM devices d "
        "LEFT JOIN installers i ON i.id = d.installer_id WHERE d.corpid = %s "
        "GROUP BY i.name ORDER BY count(*) DESC, i.name",
        (corpid,),
    )
    installers = list(await cur.fetchall())
    cur = await conn.execute(
        "SELECT (issued_at AT TIME ZONE %s)::date AS day, count(*) AS n FROM devices "
        "WHERE corpid = %s GROUP BY 1 ORDER BY 1",
        (tz, corpid),
    )
    days = list(await cur.fetchall())
    cur = await conn.execute(
        f"SELECT bool_or(x.installed) AS installed FROM installations x WHERE {app_of('%s')}",
        (corpid, corpid),
    )
    app = await cur.fetchone()
    return {
        "corpid": corpid,
        "corp_name": head["corp_name"] or "",
        "devices": head["devices"],
        "app_installed": bool(app and app["installed"]),
        "stages": stages,
        "installers": installers,
        "days": days,
    }


# -- installers -------------------------------------------------------------------------------


async def installers(conn: psycopg.AsyncConnection[Any]) -> list[dict[str, Any]]:
    """Every account with its last seen (its latest audited action: issuance, events, leases)
    and how many boards it provisioned."""
    cur = await conn.execute(
        "SELECT i.name, i.role, i.created_at, i.expires_at, i.revoked_at, "
        "(i.revoked_at IS NULL AND (i.expires_at IS NULL OR i.expires_at > now())) AS active, "
        "(SELECT max(a.at) FROM audit a WHERE a.installer = i.name) AS last_seen, "
        "(SELECT count(*) FROM devices d WHERE d.installer_id = i.id) AS devices "
        "FROM installers i ORDER BY i.revoked_at IS NOT NULL, i.name"
    )
    return list(await cur.fetchall())
