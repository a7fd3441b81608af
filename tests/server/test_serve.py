"""``installer-app serve`` as a subprocess: the listening line, a worker killed with -9 under load,
PostgreSQL stopped and started under a running server, SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from installer_app.server.local_pg import LocalPostgres
from tests.server.conftest import MODEL, add_token, fill_pool, start_serve

pytestmark = pytest.mark.slow


def _start(tmp_path: Path, db_url: str, workers: int) -> tuple[subprocess.Popen[str], str]:
    # The load comes from one token: no rate limit in the way of what is measured here.
    return start_serve(
        tmp_path,
        f'[server]\nmodel_ids = ["{MODEL}"]\nsource = "inventory"\nrate_limit_per_s = 100000\n',
        {"INSTALLER_DATABASE_URL": db_url},
        workers,
    )


@pytest.fixture
def stop_later() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: the server and its workers
        proc.communicate(timeout=10)  # and closes its pipes


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_kill_9_of_a_worker_under_load_loses_nothing(
    tmp_path: Path, db_url: str, stop_later: list[Any]
) -> None:
    fill_pool(db_url, 400)
    token = add_token(db_url, "loader")
    proc, url = _start(tmp_path, db_url, workers=2)
    stop_later.append(proc)
    issued: dict[str, str] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def load(offset: int) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
            i = 0
            while not stop.is_set() and i < 150:
                hw = f"{offset:04x}{i:04x}"
                try:
                    r = client.post(
                        "/v1/devices", json={"model_id": MODEL, "hw_id": hw}, timeout=10
                    )
                except httpx.HTTPError:
                    continue  # the killed worker's connection: retry the same board
                if r.status_code == 200:
                    assert r.json()["errcode"] == 0, r.text
                    with lock:
                        issued[hw] = r.json()["device_sn"]
                    i += 1

    threads = [threading.Thread(target=load, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    workers = _children(proc.pid)
    victims = [
        p for p in workers if Path(f"/proc/{p}/cmdline").read_bytes().count(b"multiprocessing")
    ]
    os.kill((victims or workers)[0], signal.SIGKILL)
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join(60)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
        # Every board asked again gets the SN it was given; the service keeps answering.
        for hw, sn in list(issued.items())[:50]:
            r = client.post("/v1/devices", json={"model_id": MODEL, "hw_id": hw})
            assert r.json()["device_sn"] == sn
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT hw_id, device_sn FROM devices").fetchall()
    by_sn: dict[str, str] = {}
    for hw, sn in rows:
        assert by_sn.setdefault(sn, hw) == hw
    assert {hw: sn for hw, sn in rows if hw in issued} == issued
    assert len(issued) > 50


def test_postgres_stopped_is_503_then_recovers_without_restart(
    tmp_path: Path, pg: LocalPostgres, db_url: str, stop_later: list[Any]
) -> None:
    fill_pool(db_url, 10)
    token = add_token(db_url, "ops")
    proc, url = _start(tmp_path, db_url, workers=1)
    stop_later.append(proc)
    headers = {"Authorization": f"Bearer {token}"}
    assert (
        httpx.post(
            url + "/v1/devices", json={"model_id": MODEL, "hw_id": "aa"}, headers=headers
        ).status_code
        == 200
    )
    pg.stop_server("fast")
    try:
        started = time.monotonic()
        r = httpx.post(
            url + "/v1/devices",
            json={"model_id": MODEL, "hw_id": "bb"},
            headers=headers,
            timeout=15,
        )
        assert r.status_code == 503, r.text
        assert int(r.headers["Retry-After"]) > 0
        assert "Traceback" not in r.text
        assert time.monotonic() - started < 10
        assert httpx.get(url + "/healthz", timeout=15).status_code == 503
    finally:
        pg.start_server()
    deadline = time.monotonic() + 30
    while True:
        r = httpx.post(
            url + "/v1/devices",
            json={"model_id": MODEL, "hw_id": "bb"},
            headers=headers,
            timeout=15,
        )
        if r.status_code == 200:
            break
        assert time.monotonic() < deadline, r.text
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
