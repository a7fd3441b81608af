"""The fleet dashboard in Chromium: sign in, filter, open a device, Check now (the emulator answers
as WeCom), export CSV, revoke an installer, the language switch, an enterprise name holding
<script> shown as text, times in the viewer's zone, and the list refreshing by itself."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from installer_app.provider.emulator import ProviderEmulator
from installer_app.server.app import create_app
from installer_app.server.serve import InProcessServer
from tests.server.conftest import MODEL, RunningServer, add_token, server_context
from tests.server.dashboard_kit import Dev, install_app, seed

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
EVIL = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'

pytestmark = pytest.mark.slow


@pytest.fixture
def site(db_url: str, emulator: ProviderEmulator) -> Iterator[tuple[RunningServer, str]]:
    """A server that can ask the emulator (no binding watch: only *Check now* asks), a fleet,
    and an admin token."""
    ctx = server_context(db_url, emulator)
    ctx.watch = False
    running = InProcessServer(create_app(ctx)).start()
    admin = add_token(db_url, "boss", "admin")
    add_token(db_url, "ann")
    add_token(db_url, "eve")
    seed(
        db_url,
        [
            Dev(
                "SNA001",
                "a001",
                "bound",
                corpid="wwcorpA",
                corp_name="Alpha 公司",
                installer="ann",
                age=3 * HOUR,
            ),
            Dev("SNA002", "a002", "written", installer="ann", age=2 * DAY),
            Dev("SNB001", "b001", "verified", last_outcome="failed", installer="eve", age=HOUR),
            Dev(
                "SNX001", "e001", "bound", corpid="wwevil", corp_name=EVIL, installer="eve", age=DAY
            ),
            Dev(
                "SNF001",
                "f001",
                "bound",
                corpid="wwform",
                corp_name="=1+2",
                installer="ann",
                age=5 * DAY,
            ),
        ],
    )
    install_app(db_url, "wwcorpA", "Alpha 公司")
    yield RunningServer(running.url, db_url, emulator), admin
    running.stop()


def sign_in(page: Any, base: str, token: str) -> None:
    page.goto(base + "/")
    assert "/signin" in page.url
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def listed(page: Any) -> list[str]:
    texts: list[str] = page.locator(
        "#devices table.devices tbody tr td:first-child"
    ).all_inner_texts()
    return [t.strip() for t in texts]


def test_sign_in_filter_open_a_device_and_check_now(
    browser_page: Any, site: tuple[RunningServer, str], emulator: ProviderEmulator
) -> None:
    server, admin = site
    page = browser_page
    sign_in(page, server.url, admin)
    assert listed(page) == ["SNB001", "SNA001", "SNX001", "SNA002", "SNF001"]
    page.select_option("select[name=stage]", "bound")
    page.select_option("select[name=installer]", "ann")
    page.click("#filters button[type=submit]")
    page.wait_for_url(re.compile(r"stage=bound"))
    assert listed(page) == ["SNA001", "SNF001"]
    page.fill("input[name=q]", "alpha")
    page.click("#filters button[type=submit]")
    page.wait_for_url(re.compile(r"q=alpha"))
    assert listed(page) == ["SNA001"]
    page.click("text=Clear the filters")
    page.click("a[href='/devices/SNA002']")
    page.wait_for_url(server.url + "/devices/SNA002")
    assert "Credential issued" in page.inner_text("table.history")
    emulator.register("SNA002", MODEL)
    emulator.bind("SNA002", "wwcorpQ", "Quartz 公司")
    page.click("#check-now")
    page.wait_for_url(re.compile(r"/devices/SNA002#check$"))
    answer = page.inner_text("#check-answer")
    assert "bound to Quartz 公司 (wwcorpQ)" in answer
    assert "Checked with WeCom" in page.inner_text("table.history")


def test_export_csv_downloads_the_filtered_list(
    browser_page: Any, site: tuple[RunningServer, str], tmp_path: Path
) -> None:
    server, admin = site
    page = browser_page
    sign_in(page, server.url, admin)
    page.goto(server.url + "/?installer=ann&stage=bound")
    with page.expect_download() as download:
        page.click("#export-csv")
    saved = tmp_path / "devices.csv"
    download.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["SNA001", "SNF001"]
    assert rows[2][6] == "'=1+2"  # a formula neutralised for the spreadsheet


def test_revoke_an_installer_after_confirming(
    browser_page: Any, site: tuple[RunningServer, str]
) -> None:
    server, admin = site
    page = browser_page
    sign_in(page, server.url, admin)
    page.click("nav >> text=Installers")
    row = page.locator("tr[data-installer=eve]")
    assert "Active" in row.inner_text()
    row.locator("text=Revoke…").click()
    assert "Revoke eve?" in page.inner_text("main")
    page.click("#confirm-revoke")
    page.wait_for_url(re.compile(r"/installers\?revoked=eve"))
    assert "eve is revoked" in page.inner_text(".notice")
    assert "Revoked" in page.locator("tr[data-installer=eve]").inner_text()
    with server.client(add_token(server.db_url, "probe")) as laptop:
        assert laptop.get("/v1/installations/x").status_code == 200


def test_the_language_switch(browser_page: Any, site: tuple[RunningServer, str]) -> None:
    server, admin = site
    page = browser_page
    sign_in(page, server.url, admin)
    assert page.inner_text("h1") == "Every device of every site"
    page.click("#lang-switch")
    page.wait_for_load_state()
    assert page.inner_text("h1") == "所有企业的所有设备"
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.click("nav >> text=待处理")
    assert "已写入，一天后仍未绑定" in page.inner_text("main")
    page.click("#lang-switch")
    page.wait_for_load_state()
    assert page.inner_text("h1") == "Needs attention"


def test_a_chinese_browser_gets_chinese_first(
    chromium: Any, site: tuple[RunningServer, str]
) -> None:
    server, _admin = site
    context = chromium.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(server.url + "/signin")
        assert page.inner_text("h1") == "登录"
    finally:
        context.close()


def test_an_enterprise_name_holding_script_is_shown_as_text(
    browser_page: Any, site: tuple[RunningServer, str]
) -> None:
    server, admin = site
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, server.url, admin)
    for url in ("/", "/sites", "/site?corpid=wwevil", "/devices/SNX001"):
        page.goto(server.url + url)
        assert page.evaluate("window.__pwned") is None, url
        assert EVIL in page.inner_text("main"), url
    assert errors == []


def test_times_are_in_the_viewers_zone(browser_page: Any, site: tuple[RunningServer, str]) -> None:
    server, admin = site
    page = browser_page  # Asia/Shanghai
    with psycopg.connect(server.db_url) as conn:
        conn.execute(
            "UPDATE devices SET issued_at = '2026-03-01T20:30:00Z' WHERE device_sn = 'SNF001'"
        )
    sign_in(page, server.url, admin)
    cell = (
        page.locator("a[href='/devices/SNF001']")
        .locator("xpath=ancestor::tr")
        .locator("time")
        .first
    )
    assert cell.get_attribute("datetime") == "2026-03-01T20:30:00+00:00"
    text = cell.inner_text()
    assert "03/02/2026" in text and "04:30:00" in text and "GMT+8" in text
    assert "Asia/Shanghai (GMT+8)" in page.inner_text("footer")


def test_the_list_refreshes_without_reloading(
    browser_page: Any, site: tuple[RunningServer, str]
) -> None:
    server, admin = site
    page = browser_page
    sign_in(page, server.url, admin)
    page.evaluate("window.__same_page = true")
    seed(server.db_url, [Dev("SNLIVE1", "1111", installer="ann")])
    page.wait_for_selector("a[href='/devices/SNLIVE1']", timeout=15000)
    assert page.evaluate("window.__same_page") is True
    assert listed(page)[0] == "SNLIVE1"


def test_an_installer_token_gets_the_refusal_page(
    browser_page: Any, site: tuple[RunningServer, str]
) -> None:
    server, _admin = site
    page = browser_page
    page.goto(server.url + "/signin")
    page.fill("#token", add_token(server.db_url, "fitter"))
    page.click("button[type=submit]")
    assert page.inner_text("h1") == "This needs an admin token."
    page.goto(server.url + "/")
    assert "/signin" in page.url
