"""Who is calling: the Bearer token (rate-limited per token), its installer, admins only."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from installer_app.server.accounts import token_digest
from installer_app.server.errors import forbidden, rate_limited, unauthorized
from installer_app.server.issuance import Who, authenticate
from installer_app.server.state import Pool, server_state

LAPTOP_HEADER = "x-installer-laptop"


def bearer(request: Request) -> tuple[bytes, str]:
    """The token's digest and the laptop id; 401 without a token, 429 over the rate."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized()
    digest = token_digest(token.strip())
    wait = server_state(request).limiter.take(digest)
    if wait is not None:
        raise rate_limited(wait)
    return digest, request.headers.get(LAPTOP_HEADER, "")[:128]


async def caller(request: Request, pool: Pool) -> Who:
    digest, laptop = bearer(request)
    async with pool.connection() as conn:
        return Who(await authenticate(conn, digest), laptop)


async def admin(who: Annotated[Who, Depends(caller)]) -> Who:
    if who.caller.role != "admin":
        raise forbidden()
    return who


Installer = Annotated[Who, Depends(caller)]
Admin = Annotated[Who, Depends(admin)]
