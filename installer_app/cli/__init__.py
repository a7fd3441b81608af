"""The headless command line: ``installer-app SUBCOMMAND ...``.

Each group of subcommands lives in its own module with a ``register(subparsers, common)`` function;
``common`` is the parent parser that gives every subcommand ``--config``, ``--data-dir``, ``--lang``
and ``-v``. A handler takes ``(args, ctx)`` and returns an exit code (``errors.ExitCode``).
An ``InstallerError`` escaping a handler is printed as its message and hint, never as a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from installer_app import __version__
from installer_app.cli import (
    check_cmds,
    demo_cmds,
    device_cmds,
    provider_cmds,
    provision_cmds,
    sim_cmds,
    store_cmds,
)
from installer_app.cli.context import CliContext, print_error
from installer_app.errors import ExitCode, InstallerError

log = logging.getLogger(__name__)

_GROUPS = (device_cmds, sim_cmds, provider_cmds, check_cmds, store_cmds, provision_cmds, demo_cmds)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", help="TOML settings file")
    common.add_argument("--data-dir", metavar="DIR", help="where the store and logs are kept")
    common.add_argument("--lang", choices=("auto", "en", "zh_CN"), help="language of messages")
    common.add_argument("-v", "--verbose", action="store_true", help="log to stderr as well")
    parser = argparse.ArgumentParser(
        prog="installer-app",
        description="Provision WeCom smart-hardware devices: serial credentials, binding QR, "
        "binding watch. With no subcommand the wizard opens.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"installer-app {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in _GROUPS:
        group.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return ExitCode.USAGE
    ctx = CliContext.from_args(args)
    try:
        code: int = args.handler(args, ctx)
        return code
    except InstallerError as exc:
        log.info("command failed: %s", exc.message.english())
        print_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return ExitCode.INTERRUPTED
    finally:
        ctx.close()
