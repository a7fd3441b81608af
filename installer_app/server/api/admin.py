"""The admin's device listing (JSON)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from installer_app.server.api.auth import Admin
from installer_app.server.state import Pool

router = APIRouter()


@router.get("/v1/admin/devices")
async def admin_devices(
    who: Admin,
    pool: Pool,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT d.device_sn, d.hw_id, d.model_id, d.stage, d.bind_status, d.corpid, "
            "i.name AS installer FROM devices d LEFT JOIN installers i "
            "ON i.id = d.installer_id ORDER BY d.issued_at DESC LIMIT %s",
            (limit,),
        )
        rows = await cur.fetchall()
    return {"errcode": 0, "errmsg": "ok", "devices": rows}
