"""Opening the SQLite file, and sqlite3's exceptions turned into errors a person can act on.

The connection is in autocommit mode (``isolation_level=None``: the store issues its own
``BEGIN IMMEDIATE``), usable from any thread (the store serialises it with its lock), with WAL,
``synchronous=FULL``, foreign keys and a busy timeout.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from installer_app.store.errors import CorruptStore, RuleRefused, StoreLocked, StoreUnavailable

log = logging.getLogger(__name__)


@contextmanager
def translated_errors(path: Path) -> Iterator[None]:
    """Turn sqlite3's exceptions into errors a person can act on."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        log.error("store integrity rule refused a change: %s", exc)
        raise RuleRefused(str(exc)) from None
    except sqlite3.OperationalError as exc:
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            log.debug("store %s: %s", path, exc)
            raise StoreLocked(path) from None
        if "malformed" in text or "not a database" in text:
            raise CorruptStore(path, str(exc)) from None
        raise StoreUnavailable(path, str(exc)) from None
    except sqlite3.DatabaseError as exc:
        raise CorruptStore(path, str(exc)) from None


def connect(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    """Open (creating when missing, owner-only) the file at ``path`` and check it is sound.

    Raises ``StoreUnavailable`` when it cannot be used, ``CorruptStore`` when it is damaged,
    ``StoreLocked`` when it stays busy for ``busy_timeout_s``.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreUnavailable(path, exc.strerror or type(exc).__name__) from None
    deadline = time.monotonic() + busy_timeout_s
    delay = 0.005
    while True:
        try:
            return _connect_once(path, busy_timeout_s)
        except StoreLocked:
            # Two connections switching a new file to WAL at the same moment: SQLite answers
            # one of them "database is locked" at once, without waiting in its busy handler (it
            # would deadlock). Two processes starting together on a new machine meet this
            # (tests/integration/test_store_concurrency.py); the other one is done in a moment.
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


def _connect_once(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    created = not path.exists()
    try:
        conn = sqlite3.connect(
            path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise StoreUnavailable(path, str(exc)) from None
    try:
        if created and os.name == "posix":
            # Corp names and installers are not for other users; -wal/-shm inherit this.
            os.chmod(path, 0o600)
        with translated_errors(path):
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreUnavailable(path, f"journal mode {mode}, WAL needed")
            conn.execute("PRAGMA synchronous = FULL")
            problems = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
            if problems != ["ok"]:
                raise CorruptStore(path, "; ".join(str(p) for p in problems[:3]))
    except BaseException:
        conn.close()
        raise
    return conn
