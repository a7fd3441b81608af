"""PostgreSQL access: the connection pools, the migrations and "the database is down".

Short timeouts everywhere (connect 3 s, statement 5 s, waiting for a pooled connection 5 s), so a
database that is gone turns into ``DatabaseDown`` (HTTP 503 with Retry-After) within seconds, never
a hang. The pools check a connection before handing it out (the server's pool only when the
database has told it something, see ``_check_if_told``), so after the database comes back the
stale connections are replaced by themselves and the server recovers without a restart.
"""

from __future__ import annotations

import logging
import select
from importlib import resources
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout

from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 3
STATEMENT_TIMEOUT_MS = 5000
POOL_WAIT_S = 5.0
# The advisory lock key under which migrations run (any constant the app owns: "inst" "migr").
MIGRATION_LOCK = 0x696E73746D696772
RETRY_AFTER_S = 3

CONNECT_KWARGS: dict[str, Any] = {
    "connect_timeout": CONNECT_TIMEOUT_S,
    "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
    "application_name": "installer-app-server",
}


class DatabaseDown(InstallerError):
    """The database does not answer (or answers too slowly): HTTP 503, exit code 1."""

    exit_code = ExitCode.FAILURE

    def __init__(self, reason: str = "") -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP("server", "The database does not answer ({reason})."),
                reason=reason or "unavailable",
            ),
            Message(
                QT_TRANSLATE_NOOP("server", "Check that PostgreSQL runs and the database URL.")
            ),
        )


# Errors that mean "the database is not there right now" rather than "this query is wrong".
TRANSIENT = (psycopg.OperationalError, PoolTimeout, psycopg.errors.QueryCanceled)


def reason_of(exc: BaseException) -> str:
    """A short reason with no connection string (which may hold a password) in it."""
    if isinstance(exc, PoolTimeout):
        return "no connection within the time limit"
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return "statement timeout"
    return type(exc).__name__


def connect(url: str, **extra: Any) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(url, **CONNECT_KWARGS, **extra)
    except psycopg.OperationalError as exc:
        raise DatabaseDown(reason_of(exc)) from None


def open_pool(url: str, max_size: int = 10) -> ConnectionPool[Any]:
    pool: ConnectionPool[Any] = ConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        kwargs={**CONNECT_KWARGS, "row_factory": dict_row},
        timeout=POOL_WAIT_S,
        check=ConnectionPool.check_connection,
        reconnect_timeout=0,  # keep trying for ever: the database may be away a while
        open=False,
        name="installer-server-sync",
    )
    pool.open(wait=False)
    return pool


async def _check_if_told(conn: psycopg.AsyncConnection[Any]) -> None:
    """The pool's check before it hands out a connection, without a round trip when it can.

    PostgreSQL says nothing on an idle connection of this pool (none of them LISTENs): if its
    socket has something to read, the server closed it or sent the termination notice of a
    restart or ``pg_terminate_backend``. Only then is the real check run, which fails and makes
    the pool replace the connection. Checking every connection with a query (the library's
    ``check_connection``) cost C1 a second round trip, a fifth of its time (benchmarks/README).
    """
    if select.select([conn.fileno()], [], [], 0)[0]:
        await AsyncConnectionPool.check_connection(conn)


def open_async_pool(url: str, max_size: int = 10) -> AsyncConnectionPool[Any]:
    return AsyncConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        # Autocommit: a lone statement commits by itself (one round trip, no BEGIN); work of
        # several statements says so with ``conn.transaction()``, which commits before the answer.
        kwargs={**CONNECT_KWARGS, "row_factory": dict_row, "autocommit": True},
        timeout=POOL_WAIT_S,
        check=_check_if_told,
        reconnect_timeout=0,
        open=False,
        name="installer-server",
    )


def migration_files() -> list[tuple[int, str, str]]:
    """``(version, name, sql)`` of every migration, in order."""
    folder = resources.files("installer_app.server.migrations")
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql"):
            found.append((int(name.split("_", 1)[0]), name, entry.read_text("utf-8")))
    return sorted(found)


def migrate(url: str) -> list[str]:
    """Apply the migrations not applied yet, under an advisory lock; the names applied."""
    applied: list[str] = []
    with connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, name, sql in migration_files():
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(sql.encode("utf-8"))
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                        (version, name),
                    )
                applied.append(name)
                log.info("applied migration %s", name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    return applied
