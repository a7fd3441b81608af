"""``installer-app demo``: the whole flow in the terminal from a clean data folder, as a fresh
clone's ``python3 run.py demo`` runs it on a machine without a display."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_demo(
    tmp_path: Path,
    *args: str,
    display: bool = True,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if not display:
        for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
            env.pop(var, None)
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "installer_app", "demo", "--data-dir", str(tmp_path), *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


def test_headless_demo_provisions_two_boards_and_the_emulator_scans(tmp_path: Path) -> None:
    proc = run_demo(tmp_path, "--headless", "--boards", "2", "--scan-after", "0.5")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("Done: SN DEMO") == 2
    assert "https://open.work.weixin.qq.com/connect/hardware?" in proc.stdout
    assert (tmp_path / "demo" / "installer.db").exists()
    assert (tmp_path / "demo" / "config.toml").exists()


def test_demo_without_a_display_falls_back_to_the_terminal(tmp_path: Path) -> None:
    proc = run_demo(tmp_path, "--scan-after", "0.5", display=False)
    assert proc.returncode == 0, proc.stderr
    assert "Running the demo in the terminal instead" in proc.stderr
    assert "Done: SN DEMO" in proc.stdout


def test_demo_with_a_display_qt_cannot_open_falls_back_instead_of_aborting(
    tmp_path: Path,
) -> None:
    """Qt aborts the process when its display plugin cannot load (an unreachable display, or X11
    libraries missing on a minimal system): the demo finds out in a child process first."""
    env_display = {"DISPLAY": ":987"}  # no X server listens there
    proc = run_demo(tmp_path, "--scan-after", "0.5", display=False, extra_env=env_display)
    assert proc.returncode == 0, proc.stderr
    assert "Qt cannot open the display" in proc.stderr
    assert "Running the demo in the terminal instead" in proc.stderr
    assert "Done: SN DEMO" in proc.stdout
