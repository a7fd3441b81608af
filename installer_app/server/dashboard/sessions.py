"""Who is looking: a browser session (signed in with an admin token) or an admin Bearer token.

The session cookie holds 32 random bytes; the database keeps their SHA-256 with the account, a CSRF
token and an expiry, so every worker of every instance serves any session, and revoking the admin's
token ends its sessions at the next request (the lookup joins the account's state). Cookies are
HttpOnly and SameSite=Strict, and Secure when the dashboard is reached over HTTPS.
"""

from __future__ import annotations

import hmac
import secrets as pysecrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import psycopg
from fastapi import Request
from fastapi.responses import Response

from installer_app.server.accounts import AUTH_SQL, token_digest
from installer_app.server.config import ServerConfig

SESSION_COOKIE = "dash_session"
# Before sign-in there is no session to hold a CSRF token: the sign-in form's token is also in
# this cookie, and the POST must carry both (double submit).
SIGNIN_COOKIE = "dash_signin"
SESSION_TTL = timedelta(hours=12)


@dataclass(frozen=True)
class Viewer:
    installer_id: int
    name: str
    role: str
    # None for a Bearer token: a header no other site can make a browser send needs no CSRF token.
    csrf: str | None


def new_secret() -> str:
    return pysecrets.token_urlsafe(32)


def is_https(request: Request, config: ServerConfig) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return (
        request.url.scheme == "https"
        or forwarded == "https"
        or config.public_url.lower().startswith("https://")
    )


def set_cookie(
    response: Response,
    request: Request,
    config: ServerConfig,
    name: str,
    value: str,
    max_age: int | None,
    http_only: bool = True,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=http_only,
        samesite="strict",
        secure=is_https(request, config),
    )


async def viewer_of(conn: psycopg.AsyncConnection[Any], request: Request) -> Viewer | None:
    """The Bearer token's owner if the request has one, else the session cookie's."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        cur = await conn.execute(AUTH_SQL, (token_digest(token.strip()),))
        row = await cur.fetchone()
        return None if row is None else Viewer(row["id"], row["name"], row["role"], None)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if not cookie or len(cookie) > 128:
        return None
    cur = await conn.execute(
        "SELECT i.id, i.name, i.role, s.csrf FROM dashboard_sessions s "
        "JOIN installers i ON i.id = s.installer_id WHERE s.token_sha256 = %s "
        "AND s.expires_at > now() AND i.revoked_at IS NULL "
        "AND (i.expires_at IS NULL OR i.expires_at > now())",
        (token_digest(cookie),),
    )
    row = await cur.fetchone()
    return None if row is None else Viewer(row["id"], row["name"], row["role"], row["csrf"])


async def account_of(conn: psycopg.AsyncConnection[Any], token: str) -> Viewer | None:
    """The live account a token pasted into the sign-in form belongs to."""
    cur = await conn.execute(AUTH_SQL, (token_digest(token),))
    row = await cur.fetchone()
    return None if row is None else Viewer(row["id"], row["name"], row["role"], None)


async def open_session(conn: psycopg.AsyncConnection[Any], installer_id: int) -> str:
    """A new session's cookie value; expired sessions are swept on the way."""
    token = new_secret()
    async with conn.transaction():
        await conn.execute("DELETE FROM dashboard_sessions WHERE expires_at < now()")
        await conn.execute(
            "INSERT INTO dashboard_sessions (token_sha256, installer_id, csrf, expires_at) "
            "VALUES (%s, %s, %s, now() + %s)",
            (token_digest(token), installer_id, new_secret(), SESSION_TTL),
        )
    return token


async def close_session(conn: psycopg.AsyncConnection[Any], request: Request) -> None:
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if cookie:
        async with conn.transaction():
            await conn.execute(
                "DELETE FROM dashboard_sessions WHERE token_sha256 = %s", (token_digest(cookie),)
            )


def same_text(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def same_origin(request: Request) -> bool:
    """A browser names the page a POST came from; another site's page is refused."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")
