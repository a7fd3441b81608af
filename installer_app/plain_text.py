"""Outside text made harmless for a terminal or a log file.

A board's MODEL_ID, FW_VERSION and SN, a corp name from WeCom, an inventory cell or a server's
message are untrusted: an escape sequence in them would clear the screen, set the window title or
recolour what follows, a carriage return or newline would forge a line of output, and a bidi
override would show the text backwards. Every such character is shown as a visible escape
(``\\x1b``, ``\\n``, ``\\u202e``) rather than dropped, so a tampered value is visibly tampered.

- ``one_line``: one outside value; nothing that moves the cursor survives, not even a newline.
- ``render_plain``: a ``Message`` whose parameters (outside values) are made ``one_line`` first.
- ``terminal_safe``: a whole line the app composed; its own newlines and tabs stay.
- ``json_safe``: ``json.dumps`` output; JSON escapes C0 itself, this also escapes DEL, C1 and
  the bidi controls, so the line stays valid JSON with the same value.
"""

from __future__ import annotations

import re
from typing import Any

from installer_app.i18n import Message

# C0, DEL, C1, the Arabic letter mark, LRM/RLM, line/paragraph separators, bidi embeddings,
# overrides and isolates.
_BIDI_AND_SEPARATORS = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}]")
_CONTROL_BUT_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}]")
_JSON_UNESCAPED = re.compile(f"[\x7f-\x9f{_BIDI_AND_SEPARATORS}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def one_line(text: str) -> str:
    """``text`` with every control, separator and bidi character shown as an escape."""
    return _CONTROL.sub(_escape, text)


def terminal_safe(text: str) -> str:
    """Like ``one_line`` but keeps newlines and tabs: for lines the app composed itself."""
    return _CONTROL_BUT_LINES.sub(_escape, text)


def json_safe(line: str) -> str:
    """A ``json.dumps(..., ensure_ascii=False)`` line with DEL, C1 and bidi characters escaped."""
    return _JSON_UNESCAPED.sub(_json_escape, line)


def _plain(value: Any) -> Any:
    if isinstance(value, Message):
        return plain_message(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    return one_line(str(value))


def plain_message(message: Message) -> Message:
    """The same message with every parameter (recursively) made ``one_line``."""
    return Message(message.source, **{k: _plain(v) for k, v in message.params.items()})


def render_plain(message: Message) -> str:
    """``message`` rendered in the current language, its parameters made ``one_line``."""
    return plain_message(message).render()
