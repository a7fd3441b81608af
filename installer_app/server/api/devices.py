"""C1 (issue an SN), C2 (a device's state, long-polled), C3 (an enterprise's installation)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from psycopg_pool import AsyncConnectionPool

from installer_app.server.api.auth import Installer, bearer
from installer_app.server.errors import unknown_sn
from installer_app.server.issuance import Issued
from installer_app.server.models import DeviceAnswer, InstallationAnswer, IssueAnswer, IssueRequest
from installer_app.server.state import Hub, IssuerDep, Pool, State, Wecom
from installer_app.server.watch import learn_open_corpid, look_soon
from installer_app.server.wecom_ids import ServerWecomClient

MAX_WAIT_S = 30

router = APIRouter()


def credential(issued: Issued) -> dict[str, str]:
    return {
        "device_sn": issued.device_sn,
        "credential": issued.credential.reveal(),
        "qr_code": issued.qr_code,
    }


@router.post("/v1/devices", response_model=IssueAnswer)
async def issue(body: IssueRequest, request: Request, issuer: IssuerDep) -> Any:
    digest, laptop = bearer(request)
    issued = await issuer.issue_for_token(digest, laptop, body.model_id, body.hw_id, body.device_sn)
    # A response object as it is: FastAPI skips re-validating the answer (the hot path).
    return JSONResponse({"errcode": 0, "errmsg": "ok", **credential(issued)})


async def _device(pool: AsyncConnectionPool[Any], sn: str) -> dict[str, Any]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT d.device_sn, d.hw_id, d.stage, d.bind_status, d.corpid, d.corp_name, "
            "i.installed, i.agentid FROM devices d "
            "LEFT JOIN corp_ids m ON m.plain_corpid = d.corpid "
            "LEFT JOIN installations i ON i.corpid = coalesce(m.open_corpid, d.corpid) "
            "WHERE upper(d.device_sn) = upper(%s) LIMIT 1",
            (sn,),
        )
        row = await cur.fetchone()
    if row is None:
        raise unknown_sn()
    corp = (
        {"corpid": row["corpid"], "corp_name": row["corp_name"] or ""}
        if row["bind_status"] == 1 and row["corpid"]
        else None
    )
    return {
        "errcode": 0,
        "errmsg": "ok",
        "device_sn": row["device_sn"],
        "hw_id": row["hw_id"],
        "stage": row["stage"],
        "bind_status": row["bind_status"],
        "corp": corp,
        "app_installed": bool(row["installed"]),
        "agentid": row["agentid"] if row["installed"] else None,
    }


@router.get("/v1/devices/{device_sn}", response_model=DeviceAnswer)
async def device(
    device_sn: str,
    who: Installer,
    pool: Pool,
    hub: Hub,
    state: State,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT_S)] = 0,
    bind_status: Annotated[int | None, Query(ge=0, le=1)] = None,
) -> Any:
    if not device_sn.isalnum() or not device_sn.isascii() or len(device_sn) > 128:
        raise unknown_sn()
    if wait <= 0:
        return await _device(pool, device_sn)
    event = hub.subscribe(device_sn)
    try:
        first = await _device(pool, device_sn)
        if first["bind_status"] == 0:
            # A laptop waits for this board's binding: the watch looks at it next (watch.py).
            async with pool.connection() as conn:
                await look_soon(conn, device_sn, state.watch_bell)
        # ``bind_status``: what the laptop last saw (docs/team-mode.md). A change it has
        # not seen yet, made just before this request, is answered at once, not after S s.
        if bind_status is not None and first["bind_status"] != bind_status:
            return first
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return first
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), left)
            event.clear()
            now = await _device(pool, device_sn)
            if now != first:
                return now
    finally:
        hub.unsubscribe(device_sn, event)


async def _installation(pool: AsyncConnectionPool[Any], corpid: str) -> dict[str, Any] | None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT installed, agentid, extract(epoch FROM auth_time)::bigint AS auth_time "
            "FROM installations WHERE corpid = %s OR corpid = "
            "(SELECT open_corpid FROM corp_ids WHERE plain_corpid = %s) "
            "ORDER BY installed DESC LIMIT 1",
            (corpid, corpid),
        )
        row: dict[str, Any] | None = await cur.fetchone()
        return row


async def _learn_open_corpid(
    pool: AsyncConnectionPool[Any], wecom: ServerWecomClient | None, corpid: str
) -> dict[str, Any] | None:
    """A plain corpid not seen yet: ask WeCom for its open corpid, keep the pair."""
    if wecom is None or not await learn_open_corpid(pool, wecom, corpid):
        return None
    return await _installation(pool, corpid)


@router.get("/v1/installations/{corpid}", response_model=InstallationAnswer)
async def installation(corpid: str, who: Installer, pool: Pool, wecom: Wecom) -> Any:
    corpid = corpid[:128]
    row = await _installation(pool, corpid) or await _learn_open_corpid(pool, wecom, corpid)
    if row is None or not row["installed"]:
        return {
            "errcode": 0,
            "errmsg": "ok",
            "installed": False,
            "agentid": None,
            "auth_time": None,
        }
    return {
        "errcode": 0,
        "errmsg": "ok",
        "installed": True,
        "agentid": row["agentid"],
        "auth_time": row["auth_time"],
    }
