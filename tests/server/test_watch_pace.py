"""The server's binding watch: one pace for all workers (a rate with a burst), and a device that
is awaited on site (C2 ``?wait=``, a ``written`` event) looked at next, not at its turn."""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import psycopg

from installer_app.provider.emulator import ProviderEmulator
from installer_app.server import watch
from installer_app.server.db import open_async_pool
from tests.server.conftest import MODEL, add_token, fill_pool

AUTH_INFO = "/cgi-bin/service/get_device_auth_info"


def _looks(emulator: ProviderEmulator) -> int:
    return int(emulator.stats()["requests"].get(AUTH_INFO, 0))


def _issue(db_url: str, count: int) -> None:
    """``count`` issued devices, due for a look now, in the database only."""
    sns = fill_pool(db_url, count)
    with psycopg.connect(db_url) as conn:
        for i, sn in enumerate(sns):
            conn.execute("UPDATE credentials SET hw_id = %s WHERE device_sn = %s", (f"ab{i}", sn))
            conn.execute(
                "INSERT INTO devices (hw_id, device_sn, model_id) VALUES (%s, %s, %s)",
                (f"ab{i}", sn, MODEL),
            )


def test_the_pace_gives_a_burst_then_its_rate(db_url: str) -> None:
    _issue(db_url, 60)

    async def claims() -> tuple[list[str | float | None], float]:
        pool = open_async_pool(db_url)
        await pool.open()
        try:
            started = time.monotonic()
            got = [await watch._claim(pool, 60.0) for _ in range(60)]
            return got, time.monotonic() - started
        finally:
            await pool.close()

    # A thread of its own: a test before may leave an event loop running in this one.
    with ThreadPoolExecutor(1) as runner:
        got, elapsed = runner.submit(asyncio.run, claims()).result()
    looked = [g for g in got if isinstance(g, str)]
    burst = round(watch.BURST_S / watch.GAP_S)
    # A site's boards get their looks at once, as in direct mode ...
    assert all(isinstance(g, str) for g in got[:burst]), got[:burst]
    # ... but never more than the burst and the rate since: WeCom's limits hold.
    assert len(looked) <= burst + elapsed / watch.GAP_S + 1
    assert len(set(looked)) == len(looked)  # each device once (its next look is a minute away)
    waits = [g for g in got if isinstance(g, float)]
    assert all(0 < w <= watch.GAP_S for w in waits)


def test_the_running_watch_stays_within_the_pace(
    server_factory: Any, emulator: ProviderEmulator, db_url: str
) -> None:
    _issue(db_url, 40)
    with psycopg.connect(db_url) as conn:
        for (sn,) in conn.execute("SELECT device_sn FROM devices").fetchall():
            emulator.register(sn, MODEL)  # known to WeCom, not bound: looked at again and again
    started = time.monotonic()
    server_factory(emulator, poll_interval_s=0.1)
    time.sleep(2.5)
    looks, elapsed = _looks(emulator), time.monotonic() - started
    burst = round(watch.BURST_S / watch.GAP_S)
    assert 10 <= looks <= burst + elapsed / watch.GAP_S + watch.IN_FLIGHT, (looks, elapsed)


def _issued_and_looked_at(server: Any, emulator: ProviderEmulator, token: str) -> str:
    """One board issued over C1, then looked at once by the watch (its next look far away)."""
    fill_pool(server.db_url, 1)
    with psycopg.connect(server.db_url) as conn:
        (sn,) = conn.execute("SELECT device_sn FROM credentials").fetchone() or ("",)
    emulator.register(sn, MODEL)
    with server.client(token) as client:
        r = client.post("/v1/devices", json={"model_id": MODEL, "hw_id": "0d0d"})
        assert r.json()["device_sn"] == sn
    deadline = time.monotonic() + 10
    with psycopg.connect(server.db_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT next_check_at > now() + interval '1 minute' FROM devices"
            ).fetchone()
            if row == (True,):
                return sn
            time.sleep(0.05)
    raise AssertionError("the watch never looked at the device")


def test_a_long_poll_brings_the_look_forward(
    server_factory: Any, emulator: ProviderEmulator
) -> None:
    # A ten-minute interval: without the long-poll's nudge, the binding would show in minutes.
    server = server_factory(emulator, poll_interval_s=600)
    token = add_token(server.db_url, "waiter")
    sn = _issued_and_looked_at(server, emulator, token)
    emulator.bind(sn, "wwcorp03", "丙公司")
    started = time.monotonic()
    with server.client(token) as client:
        answer = client.get(f"/v1/devices/{sn}", params={"wait": 10, "bind_status": 0}).json()
    assert answer["bind_status"] == 1 and answer["corp"]["corpid"] == "wwcorp03"
    assert time.monotonic() - started < 9  # woken by the binding, not by the end of the wait


def test_a_written_event_brings_the_look_forward(
    server_factory: Any, emulator: ProviderEmulator
) -> None:
    server = server_factory(emulator, poll_interval_s=600)
    token = add_token(server.db_url, "writer")
    sn = _issued_and_looked_at(server, emulator, token)
    emulator.bind(sn, "wwcorp04", "丁公司")
    event = {
        "event_id": str(uuid.uuid4()),
        "device_sn": sn,
        "hw_id": "0d0d",
        "step": "written",
        "outcome": "ok",
        "at": datetime.now(UTC).isoformat(),
        "installer": "writer",
    }
    deadline = time.monotonic() + 10
    with server.client(token) as client:
        assert client.post("/v1/events", json={"events": [event]}).json()["accepted"] == 1
        while client.get(f"/v1/devices/{sn}").json()["bind_status"] != 1:
            assert time.monotonic() < deadline, "the written board was not looked at"
            time.sleep(0.05)


def test_a_rate_limit_stops_the_watch_for_its_block(
    server_factory: Any, emulator: ProviderEmulator, db_url: str
) -> None:
    _issue(db_url, 10)
    with psycopg.connect(db_url) as conn:
        for (sn,) in conn.execute("SELECT device_sn FROM devices").fetchall():
            emulator.register(sn, MODEL)
    # WeCom blocks the account for its minute: the watch asks once, then waits the block out
    # instead of asking again at its pace (and without retrying inside the look).
    emulator.inject(AUTH_INFO, errcode=45009, count=1000)
    server_factory(emulator, poll_interval_s=0.1)
    time.sleep(4)
    # One round of looks at most (those already on their way when the first answer came).
    assert 1 <= _looks(emulator) <= watch.IN_FLIGHT
