"""Screenshots of every dashboard screen in English and Chinese: docs/screenshots/dashboard-*.png.

Starts a private PostgreSQL, the provider emulator and the team server in this process, loads a
small fleet (four sites, every stage, a failure, an expiring lease, an enterprise name holding
<script>), then drives Debian's Chromium with Playwright (never a downloaded browser).

    .venv/bin/python tools/dashboard_screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from installer_app.provider.emulator import ProviderEmulator  # noqa: E402
from installer_app.server.app import create_app  # noqa: E402
from installer_app.server.db import migrate  # noqa: E402
from installer_app.server.local_pg import LocalPostgres, temporary_folder  # noqa: E402
from installer_app.server.serve import InProcessServer  # noqa: E402
from tests.browser.conftest import CHROMIUM_ARGS, chromium_path  # noqa: E402
from tests.server.conftest import MODEL, add_token, server_context  # noqa: E402
from tests.server.dashboard_kit import Dev, install_app, seed  # noqa: E402

SITES = (
    ("wwcorp0001", "上海星河物业管理有限公司"),
    ("wwcorp0002", "Northwind Offices"),
    ("wwcorp0003", "深圳前海科技园"),
    ("wwcorp0004", '<script>alert("hi")</script> Ltd'),
)
INSTALLERS = ("zhang.wei", "li.na", "wang.fang")
STAGES = ("bound", "bound", "done", "bound", "written", "verified", "committed")


def load(db_url: str) -> None:
    rng = random.Random(7)
    for name in INSTALLERS:
        add_token(db_url, name)
    devices = []
    for i in range(64):
        stage = STAGES[i % len(STAGES)]
        corpid, corp_name = SITES[i % len(SITES)] if stage in ("bound", "done") else (None, None)
        devices.append(
            Dev(
                f"WX{0xA1B2C300 + i:X}",
                f"a1b2c3{i:04x}",
                stage,
                model=MODEL if i % 4 else "WX-CAM-100",
                last_outcome="failed" if i % 13 == 5 else "ok",
                corpid=corpid,
                corp_name=corp_name,
                installer=INSTALLERS[i % 3],
                age=timedelta(hours=rng.uniform(0.5, 24 * 12)),
            )
        )
    seed(db_url, devices)
    install_app(db_url, SITES[0][0], SITES[0][1])
    install_app(db_url, SITES[2][0], SITES[2][1], open_corpid="wpOpen0003")
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO leases (id, installer_id, model_id, expires_at) VALUES "
            "('6f1c2a9e-5b1d-4c7a-9d7e-2b8f0c1d3e4f', (SELECT id FROM installers "
            "WHERE name = 'li.na'), %s, now() + interval '20 hours')",
            (MODEL,),
        )
        for n in range(12):
            conn.execute(
                "INSERT INTO credentials (device_sn, model_id, secret_sealed, origin, lease_id, "
                "lease_expires_at) VALUES (%s, %s, '\\x00', 'inventory', "
                "'6f1c2a9e-5b1d-4c7a-9d7e-2b8f0c1d3e4f', now() + interval '20 hours')",
                (f"LEASE{n:04d}", MODEL),
            )
        conn.execute(
            "INSERT INTO events (event_id, device_sn, hw_id, step, outcome, at, installer, detail)"
            " VALUES (gen_random_uuid(), 'WXA1B2C305', 'a1b2c30005', 'verified', 'failed', "
            "now() - interval '2 hours', 'wang.fang', 'VERIFY: the board answered a different SN')"
        )


def shrink(path: Path) -> None:
    """256 colours are plenty for a flat page: a fifth of the bytes in the repository."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256)
    small.save(path, optimize=True)


def shoot(browser: Any, base: str, admin: str, lang: str, out: Path) -> list[Path]:
    locale = "zh-CN" if lang == "zh-CN" else "en-US"
    context = browser.new_context(
        locale=locale,
        timezone_id="Asia/Shanghai",
        viewport={"width": 1360, "height": 860},
        device_scale_factor=1,
    )
    page = context.new_page()
    page.set_default_timeout(20000)
    made: list[Path] = []
    suffix = "zh" if lang == "zh-CN" else "en"

    def snap(name: str) -> None:
        page.wait_for_load_state("networkidle")
        path = out / f"dashboard-{name}-{suffix}.png"
        page.screenshot(path=str(path))
        shrink(path)
        made.append(path)

    page.goto(base + "/signin")
    snap("signin")
    page.fill("#token", admin)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    snap("devices")
    page.goto(base + "/?stage=bound&installer=zhang.wei")
    snap("devices-filtered")
    page.goto(base + "/attention")
    snap("attention")
    page.goto(base + "/devices/WXA1B2C305")
    snap("device-failed")
    page.goto(base + "/devices/WXA1B2C304")
    page.click("#check-now")
    page.wait_for_selector("#check-answer")
    snap("device-checked")
    page.goto(base + "/sites")
    snap("sites")
    page.goto(base + f"/site?corpid={SITES[0][0]}")
    snap("site")
    page.goto(base + "/installers")
    snap("installers")
    page.goto(base + "/installers/revoke?name=wang.fang")
    snap("revoke")
    context.close()
    return made


def refused(browser: Any, base: str, token: str, lang: str, out: Path) -> Path:
    context = browser.new_context(locale="zh-CN" if lang == "zh-CN" else "en-US")
    page = context.new_page()
    page.goto(base + "/signin")
    page.fill("#token", token)
    page.click("button[type=submit]")
    path = out / f"dashboard-refused-{'zh' if lang == 'zh-CN' else 'en'}.png"
    page.screenshot(path=str(path))
    shrink(path)
    context.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    path = chromium_path()
    if path is None:
        sys.exit("Chromium is not installed (apt-get install -y chromium fonts-noto-cjk).")
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    folder = temporary_folder()
    cluster = LocalPostgres(folder).start()
    try:
        db_url = cluster.create_database("screenshots")
        migrate(db_url)
        load(db_url)
        admin = add_token(db_url, "ops.admin", "admin")
        installer = add_token(db_url, "field.tech")
        with ProviderEmulator(install_delay_s=0) as emulator:
            emulator.register("WXA1B2C304", MODEL)
            emulator.bind("WXA1B2C304", SITES[1][0], SITES[1][1])
            ctx = server_context(db_url, emulator)
            ctx.watch = False
            server = InProcessServer(create_app(ctx)).start()
            try:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
                    made = []
                    for lang in ("en", "zh-CN"):
                        made += shoot(browser, server.url, admin, lang, args.out)
                        made.append(refused(browser, server.url, installer, lang, args.out))
                    browser.close()
            finally:
                server.stop()
        for made_path in made:
            print(made_path.relative_to(ROOT) if made_path.is_relative_to(ROOT) else made_path)
    finally:
        cluster.stop_server("immediate")
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
