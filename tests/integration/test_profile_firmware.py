"""A profile's minimum firmware is a core rule: the state machine refuses an older board after
HELLO, before any credential is taken, and the CLI and the wizard report the version the board
has and the version it needs."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

from installer_app.config import InstallerSettings, ProfileSettings, save_settings
from installer_app.errors import ExitCode
from installer_app.workflow.board_status import BoardStatus
from installer_app.workflow.events import Outcome, Step
from tests.fixtures.provider import EMULATOR_PROVIDER_SECRET
from tests.fixtures.workflow import WorkflowEnv

ROOT = Path(__file__).resolve().parents[2]


def profiled(wf: WorkflowEnv, min_fw: str) -> object:
    return dataclasses.replace(
        wf.settings(),
        profiles={"site-b": ProfileSettings(min_fw_version=min_fw)},
        installer=InstallerSettings(profile="site-b"),
    )


def test_a_board_below_the_profiles_firmware_is_refused_before_anything_is_taken(
    wf: WorkflowEnv,
) -> None:
    session = wf.session(profiled(wf, "2.1.0"))  # type: ignore[arg-type]
    board = wf.board(fw_version="1.4.2")
    run = wf.run(session, board.url)
    assert not run.result.ok and run.result.exit_code == ExitCode.DEVICE
    text = run.result.error.english()  # type: ignore[union-attr]
    assert "1.4.2" in text and "2.1.0" in text
    hello = next(e for e in run.of(Step.HELLO) if e.outcome is Outcome.OK)
    assert hello.data["status"] == BoardStatus.OLD_FIRMWARE.value
    assert run.answers.boards == [] and "credential" not in run.steps()
    assert session.store.history() == [] and wf.emulator.devices() == []


def test_a_board_at_the_minimum_goes_ahead(wf: WorkflowEnv) -> None:
    session = wf.session(profiled(wf, "1.4.2"))  # type: ignore[arg-type]
    board = wf.board(fw_version="1.4.2")
    run = wf.run(session, board.url, no_wait=True)
    assert run.result.ok, run.result


def test_the_cli_refuses_it_too_naming_both_versions(wf: WorkflowEnv, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    save_settings(profiled(wf, "2.1.0"), config)  # type: ignore[arg-type]
    board = wf.board(fw_version="1.4.2")
    env = dict(os.environ, INSTALLER_PROVIDER_SECRET=EMULATOR_PROVIDER_SECRET, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "installer_app",
            "--lang",
            "en",
            "provision",
            "--config",
            str(config),
            "--data-dir",
            str(wf.data_dir),
            "--port",
            board.url,
        ],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert proc.returncode == ExitCode.DEVICE, proc.stderr
    assert "firmware 1.4.2" in proc.stderr and "2.1.0 or newer" in proc.stderr
    assert "status=old_firmware" in proc.stdout
