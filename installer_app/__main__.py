"""Entry point: the wizard with no arguments, the headless CLI with a subcommand.

This is the one core module that reaches ``ui/``, lazily and only to start the GUI; the rest of the
core never imports PySide6 or ``ui`` (tests/unit/test_layering.py checks it).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

PROBE_DISPLAY_FLAG = "--probe-display"


def probe_display() -> int:
    """Exit 0 when Qt can open the display. Run in a child process (``installer-app
    --probe-display``), because Qt aborts the process when its platform plugin cannot load."""
    import importlib

    gui = importlib.import_module("PySide6.QtGui")
    gui.QGuiApplication([sys.argv[0]])
    return 0


def launch_gui(
    argv: Sequence[str],
    demo: object | None = None,
    *,
    config_path: Path | None = None,
    data_dir: Path | None = None,
) -> int:
    """Start the wizard; ``demo`` is an ``installer_app.demo.DemoEnvironment`` in demo mode."""
    import importlib

    app = importlib.import_module("ui.app")
    code: int = app.run(list(argv), demo=demo, config_path=config_path, data_dir=data_dir)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("--gui",):
        return launch_gui(args[1:])
    if args[0] == PROBE_DISPLAY_FLAG:
        return probe_display()
    if args[0] == "--self-test":
        from installer_app.selftest import main as self_test

        return self_test(args[1:])
    from installer_app.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
