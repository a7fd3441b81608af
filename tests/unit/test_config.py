"""Settings: defaults, validation naming key and file, precedence, secrets never in the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from installer_app.config import (
    ConfigError,
    Settings,
    load_secrets,
    load_settings,
    parse_settings,
    save_settings,
    settings_to_toml,
)
from installer_app.errors import ExitCode
from installer_app.secrets import Secret


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_when_default_file_missing() -> None:
    settings = load_settings(None)
    assert settings.provider.mode == "direct"
    assert settings.binding.poll_interval_s == 3.0
    assert settings.credentials.source == "register"


def test_named_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path / "nope.toml")
    assert err.value.exit_code == ExitCode.USAGE
    assert "nope.toml" in str(err.value)


def test_full_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[provider]
mode = "cloud"
corpid = "ww123"
model_id = "WX-ATT-200"
[partner]
base_url = "https://partner.example"
[credentials]
source = "partner"
sn_prefix = "WXA"
[binding]
qr = "dynamic"
poll_interval_s = 2
timeout_s = 60
""",
    )
    s = load_settings(path)
    assert (s.provider.mode, s.credentials.source, s.binding.qr) == ("cloud", "partner", "dynamic")
    assert s.binding.poll_interval_s == 2.0 and isinstance(s.binding.poll_interval_s, float)
    assert s.source_file == path


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[provider]\nmode = "sideways"\n', "[provider] mode"),
        ("[binding]\npoll_interval_s = -1\n", "[binding] poll_interval_s"),
        ('[binding]\ntimeout_s = "soon"\n', "[binding] timeout_s"),
        ('[provider]\nprovider_secret = "x"\n', "[provider] provider_secret"),
        ("[nonsense]\na = 1\n", "[nonsense]"),
        ("[provider\n", "not valid TOML"),
    ],
)
def test_bad_values_name_key_and_file(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert fragment in str(err.value)
    assert str(path) in str(err.value)


def test_save_roundtrip_never_writes_secrets(tmp_path: Path) -> None:
    settings = parse_settings({"provider": {"corpid": "ww1"}}).with_secrets(
        Secret("prov-secret-value"), Secret("partner-token-value")
    )
    path = tmp_path / "sub" / "config.toml"
    save_settings(settings, path)
    text = path.read_text(encoding="utf-8")
    assert "prov-secret-value" not in text and "partner-token-value" not in text
    again = load_settings(path)
    assert again.provider.corpid == "ww1"
    assert settings_to_toml(again) == text


def test_secrets_from_environment() -> None:
    env = {"INSTALLER_PROVIDER_SECRET": "s3cr3t-provider", "INSTALLER_PARTNER_TOKEN": "tok-abc"}
    s = load_secrets(Settings(), env)
    assert s.provider_secret is not None and s.provider_secret.reveal() == "s3cr3t-provider"
    assert s.partner_token is not None and s.partner_token.reveal() == "tok-abc"
    assert "s3cr3t" not in repr(s)


def test_no_secrets_without_env_or_keyring() -> None:
    s = load_secrets(Settings(), {})
    assert s.provider_secret is None and s.partner_token is None


def test_key_file_from_env_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    s = parse_settings({"store": {"key_file": str(tmp_path / "a.key")}})
    assert s.key_file() == tmp_path / "a.key"
    monkeypatch.setenv("INSTALLER_KEY_FILE", str(tmp_path / "b.key"))
    assert s.key_file() == tmp_path / "b.key"
