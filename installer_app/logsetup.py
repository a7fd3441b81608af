"""Logging for every entry point: one rotating file under the log directory, secrets redacted."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from installer_app.secrets import RedactingFilter

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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
            log_dir.mkdir(parents=True, exist_ok=True)
            file_handler = logging.handlers.RotatingFileHandler(
                log_dir / "installer-app.log", maxBytes=2_000_000, backupCount=5, encoding="utf-8"
            )
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
