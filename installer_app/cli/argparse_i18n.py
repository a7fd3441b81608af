"""argparse's own words ("usage: ", "options", its error messages) in the user's language.

argparse localises through gettext: at run time it calls its module-level ``_()`` and
``ngettext()``. This app ships no gettext catalogs; all its translations live in Qt's ``.ts`` files
(docs/translation.md). So argparse's user-facing strings are listed here under
``QT_TRANSLATE_NOOP("argparse", ...)``, which lupdate extracts into the same ``.ts``, and
``install()`` points argparse's ``_``/``ngettext`` at functions that look the text up through the
installed translator (installer_app.i18n), falling back to gettext's own answer (normally the
English text) when there is no translation.

The texts must be argparse's exactly (Python 3.11's argparse.py); tests/unit/test_cli_i18n.py
checks that each one still occurs in argparse's source. Messages only a programmer can meet
(conflicting option strings, a bad ``dest=``, ...) are left out on purpose.

argparse measures text in characters: it lined the usage's continuation lines up wrongly
behind "用法：" (three characters, six columns) and let Chinese help run to twice the terminal's
width. ``I18nArgumentParser`` (every subcommand's parser inherits its class) formats with
``WidthAwareHelpFormatter``, which measures in display columns and wraps with cli/wrap.py.
"""

from __future__ import annotations

import argparse
import gettext
import re
from collections.abc import Iterable
from typing import Any

from installer_app.cli.wrap import display_width, wrap
from installer_app.i18n import QT_TRANSLATE_NOOP, Source, translate

CONTEXT = "argparse"

ARGPARSE_STRINGS: tuple[Source, ...] = (
    # Help output
    QT_TRANSLATE_NOOP("argparse", "usage: "),
    QT_TRANSLATE_NOOP("argparse", "positional arguments"),
    QT_TRANSLATE_NOOP("argparse", "options"),
    QT_TRANSLATE_NOOP("argparse", "subcommands"),
    QT_TRANSLATE_NOOP("argparse", "show this help message and exit"),
    # Python 3.11 does not pass this one through _(); cli/__init__.py gives --version it explicitly.
    QT_TRANSLATE_NOOP("argparse", "show program's version number and exit"),
    # Usage errors
    QT_TRANSLATE_NOOP("argparse", "%(prog)s: error: %(message)s\n"),
    QT_TRANSLATE_NOOP("argparse", "argument %(argument_name)s: %(message)s"),
    QT_TRANSLATE_NOOP("argparse", "the following arguments are required: %s"),
    QT_TRANSLATE_NOOP("argparse", "one of the arguments %s is required"),
    QT_TRANSLATE_NOOP("argparse", "not allowed with argument %s"),
    QT_TRANSLATE_NOOP("argparse", "unrecognized arguments: %s"),
    QT_TRANSLATE_NOOP("argparse", "invalid choice: %(value)r (choose from %(choices)s)"),
    QT_TRANSLATE_NOOP("argparse", "invalid %(type)s value: %(value)r"),
    QT_TRANSLATE_NOOP("argparse", "expected one argument"),
    QT_TRANSLATE_NOOP("argparse", "expected at most one argument"),
    QT_TRANSLATE_NOOP("argparse", "expected at least one argument"),
    QT_TRANSLATE_NOOP("argparse", "expected %s argument"),
    QT_TRANSLATE_NOOP("argparse", "expected %s arguments"),
    QT_TRANSLATE_NOOP("argparse", "ambiguous option: %(option)s could match %(matches)s"),
    QT_TRANSLATE_NOOP("argparse", "ignored explicit argument %r"),
    QT_TRANSLATE_NOOP("argparse", "unexpected option string: %s"),
    QT_TRANSLATE_NOOP("argparse", "unknown parser %(parser_name)r (choices: %(choices)s)"),
    QT_TRANSLATE_NOOP("argparse", "can't open '%(filename)s': %(error)s"),
)


def argparse_gettext(message: str | None) -> str | None:
    """argparse's ``_``; it passes None for a subparsers group without a description."""
    if message is None:
        return None
    translated = translate(CONTEXT, message)
    return translated if translated != message else gettext.gettext(message)


def argparse_ngettext(singular: str, plural: str, n: int) -> str:
    """argparse's ``ngettext``: the English form for ``n``, then its translation if there is one
    (the .ts lists both English forms; Chinese needs only one)."""
    english = singular if n == 1 else plural
    translated = translate(CONTEXT, english)
    return translated if translated != english else gettext.ngettext(singular, plural, n)


class WidthAwareHelpFormatter(argparse.HelpFormatter):
    def _format_usage(
        self,
        usage: str | None,
        actions: Iterable[argparse.Action],
        groups: Iterable[Any],
        prefix: str | None,
    ) -> str:
        if prefix is None:
            prefix = argparse_gettext("usage: ") or "usage: "
        # Let argparse lay the usage out behind spaces as wide as the prefix, then put it back.
        pad = " " * display_width(prefix)
        return prefix + super()._format_usage(usage, actions, groups, pad)[len(pad) :]

    def _split_lines(self, text: str, width: int) -> list[str]:
        return wrap(text, width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(wrap(text, width, indent, indent))


_TABLE_ROW = re.compile(r"(\s+\S+\s+)(.*)")


class TableHelpFormatter(WidthAwareHelpFormatter):
    """For a description or epilog with a table laid out by hand (exit codes): lines that start
    with a space are rows, kept as laid out and wrapped under their text; other lines are
    paragraphs, filled."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out: list[str] = []
        paragraph: list[str] = []

        def flush() -> None:
            if paragraph:
                out.extend(wrap(" ".join(paragraph), width, indent, indent))
                paragraph.clear()

        for line in text.splitlines():
            row = _TABLE_ROW.match(line)
            if not line.strip():
                flush()
                out.append("")
            elif row is not None:
                flush()
                lead, rest = row.groups()
                hang = indent + " " * display_width(lead)
                out.extend(wrap(rest, width, indent + lead, hang) or [indent + lead.rstrip()])
            else:
                paragraph.append(line)
        flush()
        return "\n".join(out)


class I18nArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser that formats with ``WidthAwareHelpFormatter`` unless told otherwise."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", WidthAwareHelpFormatter)
        super().__init__(*args, **kwargs)


def install() -> None:
    """Route argparse's gettext calls through the installed translator (idempotent).

    argparse looks ``_`` and ``ngettext`` up as module globals on every call, so replacing them
    is enough; they follow whatever translator ``install_catalog_translator`` set last.
    """
    namespace = vars(argparse)
    namespace["_"] = argparse_gettext
    namespace["ngettext"] = argparse_ngettext
