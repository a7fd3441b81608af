"""The bodies of ``installer-app serve``, ``installer-app server ...`` and ``demo --team``
(team-server.md). cli/server_cmds.py loads this module only when one of them runs, so its
module-level imports (the server's libraries, an optional extra) stay out of the desktop build."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from installer_app.cli.context import CliContext, emit_json, say
from installer_app.cli.provision_cmds import CliAnswers, Printer, provision_boards
from installer_app.demo import HEADLESS_SCAN_AFTER_S
from installer_app.errors import ExitCode
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.server.accounts import add_installer, list_installers, revoke
from installer_app.server.config import (
    ENV_SERVER_KEY,
    database_url,
    load_server_config,
    load_server_secrets,
    require,
)
from installer_app.server.db import connect, migrate
from installer_app.server.pool import import_inventory
from installer_app.server.serve import bind, run
from installer_app.server.team_demo import TeamDemo
from installer_app.workflow.wiring import open_session


def _config(args: argparse.Namespace, ctx: CliContext) -> tuple[Any, str]:
    config = load_server_config(ctx.config_path)
    return config, database_url(getattr(args, "database_url", None), config, os.environ)


def _migrate(args: argparse.Namespace, ctx: CliContext) -> int:
    _c, url = _config(args, ctx)
    applied = migrate(url)
    say(
        Message(
            QT_TRANSLATE_NOOP("cli", "Schema up to date ({n} migrations applied)."), n=len(applied)
        )
    )
    return ExitCode.OK


def _serve(args: argparse.Namespace, ctx: CliContext) -> int:
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


def _add_installer(args: argparse.Namespace, ctx: CliContext) -> int:
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


def _revoke(args: argparse.Namespace, ctx: CliContext) -> int:
    _c, url = _config(args, ctx)
    with connect(url) as conn:
        revoke(conn, args.name)
    say(Message(QT_TRANSLATE_NOOP("cli", "Installer {name} revoked."), name=args.name))
    return ExitCode.OK


def _installers(args: argparse.Namespace, ctx: CliContext) -> int:
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


def _import(args: argparse.Namespace, ctx: CliContext) -> int:
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


def _export(args: argparse.Namespace, ctx: CliContext) -> int:
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


def _team_demo(args: argparse.Namespace, ctx: CliContext) -> int:
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


HANDLERS: dict[str, Callable[[argparse.Namespace, CliContext], int]] = {
    "serve": _serve,
    "migrate": _migrate,
    "add-installer": _add_installer,
    "revoke": _revoke,
    "installers": _installers,
    "import": _import,
    "export": _export,
    "team-demo": _team_demo,
}
