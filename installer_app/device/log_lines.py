"""The board's own log text, written to the app's log file: escaped, cut short, rate-limited.

What a board prints outside frames is untrusted bytes. In the log file each line is one record:
control characters (an escape sequence, a carriage return that would overwrite the line when
the file is shown with ``cat``, a newline that forges a record) and undecodable bytes appear as
visible escapes, a line is cut at ``MAX_LINE_CHARS``, and at most ``LINES_PER_SECOND`` lines a
second are kept per board: a flooding board would otherwise rotate the whole log history away
(5 files of 2 MB) in seconds. Lines over the budget are counted and reported in one line when
the next second starts. The log listeners (the wizard's device log view) get the bytes as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from installer_app.plain_text import one_line
from installer_app.secrets import redact

LINES_PER_SECOND = 10
MAX_LINE_CHARS = 400


class DeviceLogWriter:
    """Writes one board's log lines to ``logger`` at DEBUG. Used from one thread (the reader)."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        per_second: int = LINES_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._per_second = per_second
        self._clock = clock
        self._window = -1.0e9  # start of the current one-second window
        self._written = 0  # lines written in the current window
        self._suppressed = 0  # lines dropped in the current window

    def write(self, data: bytes) -> None:
        if not self._logger.isEnabledFor(logging.DEBUG):
            return
        for raw in data.split(b"\n"):  # not splitlines(): a lone \r is shown, not a break
            if raw.strip():
                self._line(raw)

    def _line(self, raw: bytes) -> None:
        now = self._clock()
        if now - self._window >= 1.0:
            if self._suppressed:
                self._logger.debug(
                    "… %d more lines from the board suppressed (more than %d a second)",
                    self._suppressed,
                    self._per_second,
                )
            self._window, self._written, self._suppressed = now, 0, 0
        if self._written >= self._per_second:
            self._suppressed += 1
            return
        self._written += 1
        text = one_line(raw.decode("utf-8", errors="backslashreplace").rstrip())
        if len(text) > MAX_LINE_CHARS:
            text = text[:MAX_LINE_CHARS] + "…"
        self._logger.debug("%s", redact(text))
