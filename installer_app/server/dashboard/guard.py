"""What every dashboard page shares: the admin gate (sign in; 403; CSRF refused), the answers
it gives instead of a page, the form reader, the redirect and the CSV streamer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import cache
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from psycopg_pool import AsyncConnectionPool

from installer_app.i18n import Message, load_ts_catalog
from installer_app.server.dashboard.csv_export import BOM
from installer_app.server.dashboard.render import (
    SECURITY_HEADERS,
    language_of,
    render,
    translate,
)
from installer_app.server.dashboard.sessions import Viewer, same_origin, same_text, viewer_of

FORM_MAX = 64 * 1024


@cache
def _zh_catalog() -> dict[tuple[str, str], str]:
    return load_ts_catalog("zh_CN")


def both(message: Message) -> dict[str, str]:
    """A core message (a WeCom error, an account rule) in the dashboard's two languages."""
    zh = _zh_catalog()
    return {
        "en": message.english(),
        "zh-CN": message.render(lambda context, text: zh.get((context, text), text)),
    }


def local(path: str) -> str:
    """A redirect target from a query string: a path on this site, never another site."""
    if not path.startswith("/") or path.startswith(("//", "/\\")):
        return "/"
    return path


async def read_form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > FORM_MAX:
        return {}
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[0] for key, values in parsed.items() if values}


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, 303, headers=SECURITY_HEADERS)


def problem(request: Request, status: int, title: str, hint: str) -> Response:
    return render(request, "problem.html", {"title": title, "hint": hint}, status)


def not_admin(request: Request) -> Response:
    lang = language_of(request)
    title, hint = translate(lang, "error.not_admin"), translate(lang, "error.admin_hint")
    return problem(request, 403, title, hint)


async def gate(
    request: Request, pool: AsyncConnectionPool[Any], post: bool = False
) -> Viewer | Response:
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
        return redirect("/signin?" + urlencode({"next": here}))
    if viewer.role != "admin":
        return not_admin(request)
    if post and not same_origin(request):
        return problem(
            request, 403, translate(lang, "error.csrf"), translate(lang, "error.csrf_hint")
        )
    return viewer


async def checked_post(
    request: Request, pool: AsyncConnectionPool[Any]
) -> tuple[Viewer, dict[str, str]] | Response:
    who = await gate(request, pool, post=True)
    if isinstance(who, Response):
        return who
    form = await read_form(request)
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
