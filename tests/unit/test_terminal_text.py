"""Outside text for a terminal: every control, C1 and bidi character shown as a visible escape."""

from __future__ import annotations

import io
import json

from installer_app.cli.context import emit_json, say
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.plain_text import json_safe, one_line, render_plain, terminal_safe

HOSTILE = "A\x1b]0;title\x07\x9b2J\u202eevil\u2066\u2029\x7f\nforged"


def test_one_line_escapes_c0_del_c1_bidi_and_separators() -> None:
    assert one_line(HOSTILE) == (
        "A\\x1b]0;title\\x07\\x9b2J\\u202eevil\\u2066\\u2029\\x7f\\nforged"
    )
    assert one_line("北京测试 Co. #1") == "北京测试 Co. #1"


def test_terminal_safe_keeps_the_apps_own_lines() -> None:
    assert terminal_safe("a\n\tb\r\x1b[0m") == "a\n\tb\\r\\x1b[0m"


def test_json_safe_is_the_same_json_value_without_raw_controls() -> None:
    line = json_safe(json.dumps({"v": HOSTILE}, ensure_ascii=False))
    assert json.loads(line) == {"v": HOSTILE}
    assert not any(ch in line for ch in "\x1b\x07\x9b\u202e\u2066\u2029\x7f\n")


def test_message_parameters_become_one_line_also_nested() -> None:
    inner = Message(QT_TRANSLATE_NOOP("cli", "Bound to: {corp}"), corp="X\nError: fake")
    outer = Message(
        QT_TRANSLATE_NOOP("store", "Cannot import {file}: {reason}."), file="f\x1b", reason=inner
    )
    assert render_plain(outer) == "Cannot import f\\x1b: Bound to: X\\nError: fake."


def test_say_and_emit_json_never_print_a_raw_control() -> None:
    out = io.StringIO()
    say(Message(QT_TRANSLATE_NOOP("cli", "Bound to: {corp}"), corp=HOSTILE), out)
    say("own line\nsecond " + HOSTILE, out)
    emit_json({"corp_name": HOSTILE}, out)
    text = out.getvalue()
    assert not any(ch in text for ch in "\x1b\x07\x9b\u202e\u2066\u2029\x7f")
    lines = text.splitlines()
    assert lines[0].startswith("Bound to: A\\x1b]0;title") and lines[1] == "own line"
    assert json.loads(lines[-1]) == {"corp_name": HOSTILE}
