"""Fixtures for the wizard's tests: a window wired to the real simulator and emulator."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from installer_app.config import (
    BindingSettings,
    CredentialSettings,
    ProviderSettings,
    Settings,
)
from installer_app.provider.emulator import ProviderEmulator
from installer_app.secrets import Secret
from tests.fixtures.provider import EMULATOR_CORPID, EMULATOR_PROVIDER_SECRET

pytest.importorskip("pytestqt")

# Generous: several agents share two cores; none of these is the thing under test.
SLOW_MS = 30_000


def emulator_settings(emulator: ProviderEmulator, tmp_path: Path, **binding: Any) -> Settings:
    return Settings(
        provider=ProviderSettings(
            mode="direct",
            wecom_base_url=emulator.base_url,
            corpid=EMULATOR_CORPID,
            model_id="WX-ATT-200",
        ),
        credentials=CredentialSettings(source="register", sn_prefix="GUI"),
        binding=BindingSettings(
            qr=binding.get("qr", "static"),
            poll_interval_s=binding.get("poll_interval_s", 0.2),
            timeout_s=binding.get("timeout_s", 120.0),
        ),
        provider_secret=Secret(EMULATOR_PROVIDER_SECRET),
        source_file=tmp_path / "config.toml",
    )


@pytest.fixture
def make_window(
    qtbot: Any, emulator: ProviderEmulator, tmp_path: Path, key_file: Path
) -> Iterator[Callable[..., Any]]:
    """Build a ``MainWindow`` (not exec'd) against the emulator, with its session open."""
    from ui.main_window import MainWindow

    windows: list[MainWindow] = []

    def make(settings: Settings | None = None, demo: Any | None = None, wait: bool = True) -> Any:
        settings = settings or emulator_settings(emulator, tmp_path)
        window = MainWindow(settings, tmp_path / "data", tmp_path / "config.toml", demo)
        qtbot.addWidget(window)
        windows.append(window)
        if wait:
            qtbot.waitUntil(lambda: window.session is not None, timeout=SLOW_MS)
        return window

    yield make
    for window in windows:
        window.shutdown()


def worker_threads() -> list[threading.Thread]:
    """Threads started by the wizard's workers (QThreads show up as dummy threads only once
    Python code ran in them, so count them by name prefix too)."""
    return [t for t in threading.enumerate() if t.name.startswith(("worker:", "Dummy"))]
