"""Keyboard-wedge barcode scanners: a USB scanner types the code as key presses a few
milliseconds apart and ends with Enter; a person types far slower.

``WedgeScanner`` watches the key presses reaching a widget's window while that widget is shown
and emits ``scanned(text)`` when a line came in fast enough (average gap under
``SCAN_MAX_AVG_GAP_MS``, leaving out the longest gap of a line of four gaps or more). The keys
still reach their widget (a scan into a text field fills it); only the Enter that ends a scan is
kept from it, so it cannot press the page's default button.

Key presses go to the focus widget (or to the window when nothing has the focus), so the scanner
filters that one widget's events and moves along with the focus (``QApplication.focusChanged``).
An application-wide filter would see every event of every object, each a call into Python that
waits for the interpreter lock while the bench's board threads run: with eight boards that alone
froze the window for tens of milliseconds at a time (benchmarks/README.md, bench_gui_stall).

``resolve_on_worker`` is the lookup the Connect page and the bench view share: the scanned text
resolved against the store (``installer_app.labels.scan``) on the pool, never on the GUI thread.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from itertools import pairwise
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget

from ui.workers import Workers

# A wedge scanner sends a character every 1-15 ms; fast typists manage ~80 ms between keys.
SCAN_MAX_AVG_GAP_MS = 30.0
# A pause this long starts a new line (a person looked away, then typed again).
SCAN_RESET_GAP_MS = 300.0
SCAN_MIN_CHARS = 3
TOLERATED_FROM_GAPS = 4  # a line with this many gaps may have one long one
_ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class WedgeScanner(QObject):
    scanned = Signal(str)

    def __init__(self, scope: QWidget, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(scope)
        self._scope = scope
        self._clock = clock
        self._chars: list[str] = []
        self._times: list[float] = []
        self._watched: QWidget | None = None
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)
            self._watch(app.focusWidget())

    @Slot(object, object)
    def _focus_changed(self, _old: QWidget | None, now: QWidget | None) -> None:
        self._watch(now)

    def _watch(self, focus: QWidget | None) -> None:
        """Filter the widget that key presses reach now: the focus widget, or the scope's window
        while nothing in the active window has the focus (its keys go to the window)."""
        target = focus if focus is not None else self._scope.window()
        if target is self._watched:
            return
        if self._watched is not None:
            # The widget may be gone (Qt dropped its filters with it): nothing to remove then.
            with contextlib.suppress(RuntimeError):
                self._watched.removeEventFilter(self)
        self._watched = target
        target.installEventFilter(self)

    def reset(self) -> None:
        self._chars.clear()
        self._times.clear()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() != QEvent.Type.KeyPress or not self._scope.isVisible():
            return False
        if not isinstance(watched, QWidget) or watched.window() is not self._scope.window():
            return False
        assert isinstance(event, QKeyEvent)
        now = self._clock()
        if self._times and (now - self._times[-1]) * 1000 > SCAN_RESET_GAP_MS:
            self.reset()
        if event.key() in _ENTER_KEYS:
            return self._line_ended(now)
        text = event.text()
        if text and text.isprintable():
            self._chars.append(text)
            self._times.append(now)
        return False

    def _line_ended(self, now: float) -> bool:
        chars, times = "".join(self._chars), [*self._times, now]
        self.reset()
        if len(chars) < SCAN_MIN_CHARS:
            return False
        gaps = sorted(b - a for a, b in pairwise(times))
        # One long gap is forgiven (the GUI thread busy for a moment mid-scan, a USB hiccup):
        # a person's typing is slow at every key, not at one.
        if len(gaps) >= TOLERATED_FROM_GAPS:
            gaps = gaps[:-1]
        average_ms = sum(gaps) * 1000 / len(gaps)
        if average_ms >= SCAN_MAX_AVG_GAP_MS:
            return False
        self.scanned.emit(chars.strip())
        return True  # the scan's Enter is not a button press


def resolve_on_worker(
    workers: Workers, text: str, store: Any | None, done: Callable[[Any | None, str], None]
) -> None:
    """Resolve a scan on the pool; ``done(match, text)`` follows on the GUI thread with the
    ``ScanMatch`` (None when the lookup failed: the caller says nothing matches)."""

    def resolve(cancel: threading.Event) -> Any:
        from installer_app.labels.scan import resolve_scan

        return resolve_scan(text, store)

    workers.submit(
        resolve,
        name="resolve_scan",
        on_success=lambda match: done(match, text),
        on_failure=lambda exc: done(None, text),
    )
