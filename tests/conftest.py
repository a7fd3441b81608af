"""Test-wide set-up: headless Qt, isolated directories, and the shared fixtures."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest_plugins = [
    "tests.fixtures.device",
    "tests.fixtures.provider",
    "tests.fixtures.store",
    "tests.fixtures.workflow",
]


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the real user's config, data, keyring or simulator registry."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(home / "run"))
    monkeypatch.setenv("INSTALLER_SIM_REGISTRY", str(home / "sim-ports"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    for var in (
        "INSTALLER_PROVIDER_SECRET",
        "INSTALLER_PARTNER_TOKEN",
        "INSTALLER_KEY_FILE",
        "INSTALLER_WIFI_PSK",
        "INSTALLER_LANG",
    ):
        monkeypatch.delenv(var, raising=False)
