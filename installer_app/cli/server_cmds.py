"""``installer-app serve`` and ``installer-app server migrate|add-installer|revoke|installers|
import|export`` (team-server.md). The server's libraries load only when one of these runs."""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Callable
from typing import Any

from installer_app.cli.context import CliContext, say, tr
from installer_app.cli.parsers import add_actions, add_command, add_json_flag
from installer_app.errors import ExitCode
from installer_app.i18n import QT_TRANSLATE_NOOP, Message, Source

Handler = Callable[[argparse.Namespace, CliContext], int]


def _needs_server(command: str) -> Handler:
    """The handler of ``command`` (installer_app/server/commands.py), loaded when it runs. Where
    the server's libraries are missing (the desktop build, a pip install without the ``server``
    extra), one clear message instead of an ImportError."""

    def run(args: argparse.Namespace, ctx: CliContext) -> int:
        try:
            from installer_app.server.commands import HANDLERS
        except ImportError:
            say(
                Message(
                    QT_TRANSLATE_NOOP(
                        "cli",
                        "The team server is not part of this installation: "
                        "pip install 'installer-app[server]'.",
                    )
                ),
                sys.stderr,
            )
            return ExitCode.USAGE
        return HANDLERS[command](args, ctx)

    return run


def _workers(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(
            Message(
                QT_TRANSLATE_NOOP("cli", "a whole number from 1 to 64, not {text}"), text=repr(text)
            ).render()
        )
    return int(text)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(
            Message(
                QT_TRANSLATE_NOOP("cli", "a port from 0 to 65535, not {text}"), text=repr(text)
            ).render()
        )
    return int(text)


# The global options may come before the subcommand's words or after them (team-server.md): a
# subparser that does not see one must not reset it to its default (argparse copies every default
# of a subparser over what the outer parser found).
def _keeping_outer(common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """A copy of the global options whose absence leaves the outer parser's value alone."""
    own = argparse.ArgumentParser(add_help=False)
    for action in common._actions:
        clone = copy.copy(action)
        clone.default = argparse.SUPPRESS
        own._add_action(clone)
    return own


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    common = _keeping_outer(common)
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument(
        "--database-url",
        metavar="URL",
        help=tr(
            QT_TRANSLATE_NOOP(
                "cli",
                "postgresql://user:pass@host:port/db (else "
                "INSTALLER_DATABASE_URL, else [server] database_url)",
            )
        ),
    )
    _add_serve(sub, common, db)
    _add_server(sub, common, db)


def _add_serve(sub: Any, common: argparse.ArgumentParser, db: argparse.ArgumentParser) -> None:
    serve = add_command(
        sub,
        "serve",
        [common, db],
        QT_TRANSLATE_NOOP("cli", "run the team server (the partner service)"),
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        metavar="H",
        help=tr(QT_TRANSLATE_NOOP("cli", "address to listen on")),
    )
    serve.add_argument(
        "--port",
        type=_port,
        default=8080,
        metavar="P",
        help=tr(QT_TRANSLATE_NOOP("cli", "port (0: any free one)")),
    )
    serve.add_argument(
        "--workers",
        type=_workers,
        default=1,
        metavar="N",
        help=tr(QT_TRANSLATE_NOOP("cli", "worker processes sharing the socket")),
    )
    serve.set_defaults(handler=_needs_server("serve"))


def _add_server(sub: Any, common: argparse.ArgumentParser, db: argparse.ArgumentParser) -> None:
    """``server ACTION``: every action runs ``server/commands.py``'s handler of its name."""
    server = add_command(
        sub,
        "server",
        [common],
        QT_TRANSLATE_NOOP("cli", "manage the team server's database and installers"),
    )
    words = add_actions(server, "server_command")

    def action(name: str, help_text: Source) -> argparse.ArgumentParser:
        parser = add_command(words, name, [common, db], help_text)
        parser.set_defaults(handler=_needs_server(name))
        return parser

    action("migrate", QT_TRANSLATE_NOOP("cli", "create or update the schema"))
    add = action(
        "add-installer", QT_TRANSLATE_NOOP("cli", "create an installer token (shown once)")
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", choices=("installer", "admin"), default="installer")
    add.add_argument("--expires-days", type=int, metavar="N")
    add_json_flag(add, QT_TRANSLATE_NOOP("cli", "one JSON object"))
    revoke = action("revoke", QT_TRANSLATE_NOOP("cli", "revoke an installer's token at once"))
    revoke.add_argument("name", metavar="NAME")
    listing = action("installers", QT_TRANSLATE_NOOP("cli", "list installers and admins"))
    add_json_flag(listing, QT_TRANSLATE_NOOP("cli", "one JSON object per line"))
    imp = action("import", QT_TRANSLATE_NOOP("cli", "add the provider admin's export to the pool"))
    imp.add_argument("file", metavar="FILE")
    imp.add_argument(
        "--model-id",
        metavar="ID",
        help=tr(QT_TRANSLATE_NOOP("cli", "model of rows that name none")),
    )
    add_json_flag(imp, QT_TRANSLATE_NOOP("cli", "one JSON object"))
    exp = action("export", QT_TRANSLATE_NOOP("cli", "write every device as CSV (no secrets)"))
    exp.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help=tr(QT_TRANSLATE_NOOP("cli", "file (default: standard output)")),
    )


team_demo = _needs_server("team-demo")
