"""The site handover from the team server's records (``GET /v1/sites/{corpid}``) in a big fleet.

Starts a private PostgreSQL (installer_app/server/local_pg.py) and fills it in SQL: ``--devices``
boards over 500 enterprises, 50 installers and 180 days, six C4 events each (reserved … app
installed; one board in ten failed instead, unbound) plus a location for half of them. Then it
serves the laptop API from this process and times ``--requests`` handovers of one enterprise
for one week and for all time (HTTP over loopback, the whole round trip a laptop sees), with the
migration's indexes and again without them (``events_sn_upper``, ``events_installer_at``,
``devices_sn_upper``), to show what they are for.

    .venv/bin/python benchmarks/bench_site_handover.py [--devices 100000] [--requests 30]

Target: p99 < 200 ms for a week of one enterprise, with the indexes.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from installer_app.server.app import create_app  # noqa: E402
from installer_app.server.db import migrate  # noqa: E402
from installer_app.server.local_pg import LocalPostgres, temporary_folder  # noqa: E402
from installer_app.server.serve import InProcessServer  # noqa: E402
from tests.server.conftest import add_token, server_context  # noqa: E402

TARGET_MS = 200.0
CORPS = 500
INSTALLERS = 50
DAYS = 180
INDEXES = ("events_sn_upper", "events_installer_at", "devices_sn_upper")

# Board i: enterprise i % CORPS, installer i % INSTALLERS, worked on day (i / CORPS) % DAYS
# before now (an enterprise's boards arrive a few a day), one in ten failed and never bound.
_LOAD_SQL = """
INSERT INTO credentials (device_sn, model_id, secret_sealed, origin, hw_id, issued_at)
SELECT 'BENCH' || lpad(i::text, 8, '0'), 'WX-ATT-200', '\\x00', 'inventory',
    lpad(to_hex(i), 12, '0'), now()
FROM generate_series(1, {n}) i;
INSERT INTO devices (hw_id, device_sn, model_id, stage, last_outcome, bind_status, corpid,
    corp_name, installer_id, issued_at, bound_at)
SELECT lpad(to_hex(i), 12, '0'), 'BENCH' || lpad(i::text, 8, '0'), 'WX-ATT-200',
    CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'app_installed' END,
    CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'ok' END,
    CASE WHEN i % 10 = 0 THEN 0 ELSE 1 END,
    CASE WHEN i % 10 = 0 THEN NULL ELSE 'wwcorp' || lpad((i % {corps})::text, 5, '0') END,
    CASE WHEN i % 10 = 0 THEN NULL ELSE '企业 ' || (i % {corps}) END,
    (SELECT min(id) FROM installers) + i % {installers},
    now() - make_interval(days => (i / {corps}) % {days}),
    CASE WHEN i % 10 = 0 THEN NULL
        ELSE now() - make_interval(days => (i / {corps}) % {days}) END
FROM generate_series(1, {n}) i;
INSERT INTO events (event_id, device_sn, hw_id, step, outcome, at, installer, detail,
    installer_id)
SELECT gen_random_uuid(), d.device_sn, d.hw_id, s.step,
    CASE WHEN s.step = 'failed' THEN 'failed' ELSE 'ok' END,
    d.issued_at + make_interval(secs => s.n * 20), 'installer ' || d.installer_id,
    CASE WHEN s.step = 'failed' THEN 'commit: FLASH_FAIL'
         WHEN s.step = 'location' THEN '3F-' || right(d.hw_id, 3) || ' 前台' END,
    d.installer_id
FROM devices d
CROSS JOIN LATERAL (
    SELECT n, step FROM unnest(
        CASE WHEN d.bind_status = 0
            THEN ARRAY['reserved', 'written', 'verified', 'failed']
            ELSE ARRAY['reserved', 'written', 'verified', 'committed', 'bound', 'app_installed',
                       'location'] END
    ) WITH ORDINALITY AS u(step, n)
) s
WHERE s.step <> 'location' OR get_byte(decode(right(d.hw_id, 2), 'hex'), 0) % 2 = 0;
ANALYZE;
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(client: httpx.Client, corp: str, params: dict[str, str], requests: int) -> list[float]:
    times: list[float] = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = client.get(f"/v1/sites/{corp}", params=params)
        times.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    folder = temporary_folder()
    pg = LocalPostgres(folder).start()
    try:
        url = pg.create_database("bench")
        migrate(url)
        for i in range(INSTALLERS):
            token = add_token(url, f"installer{i:02d}")
        started = time.perf_counter()
        script = _LOAD_SQL.format(n=args.devices, corps=CORPS, installers=INSTALLERS, days=DAYS)
        with psycopg.connect(url, autocommit=True) as conn:
            for statement in script.split(";\n"):
                if statement.strip():
                    conn.execute(statement.encode())
            events = conn.execute("SELECT count(*) FROM events").fetchone()
        print(
            f"loaded {args.devices} devices, {events[0] if events else 0} events "
            f"in {time.perf_counter() - started:.1f} s"
        )
        server = InProcessServer(create_app(server_context(url, rate_limit_per_s=100_000)))
        server.start()
        corp = "wwcorp00007"
        now = datetime.now(UTC)
        week = {
            "since": (now - timedelta(days=7)).isoformat(),
            "until": (now + timedelta(days=1)).isoformat(),
            "utc_offset": "480",
        }
        try:
            with httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
            ) as client:
                for label in ("with the indexes", "without them"):
                    timed(client, corp, week, 3)  # warm-up
                    rows_week = len(client.get(f"/v1/sites/{corp}", params=week).json()["devices"])
                    rows_all = len(client.get(f"/v1/sites/{corp}").json()["devices"])
                    for name, params in (("one week", week), ("all time", {})):
                        values = timed(client, corp, params, args.requests)
                        count = rows_week if name == "one week" else rows_all
                        print(
                            f"{label:17} {name:8} ({count:3} devices): "
                            f"p50 {percentile(values, 0.5):7.1f} ms  "
                            f"p99 {percentile(values, 0.99):7.1f} ms"
                        )
                    with psycopg.connect(url, autocommit=True) as conn:
                        for index in INDEXES:
                            conn.execute(f"DROP INDEX IF EXISTS {index}")
                        conn.execute("ANALYZE")
        finally:
            server.stop()
    finally:
        pg.stop_server("fast")
        shutil.rmtree(folder, ignore_errors=True)
    print(f"target: p99 < {TARGET_MS:.0f} ms for one week of one enterprise, with the indexes")


if __name__ == "__main__":
    main()
