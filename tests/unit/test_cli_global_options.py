"""Global options (``--config``, ``--data-dir``, ``--lang``, ``-v``) before or after the subcommand.

They used to be dropped without a word when given before the subcommand: the subcommand's copy of
each option wrote its default over the value the main parser had read.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from installer_app.cli import build_parser

REPO = Path(__file__).resolve().parents[2]

# option, its value on the command line, the attribute, the value parsed
OPTIONS = [
    (["--config", "/etc/x.toml"], "config", "/etc/x.toml"),
    (["--data-dir", "/srv/data"], "data_dir", "/srv/data"),
    (["--lang", "zh_CN"], "lang", "zh_CN"),
    (["-v"], "verbose", True),
    (["--verbose"], "verbose", True),
]
COMMANDS = [["check"], ["history"], ["device", "info", "--port", "loop://"]]


@pytest.mark.parametrize(("option", "attribute", "value"), OPTIONS)
@pytest.mark.parametrize("command", COMMANDS)
def test_global_option_before_the_subcommand(
    option: list[str], attribute: str, value: object, command: list[str]
) -> None:
    args = build_parser().parse_args([*option, *command])
    assert getattr(args, attribute) == value


@pytest.mark.parametrize(("option", "attribute", "value"), OPTIONS)
@pytest.mark.parametrize("command", COMMANDS)
def test_global_option_after_the_subcommand(
    option: list[str], attribute: str, value: object, command: list[str]
) -> None:
    args = build_parser().parse_args([*command, *option])
    assert getattr(args, attribute) == value


def test_between_a_group_and_its_action() -> None:
    args = build_parser().parse_args(["device", "--data-dir", "/d", "info", "--port", "loop://"])
    assert args.data_dir == "/d"


def test_defaults_when_given_nowhere() -> None:
    args = build_parser().parse_args(["check"])
    assert (args.config, args.data_dir, args.lang, args.verbose) == (None, None, None, False)


@pytest.mark.parametrize(
    ("before", "after", "attribute", "value"),
    [
        (["--config", "/a.toml"], ["--config", "/b.toml"], "config", "/b.toml"),
        (["--data-dir", "/a"], ["--data-dir", "/b"], "data_dir", "/b"),
        (["--lang", "en"], ["--lang", "zh_CN"], "lang", "zh_CN"),
    ],
)
def test_given_in_both_places_the_later_wins(
    before: list[str], after: list[str], attribute: str, value: str
) -> None:
    args = build_parser().parse_args([*before, "check", *after])
    assert getattr(args, attribute) == value


def test_empty_data_dir_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--data-dir", "", "history"], ["history", "--data-dir", ""]):
        with pytest.raises(SystemExit) as exit_:
            build_parser().parse_args(argv)
        assert exit_.value.code == 2
        assert "--data-dir" in capsys.readouterr().err


def test_config_before_the_subcommand_is_read(tmp_path: Path) -> None:
    """The reported case: a missing settings file given first must not fall back to defaults."""
    missing = tmp_path / "nonexistent.toml"
    result = subprocess.run(
        [sys.executable, "-m", "installer_app", "--config", str(missing), "check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "INSTALLER_LANG": "en"},
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert str(missing) in result.stderr


def test_data_dir_before_the_subcommand_is_used(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = subprocess.run(
        [sys.executable, "-m", "installer_app", "--data-dir", str(data), "-v", "ports"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "INSTALLER_LANG": "en"},
    )
    assert result.returncode == 0, result.stderr
    assert (data / "logs" / "installer-app.log").is_file()
