"""Small hardening items, each found by trying (issue 11, hardening item 7)."""

from __future__ import annotations

import logging
import os
import stat
import threading
from pathlib import Path

import pytest

from installer_app.config import ConfigError, load_settings
from installer_app.device.client import DeviceClient
from installer_app.device.log_lines import DeviceLogWriter
from installer_app.logsetup import LOG_FILE, configure_logging
from installer_app.provider.emulator.records import EmulatorStateError
from installer_app.provider.emulator.state_file import load as load_emulator_state
from installer_app.secrets import MASK, Secret, redact
from installer_app.store.errors import KeyFileError
from installer_app.store.keys import SecretCipher
from tests.unit.test_client_support import FakeDevice, response


def test_relative_key_file_resolves_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    config = folder / "config.toml"
    config.write_text('[store]\nkey_file = "keys/store.key"\n', encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert load_settings(config).key_file() == folder / "keys" / "store.key"
    # The environment variable is relative to where the command runs, as any path argument.
    monkeypatch.setenv("INSTALLER_KEY_FILE", "env.key")
    assert load_settings(config).key_file() == Path("env.key")


@pytest.mark.parametrize("prefix", ["WX-", "W X", "设备", "W\n", "W" * 97])
def test_a_bad_sn_prefix_stops_the_config_load(tmp_path: Path, prefix: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"[credentials]\nsn_prefix = {prefix!r}\n".replace("'", '"'), "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert "[credentials] sn_prefix" in caught.value.message.english()


@pytest.mark.parametrize("prefix", ["", "WX", "W" * 96])
def test_good_sn_prefixes_load(tmp_path: Path, prefix: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[credentials]\nsn_prefix = "{prefix}"\n', encoding="utf-8")
    assert load_settings(config).credentials.sn_prefix == prefix


def test_a_key_file_that_is_a_folder_is_a_key_file_error(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError) as caught:
        SecretCipher.from_key_file(tmp_path)
    assert "not a regular file" in caught.value.message.english()


def test_a_binary_emulator_state_file_is_damaged_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(EmulatorStateError) as caught:
        load_emulator_state(path)
    assert "is damaged" in caught.value.message.english()


def test_masking_takes_whole_values_only() -> None:
    """A Wi-Fi password equal to part of a HW_ID masked that HW_ID in --json output."""
    Secret("A1B2C3D4")
    hw_id = "00a1b2c3d4e5".upper()
    line = f'{{"hw_id": "{hw_id}", "sn": "WXA1B2C3D4", "wifi": "A1B2C3D4"}} A1B2C3D4.'
    assert redact(line) == f'{{"hw_id": "{hw_id}", "sn": "WXA1B2C3D4", "wifi": "{MASK}"}} {MASK}.'
    Secret("pass word!")  # spaces and punctuation inside a secret
    assert redact("psk='pass word!' end") == f"psk='{MASK}' end"


def test_masking_with_many_secrets_held_still_masks_each() -> None:
    held = [Secret(f"SecretNo{i:08d}xyz") for i in range(2000)]
    text = " ".join(s.reveal() for s in held[::400])
    assert redact(text) == " ".join([MASK] * 5)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_device_log_lines_are_escaped_cut_and_rate_limited(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    logger = logging.getLogger("test.device.firmware")
    writer = DeviceLogWriter(logger, per_second=3, clock=clock)
    with caplog.at_level(logging.DEBUG, logger="test.device.firmware"):
        writer.write(b"I (1) boot\x1b[2J\rfake: line\xff\xfe\n" + b"x" * 1000 + b"\n")
        writer.write(b"".join(b"flood %d\n" % i for i in range(500)))
        clock.now += 1.0
        writer.write(b"after the flood\n")
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "I (1) boot\\x1b[2J\\rfake: line\\xff\\xfe"
    assert messages[1] == "x" * 400 + "…"
    assert messages[2] == "flood 0"
    assert messages[3] == "… 499 more lines from the board suppressed (more than 3 a second)"
    assert messages[4] == "after the flood"
    assert len(messages) == 5


def test_a_flooding_board_cannot_fill_the_log(caplog: pytest.LogCaptureFixture) -> None:
    """Over a real pty: 5,000 log lines in a burst keep at most a second's budget in the log."""
    device = FakeDevice()
    flood = b"".join(b"W (%d) spam \x1b]0;title\x07\n" % i for i in range(5000))
    device.handler = lambda frame: [flood, response(frame), b"tail\n"]
    try:
        with (
            caplog.at_level(logging.DEBUG, logger="installer_app.device.firmware"),
            DeviceClient.open(device.url, response_timeout=5.0) as client,
        ):
            seen = threading.Event()
            client.add_log_listener(lambda data: seen.set() if b"tail" in data else None)
            client.identify()
            assert seen.wait(5.0)
    finally:
        device.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "installer_app.device.firmware"]
    assert 0 < len(lines) <= 10 + 1  # LINES_PER_SECOND, and the "suppressed" line
    assert all("\x1b" not in line and "\x07" not in line for line in lines)
    assert any("\\x1b]0;title\\x07" in line for line in lines)


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_log_files_are_owner_only(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        handler = configure_logging(tmp_path / "logs")
        assert handler is not None
        logging.getLogger("test.mode").info("hello")
        mode = stat.S_IMODE((tmp_path / "logs" / LOG_FILE).stat().st_mode)
        assert mode == 0o600
        assert stat.S_IMODE((tmp_path / "logs").stat().st_mode) == 0o700
    finally:
        os.umask(old_umask)
        logging.getLogger().removeHandler(handler)  # type: ignore[arg-type]
        if handler is not None:
            handler.close()
