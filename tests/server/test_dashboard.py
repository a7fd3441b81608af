"""The fleet dashboard over real HTTP on the real PostgreSQL fixture (the browser tests in
tests/browser drive the same pages in Chromium)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta
from typing import Any

import httpx
import psycopg
import pytest

from installer_app.provider.emulator import ProviderEmulator
from installer_app.server.app import create_app
from installer_app.server.serve import InProcessServer
from tests.server.conftest import (
    MODEL,
    RunningServer,
    add_token,
    server_context,
)
from tests.server.dashboard_kit import Dev, csrf_of, install_app, seed, sign_in

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture
def admin(server: RunningServer) -> str:
    return add_token(server.db_url, "boss", "admin")


@pytest.fixture
def browser_client(server: RunningServer, admin: str) -> Iterator[httpx.Client]:
    client, answer = sign_in(server.url, admin)
    assert answer.status_code == 303
    with closing(client):
        yield client


@pytest.fixture
def unwatched(db_url: str, emulator: ProviderEmulator) -> Iterator[RunningServer]:
    """A server with the provider secret but without its binding watch, so that only *Check now*
    asks WeCom."""
    ctx = server_context(db_url, emulator)
    ctx.watch = False
    running = InProcessServer(create_app(ctx)).start()
    yield RunningServer(running.url, db_url, emulator)
    running.stop()


def _sns(html: str) -> list[str]:
    return re.findall(r'<a href="/devices/([0-9A-Za-z]+)">', html)


# -- signing in ---------------------------------------------------------------------------------


def test_sign_in_sets_a_strict_http_only_session_cookie(server: RunningServer, admin: str) -> None:
    client, answer = sign_in(server.url, admin)
    with closing(client):
        assert answer.status_code == 303
        cookie = next(
            v for k, v in answer.headers.multi_items() if k == "set-cookie" and "dash_session" in v
        )
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
        page = client.get("/")
        assert page.status_code == 200 and "boss" in page.text
    with psycopg.connect(server.db_url) as conn:
        rows = conn.execute("SELECT token_sha256, expires_at > now() FROM dashboard_sessions")
        (digest, live), *_ = rows.fetchall()
    assert live and len(digest) == 32  # only the SHA-256 of the cookie is kept


def test_the_cookie_is_secure_behind_https(server: RunningServer, admin: str) -> None:
    with httpx.Client(base_url=server.url) as client:
        form = client.get("/signin")
        answer = client.post(
            "/signin",
            data={"token": admin, "csrf": csrf_of(form.text)},
            headers={"X-Forwarded-Proto": "https"},
        )
    assert answer.status_code == 303
    cookie = next(v for k, v in answer.headers.multi_items() if "dash_session" in v)
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_signed_out_pages_lead_to_the_sign_in_form(server: RunningServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        answer = client.get("/sites")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/signin?next=%2Fsites"
        assert client.get("/?fragment=1").status_code == 401
        wrong = client.get("/signin")
        refused = client.post("/signin", data={"token": "nope", "csrf": csrf_of(wrong.text)})
        assert refused.status_code == 401


def test_installer_tokens_cannot_open_the_dashboard(server: RunningServer) -> None:
    token = add_token(server.db_url, "fitter")
    client, answer = sign_in(server.url, token)
    with closing(client):
        assert answer.status_code == 403
        assert "admin token" in answer.text
        assert "dash_session" not in client.cookies
    with server.client(token) as bearer:
        assert bearer.get("/").status_code == 403


def test_an_admin_bearer_token_works_without_a_session(server: RunningServer, admin: str) -> None:
    with server.client(admin) as client:
        assert client.get("/installers").status_code == 200


def test_sign_in_needs_the_forms_csrf_token(server: RunningServer, admin: str) -> None:
    with httpx.Client(base_url=server.url) as client:
        client.get("/signin")
        answer = client.post("/signin", data={"token": admin, "csrf": "forged"})
        assert answer.status_code == 403
        assert "dash_session" not in client.cookies


def test_every_post_needs_the_sessions_csrf_token(
    browser_client: httpx.Client, server: RunningServer
) -> None:
    seed(server.db_url, [Dev("SNCSRF01", "c5f1")])
    page = browser_client.get("/devices/SNCSRF01")
    token = csrf_of(page.text)
    assert browser_client.post("/devices/SNCSRF01/check", data={}).status_code == 403
    assert (
        browser_client.post("/installers/revoke", data={"csrf": "x", "name": "boss"}).status_code
        == 403
    )
    other_site = browser_client.post(
        "/devices/SNCSRF01/check", data={"csrf": token}, headers={"Origin": "https://evil.example"}
    )
    assert other_site.status_code == 403
    assert browser_client.post("/devices/SNCSRF01/check", data={"csrf": token}).status_code == 303


def test_sessions_live_in_postgresql_so_any_server_serves_them(
    server_factory: Any, admin: str
) -> None:
    first, second = server_factory(), server_factory()
    client, _answer = sign_in(first.url, admin)
    with closing(client):
        other = httpx.Client(base_url=second.url, cookies=client.cookies)
        with other:
            assert other.get("/").status_code == 200


def test_expired_sessions_and_revoked_admins_are_signed_out(
    browser_client: httpx.Client, server: RunningServer
) -> None:
    assert browser_client.get("/").status_code == 200
    with psycopg.connect(server.db_url) as conn:
        conn.execute("UPDATE dashboard_sessions SET expires_at = now() - interval '1 second'")
    assert browser_client.get("/").status_code == 303
    client, _ = sign_in(server.url, add_token(server.db_url, "boss2", "admin"))
    with closing(client):
        assert client.get("/").status_code == 200
        with psycopg.connect(server.db_url) as conn:
            conn.execute("UPDATE installers SET revoked_at = now() WHERE name = 'boss2'")
        assert client.get("/").status_code == 303


def test_sign_out_ends_the_session(browser_client: httpx.Client, server: RunningServer) -> None:
    token = csrf_of(browser_client.get("/").text)
    assert browser_client.post("/signout", data={"csrf": token}).status_code == 303
    with psycopg.connect(server.db_url) as conn:
        assert conn.execute("SELECT count(*) FROM dashboard_sessions").fetchone() == (0,)


# -- the devices list ---------------------------------------------------------------------------


def _fleet(server: RunningServer) -> None:
    add_token(server.db_url, "ann")
    add_token(server.db_url, "bob")
    seed(
        server.db_url,
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
            Dev("SNB001", "b001", "verified", last_outcome="failed", installer="bob", age=HOUR),
            Dev(
                "SNB002",
                "b002",
                "bound",
                model="WX-CAM-100",
                corpid="wwcorpB",
                corp_name="Beta",
                installer="bob",
                age=5 * DAY,
                bound_age=4 * DAY,
            ),
        ],
    )
    install_app(server.db_url, "wwcorpA", "Alpha 公司", open_corpid="wpOpenCorpA")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["SNB001", "SNA001", "SNA002", "SNB002"]),
        ({"stage": "bound"}, ["SNA001", "SNB002"]),
        ({"corpid": "wwcorpB"}, ["SNB002"]),
        ({"installer": "ann"}, ["SNA001", "SNA002"]),
        ({"model": "WX-CAM-100"}, ["SNB002"]),
        ({"q": "sna"}, ["SNA001", "SNA002"]),
        ({"q": "B00"}, ["SNB001", "SNB002"]),
        ({"q": "alpha"}, ["SNA001"]),
        ({"q": "50%_"}, []),
        ({"need": "unbound"}, ["SNA002"]),
        ({"need": "noapp"}, ["SNB002"]),
        ({"need": "failed"}, ["SNB001"]),
        ({"stage": "bound", "installer": "bob"}, ["SNB002"]),
    ],
)
def test_filters_and_search(
    browser_client: httpx.Client, server: RunningServer, query: dict[str, str], expected: list[str]
) -> None:
    _fleet(server)
    page = browser_client.get("/", params=query)
    assert page.status_code == 200
    assert _sns(page.text) == expected


def test_the_date_range_is_the_viewers_calendar(
    browser_client: httpx.Client, server: RunningServer
) -> None:
    _fleet(server)
    with psycopg.connect(server.db_url) as conn:
        conn.execute(
            "UPDATE devices SET issued_at = '2026-03-01T20:30:00Z' WHERE device_sn = 'SNA001'"
        )
    # 20:30 UTC on 1 March is 2 March in Shanghai.
    browser_client.cookies.set("dash_tz", "Asia/Shanghai")
    assert _sns(
        browser_client.get("/", params={"from": "2026-03-02", "to": "2026-03-02"}).text
    ) == ["SNA001"]
    browser_client.cookies.set("dash_tz", "UTC")
    assert (
        _sns(browser_client.get("/", params={"from": "2026-03-02", "to": "2026-03-02"}).text) == []
    )
    assert _sns(
        browser_client.get("/", params={"from": "2026-03-01", "to": "2026-03-01"}).text
    ) == ["SNA001"]


def test_keyset_paging_walks_every_device_once_both_ways(
    browser_client: httpx.Client, server: RunningServer
) -> None:
    # 120 devices, some sharing one issued_at (the key's hw_id breaks the tie).
    seed(
        server.db_url,
        [Dev(f"SNP{i:04d}", f"{i:04x}", age=timedelta(minutes=i // 3)) for i in range(120)],
    )
    seen: list[str] = []
    pages: list[str] = []
    url = "/"
    while True:
        html = browser_client.get(url).text
        pages.append(url)
        seen += _sns(html)
        older = re.search(r'href="([^"]+)" rel="next"', html)
        if older is None:
            break
        url = older.group(1).replace("&amp;", "&")
    assert len(seen) == len(set(seen)) == 120
    assert seen == sorted(seen, key=lambda sn: (int(sn[3:]) // 3, -int(sn[3:])))
    # Back to newer pages from the last one.
    html = browser_client.get(url).text
    newer = re.search(r'href="([^"]+)" rel="prev"', html)
    assert newer is not None
    assert _sns(browser_client.get(newer.group(1).replace("&amp;", "&")).text) == seen[50:100]


def test_a_fragment_is_the_list_alone_for_the_live_refresh(
    browser_client: httpx.Client, server: RunningServer
) -> None:
    _fleet(server)
    full = browser_client.get("/").text
    assert 'data-live="/?fragment=1"' in full
    part = browser_client.get("/?fragment=1").text
    assert "<html" not in part and _sns(part) == _sns(full)
    seed(server.db_url, [Dev("SNNEW1", "eeee")])
    assert _sns(browser_client.get("/?fragment=1").text)[0] == "SNNEW1"


def test_text_from_outside_is_escaped_everywhere(
    browser_client: httpx.Client, server: RunningServer
) -> None:
    evil = '<script>alert("x")</script>'
    add_token(server.db_url, "<b>fitter</b>")
    seed(
        server.db_url,
        [
            Dev(
                "SNX001",
                "abcd",
                "bound",
                corpid="wwevil",
                corp_name=evil,
                installer="<b>fitter</b>",
            )
        ],
    )
    for url in (
        "/",
        "/sites",
        "/site?corpid=wwevil",
        "/devices/SNX001",
        "/installers",
        "/attention",
    ):
        html = browser_client.get(url).text
        assert "<script>alert" not in html and "<b>fitter" not in html, url
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in browser_client.get("/").text


def test_pages_forbid_framing_and_inline_script(browser_client: httpx.Client) -> None:
    headers = browser_client.get("/").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"


# -- needs attention, one device, sites ------------------------------------------------------------


def test_needs_attention_lists_each_kind_with_what_to_do(
    browser_client: httpx.Client, server: RunningServer
) -> None:
    _fleet(server)
    seed(server.db_url, [Dev("SNLEASE", "1ea5", age=HOUR)])
    with psycopg.connect(server.db_url) as conn:
        conn.execute(
            "INSERT INTO leases (id, installer_id, model_id, expires_at) VALUES "
            "('00000000-0000-0000-0000-0000000000aa', "
            "(SELECT id FROM installers WHERE name='ann'), %s, now() + interval '1 day')",
            (MODEL,),
        )
        conn.execute(
            "INSERT INTO credentials (device_sn, model_id, secret_sealed, origin, lease_id, "
            "lease_expires_at) VALUES ('LEASED01', %s, '\\x00', 'inventory', "
            "'00000000-0000-0000-0000-0000000000aa', now() + interval '1 day')",
            (MODEL,),
        )
    html = browser_client.get("/attention").text
    sections = dict(re.findall(r'id="need-(\w+)">(.*?)</section>', html, re.S))
    assert _sns(sections["unbound"]) == ["SNA002"] and "scan" in sections["unbound"]
    assert _sns(sections["noapp"]) == ["SNB002"] and "marketplace" in sections["noapp"]
    assert _sns(sections["failed"]) == ["SNB001"] and "run the provisioning" in sections["failed"]
    assert "ann" in sections["leases"] and "0000000000aa" in sections["leases"]


def test_a_devices_history_comes_from_the_audit_table(
    browser_client: httpx.Client, server: RunningServer
) -> None:
    _fleet(server)
    with psycopg.connect(server.db_url) as conn:
        conn.execute(
            "INSERT INTO audit (installer, laptop, action, device_sn, hw_id) VALUES "
            "('bob', 'lap-7', 'event:verified:failed', 'snb001', 'b001')"
        )
    html = browser_client.get("/devices/snb001").text
    assert "Credential issued" in html and "Laptop reported Verified: failed" in html
    assert "lap-7" in html
    assert browser_client.get("/devices/NOSUCH").status_code == 404


def test_check_now_asks_wecom_and_records_the_answer(
    unwatched: RunningServer, emulator: ProviderEmulator
) -> None:
    admin = add_token(unwatched.db_url, "boss", "admin")
    seed(unwatched.db_url, [Dev("SNCHK001", "c001", "written")])
    client, _ = sign_in(unwatched.url, admin)
    with closing(client):
        page = client.get("/devices/SNCHK001")
        token = csrf_of(page.text)
        # Not registered with WeCom at all: its error, shown, not a traceback.
        answer = client.post("/devices/SNCHK001/check", data={"csrf": token}, follow_redirects=True)
        assert answer.status_code == 200 and "No answer" in answer.text
        emulator.register("SNCHK001", MODEL)
        answer = client.post("/devices/SNCHK001/check", data={"csrf": token}, follow_redirects=True)
        assert "not bound yet" in answer.text
        emulator.bind("SNCHK001", "wwcorpZ", "<i>Zeta</i> 公司")
        answer = client.post("/devices/SNCHK001/check", data={"csrf": token}, follow_redirects=True)
        assert "bound to &lt;i&gt;Zeta&lt;/i&gt; 公司 (wwcorpZ)" in answer.text
    with psycopg.connect(unwatched.db_url) as conn:
        row = conn.execute("SELECT bind_status, corpid, stage FROM devices").fetchone()
        checks = conn.execute("SELECT count(*) FROM audit WHERE action = 'check-now'").fetchone()
    assert row == (1, "wwcorpZ", "bound")
    assert checks == (3,)


def test_check_now_without_a_provider_secret_says_so(
    browser_client: httpx.Client, server: RunningServer
) -> None:
    seed(server.db_url, [Dev("SNCHK002", "c002")])
    page = browser_client.get("/devices/SNCHK002").text
    assert 'id="check-now" disabled' in page
    answer = browser_client.post(
        "/devices/SNCHK002/check", data={"csrf": csrf_of(page)}, follow_redirects=True
    )
    assert "INSTALLER_PROVIDER_SECRET" in answer.text


def test_sites_count_per_stage_installer_and_day(
    browser_client: httpx.Client, server: RunningServer
) -> None:
    _fleet(server)
    seed(
        server.db_url,
        [
            Dev(
                "SNA003",
                "a003",
                "done",
                corpid="wwcorpA",
                corp_name="Alpha 公司",
                installer="bob",
                age=2 * DAY,
            )
        ],
    )
    sites = browser_client.get("/sites").text
    assert sites.index("Alpha 公司") < sites.index("Beta")  # most devices first
    html = browser_client.get("/site", params={"corpid": "wwcorpA"}).text
    assert "2 devices" in html and "Companion app installed" in html
    bars = re.findall(r"<title>([^<]+): (\d+)</title>", html)
    assert ("Bound", "1") in bars and ("Done", "1") in bars
    assert ("ann", "1") in bars and ("bob", "1") in bars
    days = [b for b in bars if re.match(r"\d{4}-\d\d-\d\d", b[0])]
    assert len(days) == 3 and sum(int(n) for _d, n in days) == 2  # the empty day in between
    assert browser_client.get("/site", params={"corpid": "nope"}).status_code == 404


# -- CSV ----------------------------------------------------------------------------------------


def test_csv_export_of_a_filtered_list_neutralises_formulas(
    browser_client: httpx.Client, server: RunningServer
) -> None:
    _fleet(server)
    seed(
        server.db_url,
        [
            Dev(
                "SNF001",
                "f001",
                "bound",
                corpid="wwf",
                corp_name='=HYPERLINK("x")',
                installer="ann",
            ),
            Dev("SNF002", "f002", "bound", corpid="wwg", corp_name="@SUM(A1)", installer="ann"),
        ],
    )
    answer = browser_client.get("/devices.csv", params={"installer": "ann", "stage": "bound"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    text = answer.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0][:3] == ["SN", "HW_ID", "Model"]
    by_sn = {r[0]: r for r in rows[1:]}
    assert set(by_sn) == {"SNA001", "SNF001", "SNF002"}
    assert by_sn["SNF001"][6] == '\'=HYPERLINK("x")'
    assert by_sn["SNF002"][6] == "'@SUM(A1)"
    assert by_sn["SNA001"][6] == "Alpha 公司"
    zh = browser_client.get("/sites.csv", headers={"Accept-Language": "zh-CN"}).content.decode()
    assert zh.lstrip("\ufeff").startswith("企业,企业 ID")


def test_csv_export_streams_every_page(browser_client: httpx.Client, server: RunningServer) -> None:
    seed(server.db_url, [Dev(f"SNE{i:05d}", f"{i:05x}0") for i in range(2500)])
    text = browser_client.get("/devices.csv").content.decode("utf-8")
    assert len(text.strip().splitlines()) == 2501


# -- installers ---------------------------------------------------------------------------------


def test_add_an_installer_shows_the_token_once_and_it_works(
    browser_client: httpx.Client, server: RunningServer
) -> None:
    token = csrf_of(browser_client.get("/installers").text)
    answer = browser_client.post(
        "/installers",
        data={"csrf": token, "name": "carol", "role": "installer", "expires_days": "30"},
    )
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    new_token = re.search(r'<code id="new-token">([^<]+)</code>', answer.text)
    assert new_token is not None
    with server.client(new_token.group(1)) as laptop:
        assert laptop.get("/v1/installations/wwx").status_code == 200
    listing = browser_client.get("/installers").text
    assert "carol" in listing and new_token.group(1) not in listing
    again = browser_client.post("/installers", data={"csrf": token, "name": "carol"})
    assert again.status_code == 400 and "An installer named carol exists." in again.text
    bad = browser_client.post(
        "/installers", data={"csrf": token, "name": "dan", "expires_days": "x"}
    )
    assert bad.status_code == 400 and "whole number" in bad.text


def test_revoke_asks_first_then_the_token_stops_working(
    browser_client: httpx.Client, server: RunningServer
) -> None:
    victim = add_token(server.db_url, "eve")
    confirm = browser_client.get("/installers/revoke", params={"name": "eve"})
    assert "Revoke eve?" in confirm.text
    with server.client(victim) as laptop:
        assert laptop.get("/v1/installations/wwx").status_code == 200
        answer = browser_client.post(
            "/installers/revoke",
            data={"csrf": csrf_of(confirm.text), "name": "eve"},
            follow_redirects=True,
        )
        assert "eve is revoked" in answer.text
        assert laptop.get("/v1/installations/wwx").status_code == 401
    missing = browser_client.post(
        "/installers/revoke", data={"csrf": csrf_of(confirm.text), "name": "zed"}
    )
    assert missing.status_code == 404


# -- languages ----------------------------------------------------------------------------------


def test_the_browsers_language_then_the_switch(
    browser_client: httpx.Client, server: RunningServer
) -> None:
    assert "Every device of every site" in browser_client.get("/").text
    zh = browser_client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}).text
    assert "所有企业的所有设备" in zh and '<html lang="zh-CN">' in zh
    assert (
        "所有企业的所有设备"
        not in browser_client.get("/", headers={"Accept-Language": "fr, en;q=0.5"}).text
    )
    switched = browser_client.get("/lang", params={"to": "zh-CN", "next": "/sites"})
    assert switched.status_code == 303 and switched.headers["location"] == "/sites"
    assert "所有已有设备绑定的企业" in browser_client.get("/sites").text
    away = browser_client.get("/lang", params={"to": "en", "next": "//evil.example/x"})
    assert away.headers["location"] == "/"
    assert "Every device of every site" in browser_client.get("/").text


def test_every_list_has_a_live_fragment(
    browser_client: httpx.Client, server: RunningServer
) -> None:
    _fleet(server)
    for url in ("/", "/attention", "/sites", "/installers", "/devices/SNA001"):
        page = browser_client.get(url).text
        live = re.search(r'data-live="([^"]+)"', page)
        assert live is not None, url
        part = browser_client.get(live.group(1).replace("&amp;", "&"))
        assert part.status_code == 200 and "<html" not in part.text and "<t" in part.text, url
