"""Team mode's pieces without a network: the settings, the C4 shape of an outbox event."""

from __future__ import annotations

import pytest

from installer_app.config import ConfigError, Settings, load_secrets, parse_settings
from installer_app.store.team_tables import OutboxEvent
from installer_app.team.outbox import wire_event
from installer_app.workflow.wiring import check_settings


def test_team_url_turns_team_mode_on_and_the_provider_secret_is_never_read() -> None:
    settings = parse_settings({"team": {"url": "https://team.example.com"}})
    assert settings.team_mode and not Settings().team_mode
    env = {"INSTALLER_PROVIDER_SECRET": "p-secret", "INSTALLER_PARTNER_TOKEN": "t-token"}
    loaded = load_secrets(settings, env)
    assert loaded.provider_secret is None
    assert loaded.partner_token is not None and loaded.partner_token.reveal() == "t-token"
    # Direct mode still reads it.
    assert load_secrets(Settings(), env).provider_secret is not None


def test_team_mode_needs_a_model_and_the_installer_token_only() -> None:
    settings = parse_settings(
        {"team": {"url": "https://team.example.com"}, "provider": {"model_id": "WX-1"}}
    )
    with pytest.raises(ConfigError) as missing:
        check_settings(settings)
    assert "installer token" in missing.value.message.english()
    check_settings(load_secrets(settings, {"INSTALLER_PARTNER_TOKEN": "t"}))  # no corpid needed


def test_team_url_must_be_https_unless_loopback() -> None:
    with pytest.raises(ConfigError) as refused:
        check_settings(parse_settings({"team": {"url": "http://team.example.com"}}))
    assert "[team] url" in refused.value.message.english()


def test_an_outbox_event_in_c4s_shape() -> None:
    stage = OutboxEvent("e1", "SN1", "0a0b", "written", "2026-12-02T05:00:00+00:00", None, None)
    assert wire_event(stage, "li") == {
        "event_id": "e1",
        "device_sn": "SN1",
        "hw_id": "0a0b",
        "step": "written",
        "outcome": "ok",
        "at": "2026-12-02T05:00:00+00:00",
        "installer": "li",
    }
    failed = OutboxEvent("e2", "SN1", "0a0b", "failed", "t", "wang", "write: no\nanswer\x07")
    wire = wire_event(failed, "li")
    assert (wire["step"], wire["outcome"], wire["installer"]) == ("failed", "failed", "wang")
    assert wire["detail"] == "write: no answer "  # plain text: the server refuses controls
