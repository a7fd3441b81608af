"""The device list (and its CSV), what needs attention, one device and its "check now"."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from installer_app.errors import InstallerError
from installer_app.server.dashboard import queries
from installer_app.server.dashboard.csv_export import csv_line
from installer_app.server.dashboard.guard import (
    both,
    checked_post,
    csv_response,
    gate,
    page,
    problem,
    redirect,
)
from installer_app.server.dashboard.queries import Cursor, DeviceFilter
from installer_app.server.dashboard.render import (
    language_of,
    stage_label,
    time_zone_of,
    translate,
    utc_iso,
)
from installer_app.server.state import Pool, State, Wecom
from installer_app.server.watch import _record as record_binding
from installer_app.server.watch import learn_open_corpid

LAPTOP = "dashboard"

router = APIRouter(include_in_schema=False)


@router.get("/")
async def devices(request: Request, state: State) -> Response:
    pool = state.pool
    who = await gate(request, pool)
    if isinstance(who, Response):
        return who
    params = request.query_params
    f = DeviceFilter.from_query(params)
    tz = time_zone_of(request)
    after = Cursor.decode(params.get("after", ""))
    before = Cursor.decode(params.get("before", ""))
    fragment = params.get("fragment") == "1"
    async with pool.connection() as conn:
        result = await queries.list_devices(conn, f, tz, after, before)
        options = None if fragment else await state.filter_choices.get(conn, state.config.model_ids)
    at = {"after": params.get("after", ""), "before": params.get("before", "")}
    context = {
        "f": f,
        "page": result,
        "choices": options,
        "live": "/?" + f.query(**at, fragment="1"),
        "export": "/devices.csv?" + f.query(),
        "first_page": "/?" + f.query(),
    }
    if fragment:
        return page(request, "devices_table.html", who, context)
    return page(request, "devices.html", who, context)


def _device_header(lang: str) -> list[str]:
    keys = (
        "col.sn",
        "col.hw_id",
        "col.model",
        "col.stage",
        "col.last_outcome",
        "col.corpid",
        "col.enterprise",
        "col.app",
        "col.installer",
        "col.first",
        "col.last",
        "col.bound_at",
    )
    return [translate(lang, k) for k in keys]


@router.get("/devices.csv")
async def devices_csv(request: Request, pool: Pool) -> Response:
    who = await gate(request, pool)
    if isinstance(who, Response):
        return who
    f = DeviceFilter.from_query(request.query_params)
    tz = time_zone_of(request)
    lang = language_of(request)
    yes, no = translate(lang, "app.yes"), translate(lang, "app.no")

    async def lines() -> AsyncIterator[str]:
        yield csv_line(_device_header(lang))
        async with pool.connection() as conn:
            async for d in queries.export_devices(conn, f, tz):
                yield csv_line(
                    [
                        d["device_sn"],
                        d["hw_id"],
                        d["model_id"],
                        stage_label(lang, d["stage"]),
                        d["last_outcome"],
                        d["corpid"],
                        d["corp_name"],
                        (yes if d["app_installed"] else no) if d["corpid"] else "",
                        d["installer"],
                        utc_iso(d["issued_at"]),
                        utc_iso(d["updated_at"]),
                        utc_iso(d["bound_at"]),
                    ]
                )

    return csv_response(lines(), "devices.csv")


def _unknown_device(request: Request, lang: str, sn: str) -> Response:
    return problem(
        request,
        404,
        translate(lang, "device.unknown", sn=sn[:128]),
        translate(lang, "device.unknown_hint"),
    )


@router.get("/attention")
async def attention(request: Request, pool: Pool) -> Response:
    who = await gate(request, pool)
    if isinstance(who, Response):
        return who
    tz = time_zone_of(request)
    async with pool.connection() as conn:
        counts = await queries.attention_counts(conn)
        samples = {
            need: (await queries.list_devices(conn, DeviceFilter(need=need), tz, limit=10)).rows
            for need in queries.NEEDS
        }
        leases = await queries.expiring_leases(conn)
    context = {
        "counts": counts,
        "samples": samples,
        "leases": leases,
        "needs": queries.NEEDS,
        "live": "/attention?fragment=1",
    }
    fragment = request.query_params.get("fragment") == "1"
    return page(request, "attention_body.html" if fragment else "attention.html", who, context)


@router.get("/devices/{sn}")
async def one_device(sn: str, request: Request, pool: Pool, wecom: Wecom) -> Response:
    who = await gate(request, pool)
    if isinstance(who, Response):
        return who
    lang = language_of(request)
    async with pool.connection() as conn:
        found = await queries.device(conn, sn[:128])
        if found is None:
            return _unknown_device(request, lang, sn)
        audit = await queries.history(conn, found["device_sn"])
        reported = await queries.events(conn, found["device_sn"])
    checks = [row for row in audit if row["action"] == "check-now"]
    context = {
        "d": found,
        "history": audit,
        "events": reported,
        "last_check": checks[-1] if checks else None,
        "can_check": wecom is not None,
        "live": f"/devices/{quote(found['device_sn'])}?fragment=1",
    }
    fragment = request.query_params.get("fragment") == "1"
    return page(request, "device_body.html" if fragment else "device.html", who, context)


@router.post("/devices/{sn}/check")
async def check_now(sn: str, request: Request, pool: Pool, wecom: Wecom) -> Response:
    """Ask WeCom (get_device_auth_info) now; the answer goes to the audit table, which the
    device's page shows (so a reload does not ask again, and every admin sees it)."""
    checked = await checked_post(request, pool)
    if isinstance(checked, Response):
        return checked
    who, _form_data = checked
    lang = language_of(request)
    async with pool.connection() as conn:
        found = await queries.device(conn, sn[:128])
    if found is None:
        return _unknown_device(request, lang, sn)
    device_sn = found["device_sn"]
    answer: dict[str, Any]
    if wecom is None:
        answer = {"result": "unconfigured"}
    else:
        try:
            binding = await asyncio.to_thread(wecom.get_device_auth_info, device_sn)
        except InstallerError as exc:
            answer = {"result": "error", **both(exc.message)}
        else:
            if binding is None:
                answer = {"result": "unbound"}
            else:
                answer = {
                    "result": "bound",
                    "corpid": binding.corpid,
                    "corp_name": binding.corp_name,
                }
                # The same update the binding watch makes when it sees the scan.
                await record_binding(pool, device_sn, binding)
                await learn_open_corpid(pool, wecom, binding.corpid)
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO audit (installer, laptop, action, device_sn, hw_id, detail) "
            "VALUES (%s, %s, 'check-now', %s, %s, %s)",
            (who.name, LAPTOP, device_sn, found["hw_id"], json.dumps(answer)),
        )
    return redirect(f"/devices/{quote(device_sn)}#check")
