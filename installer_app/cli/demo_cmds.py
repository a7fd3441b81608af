"""``installer-app demo``: the app against simulated boards and the local provider emulator.

Without ``--headless`` the wizard opens in demo mode; where there is no display (or PySide6 does
not start) the headless demo runs instead, and says why. The headless demo runs the whole flow in
the terminal, and the emulator "scans" each QR code a few seconds after the board registers.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import subprocess
import sys
from typing import Any

from installer_app.__main__ import PROBE_DISPLAY_FLAG
from installer_app.cli.context import CliContext, number_arg, say, tr
from installer_app.cli.provision_cmds import CliAnswers, Printer, provision_boards
from installer_app.demo import DEMO_SCAN_AFTER_S, DemoEnvironment
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.workflow.wiring import open_session

PROBE_TIMEOUT_S = 30.0
log = logging.getLogger(__name__)

HEADLESS_SCAN_AFTER_S = 5.0


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


def _seconds(text: str) -> float:
    value = number_arg(text)
    if value < 0:
        raise argparse.ArgumentTypeError(
            Message(QT_TRANSLATE_NOOP("cli", "must not be negative")).render()
        )
    return value


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "demo",
        parents=[common],
        help=tr(
            QT_TRANSLATE_NOOP(
                "cli", "try the app with simulated boards and a local provider emulator"
            )
        ),
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
        type=_seconds,
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


def no_display_reason() -> Message | None:
    """Why the wizard cannot open here, or None when it can be tried."""
    if importlib.util.find_spec("PySide6") is None:
        return Message(QT_TRANSLATE_NOOP("cli", "PySide6 is not installed"))
    if sys.platform.startswith("linux"):
        platform = os.environ.get("QT_QPA_PLATFORM", "")
        if platform in ("offscreen", "minimal"):
            return None
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return Message(QT_TRANSLATE_NOOP("cli", "there is no display (DISPLAY is not set)"))
        # Qt aborts the whole process when its display plugin cannot load (a display it cannot
        # reach, or X11 libraries missing on a minimal system): find out in a child first.
        if not _qt_can_open_display():
            return Message(
                QT_TRANSLATE_NOOP(
                    "cli",
                    "Qt cannot open the display (on Debian or Ubuntu the wizard needs "
                    "libxcb-cursor0, libxkbcommon-x11-0, libxcb-icccm4 and libxcb-keysyms1)",
                )
            )
    return None


def _qt_can_open_display() -> bool:
    frozen = bool(getattr(sys, "frozen", False))
    command = [sys.executable] if frozen else [sys.executable, "-m", "installer_app"]
    try:
        probe = subprocess.run(
            [*command, PROBE_DISPLAY_FLAG],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("display probe failed: %s", exc)
        return False
    if probe.returncode != 0:
        log.warning("display probe: exit %s: %s", probe.returncode, probe.stderr[-500:])
    return probe.returncode == 0


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
            from installer_app.__main__ import launch_gui

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
