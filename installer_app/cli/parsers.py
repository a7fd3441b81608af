"""The shape every subcommand's parser shares: a command with its translated help, the ACTION
words below a command, the ``--json`` switch. Each ``*_cmds.register`` builds its own options
with argparse as usual; these only spare it the repeated wiring.

The help texts are ``QT_TRANSLATE_NOOP`` sources, marked where they are written (so lupdate finds
them) and translated here, when the parser is built in the user's language.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from installer_app.cli.context import tr
from installer_app.i18n import Source


def add_command(
    sub: Any,
    name: str,
    parents: Sequence[argparse.ArgumentParser],
    help_text: Source,
    **options: Any,
) -> argparse.ArgumentParser:
    """The subcommand ``name`` of ``sub`` (an ``add_subparsers`` result), taking the options of
    ``parents`` (the global options, and the database URL for the server's commands); ``options``
    go to argparse as they are (``description=``, already translated)."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name, parents=list(parents), help=tr(help_text), **options
    )
    return parser


def add_actions(parser: argparse.ArgumentParser, dest: str) -> Any:
    """The ACTION words of ``parser`` (one is required), named in ``args.<dest>``."""
    return parser.add_subparsers(dest=dest, metavar="ACTION", required=True)


def add_json_flag(parser: argparse._ActionsContainer, help_text: Source) -> None:
    """``--json``: the command prints JSON (``context.emit_json``) instead of text. ``parser``
    may be a mutually exclusive group of a command's outputs."""
    parser.add_argument("--json", action="store_true", help=tr(help_text))
