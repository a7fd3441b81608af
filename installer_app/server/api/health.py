"""/healthz and /v1/me."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from installer_app.server.api.auth import Installer
from installer_app.server.db import RETRY_AFTER_S, TRANSIENT
from installer_app.server.models import ErrorAnswer, Health, MeAnswer
from installer_app.server.state import Pool

router = APIRouter()


def db_down() -> JSONResponse:
    return JSONResponse(
        {"errcode": 503, "errmsg": "the database is unavailable; retry later"},
        503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


@router.get("/healthz", response_model=Health, responses={503: {"model": ErrorAnswer}})
async def healthz(pool: Pool) -> Any:
    try:
        async with pool.connection(timeout=3) as conn:
            await conn.execute("SELECT 1")
    except TRANSIENT:
        return db_down()
    return {"errcode": 0, "errmsg": "ok", "database": True}


@router.get("/v1/me", response_model=MeAnswer)
async def me(who: Installer) -> Any:
    return {
        "errcode": 0,
        "errmsg": "ok",
        "installer": who.caller.name,
        "role": who.caller.role,
    }
