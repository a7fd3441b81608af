"""The team server's C1 throughput and latency beside the database's own limit, and the long-poll
wake-up time. Starts a private PostgreSQL (installer_app/server/local_pg.py), ``installer-app
serve`` in its own process (``--workers N``, default 1) and the provider emulator.

    .venv/bin/python benchmarks/bench_server.py [--workers 1] [--clients 1 8 32]
        [--driver native|async|threads] [--seconds 8] [--requests 400]

(1) C1 in inventory mode for distinct boards at each concurrency, beside a bare loop with the same
concurrency doing the same reservation (SELECT ... FOR UPDATE SKIP LOCKED, UPDATE, INSERT) on its
own connections; each load in its own process, from a vacuumed pool. The native driver is wrk for
the server and pgbench for the bare loop (C, one thread each, for ``--seconds``); async and threads
are Python generators (``--requests`` each). Prints requests/s, p50/p99, the CPU per request of the
generator, the server and PostgreSQL, and server/bare (target >= 0.25 at 32, p99 < 100 ms).
(2) Binds a device on the emulator while a C2 ``?wait=30`` is held, and prints the time until it
returns (target <= poll interval + 0.3 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from installer_app.provider.emulator import ProviderEmulator  # noqa: E402
from installer_app.server.db import migrate  # noqa: E402
from installer_app.server.local_pg import LocalPostgres, temporary_folder  # noqa: E402
from tests.server.conftest import (  # noqa: E402
    MODEL,
    add_token,
    fill_pool,
    start_serve,
)

POLL_S = 0.5
LOADS = {
    "native": "wrk -t1 (server) and pgbench -j1 -M prepared (bare), C, one thread each",
    "async": "httpx.AsyncClient (server) and psycopg.AsyncConnection (bare), one uvloop, "
    "a task per client, in its own process",
    "threads": "httpx.Client (server) and psycopg.Connection (bare), a thread per client, "
    "in its own process",
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


_RESERVE_SQL = (
    "SELECT device_sn, secret_sealed FROM credentials WHERE model_id = %s "
    "AND hw_id IS NULL AND (lease_id IS NULL OR lease_expires_at < now()) "
    "ORDER BY imported_at, device_sn LIMIT 1 FOR UPDATE SKIP LOCKED"
)


def _hw(offset: int, n: int, i: int) -> str:
    return f"{offset + n:04x}{i:06x}"


def threads_server(url: str, tokens: list[str], clients: int, per: int, offset: int) -> list[float]:
    """The first load generator: one OS thread and one httpx.Client per client."""
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens[n]}"}) as c:
            mine = []
            for i in range(per):
                t = time.perf_counter()
                r = c.post("/v1/devices", json={"model_id": MODEL, "hw_id": _hw(offset, n, i)})
                mine.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text
            with lock:
                latencies.extend(mine)

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return latencies


def threads_bare(db_url: str, clients: int, per: int, offset: int) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        mine = []
        with psycopg.connect(db_url) as conn:
            for i in range(per):
                hw = _hw(offset, n, i)
                t = time.perf_counter()
                with conn.transaction():
                    row = conn.execute(_RESERVE_SQL, (MODEL,)).fetchone()
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

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return latencies


async def async_server(
    url: str, tokens: list[str], clients: int, per: int, offset: int
) -> list[float]:
    """One event loop, one task and one keep-alive httpx.AsyncClient per client."""
    latencies: list[float] = []

    async def worker(n: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[n]}"}
        async with httpx.AsyncClient(base_url=url, headers=headers) as c:
            for i in range(per):
                t = time.perf_counter()
                r = await c.post(
                    "/v1/devices", json={"model_id": MODEL, "hw_id": _hw(offset, n, i)}
                )
                latencies.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text

    await asyncio.gather(*(worker(n) for n in range(clients)))
    return latencies


async def async_bare(db_url: str, clients: int, per: int, offset: int) -> list[float]:
    """The same shape as ``async_server``: one task and one connection per client."""
    latencies: list[float] = []

    async def worker(n: int) -> None:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            for i in range(per):
                hw = _hw(offset, n, i)
                t = time.perf_counter()
                async with conn.transaction():
                    cur = await conn.execute(_RESERVE_SQL, (MODEL,))
                    row = await cur.fetchone()
                    assert row is not None
                    await conn.execute(
                        "UPDATE credentials SET hw_id = %s, issued_at = now() WHERE device_sn = %s",
                        (hw, row[0]),
                    )
                    await conn.execute(
                        "INSERT INTO devices (hw_id, device_sn, model_id) VALUES (%s, %s, %s)",
                        (hw, row[0], MODEL),
                    )
                latencies.append(time.perf_counter() - t)

    await asyncio.gather(*(worker(n) for n in range(clients)))
    return latencies


def drive(spec: dict[str, Any]) -> None:
    """The load generator's own process (``--drive``): runs one load, prints its figures."""
    clients, per, offset = spec["clients"], spec["per"], spec["offset"]
    start = time.perf_counter()
    if spec["driver"] == "threads":
        if spec["target"] == "server":
            lat = threads_server(spec["url"], spec["tokens"], clients, per, offset)
        else:
            lat = threads_bare(spec["db_url"], clients, per, offset)
    else:
        import uvloop

        if spec["target"] == "server":
            coro = async_server(spec["url"], spec["tokens"], clients, per, offset)
        else:
            coro = async_bare(spec["db_url"], clients, per, offset)
        lat = uvloop.run(coro)
    elapsed = time.perf_counter() - start
    print(json.dumps({"elapsed": elapsed, "latencies": lat}))


# The native load generators: wrk (HTTP) and pgbench (the bare reservation), both C, each one
# thread driving all its connections, so that the load costs the two cores little and the same
# for both sides. Both run for the same time (wrk cannot stop after a count of requests).
_WRK_LUA = """
local sent = 0
local offset = tonumber(os.getenv("BENCH_OFFSET"))
local model = os.getenv("BENCH_MODEL")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
request = function()
  sent = sent + 1
  local body = string.format('{"model_id":"%s","hw_id":"%04x%06x"}', model, offset, sent)
  return wrk.format(nil, "/v1/devices", nil, body)
end
done = function(summary, latency, requests)
  io.write(string.format('JSON {"requests":%d,"elapsed_us":%d,"non2xx":%d,"errors":%d,' ..
    '"p50_us":%d,"p99_us":%d}\\n', summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""

_PGBENCH_SQL = """
\\set n :n + 1
BEGIN;
SELECT device_sn AS sn FROM credentials WHERE model_id = :model
  AND hw_id IS NULL AND (lease_id IS NULL OR lease_expires_at < now())
  ORDER BY imported_at, device_sn LIMIT 1 FOR UPDATE SKIP LOCKED \\gset
UPDATE credentials SET issued_at = now(),
  hw_id = lpad(to_hex(:offset::int + :client_id::int), 4, '0') || lpad(to_hex(:n::int), 6, '0')
  WHERE device_sn = :sn;
INSERT INTO devices (hw_id, device_sn, model_id) VALUES (
  lpad(to_hex(:offset::int + :client_id::int), 4, '0') || lpad(to_hex(:n::int), 6, '0'),
  :sn, :model);
COMMIT;
"""


@dataclass
class Native:
    wrk: str
    pgbench: str
    folder: Path


def native_tools(bin_dir: Path | None) -> Native | None:
    wrk = shutil.which("wrk")
    pgbench = shutil.which("pgbench", path=str(bin_dir)) if bin_dir else shutil.which("pgbench")
    if wrk is None or pgbench is None:
        return None
    return Native(wrk, pgbench, Path(tempfile.mkdtemp(prefix="bench-native-")))


def native_server(tools: Native, spec: dict[str, Any]) -> tuple[int, float, float, float]:
    """wrk, one thread, ``clients`` connections: (requests, requests/s, p50 s, p99 s)."""
    script = tools.folder / "c1.lua"
    script.write_text(_WRK_LUA)
    env = dict(
        os.environ,
        BENCH_OFFSET=str(spec["offset"]),
        BENCH_MODEL=MODEL,
        BENCH_TOKEN=spec["tokens"][0],
    )
    out = subprocess.run(
        [
            tools.wrk,
            "-t1",
            f"-c{spec['clients']}",
            f"-d{spec['seconds']}s",
            "-s",
            str(script),
            spec["url"],
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    figures = json.loads(out.split("JSON ", 1)[1])
    assert figures["non2xx"] == 0 and figures["errors"] == 0, out
    rate = figures["requests"] / (figures["elapsed_us"] / 1e6)
    return figures["requests"], rate, figures["p50_us"] / 1e6, figures["p99_us"] / 1e6


def native_bare(tools: Native, spec: dict[str, Any]) -> tuple[float, list[float]]:
    """pgbench, one thread, ``clients`` connections, the same transaction as ``threads_bare``."""
    script = tools.folder / "bare.sql"
    script.write_text(_PGBENCH_SQL)
    prefix = tools.folder / f"bare{spec['offset']}"
    out = subprocess.run(
        [
            tools.pgbench,
            "-n",
            "-M",
            "prepared",
            "-c",
            str(spec["clients"]),
            "-j",
            "1",
            "-T",
            str(spec["seconds"]),
            "-f",
            str(script),
            "-D",
            "n=0",
            "-D",
            f"offset={spec['offset']}",
            "-D",
            f"model={MODEL}",
            "-l",
            f"--log-prefix={prefix}",
            spec["db_url"],
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    rate = float(out.stdout.split("tps = ", 1)[1].split()[0])  # without the connection time
    latencies = []
    for log in tools.folder.glob(f"{prefix.name}*"):
        for line in log.read_text().splitlines():
            latencies.append(int(line.split()[2]) / 1e6)
        log.unlink()
    return rate, latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, its live descendants and its reaped children (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        if p in stats:
            f = stats[p]  # after the ")": state ppid ... utime(11) stime(12) cutime(13) cstime(14)
            total += sum(int(x) for x in f[11:15]) / tick
        todo.extend(children.get(p, []))
    return total


@dataclass
class Load:
    rate: float
    p50: float
    p99: float
    cpu_ms: dict[str, float]  # CPU per request: driver, server, postgres


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_load(spec: dict[str, Any], pids: dict[str, int], tools: Native | None) -> Load:
    """One load in its own process (the driver's CPU: what that child process used)."""
    n = spec["clients"] * spec["per"]
    # Each load starts from a vacuumed pool: the SNs issued by the loads before leave dead entries
    # at the front of the free-SN index that every reservation walks past until (auto)vacuum
    # removes them; after ~30,000 issued in a minute, 32 concurrent reservations cost PostgreSQL
    # 35-45 ms each instead of 0.6 (bare and server alike), so the figures would depend on the
    # order of the loads. Production issues a few SNs a minute; autovacuum keeps up there.
    with psycopg.connect(spec["db_url"], autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE credentials, devices")
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    driver_before = _children_cpu()
    if spec["driver"] == "native":
        assert tools is not None
        if spec["target"] == "server":
            n, rate, p50, p99 = native_server(tools, spec)
        else:
            rate, lat = native_bare(tools, spec)
            n, p50, p99 = len(lat), percentile(lat, 0.5), percentile(lat, 0.99)
    else:
        out = subprocess.run(
            [sys.executable, __file__, "--drive", json.dumps(spec)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        result = json.loads(out)
        rate, lat = n / result["elapsed"], result["latencies"]
        p50, p99 = percentile(lat, 0.5), percentile(lat, 0.99)
    cpu = {name: (cpu_seconds(pid) - before[name]) * 1e3 / n for name, pid in pids.items()}
    cpu["driver"] = (_children_cpu() - driver_before) * 1e3 / n
    return Load(rate, p50, p99, cpu)


def start_server(
    db_url: str, emulator: ProviderEmulator, workers: int
) -> tuple[subprocess.Popen[str], str]:
    """``installer-app serve`` in its own process(es), as in production."""
    return start_serve(
        Path(tempfile.mkdtemp(prefix="bench-server-")),
        f'[server]\nmodel_ids = ["{MODEL}"]\nsource = "inventory"\n'
        f'corpid = "{emulator.corpid}"\nwecom_base_url = "{emulator.base_url}"\n'
        f"poll_interval_s = {POLL_S}\nrate_limit_per_s = 100000\n",
        {"INSTALLER_DATABASE_URL": db_url, "INSTALLER_PROVIDER_SECRET": emulator.provider_secret},
        workers,
        keep_stderr=False,
    )


def measure_c1(
    args: argparse.Namespace,
    db_url: str,
    url: str,
    tokens: list[str],
    pids: dict[str, int],
    tools: Native | None,
) -> None:
    offset = 0
    print(f"load generator: {LOADS[args.driver]}; CPU ms per request: driver / server / postgres")
    print(
        "clients  server req/s  p50 ms  p99 ms  cpu d/s/pg    | "
        "bare req/s  p50 ms  p99 ms  cpu d/pg  | ratio"
    )
    for clients in args.clients:
        per = args.requests // clients
        spec: dict[str, Any] = {
            "driver": args.driver,
            "clients": clients,
            "per": per,
            "url": url,
            "db_url": db_url,
            "tokens": tokens[:clients],
            "seconds": args.seconds,
        }
        offset += 100
        srv = run_load({**spec, "target": "server", "offset": offset}, pids, tools)
        offset += 100
        bare = run_load({**spec, "target": "bare", "offset": offset}, pids, tools)
        sc, bc = srv.cpu_ms, bare.cpu_ms
        print(
            f"{clients:7d}  {srv.rate:12.0f}  {srv.p50 * 1e3:6.1f}  {srv.p99 * 1e3:6.1f}  "
            f"{sc['driver']:.1f}/{sc['server']:.1f}/{sc['postgres']:.1f} | "
            f"{bare.rate:10.0f}  {bare.p50 * 1e3:6.1f}  {bare.p99 * 1e3:6.1f}  "
            f"{bc['driver']:.1f}/{bc['postgres']:.1f} | {srv.rate / bare.rate:.2f}",
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
    parser.add_argument(
        "--driver",
        choices=sorted(LOADS),
        default="native",
        help="the load generator (native: wrk and pgbench; falls back to async without them)",
    )
    parser.add_argument(
        "--seconds", type=int, default=8, help="each load's time with the native driver"
    )
    parser.add_argument("--drive", help=argparse.SUPPRESS)  # the load generator's process
    args = parser.parse_args()
    if args.drive:
        drive(json.loads(args.drive))
        return
    folder = temporary_folder()
    pg = LocalPostgres(folder).start()
    try:
        db_url = pg.create_database("bench")
        migrate(db_url)
        per_level = args.seconds * 6000 if args.driver == "native" else args.requests * 2
        fill_pool(db_url, per_level * len(args.clients) + 10)
        tokens = [add_token(db_url, f"bench{i}") for i in range(max(args.clients))]
        with ProviderEmulator(install_delay_s=0) as emulator:
            server, url = start_server(db_url, emulator, args.workers)
            postmaster = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
            pids = {"server": server.pid, "postgres": postmaster}
            tools = native_tools(pg.bin_dir) if args.driver == "native" else None
            if args.driver == "native" and tools is None:
                print("wrk or pgbench not found (apt-get install wrk): the async load instead")
                args.driver = "async"
            try:
                measure_c1(args, db_url, url, tokens, pids, tools)
                measure_wake(db_url, url, tokens[0], emulator)
            finally:
                server.send_signal(signal.SIGTERM)
                server.communicate(timeout=30)
    finally:
        pg.stop_server("immediate")
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
