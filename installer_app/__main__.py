"""Entry point: the wizard with no arguments, the headless CLI with a subcommand.

The GUI is reached through ``installer_app.launch``, the one core module that may import ``ui/``
and PySide6 (tests/unit/test_layering.py checks it).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from installer_app import launch
from installer_app.app_command import BOARD_HOST_FLAG


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("--gui",):
        return launch.launch_gui(args[1:])
    if args[0] == launch.PROBE_DISPLAY_FLAG:
        return launch.probe_display()
    if args[0] == BOARD_HOST_FLAG:
        from installer_app.workflow.host_child import main as board_host

        return board_host()
    # Imported on demand: the wizard's start-up would pay ~0.3 s for the CLI's and the self-test's
    # modules it never uses.
    if args[0] == "--self-test":
        from installer_app.selftest import main as self_test

        return self_test(args[1:])
    from installer_app.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
