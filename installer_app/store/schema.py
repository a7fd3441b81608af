"""The database schema and its migrations.

``MIGRATIONS[i]`` takes a file from schema version i to i + 1 (version 0 is an empty file). Append a
migration to change the schema; never edit one that has shipped. The exactly-once rules live here
as triggers and a unique index, so they hold whatever program writes the file.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from installer_app.store.connection import translated_errors
from installer_app.store.errors import StoreTooNew

log = logging.getLogger(__name__)

_STAGE_RANK_SQL = (
    "instr(',free,reserved,written,verified,committed,bound,app_installed,', ',' || {} || ',')"
)

_MIGRATION_1 = f"""
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (0);

CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);

CREATE TABLE credentials (
    sn TEXT PRIMARY KEY COLLATE NOCASE
        CHECK (length(sn) BETWEEN 1 AND 128 AND sn NOT GLOB '*[^0-9A-Za-z]*'),
    secret_no_enc BLOB NOT NULL,
    model_id TEXT,
    qr_code TEXT,
    source TEXT NOT NULL CHECK (source IN ('register', 'inventory', 'partner')),
    hw_id TEXT CHECK (hw_id IS NULL OR (hw_id = lower(hw_id) AND length(hw_id) > 0)),
    stage TEXT NOT NULL CHECK ({_STAGE_RANK_SQL.format("stage")} > 0),
    corpid TEXT,
    corp_name TEXT,
    agentid INTEGER,
    installer TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    reserved_at TEXT,
    written_at TEXT,
    verified_at TEXT,
    committed_at TEXT,
    bound_at TEXT,
    app_installed_at TEXT,
    CHECK ((hw_id IS NULL) = (stage = 'free'))
);
-- A board holds one SN.
CREATE UNIQUE INDEX credentials_one_sn_per_board ON credentials (hw_id) WHERE hw_id IS NOT NULL;
-- Taking a free credential finds one without scanning the assigned ones.
CREATE INDEX credentials_free ON credentials (model_id, created_at) WHERE hw_id IS NULL;
CREATE INDEX credentials_updated ON credentials (updated_at);

-- An SN goes to one board, ever.
CREATE TRIGGER credentials_sn_stays_with_its_board
BEFORE UPDATE OF hw_id ON credentials
WHEN OLD.hw_id IS NOT NULL AND NEW.hw_id IS NOT OLD.hw_id
BEGIN SELECT RAISE(ABORT, 'sn_conflict: an SN goes to one board only'); END;

CREATE TRIGGER credentials_identity_is_fixed
BEFORE UPDATE OF sn, secret_no_enc ON credentials
WHEN NEW.sn IS NOT OLD.sn OR (OLD.hw_id IS NOT NULL AND NEW.secret_no_enc IS NOT OLD.secret_no_enc)
BEGIN SELECT RAISE(ABORT, 'sn_conflict: an issued credential never changes'); END;

CREATE TRIGGER credentials_stage_moves_forward
BEFORE UPDATE OF stage ON credentials
WHEN {_STAGE_RANK_SQL.format("NEW.stage")} < {_STAGE_RANK_SQL.format("OLD.stage")}
BEGIN SELECT RAISE(ABORT, 'stage_order: stages only move forward'); END;

CREATE TRIGGER credentials_assigned_are_kept
BEFORE DELETE ON credentials
WHEN OLD.hw_id IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'sn_conflict: an assigned credential is kept for ever'); END;

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sn TEXT NOT NULL COLLATE NOCASE,
    hw_id TEXT,
    what TEXT NOT NULL,
    time TEXT NOT NULL,
    installer TEXT,
    detail TEXT
);
CREATE INDEX events_sn ON events (sn);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE pending_registrations (
    sn TEXT PRIMARY KEY COLLATE NOCASE,
    hw_id TEXT NOT NULL,
    model_id TEXT NOT NULL,
    started_at TEXT NOT NULL
);
"""

# Seed SecretNo models (``[provider] secret_mode = "seed"``): the SecretNo held is the model's
# shared seed, which the device exchanges for its own on first connection; this laptop never
# learns the device's own secret. 1 marks such a row (set when the credential goes to a board).
_MIGRATION_2 = """
ALTER TABLE credentials ADD COLUMN seed_credential INTEGER NOT NULL DEFAULT 0
    CHECK (seed_credential IN (0, 1));
"""

# Where on site a board was mounted ("3F-301 前台"): typed or scanned on the Done page, printed in
# the site handover. Plain text from outside, never parsed.
_MIGRATION_3 = """
ALTER TABLE credentials ADD COLUMN location TEXT;
CREATE INDEX events_time ON events (time);
"""

# Team mode (docs/team-mode.md). The outbox: every event of a board, once the store is in team
# mode (meta key 'team_outbox'), gets a row here from a trigger, so it lands in the same
# transaction as the step itself; its event_id (a random UUID) is what the team server dedups on.
# Leases: credentials the team server lent this laptop for a site without network, kept as free
# credentials (source 'inventory') with their lease_id until a board takes one or they go back.
_UUID_SQL = (
    "lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || "
    "substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || "
    "substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))"
)
_MIGRATION_4 = f"""
CREATE TABLE outbox (
    event_row INTEGER PRIMARY KEY REFERENCES events (id),
    event_id TEXT NOT NULL UNIQUE,
    sent_at TEXT,
    refused TEXT
);
CREATE INDEX outbox_unsent ON outbox (event_row) WHERE sent_at IS NULL AND refused IS NULL;
CREATE TRIGGER events_to_outbox AFTER INSERT ON events
WHEN NEW.hw_id IS NOT NULL AND NEW.sn <> ''
    AND NEW.what IN ('reserved', 'written', 'verified', 'committed', 'bound', 'app_installed',
                     'failed', 'location')
    AND EXISTS (SELECT 1 FROM meta WHERE key = 'team_outbox')
BEGIN INSERT INTO outbox (event_row, event_id) VALUES (NEW.id, {_UUID_SQL}); END;

CREATE TABLE leases (
    lease_id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    taken_at TEXT NOT NULL,
    returned_at TEXT
);
ALTER TABLE credentials ADD COLUMN lease_id TEXT REFERENCES leases (lease_id);
CREATE INDEX credentials_leased ON credentials (lease_id) WHERE lease_id IS NOT NULL;
"""

# The site handover from the team server's records (docs/team-mode.md) lists skipped boards too:
# a skip of a board that holds an SN now goes to the outbox as well (C4 step ``skipped``).
_MIGRATION_5 = f"""
DROP TRIGGER events_to_outbox;
CREATE TRIGGER events_to_outbox AFTER INSERT ON events
WHEN NEW.hw_id IS NOT NULL AND NEW.sn <> ''
    AND NEW.what IN ('reserved', 'written', 'verified', 'committed', 'bound', 'app_installed',
                     'failed', 'location', 'skipped')
    AND EXISTS (SELECT 1 FROM meta WHERE key = 'team_outbox')
BEGIN INSERT INTO outbox (event_row, event_id) VALUES (NEW.id, {_UUID_SQL}); END;
"""

MIGRATIONS: Final[tuple[str, ...]] = (
    _MIGRATION_1,
    _MIGRATION_2,
    _MIGRATION_3,
    _MIGRATION_4,
    _MIGRATION_5,
)
SCHEMA_VERSION: Final = len(MIGRATIONS)


def split_statements(script: str) -> list[str]:
    """Split a schema script into statements (trigger bodies kept whole)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if not buffer and (not line.strip() or line.lstrip().startswith("--")):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise ValueError("schema script ends inside a statement")
    return statements


def read_version(conn: sqlite3.Connection) -> int:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if exists is None:
        return 0
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection, path: Path, migrations: Sequence[str] = MIGRATIONS) -> None:
    """Apply each missing migration in its own transaction, under the write lock (another
    process migrating at the same moment waits, then finds nothing left to do).

    Raises ``StoreTooNew`` for a file from a newer app."""
    with translated_errors(path):
        version = read_version(conn)
        if version > len(migrations):
            raise StoreTooNew(path, version, len(migrations))
        while version < len(migrations):
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = read_version(conn)
                if version >= len(migrations):
                    conn.execute("COMMIT")
                    break
                for statement in split_statements(migrations[version]):
                    conn.execute(statement)
                conn.execute("UPDATE schema_version SET version = ?", (version + 1,))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.rollback()
                raise
            log.info("store %s migrated to schema %d", path, version + 1)
            version += 1
