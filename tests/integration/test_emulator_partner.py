"""The provider emulator's partner service (spec C) over real loopback HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from installer_app.provider.emulator import ProviderEmulator
from tests.fixtures.provider import EMULATOR_PARTNER_TOKEN, poll_until

AUTH = {"Authorization": f"Bearer {EMULATOR_PARTNER_TOKEN}"}


@pytest.fixture
def http(emulator: ProviderEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.base_url, timeout=10, headers=AUTH) as client:
        yield client


def register(http: httpx.Client, **body: Any) -> httpx.Response:
    return http.post("/v1/devices", json={"model_id": "WX-DOOR-100", **body})


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {EMULATOR_PARTNER_TOKEN}"},
        {"Authorization": "Bearer"},
    ],
)
def test_bad_bearer_is_401(emulator: ProviderEmulator, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=emulator.base_url, timeout=10) as http:
        for reply in (
            http.post(
                "/v1/devices", json={"model_id": "WX-DOOR-100", "hw_id": "aa"}, headers=headers
            ),
            http.get("/v1/devices/ANY1", headers=headers),
            http.get("/v1/installations/wwtestcorp000001", headers=headers),
        ):
            assert reply.status_code == 401
            assert reply.json()["errcode"] == 401
    assert emulator.devices() == []


def test_register_is_idempotent_by_hw_id(emulator: ProviderEmulator, http: httpx.Client) -> None:
    first = register(http, hw_id="240ac4123456")
    assert first.status_code == 200
    body = first.json()
    assert body["errcode"] == 0
    assert body["device_sn"] == "WX240AC4123456"
    assert re.fullmatch(r"[\x21-\x7e]{1,128}", body["credential"])
    assert body["qr_code"].startswith("https://open.work.weixin.qq.com/connect/hardware?hw_code=")
    # The same board, however its hw_id is spelled and with its own SN named, gets the same answer.
    for again in (
        register(http, hw_id="240ac4123456"),
        register(http, hw_id="240AC4123456"),
        register(http, hw_id="240ac4123456", device_sn="wx240ac4123456"),
    ):
        assert again.json() == body
    # And the SN is registered on the WeCom side with the credential as its SecretNo.
    listed = emulator.devices()
    assert [d["device_sn"] for d in listed] == ["WX240AC4123456"]
    assert listed[0]["source"] == "partner"


def test_register_with_own_sn_and_conflicts(http: httpx.Client) -> None:
    mine = register(http, hw_id="0102030405", device_sn="DOORA0001").json()
    assert mine["errcode"] == 0 and mine["device_sn"] == "DOORA0001"
    conflict = register(http, hw_id="0102030405", device_sn="DOORA0002")
    assert conflict.json()["errcode"] == 600036
    assert "credential" not in conflict.json()
    # Another board cannot take an SN that is already issued, in any spelling.
    taken = register(http, hw_id="ffeeddccbb", device_sn="doora0001")
    assert taken.json()["errcode"] == 600036


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"model_id": "WX-NOPE", "hw_id": "aabb"}, 600038),
        ({"model_id": "WX-DOOR-100", "hw_id": "aa:bb:cc"}, 40058),
        ({"model_id": "WX-DOOR-100", "hw_id": ""}, 40058),
        ({"model_id": "WX-DOOR-100"}, 40058),
        ({"model_id": "WX-DOOR-100", "hw_id": "aabb", "device_sn": "BAD-SN"}, 600001),
    ],
)
def test_register_rules(http: httpx.Client, body: dict[str, Any], errcode: int) -> None:
    reply = http.post("/v1/devices", json=body)
    assert reply.json()["errcode"] == errcode


def test_device_status_and_installation(emulator: ProviderEmulator, http: httpx.Client) -> None:
    sn = register(http, hw_id="a1b2c3").json()["device_sn"]
    unknown = http.get("/v1/devices/NOSUCH9")
    assert unknown.status_code == 404 and unknown.json()["errcode"] == 600001

    status = http.get(f"/v1/devices/{sn}").json()
    assert status == {
        "errcode": 0,
        "errmsg": "ok",
        "device_sn": sn,
        "bind_status": 0,
        "corp": None,
    }
    before = http.get("/v1/installations/wwtestcorp000002").json()
    assert before == {
        "errcode": 0,
        "errmsg": "ok",
        "installed": False,
        "agentid": None,
        "auth_time": None,
    }

    emulator.bind(sn, corpid="wwtestcorp000002")
    status = http.get(f"/v1/devices/{sn.lower()}").json()
    assert status["bind_status"] == 1
    assert status["corp"] == {"corpid": "wwtestcorp000002", "corp_name": "示例智能制造有限公司"}

    installed = poll_until(
        lambda: http.get("/v1/installations/wwtestcorp000002").json(),
        lambda body: body["installed"],
    )
    assert installed["agentid"] == 1000002
    assert isinstance(installed["auth_time"], int) and installed["auth_time"] > 1_700_000_000
    # Another enterprise has not installed anything.
    assert http.get("/v1/installations/wwtestcorp000001").json()["installed"] is False


def test_install_waits_for_the_configured_delay(emulator_factory: Any) -> None:
    emulator = emulator_factory(install_delay_s=60)
    with httpx.Client(base_url=emulator.base_url, timeout=10, headers=AUTH) as http:
        sn = register(http, hw_id="0a0b0c").json()["device_sn"]
        emulator.bind(sn)
        assert http.get("/v1/installations/wwtestcorp000001").json()["installed"] is False
        assert emulator.device(sn) == {
            "device_sn": sn,
            "bound": True,
            "corpid": "wwtestcorp000001",
            "corp_name": "测试科技有限公司",
            "app_installed": False,
            "agentid": None,
        }


def test_partner_wrong_method(http: httpx.Client) -> None:
    reply = http.get("/v1/devices")
    assert reply.status_code == 405
    assert http.post("/v1/nothing-here", json={}).status_code == 404
