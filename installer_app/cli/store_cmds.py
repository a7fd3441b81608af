"""``inventory import|stats`` and ``history``: the credential store from the command line.

The store is ``<data dir>/installer.db`` (``--data-dir`` overrides the platformdirs default); its
key comes from the key file or the OS credential store (``store.keys.load_cipher``). Exit codes:
0 done, 2 for a rejected or unreadable inventory file, a missing key store or a bad setting.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from installer_app.cli.context import CliContext, emit_json, say, tr
from installer_app.cli.parsers import add_actions, add_command, add_json_flag
from installer_app.errors import ExitCode
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.localtime import local_time
from installer_app.plain_text import one_line
from installer_app.store import Store, open_store
from installer_app.store.history import record_to_dict, write_history_csv
from installer_app.store.inventory import parse_inventory


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``inventory`` (``import``, ``stats``) and ``history``."""
    _add_inventory(sub, common)
    _add_history(sub, common)


def _add_inventory(sub: Any, common: argparse.ArgumentParser) -> None:
    inventory = add_command(
        sub,
        "inventory",
        [common],
        QT_TRANSLATE_NOOP(
            "cli", "import and count pre-registered credentials (the provider admin's export)"
        ),
    )
    inv_sub = add_actions(inventory, "inventory_command")
    imp = add_command(
        inv_sub,
        "import",
        [common],
        QT_TRANSLATE_NOOP(
            "cli",
            "import a CSV/TSV/.xlsx export; all or nothing (exit 2 when any row is rejected)",
        ),
    )
    imp.add_argument(
        "file",
        metavar="FILE",
        type=Path,
        help=tr(QT_TRANSLATE_NOOP("cli", "the export file: CSV, TSV or .xlsx")),
    )
    add_json_flag(imp, QT_TRANSLATE_NOOP("cli", "print one JSON object"))
    imp.set_defaults(handler=_inventory_import)
    stats = add_command(
        inv_sub, "stats", [common], QT_TRANSLATE_NOOP("cli", "how many credentials are free")
    )
    stats.add_argument(
        "--model", metavar="MODEL_ID", help=tr(QT_TRANSLATE_NOOP("cli", "count only this model"))
    )
    add_json_flag(stats, QT_TRANSLATE_NOOP("cli", "print one JSON object"))
    stats.set_defaults(handler=_inventory_stats)


def _add_history(sub: Any, common: argparse.ArgumentParser) -> None:
    history = add_command(
        sub,
        "history",
        [common],
        QT_TRANSLATE_NOOP("cli", "the boards provisioned on this computer"),
    )
    out = history.add_mutually_exclusive_group()
    add_json_flag(out, QT_TRANSLATE_NOOP("cli", "one JSON object per board and line"))
    out.add_argument(
        "--csv",
        metavar="FILE",
        type=_csv_path,
        help=tr(QT_TRANSLATE_NOOP("cli", "write a CSV file for Excel")),
    )
    history.add_argument(
        "--search",
        metavar="TEXT",
        help=tr(QT_TRANSLATE_NOOP("cli", "part of an SN, HW_ID, corp or name")),
    )
    history.add_argument(
        "--limit",
        type=_positive_int,
        default=10000,
        metavar="N",
        help=tr(QT_TRANSLATE_NOOP("cli", "at most N boards")),
    )
    history.set_defaults(handler=_history)


_SYNC_LABELS = {
    "sent": QT_TRANSLATE_NOOP("cli", "on the team server"),
    "pending": QT_TRANSLATE_NOOP("cli", "waiting to be sent"),
    "refused": QT_TRANSLATE_NOOP("cli", "refused by the team server"),
}


def _csv_path(text: str) -> Path:
    """An argparse ``type``: ``--csv ""`` would be the current folder, not a file."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            Message(QT_TRANSLATE_NOOP("cli", "the CSV file name must not be empty")).render()
        )
    return Path(text)


def _positive_int(text: str) -> int:
    """An argparse ``type``: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            Message(
                QT_TRANSLATE_NOOP("cli", "not a whole number of at least 1: {text}"),
                text=repr(text),
            ).render()
        )
    return value


def _store(ctx: CliContext) -> Store:
    store = open_store(ctx.settings, ctx.data_dir)
    ctx.on_close(store.close)
    return store


def _inventory_import(args: argparse.Namespace, ctx: CliContext) -> int:
    settings = ctx.settings
    parsed = parse_inventory(args.file, expected_model_id=settings.provider.model_id or None)
    store = _store(ctx)
    report = store.import_inventory(parsed, installer=settings.installer_name())
    if args.json:
        emit_json(
            {
                "event": "inventory_import",
                "ok": report.ok,
                "file": str(args.file),
                "imported": report.imported,
                "duplicates": report.duplicates,
                "rejected": [
                    {"row": r.row, "device_sn": r.sn, "reason": r.reason.render()}
                    for r in report.rejected
                ],
            }
        )
    elif report.ok:
        say(
            Message(
                QT_TRANSLATE_NOOP(
                    "cli",
                    "Imported {imported} credentials from {file}; {duplicates} were already in "
                    "the store.",
                ),
                imported=report.imported,
                file=str(args.file),
                duplicates=report.duplicates,
            )
        )
    else:
        say(
            Message(
                QT_TRANSLATE_NOOP(
                    "cli", "Nothing was imported from {file}: {count} rows are rejected."
                ),
                file=str(args.file),
                count=len(report.rejected),
            )
        )
        for rejected in report.rejected:
            say(
                Message(
                    QT_TRANSLATE_NOOP("cli", "  row {row}: {reason}"),
                    row=rejected.row,
                    reason=rejected.reason,
                )
            )
        say(
            Message(
                QT_TRANSLATE_NOOP(
                    "cli", "Correct or remove these rows, then import the whole file again."
                )
            )
        )
    return ExitCode.OK if report.ok else ExitCode.USAGE


def _inventory_stats(args: argparse.Namespace, ctx: CliContext) -> int:
    stats = _store(ctx).inventory_stats(args.model)
    if args.json:
        emit_json(
            {
                "event": "inventory_stats",
                "model_id": args.model,
                "total": stats.total,
                "free": stats.free,
                "assigned": stats.assigned,
                "by_stage": dict(stats.by_stage),
            }
        )
        return ExitCode.OK
    say(
        Message(
            QT_TRANSLATE_NOOP(
                "cli", "Inventory: {total} credentials, {free} free, {assigned} given to boards."
            ),
            total=stats.total,
            free=stats.free,
            assigned=stats.assigned,
        )
    )
    for stage, count in stats.by_stage.items():
        if count and stage != "free":
            say(f"  {stage}: {count}")
    return ExitCode.OK


def _history(args: argparse.Namespace, ctx: CliContext) -> int:
    store = _store(ctx)
    records = store.history(args.search, limit=args.limit)
    if args.csv:
        count = write_history_csv(records, args.csv)
        say(
            Message(
                QT_TRANSLATE_NOOP("cli", "Wrote {count} boards to {file}."),
                count=count,
                file=str(args.csv),
            )
        )
    elif args.json:
        for record in records:
            team = store.sync_state_for(record.sn)
            extra = {"team_server": team} if team is not None else {}
            emit_json({"event": "device", **record_to_dict(record), **extra})
    elif not records:
        say(Message(QT_TRANSLATE_NOOP("cli", "No boards in the history yet.")))
    else:
        for record in records:
            corp = record.corp_name or record.corpid or "-"
            when = local_time(record.updated_at)
            team = store.sync_state_for(record.sn)
            # Team mode: whether the team server has the record (sent, pending or refused).
            mark = f"  [{tr(_SYNC_LABELS[team])}]" if team is not None else ""
            say(
                f"{when}  {one_line(record.sn):<24} {record.hw_id or '-':<16} "
                f"{record.stage.value:<13} {one_line(corp)}  {one_line(record.installer or '')}"
                f"{mark}"
            )
    return ExitCode.OK
