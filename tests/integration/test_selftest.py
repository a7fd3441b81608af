"""``installer-app --self-test`` from source: every check passes here, and a broken build fails."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from installer_app import selftest

ROOT = Path(__file__).resolve().parents[2]


def _run(
    args: list[str], cwd: Path, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", **(env_extra or {}))
    return subprocess.run(
        [sys.executable, "-m", "installer_app", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_self_test_passes_from_source() -> None:
    result = _run(["--self-test"], ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    names = {
        name for name in (line[5:].split(" (")[0] for line in lines if line.startswith("ok   "))
    }
    expected = {check.name for check in selftest.CORE_CHECKS} | {
        "qt platform",
        "qt translations",
        "icons",
        "stylesheets",
        "collation",
    }
    assert expected <= names, result.stdout
    assert not [line for line in lines if line.startswith("FAIL")]
    assert lines[-1] == f"self-test: {len(names)} of {len(names)} checks passed"
    # The demo credentials and the stored SecretNo never reach the report.
    for secret in ("emulator-provider-secret", "selftest-secret-no"):
        assert secret not in result.stdout + result.stderr


def test_a_build_without_compiled_translations_fails(tmp_path: Path) -> None:
    """A bundle that lost its .qm files: the resource checks say so and the exit code is 1."""
    broken = tmp_path / "resources"
    shutil.copytree(
        ROOT / "resources", broken, ignore=shutil.ignore_patterns("*.qm", "__pycache__")
    )
    result = _run(
        ["--self-test"],
        tmp_path,  # ``python -m`` puts the working folder first: this resources/ wins
        {"PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    fails = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert any(line.startswith("FAIL resources: i18n/installer_app_") for line in fails), fails
    assert any(line.startswith("FAIL qt translations:") for line in fails), fails
    # The other checks still ran and passed.
    assert "ok   simulated device" in result.stdout
    assert "ok   store" in result.stdout


def test_one_failing_check_fails_the_run_and_the_rest_still_run() -> None:
    lines: list[str] = []

    def broken(_ws: selftest.Workspace) -> str:
        raise selftest.CheckFailed("the bundle has no such thing")

    checks = [
        selftest.Check("broken", broken),
        selftest.Check("qr code", selftest.check_qr),
    ]
    assert selftest.run_checks(checks, out=lines.append) == 1
    assert lines[0] == "FAIL broken: the bundle has no such thing"
    assert lines[1].startswith("ok   qr code (")
    assert lines[-1] == "self-test: 1 of 2 checks passed"


def test_an_unexpected_exception_is_a_fail_line_not_a_traceback() -> None:
    lines: list[str] = []

    def crashes(ws: selftest.Workspace) -> str:
        assert ws.root.is_dir()
        raise OSError("disk on fire")

    assert selftest.run_checks([selftest.Check("crashes", crashes)], out=lines.append) == 1
    assert lines[0] == "FAIL crashes: OSError: disk on fire"


@pytest.mark.skipif(sys.platform == "win32", reason="the headless GUI start is checked on Linux")
def test_no_gui_skips_the_qt_checks() -> None:
    result = _run(["--self-test", "--no-gui"], ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "qt platform" not in result.stdout
    assert (
        f"{len(selftest.CORE_CHECKS)} of {len(selftest.CORE_CHECKS)} checks passed" in result.stdout
    )
