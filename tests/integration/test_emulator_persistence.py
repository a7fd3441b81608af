"""The emulator's state survives a restart on the same state file, and the file is sound."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import httpx
import pytest

from installer_app.provider.emulator import EmulatorStateError, ProviderEmulator
from tests.fixtures.provider import (
    EMULATOR_CORPID,
    EMULATOR_PARTNER_TOKEN,
    EMULATOR_PROVIDER_SECRET,
    EmulatorFactory,
    poll_until,
)

AUTH = {"Authorization": f"Bearer {EMULATOR_PARTNER_TOKEN}"}


def test_restart_keeps_devices_bindings_boards_and_tokens(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    state = tmp_path / "emulator" / "state.json"
    first = emulator_factory(state_file=state)
    with httpx.Client(base_url=first.base_url, timeout=30) as http:
        token = http.post(
            "/cgi-bin/service/get_provider_token",
            json={"corpid": EMULATOR_CORPID, "provider_secret": EMULATOR_PROVIDER_SECRET},
        ).json()["provider_access_token"]
        added = http.post(
            "/cgi-bin/service/add_device",
            params={"provider_access_token": token},
            json={"model_id": "WX-ATT-200", "device_sn": "KEEP1"},
        ).json()["device_info"]
        board = http.post(
            "/v1/devices", json={"model_id": "WX-DOOR-100", "hw_id": "c0ffee"}, headers=AUTH
        ).json()
    first.bind("KEEP1", corpid="wwtestcorp000002")
    poll_until(lambda: first.device("KEEP1"), lambda d: bool(d and d["app_installed"]))
    first.stop()

    second = emulator_factory(state_file=state)
    assert second.base_url != ""
    with httpx.Client(base_url=second.base_url, timeout=30) as http:
        # The token issued before the restart is still good.
        info = http.post(
            "/cgi-bin/service/get_device_auth_info",
            params={"provider_access_token": token},
            json={"device_sn": "KEEP1"},
        ).json()
        assert info["errcode"] == 0
        assert info["auth_corp_info"]["corp_name"] == "示例智能制造有限公司"
        # The SN is still taken, and the board still gets its SN and credential back.
        again = http.post(
            "/cgi-bin/service/add_device",
            params={"provider_access_token": token},
            json={"model_id": "WX-ATT-200", "device_sn": "keep1"},
        ).json()
        assert again["errcode"] == 600021
        assert (
            http.post(
                "/v1/devices", json={"model_id": "WX-DOOR-100", "hw_id": "c0ffee"}, headers=AUTH
            ).json()
            == board
        )
        installation = http.get("/v1/installations/wwtestcorp000002", headers=AUTH).json()
        assert installation["installed"] is True
    assert [d["device_sn"] for d in second.devices()] == ["KEEP1", board["device_sn"]]
    assert second.devices()[0]["qr_code"] == added["qr_code"]


def test_state_file_is_owner_only_json_without_leftovers(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    emulator = emulator_factory(state_file=state)
    emulator.register("FILE1")
    data = json.loads(state.read_text(encoding="utf-8"))
    assert data["version"] == 1
    assert [d["device_sn"] for d in data["devices"]] == ["FILE1"]
    if os.name == "posix":
        assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_reset_is_persisted(emulator_factory: EmulatorFactory, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = emulator_factory(state_file=state)
    first.register("GONE1")
    first.reset()
    first.stop()
    assert emulator_factory(state_file=state).devices() == []


def test_damaged_state_file_is_a_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("{not json", encoding="utf-8")
    with pytest.raises(EmulatorStateError) as caught:
        ProviderEmulator(state)
    assert "damaged" in str(caught.value)
    assert caught.value.hint is not None
