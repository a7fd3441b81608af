"""The provider emulator's WeCom side (spec A1-A4) over real loopback HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from installer_app.provider.emulator import ProviderEmulator
from tests.fixtures.provider import (
    EMULATOR_CORPID,
    EMULATOR_PROVIDER_SECRET,
    EmulatorFactory,
    poll_until,
)

TOKEN_PATH = "/cgi-bin/service/get_provider_token"


@pytest.fixture
def http(emulator: ProviderEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.base_url, timeout=10) as client:
        yield client


def fetch_token(http: httpx.Client) -> str:
    reply = http.post(
        TOKEN_PATH, json={"corpid": EMULATOR_CORPID, "provider_secret": EMULATOR_PROVIDER_SECRET}
    )
    assert reply.status_code == 200
    token: str = reply.json()["provider_access_token"]
    return token


def call(http: httpx.Client, api: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = http.post(f"/cgi-bin/service/{api}", params={"provider_access_token": token}, json=body)
    assert reply.status_code == 200  # WeCom answers errcodes with HTTP 200
    result: dict[str, Any] = reply.json()
    return result


def test_token_is_issued_and_counted(emulator: ProviderEmulator, http: httpx.Client) -> None:
    reply = http.post(
        TOKEN_PATH, json={"corpid": EMULATOR_CORPID, "provider_secret": EMULATOR_PROVIDER_SECRET}
    ).json()
    assert "errcode" not in reply  # the spec: an absent errcode means OK on this endpoint
    assert reply["expires_in"] == 7200
    assert len(reply["provider_access_token"]) >= 32
    fetch_token(http)
    assert emulator.token_fetches == 2


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"corpid": "wwsomebodyelse", "provider_secret": EMULATOR_PROVIDER_SECRET}, 40013),
        ({"provider_secret": EMULATOR_PROVIDER_SECRET}, 40013),
        ({"corpid": EMULATOR_CORPID, "provider_secret": "wrong"}, 40001),
        ({"corpid": EMULATOR_CORPID}, 40001),
    ],
)
def test_token_refused(http: httpx.Client, body: dict[str, str], errcode: int) -> None:
    reply = http.post(TOKEN_PATH, json=body)
    assert reply.status_code == 200
    assert reply.json()["errcode"] == errcode
    assert "provider_access_token" not in reply.json()


def test_add_device_issues_a_credential(http: httpx.Client) -> None:
    token = fetch_token(http)
    reply = call(
        http, "add_device", token, {"model_id": "WX-ATT-200", "device_sn": "WXA2000012345"}
    )
    assert reply["errcode"] == 0 and reply["errmsg"] == "ok"
    info = reply["device_info"]
    assert info["device_sn"] == "WXA2000012345"
    assert info["model_id"] == "WX-ATT-200"
    assert re.fullmatch(r"[0-9a-f]{32}", info["secret_no"])
    assert type(info["device_id"]) is int and 0 < info["device_id"] < 2**63  # int64, as WeCom
    assert isinstance(info["create_time"], int)
    assert re.fullmatch(
        r"https://open\.work\.weixin\.qq\.com/connect/hardware\?hw_code=[0-9a-f]+", info["qr_code"]
    )


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"model_id": "WX-NOPE-1", "device_sn": "WXA1"}, 600038),
        ({"device_sn": "WXA1"}, 600038),
        ({"model_id": "WX-ATT-200", "device_sn": "WX-A1"}, 600001),
        ({"model_id": "WX-ATT-200", "device_sn": ""}, 600001),
        ({"model_id": "WX-ATT-200", "device_sn": "A" * 129}, 600001),
        ({"model_id": "WX-ATT-200", "device_sn": "WXä1"}, 600001),
        ({"model_id": "WX-ATT-200", "device_sn": 12345}, 600001),
        ({"model_id": "WX-ATT-200"}, 600001),
    ],
)
def test_add_device_rules(http: httpx.Client, body: dict[str, Any], errcode: int) -> None:
    assert call(http, "add_device", fetch_token(http), body)["errcode"] == errcode


def test_sn_length_limits_are_inclusive(http: httpx.Client) -> None:
    token = fetch_token(http)
    for sn in ("Z", "A" * 128):
        assert (
            call(http, "add_device", token, {"model_id": "WX-DOOR-100", "device_sn": sn})["errcode"]
            == 0
        )


def test_duplicate_sn_is_case_insensitive(http: httpx.Client) -> None:
    token = fetch_token(http)
    body = {"model_id": "WX-ATT-200", "device_sn": "wxAbc123"}
    assert call(http, "add_device", token, body)["errcode"] == 0
    for sn in ("wxAbc123", "WXABC123", "wxabc123"):
        again = call(http, "add_device", token, {"model_id": "WX-PRN-300", "device_sn": sn})
        assert again["errcode"] == 600021
        assert "device_info" not in again


def test_auth_info_follows_the_binding(emulator: ProviderEmulator, http: httpx.Client) -> None:
    token = fetch_token(http)
    call(http, "add_device", token, {"model_id": "WX-ATT-200", "device_sn": "WXA77"})
    assert call(http, "get_device_auth_info", token, {"device_sn": "WXA77"})["errcode"] == 600004
    assert call(http, "get_device_auth_info", token, {"device_sn": "WXA78"})["errcode"] == 600001
    assert call(http, "get_device_auth_info", token, {"device_sn": "WX-78"})["errcode"] == 600001

    emulator.bind("WXA77")
    bound = call(http, "get_device_auth_info", token, {"device_sn": "wxa77"})
    assert bound["errcode"] == 0
    assert bound["auth_corp_info"] == {
        "corpid": "wwtestcorp000001",
        "corp_name": "测试科技有限公司",
    }
    assert bound["device_info"]["model_id"] == "WX-ATT-200"
    assert isinstance(bound["device_info"]["remark_name"], str)

    emulator.unbind("WXA77")
    assert call(http, "get_device_auth_info", token, {"device_sn": "WXA77"})["errcode"] == 600004


def test_bind_to_another_test_enterprise(emulator: ProviderEmulator, http: httpx.Client) -> None:
    token = fetch_token(http)
    call(http, "add_device", token, {"model_id": "WX-CAST-400", "device_sn": "CAST1"})
    reply = http.post(
        "/_emulator/bind",
        json={"device_sn": "cast1", "corpid": "wwcorp42", "corp_name": "杭州某某酒店有限公司"},
    )
    assert reply.status_code == 200
    assert reply.json()["device"]["corp_name"] == "杭州某某酒店有限公司"
    info = call(http, "get_device_auth_info", token, {"device_sn": "CAST1"})
    assert info["auth_corp_info"] == {"corpid": "wwcorp42", "corp_name": "杭州某某酒店有限公司"}


def test_del_device_only_when_never_bound(emulator: ProviderEmulator, http: httpx.Client) -> None:
    token = fetch_token(http)
    for sn in ("DEL1", "DEL2"):
        call(http, "add_device", token, {"model_id": "WX-ATT-200", "device_sn": sn})
    assert call(http, "del_device", token, {"device_sn": "del1"}) == {"errcode": 0, "errmsg": "ok"}
    assert call(http, "get_device_auth_info", token, {"device_sn": "DEL1"})["errcode"] == 600001
    assert call(http, "del_device", token, {"device_sn": "DEL1"})["errcode"] == 600001
    # Deleted: the SN may be registered again.
    assert (
        call(http, "add_device", token, {"model_id": "WX-ATT-200", "device_sn": "DEL1"})["errcode"]
        == 0
    )

    emulator.bind("DEL2")
    emulator.unbind("DEL2")  # once bound, never deletable, even after an unbind
    assert call(http, "del_device", token, {"device_sn": "DEL2"})["errcode"] == 600003
    assert emulator.device("DEL2") is not None


def test_list_device_pages(http: httpx.Client) -> None:
    token = fetch_token(http)
    sns = [f"LIST{i:03d}" for i in range(7)]
    for sn in sns:
        call(http, "add_device", token, {"model_id": "WX-PRN-300", "device_sn": sn})
    seen: list[str] = []
    offset, pages = 0, 0
    while True:
        page = call(http, "list_device", token, {"offset": offset, "limit": 3})
        assert page["errcode"] == 0
        pages += 1
        seen += [d["device_sn"] for d in page["device_list"]]
        assert all(d["model_id"] == "WX-PRN-300" for d in page["device_list"])
        if len(page["device_list"]) < 3:
            break
        offset += 3
    assert seen == sns
    assert pages == 3
    everything = call(http, "list_device", token, {})
    assert [d["device_sn"] for d in everything["device_list"]] == sns
    assert call(http, "list_device", token, {"offset": -1, "limit": 3})["errcode"] == 40058
    assert call(http, "list_device", token, {"offset": 0, "limit": 0})["errcode"] == 40058


def test_token_rules(emulator: ProviderEmulator, http: httpx.Client) -> None:
    body = {"device_sn": "NOSUCH1"}
    assert call(http, "get_device_auth_info", "not-a-token", body)["errcode"] == 40014
    no_token = http.post("/cgi-bin/service/get_device_auth_info", json=body)
    assert no_token.json()["errcode"] == 41001

    token = fetch_token(http)
    assert call(http, "get_device_auth_info", token, body)["errcode"] == 600001
    assert emulator.expire_tokens() == 1
    assert call(http, "get_device_auth_info", token, body)["errcode"] == 42001
    fresh = fetch_token(http)
    assert call(http, "get_device_auth_info", fresh, body)["errcode"] == 600001

    reply = http.post("/_emulator/expire_tokens", json={"invalidate": True})
    assert reply.json()["errcode"] == 0
    assert call(http, "get_device_auth_info", fresh, body)["errcode"] == 40014


def test_token_expires_after_its_lifetime(emulator_factory: EmulatorFactory) -> None:
    emulator = emulator_factory(token_ttl_s=1)
    with httpx.Client(base_url=emulator.base_url, timeout=10) as http:
        reply = http.post(
            TOKEN_PATH,
            json={"corpid": EMULATOR_CORPID, "provider_secret": EMULATOR_PROVIDER_SECRET},
        ).json()
        assert reply["expires_in"] == 1
        token = reply["provider_access_token"]
        body = {"device_sn": "NOSUCH1"}
        codes = poll_until(
            lambda: call(http, "get_device_auth_info", token, body)["errcode"],
            lambda code: code == 42001,
            timeout_s=15,
        )
        assert codes == 42001


def test_wecom_rejects_get_and_bad_json(http: httpx.Client) -> None:
    token = fetch_token(http)
    got = http.get(TOKEN_PATH)
    assert got.status_code == 200 and got.json()["errcode"] == 43002
    bad = http.post(
        "/cgi-bin/service/add_device",
        params={"provider_access_token": token},
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert bad.status_code == 200 and bad.json()["errcode"] == 47001
    listed = http.post(
        "/cgi-bin/service/list_device", params={"provider_access_token": token}, content=b"[1]"
    )
    assert listed.json()["errcode"] == 47001
