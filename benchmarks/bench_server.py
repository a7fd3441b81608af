"""The team server's C1 throughput and latency beside the database's own limit, and the long-poll
wake-up time. Starts a private PostgreSQL (installer_app/server/local_pg.py), ``installer-app
serve`` in its own process (``--workers N``, default 1) and the provider emulator.

    .venv/bin/python benchmarks/bench_server.py [--requests 400] [--clients 1 8 32]

(1) C1 in inventory mode: N threads, each with its own installer token and keep-alive connection,
issue credentials for distinct boards; beside it a bare psycopg loop with the same concurrency does
the same reservation (SELECT ... FOR UPDATE SKIP LOCKED, UPDATE, INSERT) on its own connections.
Prints requests/s, p50/p99 and the ratio server/bare (target >= 0.25 at 32, p99 < 100 ms).
(2) Binds a device on the emulator while a C2 ``?wait=30`` is held, and prints the time until it
returns (target <= poll interval + 0.3 s).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from installer_app.provider.emulator import ProviderEmulator  # noqa: E402
from installer_app.server.db import migrate  # noqa: E402
from installer_app.server.local_pg import LocalPostgres, temporary_folder  # noqa: E402
from tests.server.conftest import (  # noqa: E402
    MODEL,
    SERVER_KEY,
    add_token,
    fill_pool,
)

POLL_S = 0.5


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_server(
    url: str, tokens: list[str], clients: int, total: int, offset: int
) -> tuple[float, list[float]]:
    per = total // clients
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens[n]}"}) as c:
            mine = []
            for i in range(per):
                t = time.perf_counter()
                r = c.post(
                    "/v1/devices", json={"model_id": MODEL, "hw_id": f"{offset + n:04x}{i:06x}"}
                )
                mine.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text
            with lock:
                latencies.extend(mine)

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return per * clients / (time.perf_counter() - start), latencies


def run_bare(db_url: str, clients: int, total: int, offset: int) -> tuple[float, list[float]]:
    per = total // clients
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        mine = []
        with psycopg.connect(db_url) as conn:
            for i in range(per):
                hw = f"{offset + n:04x}{i:06x}"
                t = time.perf_counter()
                with conn.transaction():
                    row = conn.execute(
                        "SELECT device_sn, secret_sealed FROM credentials WHERE model_id = %s "
                        "AND hw_id IS NULL AND (lease_id IS NULL OR lease_expires_at < now()) "
                        "ORDER BY imported_at, device_sn LIMIT 1 FOR UPDATE SKIP LOCKED",
                        (MODEL,),
                    ).fetchone()
                    assert row is not None
                    conn.execute(
                        "UPDATE credentials SET hw_id = %s, issued_at = now() WHERE device_sn = %s",
                        (hw, row[0]),
                    )
                    conn.execute(
                        "INSERT INTO devices (hw_id, device_sn, model_id) VALUES (%s, %s, %s)",
                        (hw, row[0], MODEL),
                    )
                mine.append(time.perf_counter() - t)
        with lock:
            latencies.extend(mine)

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return per * clients / (time.perf_counter() - start), latencies


def start_server(
    db_url: str, emulator: ProviderEmulator, workers: int
) -> tuple[subprocess.Popen[str], str]:
    """``installer-app serve`` in its own process(es), as in production."""
    folder = Path(tempfile.mkdtemp(prefix="bench-server-"))
    config = folder / "server.toml"
    config.write_text(
        f'[server]\nmodel_ids = ["{MODEL}"]\nsource = "inventory"\n'
        f'corpid = "{emulator.corpid}"\nwecom_base_url = "{emulator.base_url}"\n'
        f"poll_interval_s = {POLL_S}\nrate_limit_per_s = 100000\n"
    )
    env = dict(
        os.environ,
        INSTALLER_SERVER_KEY=SERVER_KEY,
        INSTALLER_DATABASE_URL=db_url,
        INSTALLER_PROVIDER_SECRET=emulator.provider_secret,
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "installer_app",
            "serve",
            "--config",
            str(config),
            "--port",
            "0",
            "--workers",
            str(workers),
            "--data-dir",
            str(folder / "data"),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().split("listening on ", 1)[1].strip()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    return proc, url


def measure_c1(args: argparse.Namespace, db_url: str, url: str, tokens: list[str]) -> None:
    offset = 0
    print("clients  server req/s  p50 ms  p99 ms | bare req/s  p50 ms  p99 ms | ratio")
    for clients in args.clients:
        offset += 100
        s_rate, s_lat = run_server(url, tokens, clients, args.requests, offset)
        offset += 100
        b_rate, b_lat = run_bare(db_url, clients, args.requests, offset)
        print(
            f"{clients:7d}  {s_rate:12.0f}  {percentile(s_lat, 0.5) * 1e3:6.1f}  "
            f"{percentile(s_lat, 0.99) * 1e3:6.1f} | {b_rate:10.0f}  "
            f"{percentile(b_lat, 0.5) * 1e3:6.1f}  {percentile(b_lat, 0.99) * 1e3:6.1f} | "
            f"{s_rate / b_rate:.2f}",
            flush=True,
        )


def measure_wake(db_url: str, url: str, token: str, emulator: ProviderEmulator) -> None:
    # The boards above are not real ones: out of the binding watch, so that it looks at the
    # long-poll's boards at its poll interval (docs/server.md, the global pace).
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE devices SET bind_status = 1")
    wakes = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=40) as c:
        for i in range(5):
            body = {"model_id": MODEL, "hw_id": f"ff{i:04x}"}
            sn = c.post("/v1/devices", json=body).json()["device_sn"]
            emulator.register(sn, MODEL)
            time.sleep(POLL_S * 1.5)
            done: list[float] = []

            def hold(sn: str = sn, done: list[float] = done) -> None:
                c.get(f"/v1/devices/{sn}", params={"wait": 30})
                done.append(time.perf_counter())

            holder = threading.Thread(target=hold)
            holder.start()
            time.sleep(0.3)
            bound_at = time.perf_counter()
            emulator.bind(sn)
            holder.join()
            wakes.append(done[0] - bound_at)
    print(
        f"long-poll wake-up after a bind: median {statistics.median(wakes):.2f} s, "
        f"max {max(wakes):.2f} s (poll interval {POLL_S} s; target <= {POLL_S + 0.3:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    folder = temporary_folder()
    pg = LocalPostgres(folder).start()
    try:
        db_url = pg.create_database("bench")
        migrate(db_url)
        fill_pool(db_url, args.requests * len(args.clients) * 2 + 10)
        tokens = [add_token(db_url, f"bench{i}") for i in range(max(args.clients))]
        with ProviderEmulator(install_delay_s=0) as emulator:
            server, url = start_server(db_url, emulator, args.workers)
            try:
                measure_c1(args, db_url, url, tokens)
                measure_wake(db_url, url, tokens[0], emulator)
            finally:
                server.send_signal(signal.SIGTERM)
                server.communicate(timeout=30)
    finally:
        pg.stop_server("immediate")
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
