"""The save step of the dialogs that write files (labels, site handover): the work runs on a
worker with the Save button disabled and "Saving…" shown; then the status line says what was
written (and when this computer cannot draw Chinese) and the result opens in the system's
viewer, or it shows what went wrong (message and hint)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QLabel, QPushButton

from ui.error_text import error_text
from ui.workers import Workers


@dataclass(frozen=True)
class Saved:
    text: str  # what was written, for the status line
    missing_cjk_font: bool
    open_path: Path | None  # shown in the system's viewer (a file or a folder), None: nothing


def save_on_worker(
    workers: Workers,
    work: Callable[[threading.Event], Any],
    *,
    name: str,
    button: QPushButton,
    status: QLabel,
    describe: Callable[[Any], Saved],
    on_saved: Callable[[Any], None],
    on_failed: Callable[[str], None],
    open_after_save: bool,
) -> None:
    """Run ``work`` on ``workers``; ``describe`` its result for the status line, then
    ``on_saved(result)``, or ``on_failed(text)`` with the error's message and hint."""

    def done(result: Any) -> None:
        button.setEnabled(True)
        saved = describe(result)
        text = saved.text
        if saved.missing_cjk_font:
            text += " " + QCoreApplication.translate(
                "SaveStep", "This computer has no font for Chinese text."
            )
        status.setText(text)
        on_saved(result)
        if open_after_save and saved.open_path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(saved.open_path)))

    def failed(exc: BaseException) -> None:
        button.setEnabled(True)
        status.setText(error_text(exc))
        on_failed(error_text(exc))

    button.setEnabled(False)
    status.setText(QCoreApplication.translate("SaveStep", "Saving…"))
    workers.submit(work, name=name, on_success=done, on_failure=failed)
