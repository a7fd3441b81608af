"""The command line speaks the installer's language: help texts, argparse's own words, errors.

The Chinese catalog here is a small fake .ts (the real translations are filled in centrally), read
through the same loader the CLI uses; only the subprocess test uses the bundled resources.
"""

from __future__ import annotations

import argparse
import inspect
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from installer_app import i18n
from installer_app.cli import build_parser, language_from_argv, main
from installer_app.cli.argparse_i18n import (
    ARGPARSE_STRINGS,
    argparse_gettext,
    argparse_ngettext,
)
from installer_app.cli.wrap import display_width

ROOT = Path(__file__).resolve().parents[2]

FAKE_ZH = {
    ("argparse", "usage: "): "用法：",
    ("argparse", "options"): "选项",
    ("argparse", "show this help message and exit"): "显示此帮助信息并退出",
    ("argparse", "%(prog)s: error: %(message)s\n"): "%(prog)s：错误：%(message)s\n",
    ("argparse", "argument %(argument_name)s: %(message)s"): "参数 %(argument_name)s：%(message)s",
    ("argparse", "one of the arguments %s is required"): "必须提供以下参数之一：%s",
    ("argparse", "invalid choice: %(value)r (choose from %(choices)s)"): (
        "无效的选项：%(value)r（可选：%(choices)s）"
    ),
    ("argparse", "expected %s arguments"): "需要 %s 个参数",
    ("cli", "every detected board"): "所有检测到的设备",
    ("cli", "a number from {low} to {high}, not {text}"): (
        "须为 {low} 到 {high} 之间的数，而不是 {text}"
    ),
    ("cli", "Provision one or more boards end to end. The Wi-Fi password never goes on "
     "the command line: set {env} or type it at the hidden prompt."): (
        "端到端配置一台或多台设备。Wi-Fi 密码不会出现在命令行中：请设置 {env}，或在隐藏提示中输入。"
    ),
}  # fmt: skip


def _ts(entries: dict[tuple[str, str], str]) -> str:
    contexts: dict[str, list[str]] = {}
    for (context, source), translation in entries.items():
        contexts.setdefault(context, []).append(
            f"<message><source>{escape(source)}</source>"
            f"<translation>{escape(translation)}</translation></message>"
        )
    body = "".join(
        f"<context><name>{name}</name>{''.join(messages)}</context>"
        for name, messages in contexts.items()
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>'
        f'<TS version="2.1" language="zh_CN">{body}</TS>'
    )


@pytest.fixture(autouse=True)
def _english_afterwards() -> Iterator[None]:
    """Whatever a test installs, the next one starts in English."""
    yield
    i18n.set_translator(lambda _context, text: text, "en")


@pytest.fixture
def fake_zh_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "i18n"
    folder.mkdir()
    (folder / "installer_app_zh_CN.ts").write_text(_ts(FAKE_ZH), encoding="utf-8")
    monkeypatch.setattr(i18n.resources, "files", lambda _name: folder)
    for var in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C")


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    code = exit_info.value.code
    assert isinstance(code, int)
    return code, out, err


@pytest.mark.usefixtures("fake_zh_catalog")
def test_lang_flag_translates_help_texts_and_argparse_headings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run_cli(["--lang", "zh_CN", "provision", "--help"], capsys)
    assert code == 0, err
    assert out.startswith("用法：installer-app provision")
    assert "\n选项:\n" in out
    assert "显示此帮助信息并退出" in out
    assert "所有检测到的设备" in out
    assert "请设置 INSTALLER_WIFI_PSK" in " ".join(out.split())  # the description is wrapped
    # Nothing translated yet: the English text, never an empty line.
    assert "join this Wi-Fi network" in out
    assert "show this help message" not in out
    assert "usage:" not in out and "options:" not in out


@pytest.mark.usefixtures("fake_zh_catalog")
@pytest.mark.parametrize("command", [["provision"], ["device"], ["inventory", "import"]])
def test_chinese_usage_lines_up_in_terminal_columns(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """argparse counts "用法：" as three characters; a terminal shows it six columns wide."""
    code, out, err = run_cli(["--lang", "zh_CN", *command, "--help"], capsys)
    assert code == 0, err
    usage = out.split("\n\n")[0].splitlines()
    assert len(usage) > 1, usage  # continuation lines to line up
    first_option = display_width(usage[0][: usage[0].index("[-h]")])
    for line in usage[1:]:
        assert display_width(line) - display_width(line.lstrip(" ")) == first_option, usage


@pytest.mark.usefixtures("fake_zh_catalog")
def test_help_follows_the_environment_without_lang(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    code, out, _err = run_cli(["provision", "--help"], capsys)
    assert code == 0
    assert "所有检测到的设备" in out and "\n选项:\n" in out


@pytest.mark.usefixtures("fake_zh_catalog")
def test_lang_flag_wins_over_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSTALLER_LANG", "zh_CN")
    code, out, _err = run_cli(["provision", "--lang", "en", "--help"], capsys)
    assert code == 0
    assert "every detected board" in out and "\noptions:\n" in out
    assert "所有" not in out


@pytest.mark.usefixtures("fake_zh_catalog")
def test_usage_errors_are_translated(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["--lang", "zh_CN", "provision"], capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("用法：installer-app provision")
    assert "installer-app provision：错误：必须提供以下参数之一：--port --all\n" in err

    code, _out, err = run_cli(["--lang", "zh_CN", "provision", "--all", "--timeout", "-1"], capsys)
    assert code == 2
    assert "错误：参数 --timeout：须为 1 到 86400 之间的数，而不是 '-1'" in err


@pytest.mark.usefixtures("fake_zh_catalog")
def test_an_invalid_lang_value_is_reported_in_the_environment_language(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSTALLER_LANG", "zh_CN")
    code, _out, err = run_cli(["--lang", "fr", "check"], capsys)
    assert code == 2
    assert "参数 --lang：无效的选项：'fr'（可选：'auto', 'en', 'zh_CN'）" in err


@pytest.mark.usefixtures("fake_zh_catalog")
def test_english_is_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run_cli(["--lang", "en", "provision", "--help"], capsys)
    assert code == 0
    assert out.startswith("usage: installer-app provision")
    assert "\noptions:\n  -h, --help            show this help message and exit\n" in out
    assert "every detected board" in out
    assert "set INSTALLER_WIFI_PSK or type it at the hidden prompt" in out
    assert "\nexit codes:\n  0  done (every board)\n" in out

    code, _out, err = run_cli(["--lang", "en", "provision"], capsys)
    assert code == 2
    assert "installer-app provision: error: one of the arguments --port --all is required\n" in err


def test_every_help_text_goes_through_the_translator() -> None:
    """A translator that brackets every text it sees: a help text without the brackets was
    written as a plain literal, out of lupdate's sight."""
    i18n.set_translator(lambda _context, text: f"«{text}»", "zz")
    parser = build_parser()
    missed: list[str] = []

    def visit(path: str, parser: argparse.ArgumentParser) -> None:
        for name, text in (("description", parser.description), ("epilog", parser.epilog)):
            if text is not None and not text.startswith("«"):
                missed.append(f"{path} {name}: {text}")
        for action in parser._actions:
            help_text = action.help
            if help_text not in (None, argparse.SUPPRESS) and not str(help_text).startswith("«"):
                missed.append(
                    f"{path} {'/'.join(action.option_strings) or action.dest}: {help_text}"
                )
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    if choice.help is not None and not choice.help.startswith("«"):
                        missed.append(f"{path} {choice.dest}: {choice.help}")
                for name, subparser in action.choices.items():
                    visit(f"{path} {name}", subparser)

    visit("installer-app", parser)
    assert missed == []


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--lang", "zh_CN", "provision"], "zh_CN"),
        (["provision", "--port", "COM3", "--lang=en"], "en"),
        (["history", "--la", "zh_CN"], "zh_CN"),
        (["provision", "--lang"], None),
        (["check", "--json"], None),
        ([], None),
    ],
)
def test_lang_is_found_before_the_parser_exists(argv: list[str], expected: str | None) -> None:
    assert language_from_argv(argv) == expected


def test_listed_argparse_strings_are_argparses_own() -> None:
    source = inspect.getsource(argparse)
    for entry in ARGPARSE_STRINGS:
        assert entry.context == "argparse"
        assert entry.text.replace("\n", "\\n") in source, entry.text


def test_argparse_hooks_fall_back_to_english() -> None:
    i18n.set_translator(lambda _context, text: text, "en")
    assert argparse_gettext(None) is None
    assert argparse_gettext("options") == "options"
    assert argparse_ngettext("expected %s argument", "expected %s arguments", 1) == (
        "expected %s argument"
    )
    assert argparse_ngettext("expected %s argument", "expected %s arguments", 2) == (
        "expected %s arguments"
    )


@pytest.mark.usefixtures("fake_zh_catalog")
def test_argparse_plural_uses_the_translation_of_the_english_form() -> None:
    i18n.install_catalog_translator("zh_CN")
    assert argparse_ngettext("expected %s argument", "expected %s arguments", 2) == "需要 %s 个参数"
    assert argparse_ngettext("expected %s argument", "expected %s arguments", 1) == (
        "expected %s argument"
    )


def test_chinese_help_with_the_bundled_translations_runs(tmp_path: Path) -> None:
    """The real .ts, whatever part of it is translated yet: --help must work and exit 0."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONIOENCODING": "utf-8"}
    for args in (["--lang", "zh_CN", "--help"], ["--lang", "zh_CN", "provision", "--help"]):
        done = subprocess.run(
            [sys.executable, "-m", "installer_app", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "installer-app" in done.stdout
        assert "--lang" in done.stdout
        assert done.stderr == ""
    catalog = i18n.load_ts_catalog("zh_CN")
    heading = catalog.get(("argparse", "options"), "options")
    assert f"\n{heading}:\n" in done.stdout
