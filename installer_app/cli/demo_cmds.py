"""``installer-app demo``: the app against simulated boards and the local provider emulator.

Without ``--headless`` the wizard opens in demo mode; where there is no display (or PySide6 does
not start) the headless demo runs instead, and says why. The headless demo runs the whole flow in
the terminal, and the emulator "scans" each QR code a few seconds after the board registers.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from installer_app.cli.context import CliContext, bounded_arg, say, tr
from installer_app.cli.parsers import add_command
from installer_app.cli.provision_cmds import CliAnswers, Printer, provision_boards
from installer_app.demo import DEMO_SCAN_AFTER_S, HEADLESS_SCAN_AFTER_S, DemoEnvironment
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.launch import launch_gui, no_display_reason
from installer_app.workflow.wiring import open_session

log = logging.getLogger(__name__)

MAX_SCAN_AFTER_S = 3600.0  # an hour: a demo that waits longer for its scan is a stuck demo


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 16:
        raise argparse.ArgumentTypeError(
            Message(
                QT_TRANSLATE_NOOP("cli", "a whole number from 1 to 16, not {text}"), text=repr(text)
            ).render()
        )
    return value


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        sub,
        "demo",
        [common],
        QT_TRANSLATE_NOOP("cli", "try the app with simulated boards and a local provider emulator"),
        description=tr(
            QT_TRANSLATE_NOOP(
                "cli",
                "Start the provider emulator and simulated boards (kept in DATA_DIR/demo), "
                "then open the wizard in demo mode, or run the whole flow in the terminal.",
            )
        ),
    )
    parser.add_argument(
        "--headless",
        action="store_true",
        help=tr(QT_TRANSLATE_NOOP("cli", "run in the terminal, no window")),
    )
    parser.add_argument(
        "--boards",
        type=_count,
        default=1,
        metavar="N",
        help=tr(
            QT_TRANSLATE_NOOP("cli", "how many simulated boards (1 to 16, default %(default)s)")
        ),
    )
    parser.add_argument(
        "--scan-after",
        type=bounded_arg(0, MAX_SCAN_AFTER_S),
        metavar="S",
        help=Message(
            QT_TRANSLATE_NOOP(
                "cli",
                "the emulator scans each QR code S seconds after registration (default "
                "{headless} headless, {wizard} in the wizard; 0: never, use the emulator's "
                "operator page)",
            ),
            headless=f"{HEADLESS_SCAN_AFTER_S:g}",
            wizard=f"{DEMO_SCAN_AFTER_S:g}",
        ).render(),
    )
    parser.add_argument(
        "--team",
        action="store_true",
        help=tr(
            QT_TRANSLATE_NOOP(
                "cli",
                "through the team server: a private PostgreSQL, the server, the emulator's "
                "callbacks (headless; needs the server extra and PostgreSQL)",
            )
        ),
    )
    parser.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.team:
        from installer_app.cli.server_cmds import team_demo

        return team_demo(args, ctx)
    headless = bool(args.headless)
    if not headless:
        reason = no_display_reason()
        if reason is not None:
            say(
                Message(
                    QT_TRANSLATE_NOOP(
                        "cli",
                        "The wizard cannot open: {reason}. Running the demo "
                        "in the terminal instead.",
                    ),
                    reason=reason,
                ),
                sys.stderr,
            )
            headless = True
    scan_after = args.scan_after
    if scan_after is None:
        scan_after = HEADLESS_SCAN_AFTER_S if headless else DEMO_SCAN_AFTER_S
    env = DemoEnvironment(
        ctx.data_dir, boards=args.boards, auto_scan_after_s=scan_after or None
    ).start()
    ctx.on_close(env.stop)
    if not headless:
        try:
            return launch_gui([], demo=env)
        except ImportError as exc:
            log.warning("the wizard did not start: %s", exc)
            say(
                Message(
                    QT_TRANSLATE_NOOP(
                        "cli",
                        "The wizard did not start ({reason}). Running the demo in the "
                        "terminal instead.",
                    ),
                    reason=type(exc).__name__,
                ),
                sys.stderr,
            )
    return _headless(env, scan_after)


def _headless(env: DemoEnvironment, scan_after: float) -> int:
    say(
        Message(
            QT_TRANSLATE_NOOP(
                "cli",
                "Demo: provider emulator at {url} (operator page {page}); simulated boards on "
                "{ports}; demo data in {folder}.",
            ),
            url=env.emulator.base_url,
            page=env.emulator.operator_url,
            ports=", ".join(env.ports),
            folder=str(env.data_dir),
        )
    )
    if scan_after:
        say(
            Message(
                QT_TRANSLATE_NOOP(
                    "cli", "The emulator plays the enterprise admin: it scans after {s} s."
                ),
                s=f"{scan_after:g}",
            )
        )
    with open_session(env.settings, env.data_dir) as session:
        printer = Printer(json_lines=False, several=len(env.ports) > 1)
        return provision_boards(session, env.ports, printer, CliAnswers(None))
