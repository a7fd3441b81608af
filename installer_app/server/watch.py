"""The server's own binding watch: get_device_auth_info for every issued device not bound yet.

So a laptop may leave before the enterprise admin scans. Each worker runs this loop, and they share
one pace through the database: a worker may call WeCom only when it holds the ``watch_pace`` row
(``FOR UPDATE SKIP LOCKED``) and the row's ``next_at`` has come, and it moves ``next_at`` on by
``GAP_S`` when it does. So all workers and instances together make at most 1/GAP_S calls a second
(20, against WeCom's 10,000 a minute), and each device is looked at about every
``poll_interval_s`` (less often as it ages unbound; with more unbound devices than the pace
allows, each waits its turn). A database or WeCom that is away only makes the loop wait and try
again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from psycopg_pool import AsyncConnectionPool

from installer_app.errors import InstallerError
from installer_app.provider.wecom import CorpBinding
from installer_app.server.db import TRANSIENT
from installer_app.server.wecom_ids import ServerWecomClient

log = logging.getLogger(__name__)

GAP_S = 0.05
IDLE_S = 0.2
ERROR_PAUSE_S = 1.0


async def _claim(pool: AsyncConnectionPool[Any], poll_interval_s: float) -> str | None:
    """One device due for a look, with the pace row moved on; None when none is due now."""
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            "SELECT next_at <= now() AS due FROM watch_pace WHERE id = 1 FOR UPDATE SKIP LOCKED"
        )
        pace = await cur.fetchone()
        if pace is None or not pace["due"]:
            return None
        cur = await conn.execute(
            "SELECT device_sn FROM devices WHERE bind_status = 0 AND next_check_at <= now() "
            "ORDER BY next_check_at LIMIT 1 FOR UPDATE SKIP LOCKED"
        )
        row = await cur.fetchone()
        if row is None:
            return None
        # A device issued long ago and still unbound (stock on a shelf) is looked at less often,
        # so it does not take the pace from the boards on site right now: the interval grows
        # with the device's age in ten-minute steps, up to an hour.
        await conn.execute(
            "UPDATE devices SET next_check_at = now() + make_interval(secs => LEAST(3600, "
            "%s * GREATEST(1, extract(epoch FROM now() - issued_at) / 600))) "
            "WHERE device_sn = %s",
            (poll_interval_s, row["device_sn"]),
        )
        await conn.execute(
            "UPDATE watch_pace SET next_at = now() + make_interval(secs => %s) WHERE id = 1",
            (GAP_S,),
        )
        sn: str = row["device_sn"]
        return sn


async def _record(pool: AsyncConnectionPool[Any], sn: str, binding: CorpBinding) -> None:
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            "UPDATE devices SET bind_status = 1, corpid = %s, corp_name = %s, bound_at = now(), "
            "stage = CASE WHEN stage IN ('issued', 'written', 'registered') THEN 'bound' "
            "ELSE stage END, updated_at = now() WHERE device_sn = %s AND bind_status = 0 "
            "RETURNING hw_id",
            (binding.corpid, binding.corp_name, sn),
        )
        row = await cur.fetchone()
        if row is not None:
            await conn.execute(
                "INSERT INTO audit (action, device_sn, hw_id, detail) VALUES ('bound', %s, %s, %s)",
                (sn, row["hw_id"], binding.corpid),
            )


async def learn_open_corpid(
    pool: AsyncConnectionPool[Any], wecom: ServerWecomClient, corpid: str
) -> bool:
    """Keep ``corpid``'s open corpid (WeCom's corpid_to_opencorpid); False when WeCom does not
    say. The suite callbacks name enterprises by open corpid, bindings by the plain one."""
    if not corpid.isascii() or not corpid.replace("_", "").replace("-", "").isalnum():
        return False
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT 1 FROM corp_ids WHERE plain_corpid = %s", (corpid,))
        if await cur.fetchone() is not None:
            return True
    try:
        open_id = await asyncio.to_thread(wecom.corpid_to_opencorpid, corpid)
    except InstallerError as exc:
        log.info("corpid_to_opencorpid: %s", exc.message.english())
        return False
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO corp_ids (plain_corpid, open_corpid) VALUES (%s, %s) "
            "ON CONFLICT (plain_corpid) DO UPDATE SET open_corpid = EXCLUDED.open_corpid",
            (corpid, open_id),
        )
    return True


async def watch_bindings(
    pool: AsyncConnectionPool[Any], wecom: ServerWecomClient, poll_interval_s: float
) -> None:
    while True:
        try:
            sn = await _claim(pool, poll_interval_s)
            if sn is None:
                await asyncio.sleep(IDLE_S)
                continue
            binding = await asyncio.to_thread(wecom.get_device_auth_info, sn)
            if binding is not None:
                await _record(pool, sn, binding)
                await learn_open_corpid(pool, wecom, binding.corpid)
        except asyncio.CancelledError:
            raise
        except TRANSIENT as exc:
            log.info("binding watch: database unavailable (%s)", type(exc).__name__)
            await asyncio.sleep(ERROR_PAUSE_S)
        except InstallerError as exc:
            log.info("binding watch: %s", exc.message.english())
            await asyncio.sleep(ERROR_PAUSE_S)
