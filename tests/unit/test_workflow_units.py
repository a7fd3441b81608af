"""Pure parts of the workflow (no I/O): exit-code aggregation, SN derivation, settings checks,
the device-state tracker, event emission and the CLI's answers and Wi-Fi password rules."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest

from installer_app.cli.provision_cmds import CliAnswers, _psk_ok, wifi_from_args
from installer_app.config import (
    ConfigError,
    CredentialSettings,
    PartnerSettings,
    ProviderSettings,
    Settings,
)
from installer_app.device.protocol import NetState, WecomState
from installer_app.device.responses import DeviceEvent, DeviceStatus
from installer_app.errors import ExitCode
from installer_app.provider.qr import InvalidQrCode
from installer_app.secrets import Secret
from installer_app.store.records import Source
from installer_app.workflow.emitter import Emitter, LiveStatus
from installer_app.workflow.errors import Cancelled
from installer_app.workflow.events import Outcome, Step, WorkflowEvent
from installer_app.workflow.outcome import worst_exit_code
from installer_app.workflow.sources import Credential, NoStaticQr, register_sn
from installer_app.workflow.wiring import check_settings


@pytest.mark.parametrize(
    ("codes", "worst"),
    [
        ([], 0),
        ([0, 0], 0),
        ([0, 5], 5),
        ([5, 6], 6),
        ([6, 4], 4),
        ([4, 3, 5], 3),
        ([3, 2], 2),
        ([2, 1], 1),
        ([1, 130, 0], 130),
        ([0, 77], 77),
    ],
)
def test_worst_exit_code(codes: list[int], worst: int) -> None:
    assert worst_exit_code(codes) == worst


def test_register_sn_is_prefix_and_upper_case_hw_id() -> None:
    assert register_sn("WX", "240ac4123456") == "WX240AC4123456"
    assert register_sn("", "0a0b") == "0A0B"


def _settings(**kw: object) -> Settings:
    base = Settings(
        provider=ProviderSettings(
            mode="direct", wecom_base_url="https://x", corpid="ww1", model_id="WX-ATT-200"
        ),
        partner=PartnerSettings(base_url=""),
        credentials=CredentialSettings(source="register"),
    )
    for name, value in kw.items():
        base = dataclasses.replace(base, **{name: value})
    return base.with_secrets(Secret("provider-secret-x"), None)


def test_check_settings_accepts_a_complete_direct_configuration() -> None:
    check_settings(_settings())


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            {"provider": ProviderSettings(mode="direct", wecom_base_url="https://x", corpid="ww1")},
            "[provider] model_id",
        ),
        (
            {"provider": ProviderSettings(wecom_base_url="https://x", model_id="M")},
            "[provider] corpid",
        ),
        ({"credentials": CredentialSettings(source="partner")}, "[credentials] source"),
    ],
)
def test_check_settings_names_the_missing_setting(change: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_settings(_settings(**change))
    assert info.value.exit_code == ExitCode.USAGE
    assert named.split()[-1] in info.value.message.english()


def test_check_settings_wants_the_provider_secret() -> None:
    settings = _settings().with_secrets(None, None)
    with pytest.raises(ConfigError) as info:
        check_settings(settings)
    assert "INSTALLER_PROVIDER_SECRET" in str(info.value)


def test_cloud_mode_needs_the_partner_service() -> None:
    settings = _settings(
        provider=ProviderSettings(mode="cloud", model_id="M"),
        credentials=CredentialSettings(source="partner"),
    )
    with pytest.raises(ConfigError) as info:
        check_settings(settings)
    assert "[partner] base_url" in info.value.message.english()


def test_device_state_tracks_events_and_status_and_notifies() -> None:
    state = LiveStatus()
    seen: list[tuple[WecomState, str | None]] = []
    start = state.version
    state.on_status(DeviceStatus(NetState.LINK_UP, WecomState.IDLE, None))
    remove = state.subscribe(lambda w, c: seen.append((w, c)))
    state.on_event(DeviceEvent(2, NetState.ONLINE, WecomState.BOUND, "Acme"))
    assert state.wait_change(start, 0) != start
    assert state.net_state is NetState.ONLINE and state.corp_name == "Acme"
    remove()
    state.on_event(DeviceEvent(2, NetState.DOWN, WecomState.IDLE, None))
    assert seen == [(WecomState.IDLE, None), (WecomState.BOUND, "Acme")]


def test_emitter_tags_the_port_survives_a_failing_front_end_and_checks_cancel() -> None:
    got: list[WorkflowEvent] = []

    def on_event(event: WorkflowEvent) -> None:
        got.append(event)
        raise RuntimeError("a broken front end")

    cancel = threading.Event()
    emit = Emitter("/dev/ttyUSB0", on_event, cancel)
    emit(Step.QR, Outcome.OK, url="https://example")
    assert got[0].port == "/dev/ttyUSB0" and got[0].to_json()["url"] == "https://example"
    assert emit.step is Step.QR
    emit.check_cancel()
    cancel.set()
    with pytest.raises(Cancelled):
        emit.check_cancel()


def test_cli_answers_continue_resume_and_the_given_wifi() -> None:
    from installer_app.workflow.events import BoardInfo, ResumeQuestion, WifiCredentials

    wifi = WifiCredentials("SiteNet", Secret("site-password"))
    answers = CliAnswers(wifi)
    board = BoardInfo("p", "WX-ATT-200", "1.0", "0a0b0c0d0e0f", "BLANK", None, None)
    assert answers.proceed_with_board(board) == "continue"
    assert answers.resume_or_skip(ResumeQuestion("SN1", "0a0b0c0d0e0f", "bound")) == "resume"
    assert answers.wifi_credentials(None) is wifi
    assert CliAnswers(None).wifi_credentials("x") is None


@pytest.mark.parametrize(
    ("psk", "ok"),
    [
        ("", True),
        ("12345678", True),
        ("x" * 63, True),
        ("1234567", False),
        ("a" * 64, True),
        ("g" * 64, False),
        ("x" * 65, False),
    ],
)
def test_wifi_password_rules(psk: str, ok: bool) -> None:
    assert _psk_ok(psk) is ok


def test_wifi_password_comes_from_the_environment() -> None:
    wifi = wifi_from_args("SiteNet", {"INSTALLER_WIFI_PSK": "site-password"})
    assert wifi is not None and wifi.ssid == "SiteNet" and wifi.psk == Secret("site-password")
    assert wifi_from_args(None, {}) is None
    with pytest.raises(ConfigError):
        wifi_from_args("SiteNet", {"INSTALLER_WIFI_PSK": "short"})


# -- the binding QR is checked before anything is written (issue 11, hardening 4) ----------------

GOOD_QR = "https://open.work.weixin.qq.com/connect/hardware?hw_code=abc123"


def _credential(**kw: Any) -> Credential:
    values: dict[str, Any] = {
        "sn": "WXA1",
        "secret": Secret("s3cret-value"),
        "qr_code": GOOD_QR,
        "source": Source.REGISTER,
        "resumed": False,
    }
    values.update(kw)
    return Credential(**values)


def test_check_binding_qr_refuses_what_could_not_be_shown() -> None:
    _credential().check_binding_qr("static")
    _credential(qr_code=None).check_binding_qr("static")  # per device: dynamic fallback
    _credential(qr_code="https://evil.example/x").check_binding_qr("dynamic")  # never shown
    with pytest.raises(InvalidQrCode):
        _credential(qr_code=GOOD_QR + "&x=1").check_binding_qr("static")
    with pytest.raises(InvalidQrCode):  # cloud and seed always show the static link
        _credential(qr_code="https://evil.example/x", seed=True).check_binding_qr("dynamic")
    with pytest.raises(NoStaticQr) as seed:
        _credential(qr_code=None, seed=True).check_binding_qr("static")
    assert "seed" in seed.value.message.english()
    with pytest.raises(NoStaticQr) as cloud:
        _credential(qr_code=None, source=Source.PARTNER).check_binding_qr("static")
    assert "partner service" in cloud.value.message.english()
    assert cloud.value.exit_code == ExitCode.PROVIDER
