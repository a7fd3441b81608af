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


# -- issue 11: URLs secrets are sent to, bounds on timings, seed SecretNo models ------------------


@pytest.mark.parametrize(
    ("key", "url"),
    [
        ("[provider] wecom_base_url", "http://qyapi.weixin.qq.com"),
        ("[provider] wecom_base_url", "http://10.0.0.5:8080"),
        ("[provider] wecom_base_url", "http://127.0.0.1.evil.example"),
        ("[provider] wecom_base_url", "http://localhost.evil.example"),
        ("[provider] wecom_base_url", "ftp://qyapi.weixin.qq.com"),
        ("[provider] wecom_base_url", "file:///etc/passwd"),
        ("[provider] wecom_base_url", "http://[::1"),
        ("[provider] wecom_base_url", "https://[::1"),
        ("[provider] wecom_base_url", "https://qyapi.weixin.qq.com:port"),
        ("[provider] wecom_base_url", "qyapi.weixin.qq.com"),
        ("[provider] wecom_base_url", "https://"),
        ("[provider] wecom_base_url", "https://user:pw@qyapi.weixin.qq.com"),
        ("[provider] wecom_base_url", "https://evil.example\\@qyapi.weixin.qq.com"),
        ("[provider] wecom_base_url", "https://qyapi.weixin.qq.com/?x=1"),
        ("[provider] wecom_base_url", "https://qyapi.weixin.qq.com/#x"),
        ("[provider] wecom_base_url", "https://qyapi.weixin.qq.com /x"),
        ("[partner] base_url", "http://partner.example"),
        ("[partner] base_url", "HTTP://partner.example"),
        ("[partner] base_url", "file:///tmp/x"),
        ("[partner] base_url", "http://[::1"),
    ],
)
def test_a_url_secrets_could_leak_through_is_refused_naming_the_key(
    tmp_path: Path, key: str, url: str
) -> None:
    section, name = key[1:].split("] ")
    path = write(tmp_path, f"[{section}]\n{name} = '{url}'\n")  # a TOML literal string
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert err.value.exit_code == ExitCode.USAGE
    assert key in str(err.value) and str(path) in str(err.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://qyapi.weixin.qq.com",
        "https://partner.example:8443/base",
        "http://127.0.0.1:8765",
        "http://127.8.9.10",
        "http://[::1]:8765",
        "http://localhost:8765",
        "http://LOCALHOST",
    ],
)
def test_https_anywhere_and_http_on_loopback_are_accepted(url: str) -> None:
    s = parse_settings({"provider": {"wecom_base_url": url}, "partner": {"base_url": url}})
    assert s.provider.wecom_base_url == url and s.partner.base_url == url


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("poll_interval_s", "1e-9"),
        ("poll_interval_s", "0.5"),
        ("poll_interval_s", "61"),
        ("poll_interval_s", "nan"),
        ("poll_interval_s", "inf"),
        ("poll_interval_s", "-inf"),
        ("timeout_s", "0"),
        ("timeout_s", "0.5"),
        ("timeout_s", "86401"),
        ("timeout_s", "nan"),
        ("timeout_s", "inf"),
        ("timeout_s", "1e400"),
    ],
)
def test_timings_out_of_bounds_are_refused_naming_the_key(
    tmp_path: Path, key: str, value: str
) -> None:
    path = write(tmp_path, f"[binding]\n{key} = {value}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert err.value.exit_code == ExitCode.USAGE
    assert f"[binding] {key}" in str(err.value)


def test_timing_bounds_themselves_are_accepted() -> None:
    for poll, timeout in ((1, 1), (60, 86400), (3.5, 900)):
        s = parse_settings({"binding": {"poll_interval_s": poll, "timeout_s": timeout}})
        assert (s.binding.poll_interval_s, s.binding.timeout_s) == (poll, timeout)


def test_fast_polling_is_allowed_only_against_this_computer() -> None:
    local = {"provider": {"wecom_base_url": "http://127.0.0.1:8765"}}
    s = parse_settings({**local, "binding": {"poll_interval_s": 0.05}})
    assert s.binding.poll_interval_s == 0.05
    with pytest.raises(ConfigError):
        parse_settings({**local, "binding": {"poll_interval_s": 0.01}})
    # One URL elsewhere (the partner service) and WeCom's account is at stake again.
    with pytest.raises(ConfigError) as err:
        parse_settings(
            {
                **local,
                "partner": {"base_url": "https://partner.example"},
                "binding": {"poll_interval_s": 0.05},
            }
        )
    assert "[binding] poll_interval_s" in str(err.value)


def test_secret_mode_seed_allows_static_qr_only(tmp_path: Path) -> None:
    s = parse_settings({"provider": {"secret_mode": "seed"}, "binding": {"qr": "static"}})
    assert s.provider.secret_mode == "seed"
    assert parse_settings({}).provider.secret_mode == "per_device"
    path = write(tmp_path, '[provider]\nsecret_mode = "seed"\n[binding]\nqr = "dynamic"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    text = str(err.value)
    assert "[binding] qr" in text and "seed" in text and "static" in text
    with pytest.raises(ConfigError) as bad:
        parse_settings({"provider": {"secret_mode": "shared"}})
    assert "[provider] secret_mode" in str(bad.value)
