"""Installers and admins: the list, adding one (its token shown once), revoking one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from psycopg_pool import AsyncConnectionPool

from installer_app.server import accounts
from installer_app.server.dashboard import queries
from installer_app.server.dashboard.guard import both, checked_post, gate, page, redirect
from installer_app.server.dashboard.render import language_of, translate
from installer_app.server.dashboard.sessions import Viewer
from installer_app.server.db import connect
from installer_app.server.state import Pool, State

EXPIRES_DAYS_MAX = 3650

router = APIRouter(include_in_schema=False)


async def _installers_page(
    request: Request,
    pool: AsyncConnectionPool[Any],
    who: Viewer,
    extra: dict[str, Any] | None = None,
    status: int = 200,
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
async def installers(request: Request, pool: Pool) -> Response:
    who = await gate(request, pool)
    if isinstance(who, Response):
        return who
    return await _installers_page(request, pool, who)


async def _sync_db(database_url: str, work: Callable[[Any], Any]) -> Any:
    """accounts.py's functions take a plain (blocking) connection: run them on a thread."""

    def run() -> Any:
        with connect(database_url) as conn:
            return work(conn)

    return await asyncio.to_thread(run)


@router.post("/installers")
async def add_installer(request: Request, state: State) -> Response:
    pool = state.pool
    checked = await checked_post(request, pool)
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
            return await _installers_page(request, pool, who, {"error": error, "form": kept}, 400)
    if role not in accounts.ROLES:
        role = "installer"
    try:
        token = await _sync_db(
            state.database_url,
            lambda conn: accounts.add_installer(conn, name, role, days),  # type: ignore[arg-type]
        )
    except accounts.AccountError as exc:
        error = both(exc.message)[lang]
        return await _installers_page(request, pool, who, {"error": error, "form": kept}, 400)
    context = {"name": name.strip(), "role": role, "token": token.reveal()}
    return page(request, "token.html", who, context)


@router.get("/installers/revoke")
async def confirm_revoke(request: Request, pool: Pool) -> Response:
    who = await gate(request, pool)
    if isinstance(who, Response):
        return who
    name = request.query_params.get("name", "")[: accounts.NAME_MAX + 8]
    return page(request, "revoke.html", who, {"name": name})


@router.post("/installers/revoke")
async def revoke(request: Request, state: State) -> Response:
    pool = state.pool
    checked = await checked_post(request, pool)
    if isinstance(checked, Response):
        return checked
    who, form = checked
    lang = language_of(request)
    name = form.get("name", "")
    try:
        await _sync_db(state.database_url, lambda conn: accounts.revoke(conn, name))
    except accounts.AccountError as exc:
        error = both(exc.message)[lang]
        return await _installers_page(request, pool, who, {"error": error}, 404)
    return redirect("/installers?" + urlencode({"revoked": name}))
