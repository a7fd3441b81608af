"""Team mode on the command line (docs/team-mode.md): ``leases take N | return | list`` and
``sync``.

Exit codes: 0 done; 2 when team mode is not configured; 4 when the team server refused or could
not be reached (``sync`` then still prints what is left to send).
"""

from __future__ import annotations

import argparse
from typing import Any

from installer_app.cli.context import CliContext, bounded_arg, emit_json, say
from installer_app.cli.parsers import add_actions, add_command, add_json_flag
from installer_app.config import ConfigError
from installer_app.errors import ExitCode
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.plain_text import one_line
from installer_app.provider.errors import ProviderError
from installer_app.provider.team import MAX_LEASE, TeamClient
from installer_app.store.db import Store, open_store
from installer_app.team.leases import return_leases, take_lease
from installer_app.team.outbox import OutboxSender
from installer_app.workflow.wiring import check_settings, open_team_client


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    leases = add_command(
        sub,
        "leases",
        [common],
        QT_TRANSLATE_NOOP(
            "cli", "team mode: credentials taken from the team server for offline sites"
        ),
    )
    lease_sub = add_actions(leases, "leases_command")
    take = add_command(
        lease_sub,
        "take",
        [common],
        QT_TRANSLATE_NOOP("cli", "take N credentials for offline work (1 to 200)"),
    )
    take.add_argument("count", metavar="N", type=bounded_arg(1, MAX_LEASE, integer=True))
    returning = add_command(
        lease_sub,
        "return",
        [common],
        QT_TRANSLATE_NOOP("cli", "give the unused leased credentials back"),
    )
    listing = add_command(
        lease_sub, "list", [common], QT_TRANSLATE_NOOP("cli", "the leases this laptop holds")
    )
    sync = add_command(
        sub,
        "sync",
        [common],
        QT_TRANSLATE_NOOP("cli", "team mode: send the records waiting for the team server now"),
    )
    for parser in (take, returning, listing, sync):
        add_json_flag(parser, QT_TRANSLATE_NOOP("cli", "print one JSON object"))
    take.set_defaults(handler=_take)
    returning.set_defaults(handler=_return)
    listing.set_defaults(handler=_list)
    sync.set_defaults(handler=_sync)


def _team(ctx: CliContext) -> tuple[Store, TeamClient]:
    settings = ctx.settings
    if not settings.team_mode:
        raise ConfigError(
            Message(QT_TRANSLATE_NOOP("cli", "Team mode is not configured: [team] url is empty.")),
            Message(
                QT_TRANSLATE_NOOP(
                    "cli",
                    "Set [team] url to the team server's address (docs/team-mode.md).",
                )
            ),
        )
    check_settings(settings)
    store = open_store(settings, ctx.data_dir)
    ctx.on_close(store.close)
    store.enable_outbox()
    client = open_team_client(settings)
    ctx.on_close(client.close)
    return store, client


def _take(args: argparse.Namespace, ctx: CliContext) -> int:
    store, client = _team(ctx)
    model_id = ctx.settings.provider.model_id
    lease = take_lease(store, client, model_id, int(args.count))
    held = store.held_offline(model_id)
    if args.json:
        emit_json(
            {
                "event": "lease",
                "lease_id": lease.lease_id,
                "expires_at": lease.expires_at.isoformat(),
                "count": len(lease.credentials),
                "held_offline": held,
            }
        )
    else:
        say(
            Message(
                QT_TRANSLATE_NOOP(
                    "cli",
                    "Took {count} credentials for offline work (lease {lease}, until {until}); "
                    "{held} are held on this laptop.",
                ),
                count=len(lease.credentials),
                lease=lease.lease_id,
                until=lease.expires_at.astimezone().strftime("%Y-%m-%d %H:%M"),
                held=held,
            )
        )
    return ExitCode.OK


def _return(args: argparse.Namespace, ctx: CliContext) -> int:
    store, client = _team(ctx)
    returned = return_leases(store, client)
    if args.json:
        emit_json({"event": "leases_returned", "returned": returned})
    else:
        say(
            Message(
                QT_TRANSLATE_NOOP(
                    "cli", "Gave {count} unused credentials back to the team server."
                ),
                count=returned,
            )
        )
    return ExitCode.OK


def _list(args: argparse.Namespace, ctx: CliContext) -> int:
    settings = ctx.settings
    store = open_store(settings, ctx.data_dir)
    ctx.on_close(store.close)
    leases = store.leases()
    if args.json:
        emit_json(
            {
                "event": "leases",
                "leases": [
                    {
                        "lease_id": lease.lease_id,
                        "model_id": lease.model_id,
                        "expires_at": lease.expires_at.isoformat(),
                        "unused": lease.unused,
                        "used": lease.used,
                        "returned": lease.returned,
                    }
                    for lease in leases
                ],
                "held_offline": store.held_offline(),
            }
        )
        return ExitCode.OK
    if not leases:
        say(Message(QT_TRANSLATE_NOOP("cli", "This laptop holds no lease.")))
    for lease in leases:
        state = (
            Message(QT_TRANSLATE_NOOP("cli", "returned"))
            if lease.returned
            else Message(
                QT_TRANSLATE_NOOP("cli", "until {until}"),
                until=lease.expires_at.astimezone().strftime("%Y-%m-%d %H:%M"),
            )
        )
        say(
            Message(
                QT_TRANSLATE_NOOP(
                    "cli", "{lease}  {model}  {unused} unused, {used} used  ({state})"
                ),
                lease=lease.lease_id,
                model=one_line(lease.model_id),
                unused=lease.unused,
                used=lease.used,
                state=state,
            )
        )
    return ExitCode.OK


def _sync(args: argparse.Namespace, ctx: CliContext) -> int:
    store, client = _team(ctx)
    sender = OutboxSender(store, client, installer=ctx.settings.installer_name())
    failure: ProviderError | None = None
    sent = duplicates = 0
    refused: list[dict[str, str]] = []
    try:
        report = sender.send_now()
        sent, duplicates = report.sent, report.duplicates
    except ProviderError as exc:
        failure = exc
    counts = store.outbox_counts()
    refused = [
        {"event_id": r.event_id, "device_sn": r.sn, "step": r.what, "reason": r.reason}
        for r in store.outbox_refused()
    ]
    code = ExitCode.PROVIDER if failure is not None or refused else ExitCode.OK
    if args.json:
        obj: dict[str, Any] = {
            "event": "sync",
            "ok": code == ExitCode.OK,
            "sent": sent,
            "duplicates": duplicates,
            "left": counts.pending,
            "delivered": counts.sent,
            "refused": refused,
        }
        if failure is not None:
            obj["error"] = failure.message.render()
            obj["exit_code"] = failure.exit_code
        emit_json(obj)
        return code
    if failure is not None:
        say(failure.message)
    say(
        Message(
            QT_TRANSLATE_NOOP(
                "cli",
                "Sent {sent} records to the team server ({duplicates} it had already); "
                "{left} left to send.",
            ),
            sent=sent,
            duplicates=duplicates,
            left=counts.pending,
        )
    )
    for item in refused:
        say(
            Message(
                QT_TRANSLATE_NOOP(
                    "cli",
                    "Refused by the team server: {step} of SN {sn} ({reason}); the record stays "
                    "on this laptop.",
                ),
                step=item["step"],
                sn=item["device_sn"],
                reason=item["reason"],
            )
        )
    return code
