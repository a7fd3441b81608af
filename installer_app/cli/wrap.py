"""Wrapping text for a terminal by display columns, for Chinese as well as English.

``textwrap`` counts characters and breaks only at spaces. A Chinese character takes two columns
and Chinese has no spaces between words, so its help texts came out up to twice the terminal's
width, broken wherever the terminal chose. Here every wide character may start a line (except
the closing punctuation that must stay with what it closes), English words stay whole, and
widths are East Asian display widths.
"""

from __future__ import annotations

import unicodedata

# Never at the start of a line: closing punctuation, full width and ASCII.
_NO_LINE_START = frozenset("，。、；：？！）」』》〉】”’,.;:?!)]}%")


def char_width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def display_width(text: str) -> int:
    """Terminal columns: East Asian wide and full-width characters take two."""
    return sum(char_width(ch) for ch in text)


def _pieces(word: str) -> list[str]:
    """Where a word may break: before each wide character and between wide and narrow ones, but
    never inside a run of narrow ones (an English word, a number, a variable name) nor before
    closing punctuation, which stays with what it closes."""
    pieces: list[str] = []
    for ch in word:
        continues_latin = pieces and char_width(ch) == 1 and char_width(pieces[-1][-1]) == 1
        if pieces and (ch in _NO_LINE_START or continues_latin):
            pieces[-1] += ch
        else:
            pieces.append(ch)
    return pieces


def wrap(text: str, width: int, initial_indent: str = "", subsequent_indent: str = "") -> list[str]:
    """``text`` (runs of whitespace become one space) in lines of at most ``width`` columns; a
    piece wider than a whole line gets a line of its own."""
    lines: list[str] = []
    line, used = initial_indent, display_width(initial_indent)
    empty = True  # nothing but the indent on ``line`` yet
    for word in text.split():
        for i, piece in enumerate(_pieces(word)):
            gap = " " if i == 0 and not empty else ""
            needed = display_width(gap) + display_width(piece)
            if not empty and used + needed > width:
                lines.append(line)
                line, used, empty = subsequent_indent, display_width(subsequent_indent), True
                gap, needed = "", display_width(piece)
            line += gap + piece
            used += needed
            empty = False
    if not empty:
        lines.append(line)
    return lines
