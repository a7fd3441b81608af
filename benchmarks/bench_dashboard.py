"""The fleet dashboard with 100,000 devices: p50/p99 of the main list and of each filter.

Starts a private PostgreSQL (installer_app/server/local_pg.py), loads 100,000 devices with COPY
(500 enterprises, 50 installers, 3 models, 180 days, the stages and failures of a real fleet, one
audit row each), then serves the dashboard from this process (uvicorn, one worker) and times 50
signed-in requests per page over loopback. The time is the whole HTTP round trip seen by a client
in the same process, so the server's own share is a little less.

    .venv/bin/python benchmarks/bench_dashboard.py [--devices 100000] [--requests 50] [--explain]

Target: p99 < 200 ms for the main list and each filter. ``--explain`` prints PostgreSQL's plan
(EXPLAIN ANALYZE) of each list's query, as docs/dashboard.md shows them.
"""

from __future__ import annotations

import argparse
import base64
import random
import shutil
import sys
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from installer_app.secrets import Secret  # noqa: E402
from installer_app.server.app import create_app  # noqa: E402
from installer_app.server.dashboard import queries  # noqa: E402
from installer_app.server.dashboard.queries import DeviceFilter  # noqa: E402
from installer_app.server.db import migrate  # noqa: E402
from installer_app.server.issuance import SEAL_KIND  # noqa: E402
from installer_app.server.local_pg import LocalPostgres, temporary_folder  # noqa: E402
from installer_app.server.sealing import Sealer  # noqa: E402
from installer_app.server.serve import InProcessServer  # noqa: E402
from tests.server.conftest import SERVER_KEY, add_token, server_context  # noqa: E402
from tests.server.dashboard_kit import sign_in  # noqa: E402

MODELS = ("WX-ATT-200", "WX-CAM-100", "WX-LCK-300")
STAGES = (
    ("issued", 3),
    ("written", 6),
    ("verified", 4),
    ("committed", 4),
    ("bound", 55),
    ("done", 28),
)
TARGET_MS = 200.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def load(db_url: str, count: int) -> dict[str, str]:
    """COPY ``count`` devices in; returns sample values for the filters."""
    rng = random.Random(14)
    now = datetime.now(UTC)
    corps = [
        (f"wwcorp{i:05d}", f"企业 {i} 有限公司" if i % 2 else f"Enterprise {i} Ltd")
        for i in range(500)
    ]
    installers = [f"installer{i:02d}" for i in range(50)]
    for name in installers:
        add_token(db_url, name)
    sealer = Sealer(base64.b64decode(SERVER_KEY))
    # One sealed credential reused: sealing 100,000 would time the benchmark, not the dashboard.
    sealed = sealer.seal(SEAL_KIND, "BENCH", Secret("bench-secret"))
    stage_names = [s for s, w in STAGES for _ in range(w)]
    with psycopg.connect(db_url) as conn:
        ids = dict(conn.execute("SELECT name, id FROM installers").fetchall())
        with conn.cursor().copy(
            "COPY credentials (device_sn, model_id, secret_sealed, origin, hw_id, issued_at) "
            "FROM STDIN"
        ) as copy_cred:
            rows: list[tuple[Any, ...]] = []
            for i in range(count):
                sn, hw = f"WXB{i:08d}", f"{i:010x}"
                model = MODELS[i % 3]
                issued = now - timedelta(seconds=rng.uniform(0, 180 * 86400))
                stage = rng.choice(stage_names)
                bound = stage in ("bound", "done")
                corp = rng.choice(corps) if bound else (None, None)
                outcome = "failed" if rng.random() < 0.02 else "ok"
                installer = ids[rng.choice(installers)]
                rows.append((sn, hw, model, stage, outcome, bound, corp, installer, issued))
                copy_cred.write_row((sn, model, sealed, "inventory", hw, issued))
        with conn.cursor().copy(
            "COPY devices (hw_id, device_sn, model_id, stage, last_outcome, bind_status, corpid, "
            "corp_name, installer_id, issued_at, updated_at, bound_at) FROM STDIN"
        ) as copy_dev:
            for sn, hw, model, stage, outcome, bound, corp, installer, issued in rows:
                copy_dev.write_row(
                    (
                        hw,
                        sn,
                        model,
                        stage,
                        outcome,
                        1 if bound else 0,
                        corp[0],
                        corp[1],
                        installer,
                        issued,
                        issued + timedelta(minutes=5),
                        issued + timedelta(minutes=3) if bound else None,
                    )
                )
        with conn.cursor().copy(
            "COPY audit (at, installer, laptop, action, device_sn, hw_id, detail) FROM STDIN"
        ) as copy_audit:
            for sn, hw, model, _stage, _o, _b, _c, installer, issued in rows:
                copy_audit.write_row(
                    (issued, f"installer{installer % 50:02d}", "lap", "issue", sn, hw, model)
                )
        for corpid, name in corps[: len(corps) * 9 // 10]:  # 10 % without the companion app
            conn.execute(
                "INSERT INTO installations (corpid, corp_name, agentid) VALUES (%s, %s, 1)",
                (corpid, name),
            )
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    day = (now - timedelta(days=30)).date().isoformat()
    return {
        "corpid": corps[7][0],
        "corp_name": "有限公司 7",
        "installer": installers[3],
        "day": day,
        "sn": "WXB00004242",
    }


def cases(sample: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
    return [
        ("main list", {}),
        ("deep page (after a cursor)", {"after": "CURSOR"}),
        ("stage = written", {"stage": "written"}),
        ("enterprise", {"corpid": sample["corpid"]}),
        ("installer", {"installer": sample["installer"]}),
        ("model", {"model": MODELS[1]}),
        ("date range (one day)", {"from": sample["day"], "to": sample["day"]}),
        (
            "date range + stage + model",
            {"from": sample["day"], "stage": "bound", "model": MODELS[0]},
        ),
        ("search SN", {"q": sample["sn"][-6:]}),
        ("search HW_ID", {"q": "00000a1"}),
        ("search enterprise", {"q": "Enterprise 42 "}),
        ("search enterprise (rare)", {"q": sample["corp_name"]}),
        ("search, no match", {"q": "no-such-thing"}),
        ("needs: not bound after a day", {"need": "unbound"}),
        ("needs: no companion app", {"need": "noapp"}),
        ("needs: last step failed", {"need": "failed"}),
        ("live refresh fragment", {"fragment": "1"}),
    ]


class Timed:
    """ASGI wrapper: the server's time for each request, from its first byte in to its last
    byte out (what "at the server" means in the target)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last_ms = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()

        async def sending(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.last_ms = (time.perf_counter() - start) * 1000

        await self.app(scope, receive, sending)


def time_page(
    client: httpx.Client, timed: Timed, path: str, params: dict[str, str], n: int
) -> tuple[list[float], list[float]]:
    """(the server's times, the round trips) of n requests, in ms."""
    server, trip = [], []
    for _ in range(n):
        start = time.perf_counter()
        answer = client.get(path, params=params)
        trip.append((time.perf_counter() - start) * 1000)
        server.append(timed.last_ms)
        assert answer.status_code == 200, (path, params, answer.status_code)
    return server, trip


def line(label: str, server: list[float], trip: list[float]) -> str:
    return (
        f"{label:<34} {percentile(server, 0.5):8.1f} {percentile(server, 0.99):8.1f}"
        f" {percentile(trip, 0.5):9.1f} {percentile(trip, 0.99):9.1f}"
    )


def explain(db_url: str, sample: dict[str, str]) -> None:
    import asyncio

    async def plans() -> None:
        async with await psycopg.AsyncConnection.connect(
            db_url, row_factory=psycopg.rows.dict_row
        ) as conn:
            for label, params in cases(sample):
                if label.startswith(("deep", "live")):
                    continue
                f = DeviceFilter.from_query(params)
                conds, args = queries.where(f, "UTC")
                sql = "EXPLAIN (ANALYZE, COSTS OFF) " + queries.page_sql(conds)
                cur = await conn.execute(sql.encode(), [*args, queries.PAGE_SIZE + 1])
                print(f"\n-- {label} {params}")
                for row in await cur.fetchall():
                    print(row["QUERY PLAN"])

    asyncio.run(plans())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    folder = temporary_folder()
    cluster = LocalPostgres(folder).start()
    try:
        db_url = cluster.create_database("bench_dashboard")
        migrate(db_url)
        started = time.perf_counter()
        sample = load(db_url, args.devices)
        print(f"loaded {args.devices:,} devices in {time.perf_counter() - started:.1f} s")
        if args.explain:
            explain(db_url, sample)
        admin = add_token(db_url, "bench-admin", "admin")
        timed = Timed(create_app(server_context(db_url)))
        server = InProcessServer(timed).start()
        try:
            client, answer = sign_in(server.url, admin)
            assert answer.status_code == 303
            with closing(client):
                html = client.get("/").text
                cursor = html.split('rel="next"')[0].rsplit("after=", 1)[1].split('"')[0]
                cursor = cursor.replace("&amp;", "&").split("&")[0]
                print(f"\n{args.requests} requests each: ms at the server, and round trips")
                print(f"{'page':<34} {'p50':>8} {'p99':>8} {'trip p50':>9} {'trip p99':>9}")
                worst = 0.0
                for label, params in cases(sample):
                    if "after" in params:
                        params = {"after": httpx.QueryParams(f"after={cursor}")["after"]}
                    at_server, trip = time_page(client, timed, "/", params, args.requests)
                    worst = max(worst, percentile(at_server, 0.99))
                    print(line(label, at_server, trip))
                for label, path, params in (
                    ("needs attention page", "/attention", {}),
                    ("sites page", "/sites", {}),
                    ("one site (charts)", "/site", {"corpid": sample["corpid"]}),
                    ("one device (history)", f"/devices/{sample['sn']}", {}),
                    ("installers page", "/installers", {}),
                ):
                    print(line(label, *time_page(client, timed, path, params, args.requests)))
                start = time.perf_counter()
                size = len(client.get("/devices.csv", params={"stage": "bound"}).content)
                print(
                    f"\nCSV of every bound device: {size / 1e6:.1f} MB in "
                    f"{time.perf_counter() - start:.2f} s"
                )
                print(
                    f"\nworst p99 of the lists: {worst:.1f} ms (target < {TARGET_MS:.0f} ms): "
                    f"{'OK' if worst < TARGET_MS else 'OVER'}"
                )
        finally:
            server.stop()
    finally:
        cluster.stop_server("immediate")
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
