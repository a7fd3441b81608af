"""``installer-app serve`` and ``installer-app server migrate|add-installer|revoke|installers|
import|export`` (team-server.md). The server's libraries load only when one of these runs."""

from __future__ import annotations

import argparse
import copy
import csv
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from installer_app.cli.context import CliContext, emit_json, say, tr
from installer_app.errors import ExitCode
from installer_app.i18n import QT_TRANSLATE_NOOP, Message

Handler = Callable[[argparse.Namespace, CliContext], int]


def _needs_server(handler: Handler) -> Handler:
    """Where the server's libraries are missing (the desktop build, a pip install without the
    ``server`` extra), one clear message instead of an ImportError."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace, ctx: CliContext) -> int:
        try:
            import fastapi  # noqa: F401
            import psycopg  # noqa: F401
            import uvicorn  # noqa: F401

            import installer_app.server  # noqa: F401
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
        return handler(args, ctx)

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
    serve.set_defaults(handler=_needs_server(run_serve))

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
    ).set_defaults(handler=_needs_server(run_migrate))
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
    add.set_defaults(handler=_needs_server(run_add_installer))
    revoke = words.add_parser(
        "revoke",
        parents=parent,
        help=tr(QT_TRANSLATE_NOOP("cli", "revoke an installer's token at once")),
    )
    revoke.add_argument("name", metavar="NAME")
    revoke.set_defaults(handler=_needs_server(run_revoke))
    listing = words.add_parser(
        "installers",
        parents=parent,
        help=tr(QT_TRANSLATE_NOOP("cli", "list installers and admins")),
    )
    listing.add_argument(
        "--json", action="store_true", help=tr(QT_TRANSLATE_NOOP("cli", "one JSON object per line"))
    )
    listing.set_defaults(handler=_needs_server(run_installers))
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
    imp.set_defaults(handler=_needs_server(run_import))
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
    exp.set_defaults(handler=_needs_server(run_export))


def _config(args: argparse.Namespace, ctx: CliContext) -> tuple[Any, str]:
    import os

    from installer_app.server.config import database_url, load_server_config

    config = load_server_config(ctx.config_path)
    return config, database_url(getattr(args, "database_url", None), config, os.environ)


def run_migrate(args: argparse.Namespace, ctx: CliContext) -> int:
    from installer_app.server.db import migrate

    _c, url = _config(args, ctx)
    applied = migrate(url)
    say(
        Message(
            QT_TRANSLATE_NOOP("cli", "Schema up to date ({n} migrations applied)."), n=len(applied)
        )
    )
    return ExitCode.OK


def run_serve(args: argparse.Namespace, ctx: CliContext) -> int:
    from installer_app.server.config import ENV_SERVER_KEY, load_server_secrets, require
    from installer_app.server.db import migrate
    from installer_app.server.serve import bind, run

    config, url = _config(args, ctx)
    secrets = load_server_secrets(config)
    require(secrets.server_key, f"{ENV_SERVER_KEY} (or [server] key_file)")
    require(config.model_ids, "[server] model_ids")
    if config.source == "register":
        require(config.corpid, "[server] corpid")
        require(secrets.provider_secret, "INSTALLER_PROVIDER_SECRET")
    migrate(url)
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        say(
            Message(
                QT_TRANSLATE_NOOP("cli", "Cannot listen on {host}:{port}: {reason}"),
                host=args.host,
                port=args.port,
                reason=exc.strerror or str(exc),
            ),
            sys.stderr,
        )
        return ExitCode.USAGE
    run(sock, args.workers, str(ctx.config_path) if ctx.config_path else None, url)
    return ExitCode.OK


def run_add_installer(args: argparse.Namespace, ctx: CliContext) -> int:
    from installer_app.server.accounts import add_installer
    from installer_app.server.db import connect

    _c, url = _config(args, ctx)
    with connect(url) as conn:
        token = add_installer(conn, args.name, args.role, args.expires_days)
    # Printed as it is (not through say/emit_json, which mask tokens): this is its only showing.
    if args.json:
        print(
            json.dumps(
                {"installer": args.name.strip(), "role": args.role, "token": token.reveal()}
            ),
            flush=True,
        )
    else:
        say(
            Message(
                QT_TRANSLATE_NOOP(
                    "cli", "Installer {name} ({role}) added. Its token, shown only now:"
                ),
                name=args.name.strip(),
                role=args.role,
            )
        )
        print(token.reveal(), flush=True)
    return ExitCode.OK


def run_revoke(args: argparse.Namespace, ctx: CliContext) -> int:
    from installer_app.server.accounts import revoke
    from installer_app.server.db import connect

    _c, url = _config(args, ctx)
    with connect(url) as conn:
        revoke(conn, args.name)
    say(Message(QT_TRANSLATE_NOOP("cli", "Installer {name} revoked."), name=args.name))
    return ExitCode.OK


def run_installers(args: argparse.Namespace, ctx: CliContext) -> int:
    from installer_app.server.accounts import list_installers
    from installer_app.server.db import connect

    _c, url = _config(args, ctx)
    with connect(url) as conn:
        rows = list_installers(conn)
    for row in rows:
        if args.json:
            emit_json(row.as_json())
        else:
            info = row.as_json()
            state = "active" if info["active"] else "revoked/expired"
            say(f"{row.name}\t{row.role}\t{state}\t{info['expires_at'] or '-'}")
    return ExitCode.OK


def run_import(args: argparse.Namespace, ctx: CliContext) -> int:
    from installer_app.server.config import ENV_SERVER_KEY, load_server_secrets, require
    from installer_app.server.db import connect
    from installer_app.server.pool import import_inventory

    config, url = _config(args, ctx)
    secrets = load_server_secrets(config)
    require(secrets.server_key, f"{ENV_SERVER_KEY} (or [server] key_file)")
    assert secrets.server_key is not None
    with connect(url) as conn:
        added, duplicates, rejected = import_inventory(
            conn, secrets.server_key, Path(args.file), args.model_id
        )
    if args.json:
        emit_json(
            {
                "added": added,
                "duplicates": duplicates,
                "rejected": [
                    {"row": r.row, "sn": r.sn, "reason": r.reason.render()} for r in rejected
                ],
            }
        )
    else:
        say(
            Message(
                QT_TRANSLATE_NOOP(
                    "cli",
                    "Added {added} SNs to the pool; {dup} were there already; {bad} rows rejected.",
                ),
                added=added,
                dup=duplicates,
                bad=len(rejected),
            )
        )
        for r in rejected:
            say(
                Message(
                    QT_TRANSLATE_NOOP("cli", "  row {row}: {reason}"), row=r.row, reason=r.reason
                ),
                sys.stderr,
            )
    return ExitCode.OK if not rejected else ExitCode.FAILURE


def run_export(args: argparse.Namespace, ctx: CliContext) -> int:
    from installer_app.server.db import connect

    _c, url = _config(args, ctx)
    columns = (
        "device_sn",
        "hw_id",
        "model_id",
        "stage",
        "bind_status",
        "corpid",
        "corp_name",
        "installer",
        "issued_at",
        "bound_at",
    )
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT d.device_sn, d.hw_id, d.model_id, d.stage, d.bind_status, d.corpid, "
            "d.corp_name, i.name, d.issued_at, d.bound_at FROM devices d "
            "LEFT JOIN installers i ON i.id = d.installer_id ORDER BY d.issued_at"
        ).fetchall()
    out = open(args.output, "w", newline="", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    try:
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if v is None else str(v) for v in row])
    finally:
        if out is not sys.stdout:
            out.close()
    return ExitCode.OK


def _run_team_demo(args: argparse.Namespace, ctx: CliContext) -> int:
    from installer_app.cli.demo_cmds import HEADLESS_SCAN_AFTER_S
    from installer_app.cli.provision_cmds import CliAnswers, Printer, provision_boards
    from installer_app.server.team_demo import TeamDemo
    from installer_app.workflow.wiring import open_session

    scan_after = HEADLESS_SCAN_AFTER_S if args.scan_after is None else args.scan_after
    demo = TeamDemo(ctx.data_dir, boards=args.boards, scan_after_s=scan_after or None).start()
    ctx.on_close(demo.stop)
    assert demo.env is not None and demo.server is not None and demo.settings is not None
    say(
        Message(
            QT_TRANSLATE_NOOP(
                "cli",
                "Team demo: team server at {server} on a private PostgreSQL; provider emulator "
                "at {url} (it plays WeCom and pushes the companion app's callbacks); simulated "
                "boards on {ports}.",
            ),
            server=demo.server.url,
            url=demo.env.emulator.base_url,
            ports=", ".join(demo.env.ports),
        )
    )
    with open_session(demo.settings, demo.env.data_dir) as session:
        printer = Printer(json_lines=False, several=len(demo.env.ports) > 1)
        return provision_boards(session, demo.env.ports, printer, CliAnswers(None))


team_demo = _needs_server(_run_team_demo)
