"""The one core module that reaches ``ui/`` and PySide6: start the wizard, probe the display, hand
over the Qt self-test checks, run until the first painted frame.

Everything here imports the GUI side by name at call time (``importlib``), so the command line,
the self-test with ``--no-gui`` and the headless demo run where PySide6 is not installed. The rest
of the core reaches the GUI only through these functions (tests/unit/test_layering.py checks it).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from installer_app.app_command import app_command
from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.printing.document import Document, Rendered

log = logging.getLogger(__name__)

# ``installer-app --probe-display``: the child process that finds out whether Qt can open the
# display (see ``no_display_reason``).
PROBE_DISPLAY_FLAG = "--probe-display"
PROBE_TIMEOUT_S = 30.0
_headless_app: Any = None


class PdfUnavailable(InstallerError):
    exit_code = ExitCode.USAGE


def launch_gui(
    argv: Sequence[str],
    demo: object | None = None,
    *,
    config_path: Path | None = None,
    data_dir: Path | None = None,
) -> int:
    """Start the wizard; ``demo`` is an ``installer_app.demo.DemoEnvironment`` in demo mode."""
    app = importlib.import_module("ui.app")
    code: int = app.run(list(argv), demo=demo, config_path=config_path, data_dir=data_dir)
    return code


def run_until_first_paint(argv: Sequence[str]) -> int:
    """Start the wizard as ``installer-app`` does and quit after its first painted frame, printing
    ``first-paint <epoch s>`` (``--self-test --first-paint``: start-up benchmarks)."""
    app = importlib.import_module("ui.app")
    code: int = app.run_until_first_paint(list(argv))
    return code


def qt_checks() -> tuple[tuple[str, Callable[[Any], str]], ...]:
    """The Qt half of ``--self-test`` (ui/selftest_qt.py): ``(name, check)`` pairs, each check
    taking the self-test's workspace. Raises ImportError where PySide6 is missing."""
    module = importlib.import_module("ui.selftest_qt")
    checks: tuple[tuple[str, Callable[[Any], str]], ...] = module.CHECKS
    return checks


def render_pdf(document: Document, path: Path) -> Rendered:
    """Draw ``document`` (labels, the site handover) to the PDF file ``path`` with Qt.

    Works headless: without a running Qt application one is made on the ``offscreen`` platform,
    which needs no display (the CLI on a factory line). Raises ``PdfUnavailable`` where PySide6
    is missing, ``OSError`` when the file cannot be written."""
    try:
        gui = importlib.import_module("PySide6.QtGui")
    except ImportError:
        raise PdfUnavailable(
            Message(QT_TRANSLATE_NOOP("cli", "PDF files need Qt, and PySide6 is not installed.")),
            Message(QT_TRANSLATE_NOOP("cli", "Install the app with its Qt part, or print ZPL.")),
        ) from None
    global _headless_app
    if gui.QGuiApplication.instance() is None:
        # Kept for the life of the process: Qt allows one application object, made once. A
        # QApplication (widgets) when there are widgets, so a wizard opened later still works.
        try:
            app_class = importlib.import_module("PySide6.QtWidgets").QApplication
        except ImportError:
            app_class = gui.QGuiApplication
        _headless_app = app_class([sys.argv[0] or "installer-app", "-platform", "offscreen"])
    renderer = importlib.import_module("ui.document_pdf")
    rendered: Rendered = renderer.render(document, path)
    return rendered


def probe_display() -> int:
    """Exit 0 when Qt can open the display. Run in a child process (``installer-app
    --probe-display``), because Qt aborts the process when its platform plugin cannot load."""
    gui = importlib.import_module("PySide6.QtGui")
    gui.QGuiApplication([sys.argv[0]])
    return 0


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
    try:
        probe = subprocess.run(
            [*app_command(), PROBE_DISPLAY_FLAG],
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
