"""Logging for every entry point: one rotating file under the log directory, secrets redacted."""

from __future__ import annotations

import contextlib
import io
import logging
import logging.handlers
import os
from pathlib import Path

from installer_app.secrets import RedactingFilter

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_FILE = "installer-app.log"
MAX_BYTES = 2_000_000
BACKUPS = 5


class SharedRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file that several processes of the app write at once.

    The wizard and any number of command-line runs (a factory line starts one per board) share
    the log. On Windows a file that another process holds open cannot be renamed, so rotating
    fails there; ``RotatingFileHandler`` then reports a logging error on stderr for every
    record from that moment on. This one keeps writing to the same file and tries again once it
    has grown by another tenth of ``maxBytes``. And when another process has rotated the file,
    this one follows it to the new file instead of writing on into the renamed one.
    """

    def __init__(self, filename: Path, max_bytes: int, backups: int) -> None:
        super().__init__(filename, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self._retry_at = 0  # after a failed rotation: the size at which to try again

    def _open(self) -> io.TextIOWrapper:
        """The log file, owner-only (0600) on POSIX: it names boards, enterprises and people.
        A file left readable by an earlier version is tightened when it is opened."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOINHERIT", 0)
        fd = os.open(self.baseFilename, flags, 0o600)
        if os.name == "posix":
            with contextlib.suppress(OSError):  # another user's file: keep writing as before
                os.fchmod(fd, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)

    def shouldRollover(self, record: logging.LogRecord) -> int:  # noqa: N802 - logging's name
        self._follow_rotation()
        if not super().shouldRollover(record):
            return False
        return self.stream is None or self.stream.tell() >= self._retry_at

    def _follow_rotation(self) -> None:
        """Another process rotated the file (ours now has another name): reopen by name, as
        ``WatchedFileHandler`` does, so that every process writes to the current file."""
        if self.stream is None:
            return
        try:
            current = os.stat(self.baseFilename)
        except OSError:  # gone for a moment, between another process's renames
            current = None
        ours = os.fstat(self.stream.fileno())
        if current is None or (current.st_dev, current.st_ino) != (ours.st_dev, ours.st_ino):
            self.stream.close()
            self.stream = self._open()

    def doRollover(self) -> None:  # noqa: N802 - logging's name
        try:
            super().doRollover()
        except OSError as exc:
            if self.stream is None:
                self.stream = self._open()
            self._retry_at = self.stream.tell() + max(self.maxBytes // 10, 1)
            self.stream.write(
                f"(log rotation postponed: {exc.strerror or type(exc).__name__}; another "
                "installer-app process probably has the log open)\n"
            )
        else:
            self._retry_at = 0


def configure_logging(
    log_dir: Path | None, level: int = logging.INFO, console: bool = False
) -> logging.Handler | None:
    """Install the redacting file handler (and a stderr handler when ``console``).

    Returns the file handler, or None when ``log_dir`` is None or cannot be written (the app then
    runs without a file log rather than not at all).
    """
    root = logging.getLogger()
    root.setLevel(min(level, logging.DEBUG))
    redactor = RedactingFilter()
    # httpx and httpcore log request URLs, and WeCom puts the token in the query string: keep them
    # quiet and, in any case, behind the redactor.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    file_handler: logging.Handler | None = None
    if log_dir is not None:
        try:
            log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            file_handler = SharedRotatingFileHandler(log_dir / LOG_FILE, MAX_BYTES, BACKUPS)
        except OSError:
            file_handler = None
        if file_handler is not None:
            file_handler.setLevel(logging.DEBUG)
            file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
            file_handler.addFilter(redactor)
            root.addHandler(file_handler)
    if console:
        stream = logging.StreamHandler()
        stream.setLevel(level)
        stream.setFormatter(logging.Formatter(LOG_FORMAT))
        stream.addFilter(redactor)
        root.addHandler(stream)
    return file_handler
