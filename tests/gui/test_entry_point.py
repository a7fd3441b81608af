"""``installer-app`` with only global options opens the wizard with them; the first-paint hook
quits after the first frame (what the start-up benchmark times)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_global_options_alone_open_the_wizard_with_them(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", INSTALLER_EXIT_AFTER_FIRST_PAINT="1")
    done = subprocess.run(
        [sys.executable, "-m", "installer_app", "--data-dir", str(tmp_path / "data")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "first-paint" in done.stdout
    log = (tmp_path / "data" / "logs" / "installer-app.log").read_text(encoding="utf-8")
    assert "wizard started" in log
