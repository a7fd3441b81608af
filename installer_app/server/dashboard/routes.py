"""The fleet dashboard's pages (team-server.md "Fleet dashboard", docs/dashboard.md).

Server-rendered HTML; one small script (static/dashboard.js) puts times in the viewer's zone and
refreshes the lists in place by fetching their ``?fragment=1`` form every few seconds. Admins only:
a session cookie from the sign-in form or an admin Bearer token; every POST carries the session's
CSRF token and must come from this origin.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from psycopg_pool import AsyncConnectionPool

from installer_app.errors import InstallerError
from installer_app.i18n import Message, load_ts_catalog
from installer_app.server import accounts
from installer_app.server.config import ServerConfig
from installer_app.server.dashboard import charts, queries
from installer_app.server.dashboard.csv_export import BOM, csv_line
from installer_app.server.dashboard.queries import Cursor, DeviceFilter
from installer_app.server.dashboard.render import (
    LANG_COOKIE,
    SECURITY_HEADERS,
    language_of,
    render,
    stage_label,
    time_zone_of,
    translate,
    utc_iso,
)
from installer_app.server.dashboard.sessions import (
    SESSION_COOKIE,
    SESSION_TTL,
    SIGNIN_COOKIE,
    Viewer,
    account_of,
    close_session,
    new_secret,
    open_session,
    same_origin,
    same_text,
    set_cookie,
    viewer_of,
)
from installer_app.server.db import connect
from installer_app.server.watch import _record as record_binding
from installer_app.server.watch import learn_open_corpid
from installer_app.server.wecom_ids import ServerWecomClient

STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
FORM_MAX = 64 * 1024
LAPTOP = "dashboard"
EXPIRES_DAYS_MAX = 3650


@cache
def _static(name: str) -> tuple[bytes, str] | None:
    suffix = name[name.rfind(".") :] if "." in name else ""
    if suffix not in STATIC_TYPES or "/" in name or name.startswith("."):
        return None
    ref = resources.files("installer_app.server.dashboard").joinpath("static", name)
    try:
        return ref.read_bytes(), STATIC_TYPES[suffix]
    except FileNotFoundError:
        return None


@cache
def _zh_catalog() -> dict[tuple[str, str], str]:
    return load_ts_catalog("zh_CN")


def _both(message: Message) -> dict[str, str]:
    """A core message (a WeCom error, an account rule) in the dashboard's two languages."""
    zh = _zh_catalog()
    return {
        "en": message.english(),
        "zh-CN": message.render(lambda context, text: zh.get((context, text), text)),
    }


def _local(path: str) -> str:
    """A redirect target from a query string: a path on this site, never another site."""
    if not path.startswith("/") or path.startswith(("//", "/\\")):
        return "/"
    return path


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > FORM_MAX:
        return {}
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[0] for key, values in parsed.items() if values}


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, 303, headers=SECURITY_HEADERS)


def dashboard_router(
    pool: AsyncConnectionPool[Any],
    config: ServerConfig,
    wecom: ServerWecomClient | None,
    database_url: str,
) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    filter_choices = queries.ChoicesCache()

    def problem(request: Request, status: int, title: str, hint: str) -> Response:
        return render(request, "problem.html", {"title": title, "hint": hint}, status)

    def not_admin(request: Request) -> Response:
        lang = language_of(request)
        title, hint = translate(lang, "error.not_admin"), translate(lang, "error.admin_hint")
        return problem(request, 403, title, hint)

    async def gate(request: Request, post: bool = False) -> Viewer | Response:
        """The admin looking, or the answer to give instead (sign in; 403; CSRF refused)."""
        async with pool.connection() as conn:
            viewer = await viewer_of(conn, request)
        lang = language_of(request)
        if viewer is None:
            if post or request.query_params.get("fragment"):
                return problem(
                    request,
                    401,
                    translate(lang, "error.signed_out"),
                    translate(lang, "error.signed_out_hint"),
                )
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return _redirect("/signin?" + urlencode({"next": here}))
        if viewer.role != "admin":
            return not_admin(request)
        if post and not same_origin(request):
            return problem(
                request, 403, translate(lang, "error.csrf"), translate(lang, "error.csrf_hint")
            )
        return viewer

    async def checked_post(request: Request) -> tuple[Viewer, dict[str, str]] | Response:
        who = await gate(request, post=True)
        if isinstance(who, Response):
            return who
        form = await _form(request)
        if who.csrf is not None and not same_text(form.get("csrf"), who.csrf):
            lang = language_of(request)
            return problem(
                request, 403, translate(lang, "error.csrf"), translate(lang, "error.csrf_hint")
            )
        return who, form

    def page(
        request: Request, template: str, viewer: Viewer, context: dict[str, Any], **kw: Any
    ) -> Response:
        full = {"viewer": viewer, "csrf": viewer.csrf or "", **context}
        return render(request, template, full, **kw)

    # -- static files, language ---------------------------------------------------------------

    @router.get("/static/dashboard/{name}")
    async def static(name: str) -> Response:
        found = _static(name)
        if found is None:
            return Response(b"not found", 404, media_type="text/plain")
        body, media_type = found
        return Response(
            body,
            media_type=media_type,
            headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"},
        )

    @router.get("/lang")
    async def switch_language(request: Request) -> Response:
        chosen = request.query_params.get("to", "")
        response = _redirect(_local(request.query_params.get("next", "/")))
        if chosen in ("en", "zh-CN"):
            set_cookie(response, request, config, LANG_COOKIE, chosen, 365 * 86400)
        return response

    # -- signing in and out -------------------------------------------------------------------

    def signin_page(request: Request, status: int = 200, error: str = "") -> Response:
        csrf = new_secret()
        response = render(
            request,
            "signin.html",
            {
                "csrf": csrf,
                "error": error,
                "next": _local(request.query_params.get("next", "/")),
            },
            status,
        )
        set_cookie(response, request, config, SIGNIN_COOKIE, csrf, 3600)
        return response

    @router.get("/signin")
    async def signin_form(request: Request) -> Response:
        return signin_page(request)

    @router.post("/signin")
    async def signin(request: Request) -> Response:
        lang = language_of(request)
        form = await _form(request)
        if not same_origin(request) or not same_text(
            form.get("csrf"), request.cookies.get(SIGNIN_COOKIE)
        ):
            return signin_page(request, 403, translate(lang, "error.csrf"))
        token = form.get("token", "").strip()
        async with pool.connection() as conn:
            account = await account_of(conn, token) if 0 < len(token) <= 256 else None
            if account is None:
                return signin_page(request, 401, translate(lang, "signin.bad_token"))
            if account.role != "admin":
                return not_admin(request)
            session = await open_session(conn, account.installer_id)
        response = _redirect(_local(form.get("next", "/")))
        max_age = int(SESSION_TTL.total_seconds())
        set_cookie(response, request, config, SESSION_COOKIE, session, max_age)
        response.delete_cookie(SIGNIN_COOKIE, path="/")
        return response

    @router.post("/signout")
    async def signout(request: Request) -> Response:
        checked = await checked_post(request)
        if isinstance(checked, Response):
            return checked
        async with pool.connection() as conn:
            await close_session(conn, request)
        response = _redirect("/signin")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # -- devices ------------------------------------------------------------------------------

    @router.get("/")
    async def devices(request: Request) -> Response:
        who = await gate(request)
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
            options = None if fragment else await filter_choices.get(conn, config.model_ids)
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

    def device_header(lang: str) -> list[str]:
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

    def csv_response(lines: AsyncIterator[str], filename: str) -> Response:
        async def body() -> AsyncIterator[bytes]:
            yield BOM.encode("utf-8")
            async for line in lines:
                yield line.encode("utf-8")

        return StreamingResponse(
            body(),
            media_type="text/csv; charset=utf-8",
            headers={
                **SECURITY_HEADERS,
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            },
        )

    @router.get("/devices.csv")
    async def devices_csv(request: Request) -> Response:
        who = await gate(request)
        if isinstance(who, Response):
            return who
        f = DeviceFilter.from_query(request.query_params)
        tz = time_zone_of(request)
        lang = language_of(request)
        yes, no = translate(lang, "app.yes"), translate(lang, "app.no")

        async def lines() -> AsyncIterator[str]:
            yield csv_line(device_header(lang))
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

    # -- needs attention ----------------------------------------------------------------------

    @router.get("/attention")
    async def attention(request: Request) -> Response:
        who = await gate(request)
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

    # -- one device ---------------------------------------------------------------------------

    @router.get("/devices/{sn}")
    async def one_device(sn: str, request: Request) -> Response:
        who = await gate(request)
        if isinstance(who, Response):
            return who
        lang = language_of(request)
        async with pool.connection() as conn:
            found = await queries.device(conn, sn[:128])
            if found is None:
                return problem(
                    request,
                    404,
                    translate(lang, "device.unknown", sn=sn[:128]),
                    translate(lang, "device.unknown_hint"),
                )
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
    async def check_now(sn: str, request: Request) -> Response:
        """Ask WeCom (get_device_auth_info) now; the answer goes to the audit table, which the
        device's page shows (so a reload does not ask again, and every admin sees it)."""
        checked = await checked_post(request)
        if isinstance(checked, Response):
            return checked
        who, _form_data = checked
        lang = language_of(request)
        async with pool.connection() as conn:
            found = await queries.device(conn, sn[:128])
        if found is None:
            return problem(
                request,
                404,
                translate(lang, "device.unknown", sn=sn[:128]),
                translate(lang, "device.unknown_hint"),
            )
        device_sn = found["device_sn"]
        answer: dict[str, Any]
        if wecom is None:
            answer = {"result": "unconfigured"}
        else:
            try:
                binding = await asyncio.to_thread(wecom.get_device_auth_info, device_sn)
            except InstallerError as exc:
                answer = {"result": "error", **_both(exc.message)}
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
        return _redirect(f"/devices/{quote(device_sn)}#check")

    # -- sites --------------------------------------------------------------------------------

    @router.get("/sites")
    async def sites(request: Request) -> Response:
        who = await gate(request)
        if isinstance(who, Response):
            return who
        async with pool.connection() as conn:
            rows = await queries.sites(conn)
        context = {"sites": rows, "live": "/sites?fragment=1"}
        fragment = request.query_params.get("fragment") == "1"
        return page(request, "sites_table.html" if fragment else "sites.html", who, context)

    @router.get("/sites.csv")
    async def sites_csv(request: Request) -> Response:
        who = await gate(request)
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
    async def one_site(request: Request) -> Response:
        who = await gate(request)
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

    # -- installers ---------------------------------------------------------------------------

    async def installers_page(
        request: Request, who: Viewer, extra: dict[str, Any] | None = None, status: int = 200
    ) -> Response:
        async with pool.connection() as conn:
            rows = await queries.installers(conn)
        context = {
            "installers": rows,
            "live": "/installers?fragment=1",
            "error": "",
            "revoked": request.query_params.get("revoked", "")[:128],
            "form": {"name": "", "role": "installer", "expires_days": ""},
            **(extra or {}),
        }
        fragment = request.query_params.get("fragment") == "1"
        template = "installers_table.html" if fragment else "installers.html"
        return page(request, template, who, context, status=status)

    @router.get("/installers")
    async def installers(request: Request) -> Response:
        who = await gate(request)
        if isinstance(who, Response):
            return who
        return await installers_page(request, who)

    async def sync_db(work: Callable[[Any], Any]) -> Any:
        """accounts.py's functions take a plain (blocking) connection: run them on a thread."""

        def run() -> Any:
            with connect(database_url) as conn:
                return work(conn)

        return await asyncio.to_thread(run)

    @router.post("/installers")
    async def add_installer(request: Request) -> Response:
        checked = await checked_post(request)
        if isinstance(checked, Response):
            return checked
        who, form = checked
        lang = language_of(request)
        name = form.get("name", "")
        role = form.get("role", "installer")
        days_text = form.get("expires_days", "").strip()
        kept = {"name": name, "role": role, "expires_days": days_text}
        days: int | None = None
        if days_text:
            days = int(days_text) if days_text.isdigit() else 0
            if not 1 <= days <= EXPIRES_DAYS_MAX:
                error = translate(lang, "installers.bad_days", n=EXPIRES_DAYS_MAX)
                return await installers_page(request, who, {"error": error, "form": kept}, 400)
        if role not in accounts.ROLES:
            role = "installer"
        try:
            token = await sync_db(
                lambda conn: accounts.add_installer(conn, name, role, days)  # type: ignore[arg-type]
            )
        except accounts.AccountError as exc:
            error = _both(exc.message)[lang]
            return await installers_page(request, who, {"error": error, "form": kept}, 400)
        context = {"name": name.strip(), "role": role, "token": token.reveal()}
        return page(request, "token.html", who, context)

    @router.get("/installers/revoke")
    async def confirm_revoke(request: Request) -> Response:
        who = await gate(request)
        if isinstance(who, Response):
            return who
        name = request.query_params.get("name", "")[: accounts.NAME_MAX + 8]
        return page(request, "revoke.html", who, {"name": name})

    @router.post("/installers/revoke")
    async def revoke(request: Request) -> Response:
        checked = await checked_post(request)
        if isinstance(checked, Response):
            return checked
        who, form = checked
        lang = language_of(request)
        name = form.get("name", "")
        try:
            await sync_db(lambda conn: accounts.revoke(conn, name))
        except accounts.AccountError as exc:
            return await installers_page(request, who, {"error": _both(exc.message)[lang]}, 404)
        return _redirect("/installers?" + urlencode({"revoked": name}))

    return router
