"""Wrapping help text by terminal columns, for Chinese and English alike."""

from __future__ import annotations

import argparse

from hypothesis import given
from hypothesis import strategies as st

from installer_app.cli.argparse_i18n import TableHelpFormatter
from installer_app.cli.wrap import _NO_LINE_START, display_width, wrap

ZH = "完整配置一台或多台设备。Wi-Fi 密码不会出现在命令行中：请设置环境变量 INSTALLER_WIFI_PSK，或在隐藏输入的提示符处输入。"  # noqa: E501


def test_display_width_counts_wide_characters_twice() -> None:
    assert display_width("用法：") == 6
    assert display_width("usage: ") == 7
    assert display_width("Ａ1") == 3  # full-width A


def test_chinese_lines_fit_the_width_and_keep_words_whole() -> None:
    lines = wrap(ZH, 40)
    assert all(display_width(line) <= 40 for line in lines), lines
    assert len(lines) == 4
    assert any("INSTALLER_WIFI_PSK" in line for line in lines)  # a name is never cut
    assert not any(line[0] in _NO_LINE_START for line in lines)
    assert "".join(lines).replace(" ", "") == ZH.replace(" ", "")


def test_english_wraps_at_spaces_with_indents() -> None:
    text = "Provision one or more boards end to end. The Wi-Fi password never goes on the line."
    lines = wrap(text, 30, "  ", "     ")
    assert lines[0].startswith("  Provision") and all(x.startswith("     ") for x in lines[1:])
    assert all(display_width(line) <= 30 for line in lines)
    assert " ".join(x.strip() for x in lines) == text


def test_a_piece_wider_than_the_line_gets_a_line_of_its_own() -> None:
    assert wrap("a " + "x" * 20 + " b", 10) == ["a", "x" * 20, "b"]
    assert wrap("", 10) == [] and wrap("   ", 10) == []


CHINESE = "配置设备密码绑定二维码企业微信，。：（）、"
words = st.lists(
    st.one_of(
        st.text(alphabet="abcdefXYZ_-0123456789", min_size=1, max_size=12),
        # Closing punctuation follows what it closes, never a space.
        st.text(alphabet=CHINESE, min_size=1, max_size=12).filter(
            lambda word: word[0] not in _NO_LINE_START
        ),
    ),
    min_size=1,
    max_size=30,
)


@given(words, st.integers(min_value=12, max_value=90))
def test_wrapping_keeps_every_character_in_order_within_the_width(
    parts: list[str], width: int
) -> None:
    text = " ".join(parts)
    lines = wrap(text, width)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    for i, line in enumerate(lines):
        assert line == line.strip()
        if display_width(line) > width:  # only one unbreakable piece may overflow
            assert " " not in line
        if i:
            assert line[0] not in _NO_LINE_START


def test_table_rows_keep_their_layout_and_hang_under_their_text() -> None:
    formatter = TableHelpFormatter("prog", width=50)
    text = "exit codes:\n  0  done\n  3  device (not found, faulty, wrong model, or holding a credential)"  # noqa: E501
    out = formatter._fill_text(text, 50, "")
    lines = out.splitlines()
    assert lines[0] == "exit codes:"
    assert lines[1] == "  0  done"
    assert lines[2].startswith("  3  device") and lines[3].startswith("     ")
    assert all(display_width(line) <= 50 for line in lines)


def test_parser_help_in_chinese_fits_a_narrow_terminal() -> None:
    parser = argparse.ArgumentParser(prog="p", formatter_class=TableHelpFormatter)
    parser.add_argument("--timeout", help="等待绑定和硬件应用安装的秒数（[binding] timeout_s）")
    formatter = parser.formatter_class(prog="p", width=40)
    formatter.add_arguments(parser._actions)
    assert all(display_width(line) <= 40 for line in formatter.format_help().splitlines())
