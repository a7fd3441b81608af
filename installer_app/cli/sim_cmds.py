"""``installer-app simulate-device``: serve a simulated board until stopped.

The first line printed is the port to connect to, alone and flushed, so a script (or a person in
another terminal) can pick it up; a line for a person follows. Ctrl-C or SIGTERM stops the board,
removes its port from the simulator registry and exits 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from installer_app.cli.context import CliContext, bounded_arg, say, tr
from installer_app.cli.parsers import add_command
from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.provider.emulator.probe import emulator_binding_probe
from installer_app.simulator.config import SimulatorConfig, parse_command_name
from installer_app.simulator.server import PtySimulator, TcpSimulator

# A board that takes over a minute to answer, or answers BUSY more than this many times, is not
# a simulation of anything the workflow meets (its own timeouts are seconds).
MAX_LATENCY_S = 60.0
MAX_BUSY = 10000


class SimulatorOptionError(InstallerError):
    """An option of simulate-device that cannot work."""

    exit_code = ExitCode.USAGE


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``simulate-device`` to ``sub`` with ``parents=[common]``."""
    parser = add_command(
        sub,
        "simulate-device",
        [common],
        QT_TRANSLATE_NOOP("cli", "serve a simulated board on a pseudo-terminal or a TCP port"),
        description=tr(
            QT_TRANSLATE_NOOP(
                "cli",
                "Serve a simulated board that speaks the provisioning protocol. Prints the "
                "port to connect to on its first line, then runs until Ctrl-C or SIGTERM.",
            )
        ),
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--pty",
        action="store_true",
        help=tr(QT_TRANSLATE_NOOP("cli", "on a pseudo-terminal (Linux, macOS)")),
    )
    where.add_argument(
        "--tcp",
        type=bounded_arg(0, 65535, integer=True),
        metavar="PORT",
        help=tr(QT_TRANSLATE_NOOP("cli", "on socket://127.0.0.1:PORT (0: any free port)")),
    )
    parser.add_argument(
        "--state-file",
        metavar="F",
        help=tr(QT_TRANSLATE_NOOP("cli", "the board's flash (kept across runs); default: none")),
    )
    parser.add_argument(
        "--latency",
        type=bounded_arg(0, MAX_LATENCY_S),
        default=0.0,
        metavar="S",
        help=tr(QT_TRANSLATE_NOOP("cli", "seconds before each answer")),
    )
    parser.add_argument(
        "--model-id",
        default="WX-ATT-200",
        metavar="M",
        help=tr(QT_TRANSLATE_NOOP("cli", "the board's model")),
    )
    parser.add_argument(
        "--hw-id",
        metavar="HEX",
        help=tr(QT_TRANSLATE_NOOP("cli", "the board's HW_ID, 6..16 bytes in hex")),
    )
    parser.add_argument(
        "--no-wifi",
        action="store_true",
        help=tr(QT_TRANSLATE_NOOP("cli", "a board without Wi-Fi (online by ethernet)")),
    )
    parser.add_argument(
        "--noise",
        action="store_true",
        help=tr(QT_TRANSLATE_NOOP("cli", "log lines at random times")),
    )
    parser.add_argument(
        "--drop-rate",
        type=bounded_arg(0, 1),
        default=0.0,
        metavar="R",
        help=tr(QT_TRANSLATE_NOOP("cli", "share of requests ignored")),
    )
    parser.add_argument(
        "--corrupt-rate",
        type=bounded_arg(0, 1),
        default=0.0,
        metavar="R",
        help=tr(QT_TRANSLATE_NOOP("cli", "share of answers sent with a bad CRC")),
    )
    parser.add_argument(
        "--flash-fail",
        action="store_true",
        help=tr(QT_TRANSLATE_NOOP("cli", "the first COMMIT fails with FLASH_FAIL")),
    )
    parser.add_argument(
        "--busy",
        type=bounded_arg(0, MAX_BUSY, integer=True),
        default=0,
        metavar="N",
        help=tr(QT_TRANSLATE_NOOP("cli", "answer the first N requests BUSY")),
    )
    parser.add_argument(
        "--unplug-on",
        metavar="CMD",
        help=tr(
            QT_TRANSLATE_NOOP(
                "cli",
                "the port vanishes in the middle of the first CMD (e.g. COMMIT), then comes back",
            )
        ),
    )
    parser.add_argument(
        "--provider-url",
        metavar="URL",
        help=tr(
            QT_TRANSLATE_NOOP("cli", "the provider emulator to ask whether the board is bound")
        ),
    )
    parser.add_argument(
        "--seed",
        type=int,
        help=tr(QT_TRANSLATE_NOOP("cli", "makes noise and random faults reproducible")),
    )
    parser.set_defaults(handler=cmd_simulate_device)


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    """The SimulatorConfig the options ask for; SimulatorOptionError when they cannot work."""
    hw_id: bytes | None = None
    try:
        if args.hw_id:
            hw_id = bytes.fromhex(args.hw_id.replace(":", "").replace("-", ""))
        if args.unplug_on:
            parse_command_name(args.unplug_on)
        return SimulatorConfig(
            model_id=args.model_id,
            hw_id=hw_id,
            latency_s=args.latency,
            wifi=not args.no_wifi,
            noise=args.noise,
            drop_rate=args.drop_rate,
            corrupt_rate=args.corrupt_rate,
            flash_fail_next=1 if args.flash_fail else 0,
            busy_next=args.busy,
            unplug_on=args.unplug_on,
            binding_probe=emulator_binding_probe(args.provider_url) if args.provider_url else None,
            seed=args.seed,
        )
    except ValueError as exc:
        raise SimulatorOptionError(
            Message(
                QT_TRANSLATE_NOOP("cli", "The simulator cannot start with these options: {why}."),
                why=str(exc),
            ),
            Message(QT_TRANSLATE_NOOP("cli", "See installer-app simulate-device --help.")),
        ) from exc


def cmd_simulate_device(args: argparse.Namespace, ctx: CliContext) -> int:
    config = config_from_args(args)
    state_file = Path(args.state_file).expanduser() if args.state_file else None
    # Catch the stop signals before the port is announced: a script may send one at once.
    with _StopSignals() as stop:
        server = _start_server(args, config, state_file)
        ctx.on_close(server.stop)
        print(server.url, flush=True)
        say(
            Message(
                QT_TRANSLATE_NOOP(
                    "cli",
                    "Simulated {model} (HW_ID {hw_id}) is waiting on {url}. Stop it with Ctrl-C.",
                ),
                model=config.model_id,
                hw_id=server.simulator.hw_id_hex,
                url=server.url,
            )
        )
        while not stop.wait(0.5):
            pass
        server.stop()
    say(Message(QT_TRANSLATE_NOOP("cli", "Simulated board stopped.")))
    return ExitCode.OK


def _start_server(
    args: argparse.Namespace, config: SimulatorConfig, state_file: Path | None
) -> PtySimulator | TcpSimulator:
    server: PtySimulator | TcpSimulator
    try:
        if args.pty:
            server = PtySimulator(config, state_file)
            server.start()
        else:
            server = TcpSimulator(config, state_file)
            server.start(args.tcp)
    except OSError as exc:
        raise SimulatorOptionError(
            Message(
                QT_TRANSLATE_NOOP("cli", "The simulator cannot open its port: {why}."),
                why=exc.strerror or str(exc),
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "cli", "On Windows use --tcp; with --tcp choose a free port (0: any)."
                )
            ),
        ) from exc
    return server


class _StopSignals:
    """While active, SIGINT and SIGTERM (and Ctrl-Break on Windows) set an event instead of
    killing the process, so the simulator can unregister its port on the way out."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> threading.Event:
        wanted = [signal.SIGINT, signal.SIGTERM]
        if sys.platform == "win32":
            wanted.append(signal.SIGBREAK)
        for sig in wanted:
            self._previous[sig] = signal.signal(sig, self._on_signal)
        return self._stop

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stop.set()
