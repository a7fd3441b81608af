"""Time to the first painted frame: print ``first-paint <epoch s>`` and quit (benchmarks, checks).

Kept apart from ui/selftest_qt.py so that an ordinary start (ui/app.py looks for
``INSTALLER_EXIT_AFTER_FIRST_PAINT``) imports nothing more than this.
``ui.app.run_until_first_paint`` (reached through installer_app/launch.py) uses it for
``--self-test --first-paint``.
"""

from __future__ import annotations

import os
import time

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget

FIRST_PAINT_ENV = "INSTALLER_EXIT_AFTER_FIRST_PAINT"


class FirstPaintExit(QObject):
    """On the first paint of a top-level window, print ``first-paint <epoch s>`` and quit."""

    def __init__(self, app: QCoreApplication) -> None:
        super().__init__(app)
        self._app = app
        self._done = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if (
            not self._done
            and event.type() == QEvent.Type.Paint
            and isinstance(watched, QWidget)
            and watched.isWindow()
        ):
            self._done = True
            # Once this paint has been delivered the frame is drawn: report, stop filtering.
            QTimer.singleShot(0, self._finish)
        return False

    def _finish(self) -> None:
        self._app.removeEventFilter(self)
        print(f"first-paint {time.time():.6f}", flush=True)
        self._app.quit()


def install_first_paint_exit(app: QCoreApplication) -> bool:
    """For ui/app.py: honour ``INSTALLER_EXIT_AFTER_FIRST_PAINT=1`` (benchmarks)."""
    if os.environ.get(FIRST_PAINT_ENV) != "1":
        return False
    app.installEventFilter(FirstPaintExit(app))
    return True
