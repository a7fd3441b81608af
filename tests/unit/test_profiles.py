"""Profiles in the configuration ([profiles.NAME]), the firmware rule, the board status rule and
local times: the core rules the wizard's bench and the CLI share."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from installer_app.config import ConfigError, load_settings, save_settings
from installer_app.localtime import local_time, parse_utc
from installer_app.workflow.board_status import BoardStatus, classify, starts_by_itself
from installer_app.workflow.plan import flow_rules
from installer_app.workflow.profiles import (
    FirmwareTooOld,
    active_settings,
    check_firmware,
    firmware_ok,
    profile_names,
    with_profile,
)

TWO_PROFILES = """
[provider]
model_id = "WX-ATT-200"

[credentials]
source = "register"

[installer]
profile = "door"

[profiles.door]
model_id = "WX-DOOR-100"
credential_source = "inventory"
qr = "dynamic"
min_fw_version = "2.1.0"
wifi_ssid = "site-b"

[profiles.attendance]
min_fw_version = "1.4"
"""


def test_a_single_profile_file_is_still_valid_as_the_default(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[provider]\nmodel_id = "WX-ATT-200"\n')
    settings = load_settings(path)
    assert profile_names(settings) == [""]
    assert active_settings(settings) == settings
    assert flow_rules(settings).min_fw_version == ""


def test_named_profiles_apply_over_the_file_and_survive_a_save(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(TWO_PROFILES)
    settings = load_settings(path)
    assert profile_names(settings) == ["", "door", "attendance"]
    door = active_settings(settings)
    assert door.provider.model_id == "WX-DOOR-100"
    assert door.credentials.source == "inventory"
    assert door.binding.qr == "dynamic"
    assert door.device.min_fw_version == "2.1.0" and door.device.wifi_ssid == "site-b"
    assert flow_rules(settings).min_fw_version == "2.1.0"
    attendance = active_settings(with_profile(settings, "attendance"))
    assert attendance.provider.model_id == "WX-ATT-200"  # empty: the file's own value
    assert attendance.device.min_fw_version == "1.4"
    assert active_settings(with_profile(settings, "")).provider.model_id == "WX-ATT-200"
    # Saving keeps the file's own values and every profile, not the active one's values.
    save_settings(settings, tmp_path / "saved.toml")
    again = load_settings(tmp_path / "saved.toml")
    assert again.provider.model_id == "WX-ATT-200"
    assert again.profiles == settings.profiles and again.installer.profile == "door"
    with pytest.raises(ConfigError):
        with_profile(settings, "nope")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[installer]\nprofile = "x"\n', "[installer] profile"),
        ('[profiles.a]\nqr = "animated"\n', "[profiles.a] qr"),
        ('[profiles.a]\nsecret = "s"\n', "[profiles.a] secret"),
        ("[profiles]\na = 1\n", "[profiles.a]"),
    ],
)
def test_bad_profiles_name_the_key(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert fragment in caught.value.message.english()


def test_firmware_versions_compare_by_their_numbers() -> None:
    assert firmware_ok("1.4.2", "")
    assert firmware_ok("1.4.2", "1.4")
    assert firmware_ok("1.10.0", "1.9.9")
    assert firmware_ok("v2.0-rc1", "2.0")
    assert not firmware_ok("1.4.2", "1.4.3")
    assert not firmware_ok("1.9", "1.10")
    with pytest.raises(FirmwareTooOld) as caught:
        check_firmware("1.4.2", "2.1.0")
    text = caught.value.message.english()
    assert "1.4.2" in text and "2.1.0" in text


@pytest.mark.parametrize(
    ("state", "known", "model", "fw", "expected"),
    [
        ("BLANK", None, "WX-ATT-200", "1.4.2", BoardStatus.BLANK),
        ("STAGED", None, "WX-ATT-200", "1.4.2", BoardStatus.BLANK),
        ("PROVISIONED", None, "WX-ATT-200", "1.4.2", BoardStatus.ELSEWHERE),
        ("STAGED", "written", "WX-ATT-200", "1.4.2", BoardStatus.IN_PROGRESS),
        ("PROVISIONED", "committed", "WX-ATT-200", "1.4.2", BoardStatus.NEEDS_ADMIN),
        ("PROVISIONED", "bound", "WX-ATT-200", "1.4.2", BoardStatus.DONE_HERE),
        ("PROVISIONED", "app_installed", "WX-ATT-200", "1.4.2", BoardStatus.DONE_HERE),
        ("BLANK", None, "WX-DOOR-100", "1.4.2", BoardStatus.WRONG_MODEL),
        ("BLANK", None, "WX-ATT-200", "1.0.0", BoardStatus.OLD_FIRMWARE),
    ],
)
def test_board_status(
    state: str, known: str | None, model: str, fw: str, expected: BoardStatus
) -> None:
    status = classify(
        model_id=model,
        fw_version=fw,
        state=state,
        known_stage=known,
        want_model="WX-ATT-200",
        min_fw_version="1.4",
    )
    assert status is expected
    assert starts_by_itself(status) == (
        expected in (BoardStatus.BLANK, BoardStatus.IN_PROGRESS, BoardStatus.NEEDS_ADMIN)
    )


def test_local_time_carries_its_offset(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        when = datetime(2026, 12, 2, 4, 48, 9, tzinfo=UTC)
        assert local_time(when) == "2026-12-02 12:48 UTC+08:00"
        assert local_time(when, seconds=True) == "2026-12-02 12:48:09 UTC+08:00"
        assert local_time(when.replace(tzinfo=None)) == "2026-12-02 12:48 UTC+08:00"
        assert parse_utc(when.isoformat()) == when
        assert parse_utc("not a time") is None
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
