"""``installer-app emulate-provider``: run the local provider emulator until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from installer_app.cli.context import CliContext, bounded_arg, say, tr
from installer_app.cli.parsers import add_command
from installer_app.errors import ExitCode
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.provider.emulator import ProviderEmulator

DEFAULT_PORT = 8790
# Emulator delays up to an hour; a token lifetime from 1 s (tests of expiry) to a day.
MAX_DELAY_S = 3600.0
TOKEN_TTL_RANGE_S = (1.0, 86400.0)
STATE_FILE_NAME = "provider-emulator.json"


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add this group's subcommands to ``sub`` with ``parents=[common]``."""
    parser = add_command(
        sub,
        "emulate-provider",
        [common],
        QT_TRANSLATE_NOOP(
            "cli",
            "run a local WeCom provider API + partner service emulator (for demos and tests)",
        ),
        description=tr(
            QT_TRANSLATE_NOOP(
                "cli",
                "Serve the WeCom provider API and the partner service on loopback, with an "
                "operator page to bind devices to a test enterprise. Runs until Ctrl-C.",
            )
        ),
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help=tr(QT_TRANSLATE_NOOP("cli", "address to listen on (loopback)")),
    )
    parser.add_argument(
        "--port",
        type=bounded_arg(0, 65535, integer=True),
        default=DEFAULT_PORT,
        help=tr(QT_TRANSLATE_NOOP("cli", "port (default %(default)s; 0 = any)")),
    )
    state = parser.add_mutually_exclusive_group()
    state.add_argument(
        "--state",
        metavar="FILE",
        help=Message(
            QT_TRANSLATE_NOOP("cli", "state file (default: {file} in the data directory)"),
            file=STATE_FILE_NAME,
        ).render(),
    )
    state.add_argument(
        "--no-state",
        action="store_true",
        help=tr(QT_TRANSLATE_NOOP("cli", "keep state in memory only")),
    )
    parser.add_argument(
        "--install-delay",
        type=bounded_arg(0, MAX_DELAY_S),
        default=3.0,
        metavar="S",
        help=tr(
            QT_TRANSLATE_NOOP(
                "cli", "seconds from a binding to the companion app's install (default %(default)g)"
            )
        ),
    )
    parser.add_argument(
        "--auto-scan",
        type=bounded_arg(0, MAX_DELAY_S),
        default=None,
        metavar="S",
        help=tr(
            QT_TRANSLATE_NOOP(
                "cli",
                "bind every device automatically S seconds after it is registered or first polled",
            )
        ),
    )
    parser.add_argument(
        "--token-ttl",
        type=bounded_arg(*TOKEN_TTL_RANGE_S),
        default=7200,
        metavar="S",
        help=tr(
            QT_TRANSLATE_NOOP("cli", "provider token lifetime in seconds (default %(default)g)")
        ),
    )
    parser.add_argument(
        "--corpid-form",
        choices=("plain", "open"),
        default="plain",
        help=tr(
            QT_TRANSLATE_NOOP(
                "cli",
                "answer binding lookups with the enterprise's plain corpid or the provider-level "
                "open corpid a third-party app sees (default %(default)s)",
            )
        ),
    )
    parser.set_defaults(handler=run_emulator)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def run_emulator(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.no_state:
        state_file: Path | None = None
    elif args.state:
        state_file = Path(args.state).expanduser()
    else:
        state_file = ctx.data_dir / STATE_FILE_NAME
    emulator = ProviderEmulator(
        state_file,
        install_delay_s=args.install_delay,
        token_ttl_s=args.token_ttl,
        auto_scan_after_s=args.auto_scan,
        corpid_form=args.corpid_form,
    )
    if not _is_loopback(args.host):
        say(
            Message(
                QT_TRANSLATE_NOOP(
                    "emulator",
                    "Warning: --host {host} makes the emulator reachable from other computers. "
                    "It has no real security: anyone who can reach it can read its test "
                    "secrets. Use it on a trusted network only.",
                ),
                host=args.host,
            ),
            sys.stderr,
        )
    stop = threading.Event()
    base_url = emulator.start(args.host, args.port)
    ctx.on_close(emulator.stop)
    previous = _catch_signals(stop)
    try:
        _print_banner(emulator, state_file, args.auto_scan)
        # Waiting in short slices keeps the main thread responsive to signals on every platform.
        while not stop.wait(0.5):
            pass
    finally:
        _restore_signals(previous)
    say(Message(QT_TRANSLATE_NOOP("emulator", "Provider emulator at {url} stopped."), url=base_url))
    return ExitCode.OK


def _print_banner(
    emulator: ProviderEmulator, state_file: Path | None, auto_scan: float | None
) -> None:
    url = emulator.base_url
    say(Message(QT_TRANSLATE_NOOP("emulator", "Provider emulator running at {url}"), url=url))
    say(
        Message(
            QT_TRANSLATE_NOOP("emulator", "Operator page (open it in a browser): {url}"),
            url=emulator.operator_url,
        )
    )
    say(Message(QT_TRANSLATE_NOOP("emulator", "Settings for installer-app:")))
    say(f'  [provider] wecom_base_url = "{url}"')
    say(f'  [provider] corpid = "{emulator.corpid}"')
    say(f'  [partner]  base_url = "{url}"')
    # These are the emulator's fixed test values, not real secrets, so they are printed as they
    # are (say() would mask them).
    label = Message(
        QT_TRANSLATE_NOOP(
            "emulator", "The emulator's test secrets (not real ones) go into the environment:"
        )
    ).render()
    print(label, flush=True)
    print(f"  INSTALLER_PROVIDER_SECRET={emulator.provider_secret}", flush=True)
    print(f"  INSTALLER_PARTNER_TOKEN={emulator.partner_token}", flush=True)
    say(
        Message(
            QT_TRANSLATE_NOOP("emulator", "Model ids it knows: {models}"),
            models=", ".join(emulator.state.model_ids),
        )
    )
    if state_file is not None:
        say(Message(QT_TRANSLATE_NOOP("emulator", "State file: {path}"), path=str(state_file)))
    else:
        say(Message(QT_TRANSLATE_NOOP("emulator", "State is kept in memory only.")))
    if auto_scan is not None:
        say(
            Message(
                QT_TRANSLATE_NOOP(
                    "emulator",
                    "Devices are bound automatically {seconds} s after they are registered.",
                ),
                seconds=f"{auto_scan:g}",
            )
        )
    say(Message(QT_TRANSLATE_NOOP("emulator", "Press Ctrl-C to stop.")))


_Handlers = dict[int, Any]


def _catch_signals(stop: threading.Event) -> _Handlers:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: _Handlers = {}
    wanted = [signal.SIGINT, signal.SIGTERM]
    if hasattr(signal, "SIGBREAK"):  # Windows: Ctrl-Break
        wanted.append(signal.SIGBREAK)
    for signum in wanted:
        # Off the main thread (an embedding test) signals cannot be caught; Ctrl-C still raises.
        with contextlib.suppress(ValueError, OSError):
            previous[signum] = signal.signal(signum, handler)
    return previous


def _restore_signals(previous: _Handlers) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
