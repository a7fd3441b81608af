"""``installer-app serve`` and ``installer-app server migrate|add-installer|revoke|installers|
import|export`` (team-server.md). The server's libraries load only when one of these runs."""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Callable
from typing import Any

from installer_app.cli.context import CliContext, say, tr
from installer_app.errors import ExitCode
from installer_app.i18n import QT_TRANSLATE_NOOP, Message

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
    serve = sub.add_parser(
        "serve",
        parents=[common, db],
        help=tr(QT_TRANSLATE_NOOP("cli", "run the team server (the partner service)")),
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

    server = sub.add_parser(
        "server",
        parents=[common],
        help=tr(QT_TRANSLATE_NOOP("cli", "manage the team server's database and installers")),
    )
    words = server.add_subparsers(dest="server_command", metavar="ACTION", required=True)
    parent = [common, db]
    words.add_parser(
        "migrate",
        parents=parent,
        help=tr(QT_TRANSLATE_NOOP("cli", "create or update the schema")),
    ).set_defaults(handler=_needs_server("migrate"))
    add = words.add_parser(
        "add-installer",
        parents=parent,
        help=tr(QT_TRANSLATE_NOOP("cli", "create an installer token (shown once)")),
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", choices=("installer", "admin"), default="installer")
    add.add_argument("--expires-days", type=int, metavar="N")
    add.add_argument(
        "--json", action="store_true", help=tr(QT_TRANSLATE_NOOP("cli", "one JSON object"))
    )
    add.set_defaults(handler=_needs_server("add-installer"))
    revoke = words.add_parser(
        "revoke",
        parents=parent,
        help=tr(QT_TRANSLATE_NOOP("cli", "revoke an installer's token at once")),
    )
    revoke.add_argument("name", metavar="NAME")
    revoke.set_defaults(handler=_needs_server("revoke"))
    listing = words.add_parser(
        "installers",
        parents=parent,
        help=tr(QT_TRANSLATE_NOOP("cli", "list installers and admins")),
    )
    listing.add_argument(
        "--json", action="store_true", help=tr(QT_TRANSLATE_NOOP("cli", "one JSON object per line"))
    )
    listing.set_defaults(handler=_needs_server("installers"))
    imp = words.add_parser(
        "import",
        parents=parent,
        help=tr(QT_TRANSLATE_NOOP("cli", "add the provider admin's export to the pool")),
    )
    imp.add_argument("file", metavar="FILE")
    imp.add_argument(
        "--model-id",
        metavar="ID",
        help=tr(QT_TRANSLATE_NOOP("cli", "model of rows that name none")),
    )
    imp.add_argument(
        "--json", action="store_true", help=tr(QT_TRANSLATE_NOOP("cli", "one JSON object"))
    )
    imp.set_defaults(handler=_needs_server("import"))
    exp = words.add_parser(
        "export",
        parents=parent,
        help=tr(QT_TRANSLATE_NOOP("cli", "write every device as CSV (no secrets)")),
    )
    exp.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help=tr(QT_TRANSLATE_NOOP("cli", "file (default: standard output)")),
    )
    exp.set_defaults(handler=_needs_server("export"))


team_demo = _needs_server("team-demo")
