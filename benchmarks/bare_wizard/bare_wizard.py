"""A bare PySide6 QWizard window: the yardstick the packaged app's size and start time are held to.

Frozen with ``bare_wizard.spec`` by the same rules as the app (tools/freeze_rules.py), so that the
benchmark compares like with like. With ``INSTALLER_EXIT_AFTER_FIRST_PAINT=1`` it prints
``first-paint <epoch seconds>`` when the wizard is first painted and quits, as the app does.
"""

from __future__ import annotations

import os
import sys
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWizard, QWizardPage


class _FirstPaintExit(QObject):
    """Print the time of the window's first paint, then leave the event loop."""

    def __init__(self, app: QApplication) -> None:
        super().__init__()
        self._app = app
        self._done = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if not self._done and event.type() == QEvent.Type.Paint:
            self._done = True
            # After this paint has been delivered, not before: the frame is then really drawn.
            QTimer.singleShot(0, self._finish)
        return False

    def _finish(self) -> None:
        print(f"first-paint {time.time():.6f}", flush=True)
        self._app.quit()


def main() -> int:
    app = QApplication(sys.argv)
    wizard = QWizard()
    wizard.setWindowTitle("Bare wizard")
    page = QWizardPage()
    page.setTitle("Connect the device")
    layout = QVBoxLayout(page)
    layout.addWidget(QLabel("Plug the device into a USB port."))
    wizard.addPage(page)
    if os.environ.get("INSTALLER_EXIT_AFTER_FIRST_PAINT") == "1":
        hook = _FirstPaintExit(app)
        wizard.installEventFilter(hook)
    wizard.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
