"""``installer-app check``: prove the provider settings work (exit 0), or say which part is wrong.

Exit codes: 0 everything checked is good, 4 a service refused or could not be reached, 2 something
needed is not configured.
"""

from __future__ import annotations

import argparse
from typing import Any

from installer_app.cli.context import CliContext, emit_json, say, tr
from installer_app.cli.parsers import add_command, add_json_flag
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.plain_text import render_plain
from installer_app.provider.check import CheckReport, run_checks

_MARK = {"ok": "✓", "failed": "✗", "missing": "✗", "skipped": "-"}


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add this group's subcommands to ``sub`` with ``parents=[common]``."""
    parser = add_command(
        sub,
        "check",
        [common],
        QT_TRANSLATE_NOOP(
            "cli", "check the WeCom corpid/provider secret and the partner service URL/token"
        ),
        description=tr(
            QT_TRANSLATE_NOOP(
                "cli",
                "Validate the provider settings with harmless calls: a WeCom provider token "
                "and one list_device page, and one read from the partner service.",
            )
        ),
    )
    add_json_flag(parser, QT_TRANSLATE_NOOP("cli", "one JSON object instead of lines"))
    parser.set_defaults(handler=run_check)


def print_report(report: CheckReport) -> None:
    for item in report.items:
        say(f"{_MARK[item.status]} {render_plain(item.message)}")
        if item.hint is not None and not item.ok:
            say(f"  → {render_plain(item.hint)}")
    if report.ok:
        say(Message(QT_TRANSLATE_NOOP("cli", "All checked settings work.")))


def run_check(args: argparse.Namespace, ctx: CliContext) -> int:
    report = run_checks(ctx.settings)
    if args.json:
        emit_json(report.to_json())
    else:
        print_report(report)
    return report.exit_code
