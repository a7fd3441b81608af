"""build-info.json: what a frozen build left out on purpose, and the self-test reading it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from installer_app import selftest
from installer_app.build_info import BUILD_INFO_FILE, frozen_build_info, has_secret_service
from installer_app.selftest import Check, Workspace
from installer_app.store import NoKeyStore, SecretCipher

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Secret Service")


def _freeze(monkeypatch: pytest.MonkeyPatch, bundle: Path, info: object | None) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    if info is not None:
        (bundle / BUILD_INFO_FILE).write_text(json.dumps(info), encoding="utf-8")


def test_from_source_everything_is_present() -> None:
    assert frozen_build_info() is None
    assert has_secret_service()


def test_frozen_build_reports_what_it_was_built_with(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _freeze(monkeypatch, tmp_path, {"version": "0.1.0", "secret_service": True})
    assert frozen_build_info() == {"version": "0.1.0", "secret_service": True}
    assert has_secret_service()


@pytest.mark.parametrize("info", [None, {"version": "0.1.0"}, ["not", "a", "dict"]])
def test_frozen_build_without_a_clear_yes_has_no_secret_service(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, info: object | None
) -> None:
    _freeze(monkeypatch, tmp_path, info)
    assert frozen_build_info() == ({"version": "0.1.0"} if isinstance(info, dict) else {})
    assert not has_secret_service()


@linux_only
def test_self_test_names_a_secret_service_left_out_on_purpose(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _freeze(monkeypatch, tmp_path, {"secret_service": False})
    assert "left out of this build" in selftest.check_keyring(Workspace(tmp_path))


@linux_only
def test_self_test_fails_when_a_build_that_asked_for_secret_service_lacks_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _freeze(monkeypatch, tmp_path, {"secret_service": True})
    monkeypatch.setitem(sys.modules, "secretstorage", None)  # import fails as in such a build
    lines: list[str] = []
    assert selftest.run_checks([Check("keyring backend", selftest.check_keyring)], lines.append)
    assert lines[0].startswith("FAIL keyring backend:") and "secretstorage" in lines[0]


@linux_only
def test_store_says_the_build_has_no_secret_service(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _freeze(monkeypatch, tmp_path, {"secret_service": False})
    keyring.set_keyring(fail.Keyring())
    with pytest.raises(NoKeyStore) as caught:
        SecretCipher.from_keyring()
    text = str(caught.value)
    assert "built without access to the Linux desktop keyring" in text
    assert "INSTALLER_KEY_FILE" in text
