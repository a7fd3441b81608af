"""The emulator's control endpoints, fault injection, automatic scan and operator page."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from installer_app.provider.emulator import ProviderEmulator, dynamic_signature
from tests.fixtures.provider import (
    EMULATOR_CORPID,
    EMULATOR_PARTNER_TOKEN,
    EMULATOR_PROVIDER_SECRET,
    EmulatorFactory,
    poll_until,
)

AUTH_INFO = "/cgi-bin/service/get_device_auth_info"
TOKEN_PATH = "/cgi-bin/service/get_provider_token"


@pytest.fixture
def http(emulator: ProviderEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.base_url, timeout=30) as client:
        yield client


def token(http: httpx.Client) -> str:
    reply = http.post(
        TOKEN_PATH, json={"corpid": EMULATOR_CORPID, "provider_secret": EMULATOR_PROVIDER_SECRET}
    )
    value: str = reply.json()["provider_access_token"]
    return value


def auth_info(http: httpx.Client, tok: str, sn: str) -> httpx.Response:
    return http.post(AUTH_INFO, params={"provider_access_token": tok}, json={"device_sn": sn})


def test_bind_and_unbind_over_http(emulator: ProviderEmulator, http: httpx.Client) -> None:
    emulator.register("CTRL1", "WX-ATT-200")
    bound = http.post("/_emulator/bind", json={"device_sn": "ctrl1"})
    assert bound.status_code == 200
    assert bound.json()["device"]["bound"] is True
    probe = http.get("/_emulator/devices/CTRL1")
    assert probe.status_code == 200
    assert set(probe.json()) == {
        "device_sn",
        "bound",
        "corpid",
        "corp_name",
        "app_installed",
        "agentid",
    }
    assert probe.json()["corp_name"] == "测试科技有限公司"
    installed = poll_until(
        lambda: http.get("/_emulator/devices/CTRL1").json(), lambda d: d["app_installed"]
    )
    assert installed["agentid"] == 1000002

    # Binding into another enterprise needs an unbind first, as in WeCom.
    other = http.post("/_emulator/bind", json={"device_sn": "CTRL1", "corpid": "wwtestcorp000002"})
    assert other.status_code == 409
    assert http.post("/_emulator/unbind", json={"device_sn": "CTRL1"}).json()["device"] == {
        "device_sn": "CTRL1",
        "bound": False,
        "corpid": None,
        "corp_name": None,
        "app_installed": False,
        "agentid": None,
    }
    assert (
        http.post(
            "/_emulator/bind", json={"device_sn": "CTRL1", "corpid": "wwtestcorp000002"}
        ).json()["device"]["corp_name"]
        == "示例智能制造有限公司"
    )


def test_control_errors(http: httpx.Client) -> None:
    assert http.get("/_emulator/devices/NOPE1").status_code == 404
    assert http.post("/_emulator/bind", json={"device_sn": "NOPE1"}).status_code == 404
    assert http.post("/_emulator/bind", json={}).status_code == 400
    assert http.post("/_emulator/unbind", json={"device_sn": "NOPE1"}).status_code == 404
    assert http.post("/_emulator/inject", json={"path": "*"}).status_code == 400
    assert http.post("/_emulator/latency", json={"seconds": -1}).status_code == 400
    assert http.post("/_emulator/whatever", json={}).status_code == 404


def test_devices_listing_never_shows_the_secret(
    emulator: ProviderEmulator, http: httpx.Client
) -> None:
    secret = emulator.register("LIST1")["secret_no"]
    reply = http.get("/_emulator/devices")
    assert reply.json()["devices"][0]["device_sn"] == "LIST1"
    assert secret not in reply.text
    assert secret not in http.get("/").text


@pytest.mark.parametrize("errcode", [42001, 40014, 45009, 45033, -1, 600005])
def test_inject_errcode(emulator: ProviderEmulator, http: httpx.Client, errcode: int) -> None:
    emulator.register("INJ1")
    tok = token(http)
    reply = http.post("/_emulator/inject", json={"path": AUTH_INFO, "errcode": errcode, "count": 2})
    assert reply.json()["errcode"] == 0
    for _ in range(2):
        hit = auth_info(http, tok, "INJ1")
        assert hit.status_code == 200
        assert hit.json()["errcode"] == errcode
    assert auth_info(http, tok, "INJ1").json()["errcode"] == 600004  # used up
    assert emulator.stats()["injections"] == []


@pytest.mark.parametrize("status", [500, 502, 503])
def test_inject_http_status(emulator: ProviderEmulator, http: httpx.Client, status: int) -> None:
    emulator.register("INJ2")
    tok = token(http)
    emulator.inject("*", http_status=status)
    assert auth_info(http, tok, "INJ2").status_code == status
    assert auth_info(http, tok, "INJ2").json()["errcode"] == 600004


def test_inject_429_carries_retry_after(emulator: ProviderEmulator, http: httpx.Client) -> None:
    headers = {"Authorization": f"Bearer {EMULATOR_PARTNER_TOKEN}"}
    emulator.inject("/v1/devices/{sn}", http_status=429, retry_after=7)
    reply = http.get("/v1/devices/ANY1", headers=headers)
    assert reply.status_code == 429
    assert reply.headers["Retry-After"] == "7"
    assert reply.json()["errcode"] == 429
    # As an errcode on the partner service, 429 keeps its HTTP status too; a default Retry-After.
    http.post("/_emulator/inject", json={"path": "/v1/installations/{corpid}", "errcode": 429})
    limited = http.get("/v1/installations/wwtestcorp000001", headers=headers)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"


def test_inject_targets_only_its_path(emulator: ProviderEmulator, http: httpx.Client) -> None:
    emulator.register("INJ3")
    emulator.inject(AUTH_INFO, errcode=45009)
    tok = token(http)  # another path: not affected
    assert len(tok) > 10
    assert auth_info(http, tok, "INJ3").json()["errcode"] == 45009
    emulator.inject("*", errcode=-1, count=3)
    emulator.clear_faults()
    assert auth_info(http, tok, "INJ3").json()["errcode"] == 600004


def test_latency_delays_api_calls_but_not_control(
    emulator: ProviderEmulator, http: httpx.Client
) -> None:
    assert http.post("/_emulator/latency", json={"seconds": 0.5}).json()["errcode"] == 0
    started = time.monotonic()
    token(http)
    assert time.monotonic() - started >= 0.5
    assert emulator.stats()["latency_s"] == 0.5
    emulator.set_latency(0)
    assert http.get("/_emulator/stats").json()["latency_s"] == 0


def test_stop_cuts_an_injected_latency_short(emulator_factory: EmulatorFactory) -> None:
    emulator = emulator_factory()
    emulator.set_latency(300)
    outcome: list[object] = []

    def slow_call() -> None:
        with httpx.Client(base_url=emulator.base_url, timeout=60) as client:
            try:
                outcome.append(client.post(TOKEN_PATH, json={}).status_code)
            except httpx.HTTPError as exc:
                outcome.append(exc)

    caller = threading.Thread(target=slow_call)
    caller.start()
    poll_until(lambda: emulator.stats()["requests"].get(TOKEN_PATH, 0), lambda n: n == 1)
    emulator.stop()
    caller.join(timeout=30)
    assert not caller.is_alive()
    assert len(outcome) == 1


def test_stats_count_every_path(emulator: ProviderEmulator, http: httpx.Client) -> None:
    tok = token(http)
    token(http)
    emulator.register("STAT1")
    for _ in range(3):
        auth_info(http, tok, "STAT1")
    http.get("/v1/devices/STAT1", headers={"Authorization": f"Bearer {EMULATOR_PARTNER_TOKEN}"})
    http.get("/_emulator/devices/STAT1")
    stats = http.get("/_emulator/stats").json()
    assert stats["token_fetches"] == 2
    assert stats["requests"][TOKEN_PATH] == 2
    assert stats["requests"][AUTH_INFO] == 3
    assert stats["requests"]["/v1/devices/{sn}"] == 1
    assert stats["requests"]["/_emulator/devices/{sn}"] == 1


def test_reset_forgets_everything(emulator: ProviderEmulator, http: httpx.Client) -> None:
    tok = token(http)
    emulator.register("RST1")
    emulator.inject("*", errcode=-1)
    assert http.post("/_emulator/reset").json()["errcode"] == 0
    assert emulator.devices() == []
    assert emulator.stats()["injections"] == []
    assert emulator.token_fetches == 0
    assert auth_info(http, tok, "RST1").json()["errcode"] == 40014


def test_auto_scan_binds_after_registration(emulator_factory: EmulatorFactory) -> None:
    emulator = emulator_factory(auto_scan_after_s=1.0)
    emulator.register("AUTO1")
    # Not at once (the exact timing is a unit test on a fake clock)...
    assert emulator.device("AUTO1") == {
        "device_sn": "AUTO1",
        "bound": False,
        "corpid": None,
        "corp_name": None,
        "app_installed": False,
        "agentid": None,
    }
    # ...but some time later, seen through the probe the device simulator uses.
    with httpx.Client(base_url=emulator.base_url, timeout=30) as http:
        bound = poll_until(
            lambda: http.get("/_emulator/devices/AUTO1").json(), lambda d: d["bound"]
        )
    assert bound["corp_name"] == "测试科技有限公司"


def test_auto_scan_starts_on_first_poll_for_known_devices(
    emulator_factory: EmulatorFactory, tmp_path: Any
) -> None:
    state = tmp_path / "state.json"
    first = emulator_factory(state_file=state)
    first.register("AUTO2")
    first.stop()
    second = emulator_factory(state_file=state, auto_scan_after_s=0.2)
    with httpx.Client(base_url=second.base_url, timeout=30) as http:
        tok = token(http)
        assert auth_info(http, tok, "AUTO2").json()["errcode"] == 600004  # first poll
        reply = poll_until(
            lambda: auth_info(http, tok, "AUTO2").json(), lambda r: r["errcode"] == 0
        )
    assert reply["auth_corp_info"]["corpid"] == "wwtestcorp000001"


def test_scan_static_and_dynamic_qr(emulator: ProviderEmulator, http: httpx.Client) -> None:
    static = emulator.register("QRS1")["qr_code"]
    reply = http.post("/_emulator/scan", json={"qr_url": static})
    assert reply.status_code == 200 and reply.json()["device"]["device_sn"] == "QRS1"

    secret = emulator.register("QRD1")["secret_no"]
    ts, nonce = str(int(time.time())), "9127310056281943511"

    def dynamic(sig: str, at: str = ts) -> str:
        return (
            "https://open.work.weixin.qq.com/connect/hardware?sn=QRD1"
            f"&timestamp={at}&nonce={nonce}&signature={sig}&type=qrcode"
        )

    letters = dynamic(dynamic_signature("QRD1", secret, ts, "q7Zp2LmX")).replace(nonce, "q7Zp2LmX")
    assert http.post("/_emulator/scan", json={"qr_url": letters}).status_code == 400
    wrong = http.post("/_emulator/scan", json={"qr_url": dynamic("0" * 40)})
    assert wrong.status_code == 400 and wrong.json()["errcode"] == 600005
    old_ts = str(int(time.time()) - 3600)
    stale = dynamic(dynamic_signature("QRD1", secret, old_ts, nonce), old_ts)
    assert http.post("/_emulator/scan", json={"qr_url": stale}).json()["errcode"] == 600041
    good = dynamic(dynamic_signature("QRD1", secret, ts, nonce))
    scanned = http.post("/_emulator/scan", json={"qr_url": good, "corpid": "wwtestcorp000003"})
    assert scanned.json()["device"]["corp_name"] == "深圳市演示物业管理有限公司"
    assert http.post("/_emulator/scan", json={"qr_url": "https://example.com/x"}).status_code == 400


def test_operator_page_lists_devices_and_binds(
    emulator: ProviderEmulator, http: httpx.Client
) -> None:
    emulator.register("PAGE1", "WX-CAST-400")
    emulator.register("PAGE2")
    emulator.bind("PAGE2", corpid="wwtestcorp000002")
    page = http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    html = page.text
    assert "PAGE1" in html and "WX-CAST-400" in html
    assert "示例智能制造有限公司" in html
    assert "扫码绑定" in html and "Scan as admin" in html
    assert 'action="/_emulator/bind"' in html and 'action="/_emulator/unbind"' in html
    assert emulator.base_url in html

    # The page's bind button is a form post: it binds and comes back to the page.
    pressed = http.post(
        "/_emulator/bind", data={"device_sn": "PAGE1", "corpid": "wwtestcorp000001"}
    )
    assert pressed.status_code == 303
    assert pressed.headers["Location"].startswith("/?note=")
    probe = emulator.device("PAGE1")
    assert probe is not None
    assert probe["bound"] is True and probe["corp_name"] == "测试科技有限公司"
    after = http.get(pressed.headers["Location"])
    assert "bound PAGE1" in after.text
    rows = http.get("/", params={"part": "rows"}).text
    assert rows.count("<tr") == 2 and "测试科技有限公司" in rows
    # An error from a form post is shown on the page, not as JSON.
    failed = http.post("/_emulator/bind", data={"device_sn": "NOPE9"})
    assert failed.status_code == 303 and "600001" in failed.headers["Location"]


def test_page_escapes_enterprise_names(emulator: ProviderEmulator, http: httpx.Client) -> None:
    emulator.register("ESC1")
    emulator.bind("ESC1", corpid="wwevil", corp_name="<script>alert(1)</script>")
    html = http.get("/").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_emulator_logs_carry_no_secret(
    emulator: ProviderEmulator, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tok = token(http)
    reply = http.post(
        "/cgi-bin/service/add_device",
        params={"provider_access_token": tok},
        json={"model_id": "WX-ATT-200", "device_sn": "LOG1"},
    ).json()
    secret_no = reply["device_info"]["secret_no"]
    emulator.inject(AUTH_INFO, errcode=42001)
    auth_info(http, tok, "LOG1")
    http.get("/v1/devices/LOG1", headers={"Authorization": f"Bearer {EMULATOR_PARTNER_TOKEN}"})
    ours = [r for r in caplog.records if r.name.startswith("installer_app")]
    assert any("get_device_auth_info" in r.getMessage() for r in ours)
    text = "\n".join(r.getMessage() for r in ours)
    for secret in (tok, secret_no, EMULATOR_PROVIDER_SECRET, EMULATOR_PARTNER_TOKEN):
        assert secret not in text
