"""``installer-app demo --team``: the whole chain headless (PostgreSQL, server, emulator callbacks,
simulated board, the laptop's cloud mode)."""

from __future__ import annotations

from pathlib import Path

import pytest

from installer_app.cli import main
from installer_app.server.local_pg import LocalPostgres

pytestmark = pytest.mark.slow


def test_the_team_demo_provisions_a_board_through_the_server(
    pg: LocalPostgres, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["demo", "--team", "--data-dir", str(tmp_path), "--scan-after", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Team demo: team server at http://127.0.0.1:" in out
    assert "companion app: installed" in out
