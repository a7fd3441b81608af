"""Wakes long-polls (C2 ``?wait=``) when a device changes, in every worker of every instance.

The ``devices`` table's trigger sends ``NOTIFY installer_device, '<SN>'`` on each change of stage or
binding; each worker keeps one connection that LISTENs and sets the events of the requests waiting
for that SN. When the listening connection is lost (the database restarted), every waiter is woken
so it reads the current state again, and the hub reconnects by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict

import psycopg

from installer_app.server.db import CONNECT_KWARGS

log = logging.getLogger(__name__)

CHANNEL = "installer_device"
RECONNECT_S = 1.0


class DeviceHub:
    def __init__(self, url: str) -> None:
        self._url = url
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self.connected = asyncio.Event()

    def subscribe(self, sn: str) -> asyncio.Event:
        event = asyncio.Event()
        self._waiters[sn.upper()].add(event)
        return event

    def unsubscribe(self, sn: str, event: asyncio.Event) -> None:
        key = sn.upper()
        waiters = self._waiters.get(key)
        if waiters is not None:
            waiters.discard(event)
            if not waiters:
                del self._waiters[key]

    def _wake(self, sn: str | None) -> None:
        targets = (
            list(self._waiters.get(sn.upper(), ()))
            if sn is not None
            else [e for group in self._waiters.values() for e in group]
        )
        for event in targets:
            event.set()

    async def run(self) -> None:
        kwargs = {k: v for k, v in CONNECT_KWARGS.items() if k != "options"}
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True, **kwargs)
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.connected.set()
                    # Changes made while the hub was away are read by the woken waiters.
                    self._wake(None)
                    async for note in conn.notifies():
                        self._wake(note.payload)
            except asyncio.CancelledError:
                raise
            except (psycopg.Error, OSError) as exc:
                log.warning(
                    "long-poll listener lost the database (%s); reconnecting", type(exc).__name__
                )
            self.connected.clear()
            self._wake(None)
            await asyncio.sleep(RECONNECT_S)


async def stop_task(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
