"""The headless command line: ``installer-app SUBCOMMAND ...``.

Each group of subcommands lives in its own module with a ``register(subparsers, common)`` function;
``common`` is the parent parser that gives every subcommand ``--config``, ``--data-dir``, ``--lang``
and ``-v``. A handler takes ``(args, ctx)`` and returns an exit code (``errors.ExitCode``).
An ``InstallerError`` escaping a handler is printed as its message and hint, never as a traceback.

Language: every description, help and epilog is rendered through the installed translator when the
parser is built (``context.tr``), and argparse's own words go through it too (``argparse_i18n``).
So ``main`` picks the language first, from ``--lang`` (a small pre-parse) or else the environment
(``INSTALLER_LANG``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``): ``--help`` and usage errors follow
those two. The settings file's ``[ui] language`` is read later and applies to the messages of the
command itself (``CliContext.settings``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from installer_app import __version__
from installer_app.cli import (
    argparse_i18n,
    check_cmds,
    demo_cmds,
    device_cmds,
    label_cmds,
    provider_cmds,
    provision_cmds,
    server_cmds,
    sim_cmds,
    store_cmds,
    team_cmds,
)
from installer_app.cli.context import CliContext, print_error, tr
from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import (
    QT_TRANSLATE_NOOP,
    SUPPORTED_LANGUAGES,
    Message,
    install_catalog_translator,
)
from installer_app.launch import launch_gui

log = logging.getLogger(__name__)

LANG_CHOICES = ("auto", *SUPPORTED_LANGUAGES)

_GROUPS = (
    device_cmds,
    sim_cmds,
    provider_cmds,
    check_cmds,
    store_cmds,
    provision_cmds,
    demo_cmds,
    label_cmds,
    server_cmds,
    team_cmds,
)


class _PreParseFailed(Exception):
    pass


class _LanguagePreParser(argparse.ArgumentParser):
    """Finds ``--lang`` and ignores the rest; never prints or exits (the real parser reports)."""

    def error(self, message: str) -> NoReturn:
        raise _PreParseFailed(message)


def language_from_argv(argv: Sequence[str]) -> str | None:
    """The ``--lang`` value in ``argv``, if any, before the real parser exists."""
    pre = _LanguagePreParser(add_help=False)
    pre.add_argument("--lang", nargs="?")
    try:
        known, _rest = pre.parse_known_args(list(argv))
    except _PreParseFailed:
        return None
    # A value the real parser will reject does not pick the language of that very error message.
    lang = known.lang
    return lang if lang in LANG_CHOICES else None


def install_language(argv: Sequence[str]) -> str:
    """Install the translator for ``--lang`` or the environment; return the language chosen."""
    argparse_i18n.install()
    return install_catalog_translator(language_from_argv(argv))


def _data_dir_arg(text: str) -> str:
    """An argparse ``type``: ``--data-dir ""`` would mean the current folder, by accident."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            Message(QT_TRANSLATE_NOOP("cli", "the data folder must not be empty")).render()
        )
    return text


def _add_global_options(parser: argparse.ArgumentParser, *, default: object) -> None:
    """``--config``, ``--data-dir``, ``--lang`` and ``-v``, with ``default`` for each."""
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=default,
        help=tr(QT_TRANSLATE_NOOP("cli", "TOML settings file")),
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        type=_data_dir_arg,
        default=default,
        help=tr(QT_TRANSLATE_NOOP("cli", "where the store and logs are kept")),
    )
    parser.add_argument(
        "--lang",
        choices=LANG_CHOICES,
        default=default,
        help=tr(QT_TRANSLATE_NOOP("cli", "language of messages and of this help")),
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if default is None else default,
        help=tr(QT_TRANSLATE_NOOP("cli", "log to stderr as well")),
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole parser; its texts are rendered in the language installed when it is built.

    The global options are accepted before the subcommand and after it (``installer-app --config
    X check`` and ``installer-app check --config X``). Their copies on the subcommands default to
    ``SUPPRESS``: a subparser writes its defaults over the values the main parser already parsed,
    so with ordinary defaults an option given before the subcommand was silently dropped. Given in
    both places, the later one (after the subcommand) wins, as a repeated option does.
    """
    argparse_i18n.install()
    common = argparse.ArgumentParser(add_help=False)
    _add_global_options(common, default=argparse.SUPPRESS)
    parser = argparse_i18n.I18nArgumentParser(
        prog="installer-app",
        description=tr(
            QT_TRANSLATE_NOOP(
                "cli",
                "Provision WeCom smart-hardware devices: serial credentials, binding QR, "
                "binding watch. With no subcommand the wizard opens.",
            )
        ),
    )
    _add_global_options(parser, default=None)
    parser.add_argument(
        "--version",
        action="version",
        version=f"installer-app {__version__}",
        help=tr(QT_TRANSLATE_NOOP("argparse", "show program's version number and exit")),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in _GROUPS:
        group.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    install_language(arguments)
    parser = build_parser()
    args = parser.parse_args(arguments)
    if not getattr(args, "handler", None):
        # Only global options (``installer-app --config X --data-dir Y``): the wizard, with them.
        return launch_gui(
            [],
            config_path=Path(args.config).expanduser() if args.config else None,
            data_dir=Path(args.data_dir).expanduser() if args.data_dir else None,
        )
    ctx = CliContext.from_args(args)
    try:
        code: int = args.handler(args, ctx)
        return code
    except InstallerError as exc:
        log.info("command failed: %s", exc.message.english())
        print_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return ExitCode.INTERRUPTED
    finally:
        ctx.close()
