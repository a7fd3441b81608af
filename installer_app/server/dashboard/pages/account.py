"""Static files, the language switch, signing in and out."""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import Response

from installer_app.server.config import ServerConfig
from installer_app.server.dashboard.guard import (
    checked_post,
    local,
    not_admin,
    read_form,
    redirect,
)
from installer_app.server.dashboard.render import LANG_COOKIE, language_of, render, translate
from installer_app.server.dashboard.sessions import (
    SESSION_COOKIE,
    SESSION_TTL,
    SIGNIN_COOKIE,
    account_of,
    close_session,
    new_secret,
    open_session,
    same_origin,
    same_text,
    set_cookie,
)
from installer_app.server.state import Config, Pool

STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

router = APIRouter(include_in_schema=False)


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
async def switch_language(request: Request, config: Config) -> Response:
    chosen = request.query_params.get("to", "")
    response = redirect(local(request.query_params.get("next", "/")))
    if chosen in ("en", "zh-CN"):
        set_cookie(response, request, config, LANG_COOKIE, chosen, 365 * 86400)
    return response


def _signin_page(
    request: Request, config: ServerConfig, status: int = 200, error: str = ""
) -> Response:
    csrf = new_secret()
    response = render(
        request,
        "signin.html",
        {
            "csrf": csrf,
            "error": error,
            "next": local(request.query_params.get("next", "/")),
        },
        status,
    )
    set_cookie(response, request, config, SIGNIN_COOKIE, csrf, 3600)
    return response


@router.get("/signin")
async def signin_form(request: Request, config: Config) -> Response:
    return _signin_page(request, config)


@router.post("/signin")
async def signin(request: Request, pool: Pool, config: Config) -> Response:
    lang = language_of(request)
    form = await read_form(request)
    if not same_origin(request) or not same_text(
        form.get("csrf"), request.cookies.get(SIGNIN_COOKIE)
    ):
        return _signin_page(request, config, 403, translate(lang, "error.csrf"))
    token = form.get("token", "").strip()
    async with pool.connection() as conn:
        account = await account_of(conn, token) if 0 < len(token) <= 256 else None
        if account is None:
            return _signin_page(request, config, 401, translate(lang, "signin.bad_token"))
        if account.role != "admin":
            return not_admin(request)
        session = await open_session(conn, account.installer_id)
    response = redirect(local(form.get("next", "/")))
    max_age = int(SESSION_TTL.total_seconds())
    set_cookie(response, request, config, SESSION_COOKIE, session, max_age)
    response.delete_cookie(SIGNIN_COOKIE, path="/")
    return response


@router.post("/signout")
async def signout(request: Request, pool: Pool) -> Response:
    checked = await checked_post(request, pool)
    if isinstance(checked, Response):
        return checked
    async with pool.connection() as conn:
        await close_session(conn, request)
    response = redirect("/signin")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
