"""The sites (enterprises) list, its CSV, and one site with its charts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from installer_app.server.dashboard import charts, queries
from installer_app.server.dashboard.csv_export import csv_line
from installer_app.server.dashboard.guard import csv_response, gate, page, problem
from installer_app.server.dashboard.render import (
    language_of,
    stage_label,
    time_zone_of,
    translate,
    utc_iso,
)
from installer_app.server.state import Pool

router = APIRouter(include_in_schema=False)


@router.get("/sites")
async def sites(request: Request, pool: Pool) -> Response:
    who = await gate(request, pool)
    if isinstance(who, Response):
        return who
    async with pool.connection() as conn:
        rows = await queries.sites(conn)
    context = {"sites": rows, "live": "/sites?fragment=1"}
    fragment = request.query_params.get("fragment") == "1"
    return page(request, "sites_table.html" if fragment else "sites.html", who, context)


@router.get("/sites.csv")
async def sites_csv(request: Request, pool: Pool) -> Response:
    who = await gate(request, pool)
    if isinstance(who, Response):
        return who
    lang = language_of(request)
    async with pool.connection() as conn:
        rows = await queries.sites(conn)
    stages = sorted({s for row in rows for s in row["stages"]})
    yes, no = translate(lang, "app.yes"), translate(lang, "app.no")

    async def lines() -> AsyncIterator[str]:
        head = ["col.enterprise", "col.corpid", "col.app", "col.devices", "col.first"]
        yield csv_line(
            [translate(lang, k) for k in head]
            + [translate(lang, "col.last")]
            + [stage_label(lang, s) for s in stages]
        )
        for row in rows:
            yield csv_line(
                [
                    row["corp_name"],
                    row["corpid"],
                    yes if row["app_installed"] else no,
                    row["devices"],
                    utc_iso(row["first_at"]),
                    utc_iso(row["last_at"]),
                ]
                + [row["stages"].get(s, 0) for s in stages]
            )

    return csv_response(lines(), "sites.csv")


@router.get("/site")
async def one_site(request: Request, pool: Pool) -> Response:
    who = await gate(request, pool)
    if isinstance(who, Response):
        return who
    lang = language_of(request)
    corpid = request.query_params.get("corpid", "")[:128]
    async with pool.connection() as conn:
        found = await queries.site(conn, corpid, time_zone_of(request))
    if found is None:
        return problem(
            request,
            404,
            translate(lang, "site.unknown", corpid=corpid),
            translate(lang, "site.unknown_hint"),
        )
    unnamed = translate(lang, "site.no_installer")
    context = {
        "s": found,
        "by_stage": charts.horizontal(
            [(stage_label(lang, r["label"]), r["n"]) for r in found["stages"]]
        ),
        "by_installer": charts.horizontal(
            [(r["label"] or unnamed, r["n"]) for r in found["installers"]]
        ),
        "by_day": charts.daily(found["days"]),
        "devices_link": "/?" + urlencode({"corpid": corpid}),
        "export": "/devices.csv?" + urlencode({"corpid": corpid}),
    }
    return page(request, "site.html", who, context)
