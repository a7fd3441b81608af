"""The server's own binding watch: get_device_auth_info for every issued device not bound yet.

So a laptop may leave before the enterprise admin scans. Each worker runs this loop, and they share
one pace through the database: a worker may call WeCom only when it holds the ``watch_pace`` row
(``FOR UPDATE SKIP LOCKED``) and the pace allows a call. The pace is a rate with a burst (GCRA:
``next_at`` is when the pace would be level again; a call is allowed while it is less than
``BURST_S`` ahead of now, and moves it on by ``GAP_S``): all workers and instances together make
at most 1/GAP_S calls a second over any stretch of time (20, against WeCom's ~166), yet a site
that has just written eight boards gets its eight looks at once, as eight laptops in direct mode
would. Looks run side by side (at most ``IN_FLIGHT`` per worker). Each device is looked at about
every ``poll_interval_s`` (less often as it ages unbound; with more unbound devices than the pace
allows, each waits its turn). A database or WeCom that is away only makes the loop wait and try
again.

Someone on site asks first: a board reported written (C4) or a laptop that long-polls its device
(C2 ``?wait=``) brings the device's next look forward to now and rings the worker's bell, so the
watch looks at it at once instead of at its turn (``look_soon``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from installer_app.errors import InstallerError
from installer_app.provider.errors import ProviderError
from installer_app.provider.http import RetryPolicy
from installer_app.provider.wecom import CorpBinding
from installer_app.server.db import TRANSIENT
from installer_app.server.wecom_ids import ServerWecomClient

log = logging.getLogger(__name__)

GAP_S = 0.05  # the pace: 20 calls a second over time
BURST_S = 1.0  # ... of which up to a second's worth (20) at once
IN_FLIGHT = 8  # looks at once per worker
IDLE_S = 0.2
ERROR_PAUSE_S = 1.0
RATE_LIMIT_PAUSE_S = 60.0


# Brings a waiting device's next look forward; nothing for a device bound already or due anyway.
LOOK_SOON_SQL = (
    "UPDATE devices SET next_check_at = now() WHERE upper(device_sn) = upper(%s) "
    "AND bind_status = 0 AND next_check_at > now()"
)


async def look_soon(conn: psycopg.AsyncConnection[Any], sn: str, bell: asyncio.Event) -> None:
    """The device ``sn`` is awaited on site: look at its binding next (see the module's text)."""
    cur = await conn.execute(LOOK_SOON_SQL, (sn,))
    if cur.rowcount:
        bell.set()


async def _claim(pool: AsyncConnectionPool[Any], poll_interval_s: float) -> str | float | None:
    """One device due for a look, with the pace moved on; else how long until the pace allows a
    call when only the pace is not due (another device may be waiting its turn), None when no
    device is due."""
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            "SELECT extract(epoch FROM next_at - now())::float8 - %s AS wait_s FROM watch_pace "
            "WHERE id = 1 FOR UPDATE SKIP LOCKED",
            (BURST_S,),
        )
        pace = await cur.fetchone()
        if pace is None:  # another worker holds the pace right now
            return GAP_S
        if pace["wait_s"] > 0:
            wait_s: float = min(pace["wait_s"], GAP_S)
            return wait_s
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
            "UPDATE watch_pace SET next_at = GREATEST(next_at, now()) + make_interval(secs => %s) "
            "WHERE id = 1",
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


async def _rest(bell: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds``, or less when a device is awaited (the bell)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(bell.wait(), seconds)
    bell.clear()


class _Watch:
    def __init__(
        self, pool: AsyncConnectionPool[Any], wecom: ServerWecomClient, poll_interval_s: float
    ) -> None:
        self.pool = pool
        # No retries inside a look: the watch looks again at its pace and pauses on errors by
        # itself, and a look that retried for seconds would hold a worker's stop.
        self.wecom = wecom.with_retry(RetryPolicy.no_retries())
        self.poll_interval_s = poll_interval_s
        self.slots = asyncio.Semaphore(IN_FLIGHT)
        self.paused_until = 0.0

    def pause(self, why: str, seconds: float = ERROR_PAUSE_S) -> None:
        """WeCom or the database is away: no new look for a while (the looks in flight end)."""
        log.info("binding watch: %s", why)
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)

    async def next_step(self, bell: asyncio.Event) -> str | None:
        """The next device to look at (None after a wait)."""
        left = self.paused_until - time.monotonic()
        if left > 0:
            await asyncio.sleep(left)
            return None
        try:
            sn = await _claim(self.pool, self.poll_interval_s)
        except TRANSIENT as exc:
            self.pause(f"database unavailable ({type(exc).__name__})")
            return None
        if sn is None:
            await _rest(bell, IDLE_S)  # nothing due: until a device is awaited, or a while
            return None
        if not isinstance(sn, str):
            await asyncio.sleep(sn)  # until the pace allows a call, bell or not
            return None
        return sn

    async def look(self, sn: str) -> None:
        try:
            binding = await asyncio.to_thread(self.wecom.get_device_auth_info, sn)
            if binding is not None:
                await _record(self.pool, sn, binding)
                await learn_open_corpid(self.pool, self.wecom, binding.corpid)
        except TRANSIENT as exc:
            self.pause(f"database unavailable ({type(exc).__name__})")
        except InstallerError as exc:
            wait = ERROR_PAUSE_S
            if isinstance(exc, ProviderError) and exc.retry_kind == "rate_limit":
                # WeCom's per-minute block lasts a minute: asking sooner only prolongs it.
                wait = exc.retry_after_s or RATE_LIMIT_PAUSE_S
            self.pause(exc.message.english(), wait)
        finally:
            self.slots.release()


async def watch_bindings(
    pool: AsyncConnectionPool[Any],
    wecom: ServerWecomClient,
    poll_interval_s: float,
    bell: asyncio.Event,
) -> None:
    watch = _Watch(pool, wecom, poll_interval_s)
    # Cancelling the loop (the worker stops) cancels the looks in flight with it.
    async with asyncio.TaskGroup() as looks:
        while True:
            await watch.slots.acquire()
            sn = await watch.next_step(bell)
            if sn is None:
                watch.slots.release()
                continue
            looks.create_task(watch.look(sn), name=f"look-{sn}")
