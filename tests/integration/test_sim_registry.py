"""The simulator registry: JSON files in $INSTALLER_SIM_REGISTRY, dead entries skipped."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import pytest

from installer_app.simulator import registry as sim_registry
from installer_app.simulator.registry import SimPortEntry


def entry(device: str, pid: int | None = None) -> SimPortEntry:
    return SimPortEntry(
        device=device,
        description=sim_registry.describe("WX-ATT-200"),
        serial_number=sim_registry.pseudo_serial_number(bytes.fromhex("240ac4123456")),
        hw_id_hex="240ac4123456",
        model_id="WX-ATT-200",
        pid=os.getpid() if pid is None else pid,
    )


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "pass"], check=True)
    assert done.returncode == 0
    with subprocess.Popen([sys.executable, "-c", "pass"]) as proc:
        proc.wait()
        return proc.pid


def test_register_list_unregister(tmp_path: Path) -> None:
    device = tmp_path / "ttyFAKE0"
    device.touch()
    handle = sim_registry.register(entry(str(device)))
    assert handle.parent == Path(os.environ["INSTALLER_SIM_REGISTRY"])
    assert sim_registry.list_running() == [entry(str(device))]
    assert entry(str(device)).serial_number == "SIM240AC4123456"
    sim_registry.unregister(handle)
    sim_registry.unregister(handle)  # twice is harmless
    assert sim_registry.list_running() == []


def test_dead_process_entries_are_skipped_and_removed() -> None:
    handle = sim_registry.register(entry("socket://127.0.0.1:9", pid=dead_pid()))
    assert sim_registry.list_running() == []
    assert not handle.exists()


def test_vanished_device_paths_are_skipped(tmp_path: Path) -> None:
    sim_registry.register(entry(str(tmp_path / "gone")))
    live = sim_registry.register(entry("socket://127.0.0.1:5555"))
    assert [e.device for e in sim_registry.list_running()] == ["socket://127.0.0.1:5555"]
    assert live.exists()


def test_garbage_files_are_ignored() -> None:
    directory = sim_registry.registry_dir()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "broken.json").write_text("{")
    (directory / "other.json").write_text('{"device": 1}')
    assert sim_registry.list_running() == []


def test_default_directory_is_the_runtime_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INSTALLER_SIM_REGISTRY")
    monkeypatch.delenv("XDG_RUNTIME_DIR")  # platformdirs warns then; the registry must not
    path = sim_registry.registry_dir()
    assert path.name == "sim-ports"
    assert "installer-app" in str(path)


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG_RUNTIME_DIR is Unix-only")
def test_no_runtime_dir_lists_without_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `installer-app ports` in a plain shell: no XDG_RUNTIME_DIR, warnings are errors.
    monkeypatch.delenv("INSTALLER_SIM_REGISTRY")
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sim_registry.list_running() == []
        handle = sim_registry.register(entry("socket://127.0.0.1:5555"))
        assert [e.device for e in sim_registry.list_running()] == ["socket://127.0.0.1:5555"]
    assert handle.parent == tmp_path / f"installer-app-{os.getuid()}" / "sim-ports"
    assert handle.parent.parent.stat().st_mode & 0o077 == 0  # other users cannot add entries


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG_RUNTIME_DIR is Unix-only")
def test_private_runtime_dir_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INSTALLER_SIM_REGISTRY")
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert sim_registry.registry_dir() == runtime / "installer-app" / "sim-ports"
    runtime.chmod(0o755)  # not private: not trusted
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert sim_registry.registry_dir().parent == tmp_path / f"installer-app-{os.getuid()}"
