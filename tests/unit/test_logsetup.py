"""The shared rotating log: rotation that another process blocks is postponed, not an error."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from installer_app.logsetup import SharedRotatingFileHandler


def _logger(handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(f"test-logsetup-{id(handler)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    return logger


def test_rotates_by_size(tmp_path: Path) -> None:
    handler = SharedRotatingFileHandler(tmp_path / "app.log", max_bytes=2000, backups=2)
    logger = _logger(handler)
    for i in range(200):
        logger.info("record %03d %s", i, "x" * 40)
    handler.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["app.log", "app.log.1", "app.log.2"]
    assert all(p.stat().st_size <= 2000 for p in tmp_path.iterdir())
    assert "record 199" in (tmp_path / "app.log").read_text(encoding="utf-8")


def test_blocked_rotation_keeps_logging_and_retries_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on Windows when another installer-app process holds the log open."""
    handler = SharedRotatingFileHandler(tmp_path / "app.log", max_bytes=2000, backups=2)
    errors: list[logging.LogRecord] = []
    monkeypatch.setattr(handler, "handleError", errors.append)
    attempts: list[str] = []

    def blocked(source: str, dest: str) -> None:
        attempts.append(source)
        raise PermissionError(13, "The process cannot access the file")

    monkeypatch.setattr(handler, "rotate", blocked)
    logger = _logger(handler)
    for i in range(100):
        logger.info("blocked %03d %s", i, "x" * 40)
    assert errors == []  # no "--- Logging error ---" on stderr
    text = (tmp_path / "app.log").read_text(encoding="utf-8")
    assert "blocked 099" in text and "log rotation postponed" in text
    # Not a rename per record (100 of them): one try per further tenth of the size limit.
    grown = (tmp_path / "app.log").stat().st_size - 2000
    assert 1 <= len(attempts) <= grown // 200 + 1 < 100

    monkeypatch.undo()  # the other process has let go
    for i in range(50):
        logger.info("free %03d %s", i, "x" * 40)
    handler.close()
    assert (tmp_path / "app.log.1").exists()
    assert "free 049" in (tmp_path / "app.log").read_text(encoding="utf-8")


def test_two_writers_follow_each_others_rotation(tmp_path: Path) -> None:
    """Two processes' handlers on one file: after either rotates, both write to the new file."""
    first = SharedRotatingFileHandler(tmp_path / "app.log", max_bytes=2000, backups=3)
    second = SharedRotatingFileHandler(tmp_path / "app.log", max_bytes=2000, backups=3)
    one, two = _logger(first), _logger(second)
    for i in range(60):
        one.info("one %03d %s", i, "x" * 40)  # enough for the first to rotate
    two.info("two after the rotation")
    for handler in (first, second):
        handler.close()
    current = (tmp_path / "app.log").read_text(encoding="utf-8")
    assert "two after the rotation" in current and "one 059" in current
