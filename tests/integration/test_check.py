"""The connection check against the emulator over real HTTP: which setting is wrong, unreachable,
rate limited; and ``installer-app check`` end to end in a subprocess (exit codes, --json)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from installer_app.config import PartnerSettings, ProviderSettings, Settings
from installer_app.errors import ExitCode
from installer_app.provider.check import CheckReport, run_checks
from installer_app.provider.emulator import ProviderEmulator
from installer_app.secrets import Secret
from tests.fixtures.provider import (
    EMULATOR_CORPID,
    EMULATOR_PARTNER_TOKEN,
    EMULATOR_PROVIDER_SECRET,
)

ROOT = Path(__file__).resolve().parents[2]


def settings(
    emulator: ProviderEmulator,
    *,
    base_url: str | None = None,
    corpid: str = EMULATOR_CORPID,
    secret: str | None = EMULATOR_PROVIDER_SECRET,
    partner_url: str | None = None,
    token: str | None = EMULATOR_PARTNER_TOKEN,
) -> Settings:
    url = base_url or emulator.base_url
    return Settings(
        provider=ProviderSettings(mode="direct", wecom_base_url=url, corpid=corpid),
        partner=PartnerSettings(base_url=url if partner_url is None else partner_url),
        provider_secret=Secret(secret) if secret else None,
        partner_token=Secret(token) if token else None,
    )


def statuses(report: CheckReport) -> dict[str, str]:
    return {item.name: item.status for item in report.items}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_everything_good(emulator: ProviderEmulator) -> None:
    report = run_checks(settings(emulator))
    assert statuses(report) == {"wecom": "ok", "partner": "ok"}
    assert report.ok and report.exit_code == ExitCode.OK
    assert emulator.token_fetches == 1
    assert emulator.stats()["requests"]["/cgi-bin/service/list_device"] == 1


def test_wrong_provider_secret_is_named(emulator: ProviderEmulator) -> None:
    report = run_checks(settings(emulator, secret="wrong-secret-1234"))
    assert statuses(report) == {"wecom": "failed", "partner": "ok"}
    wecom = report.items[0]
    assert wecom.errcode == 40001 and wecom.hint is not None
    assert "provider secret in settings is wrong" in wecom.hint.english()
    assert report.exit_code == ExitCode.PROVIDER


def test_wrong_corpid_is_named(emulator: ProviderEmulator) -> None:
    report = run_checks(settings(emulator, corpid="wwsomeoneelse"))
    wecom = report.items[0]
    assert wecom.status == "failed" and wecom.errcode == 40013
    assert wecom.hint is not None and "corpid in settings is wrong" in wecom.hint.english()


def test_wrong_installer_token_is_named(emulator: ProviderEmulator) -> None:
    report = run_checks(settings(emulator, token="revoked-token-0000"))
    assert statuses(report) == {"wecom": "ok", "partner": "failed"}
    assert "installer token" in report.items[1].message.english()
    assert report.exit_code == ExitCode.PROVIDER


def test_unreachable_server(emulator: ProviderEmulator) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    report = run_checks(settings(emulator, base_url=dead, partner_url=dead))
    assert statuses(report) == {"wecom": "failed", "partner": "failed"}
    for item in report.items:
        assert "Cannot reach 127.0.0.1" in item.message.english()


def test_rate_limited_account(emulator: ProviderEmulator) -> None:
    emulator.inject("/cgi-bin/service/get_provider_token", errcode=45009, count=5)
    report = run_checks(settings(emulator))
    wecom = report.items[0]
    assert wecom.status == "failed" and wecom.errcode == 45009
    assert "rate limiting" in wecom.message.english()


def test_missing_configuration(emulator: ProviderEmulator) -> None:
    report = run_checks(settings(emulator, secret=None))
    assert statuses(report)["wecom"] == "missing"
    assert report.exit_code == ExitCode.USAGE
    assert "provider secret" in report.items[0].message.english()
    # no partner configured in direct mode: skipped, not an error
    report = run_checks(settings(emulator, partner_url="", token=None))
    assert statuses(report) == {"wecom": "ok", "partner": "skipped"}
    assert report.exit_code == ExitCode.OK


def run_cli(
    tmp_path: Path, emulator: ProviderEmulator, *extra: str, secret: str | None = None
) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "settings.toml"
    config.write_text(
        "[provider]\n"
        f'wecom_base_url = "{emulator.base_url}"\n'
        f'corpid = "{EMULATOR_CORPID}"\n'
        "[partner]\n"
        f'base_url = "{emulator.base_url}"\n',
        encoding="utf-8",
    )
    env = dict(os.environ)
    env["INSTALLER_PARTNER_TOKEN"] = EMULATOR_PARTNER_TOKEN
    if secret is not None:
        env["INSTALLER_PROVIDER_SECRET"] = secret
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "installer_app",
            "check",
            "--config",
            str(config),
            "--data-dir",
            str(tmp_path / "data"),
            "--lang",
            "en",
            *extra,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_cli_check(tmp_path: Path, emulator: ProviderEmulator) -> None:
    good = run_cli(tmp_path, emulator, "--json", secret=EMULATOR_PROVIDER_SECRET)
    assert good.returncode == 0, good.stderr
    report = json.loads(good.stdout)
    assert report["ok"] is True and [i["status"] for i in report["items"]] == ["ok", "ok"]

    bad = run_cli(tmp_path, emulator, secret="wrong-secret-9876")
    assert bad.returncode == ExitCode.PROVIDER
    assert "provider secret in settings is wrong" in bad.stdout
    assert "✓ Partner service" in bad.stdout

    missing = run_cli(tmp_path, emulator, "--json")
    assert missing.returncode == ExitCode.USAGE
    assert json.loads(missing.stdout)["items"][0]["status"] == "missing"

    for proc in (good, bad, missing):
        for secret in (EMULATOR_PROVIDER_SECRET, EMULATOR_PARTNER_TOKEN, "wrong-secret-9876"):
            assert secret not in proc.stdout + proc.stderr
    log_text = "".join(
        p.read_text(encoding="utf-8") for p in (tmp_path / "data" / "logs").glob("*.log*")
    )
    for secret in (EMULATOR_PROVIDER_SECRET, EMULATOR_PARTNER_TOKEN, "wrong-secret-9876"):
        assert secret not in log_text
