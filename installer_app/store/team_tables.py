"""The store's team-mode tables (schema 4, docs/team-mode.md): the outbox and the leases.

The outbox is filled by a trigger on ``events`` (schema.py), so a step and its outbox row are one
transaction: a crash either loses both or keeps both. Sending is ``team/outbox.py``'s; this module
only reads the unsent rows and notes what the team server answered, by event id, so a batch sent
twice (a crash between the server's answer and ``outbox_done``) is only counted twice by the
server as duplicates, never recorded twice.

Leased credentials are free credentials (source ``inventory``) with a ``lease_id``: they are
sealed like every SecretNo, ``take_from_inventory`` never hands them out, and only
``take_leased`` gives one to a board.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from installer_app.formats import normalize_hw_id, require_sn
from installer_app.secrets import Secret
from installer_app.store.records import DeviceRecord, Source
from installer_app.store.rows import add_event, assign, iso, record_by_hw_id, record_by_sn

if TYPE_CHECKING:
    from installer_app.store.keys import SecretCipher

SyncState = Literal["sent", "pending", "refused"]


@dataclass(frozen=True)
class OutboxEvent:
    """One event waiting for the team server (C4's fields)."""

    event_id: str
    sn: str
    hw_id: str
    what: str
    time: str  # ISO 8601, UTC
    installer: str | None
    detail: str | None


@dataclass(frozen=True)
class OutboxCounts:
    pending: int
    sent: int
    refused: int


@dataclass(frozen=True)
class RefusedEvent:
    event_id: str
    sn: str
    what: str
    reason: str


@dataclass(frozen=True)
class LeasedCredential:
    sn: str
    secret: Secret
    qr_code: str


@dataclass(frozen=True)
class LeaseInfo:
    lease_id: str
    model_id: str
    expires_at: datetime
    unused: int
    used: int
    returned: bool


class TeamTables:
    """Mixed into ``Store``: the methods below run in its transactions."""

    _cipher: SecretCipher

    if TYPE_CHECKING:

        def _read(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def _now(self) -> str: ...

    # -- outbox ------------------------------------------------------------------------------

    def enable_outbox(self) -> None:
        """From now on every board event also goes to the outbox (team mode). Idempotent."""
        with self._write() as conn:
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('team_outbox', 1)")

    def outbox_batch(self, limit: int) -> list[OutboxEvent]:
        """The oldest unsent, unrefused events, at most ``limit``."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT o.event_id, e.sn, e.hw_id, e.what, e.time, e.installer, e.detail "
                "FROM outbox o JOIN events e ON e.id = o.event_row "
                "WHERE o.sent_at IS NULL AND o.refused IS NULL ORDER BY o.event_row LIMIT ?",
                (max(0, limit),),
            ).fetchall()
        return [OutboxEvent(*row) for row in rows]

    def outbox_done(self, sent: Sequence[str], refused: dict[str, str]) -> None:
        """Note the server's answer: ``sent`` it has (accepted or duplicate), ``refused`` it
        will never take (event id → "errcode: errmsg")."""
        now = self._now()
        with self._write() as conn:
            conn.executemany(
                "UPDATE outbox SET sent_at = ? WHERE event_id = ? AND sent_at IS NULL",
                [(now, event_id) for event_id in sent],
            )
            conn.executemany(
                "UPDATE outbox SET refused = ? WHERE event_id = ? AND sent_at IS NULL",
                [(reason, event_id) for event_id, reason in refused.items()],
            )

    def outbox_counts(self) -> OutboxCounts:
        with self._read() as conn:
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE sent_at IS NULL AND refused IS NULL), "
                "count(*) FILTER (WHERE sent_at IS NOT NULL), "
                "count(*) FILTER (WHERE refused IS NOT NULL) FROM outbox"
            ).fetchone()
        return OutboxCounts(int(row[0]), int(row[1]), int(row[2]))

    def outbox_refused(self) -> list[RefusedEvent]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT o.event_id, e.sn, e.what, o.refused FROM outbox o "
                "JOIN events e ON e.id = o.event_row WHERE o.refused IS NOT NULL "
                "ORDER BY o.event_row"
            ).fetchall()
        return [RefusedEvent(*row) for row in rows]

    def refused_for(self, sn: str) -> str | None:
        """Why the team server refused an event of ``sn`` (the first), or None."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT o.refused FROM outbox o JOIN events e ON e.id = o.event_row "
                "WHERE e.sn = ? AND o.refused IS NOT NULL ORDER BY o.event_row LIMIT 1",
                (sn,),
            ).fetchone()
        return str(row[0]) if row else None

    def sync_states(self) -> dict[str, SyncState]:
        """``sync_state_for`` of every SN that has outbox rows, in one query (History)."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT e.sn, count(*), count(o.refused), count(o.sent_at) FROM outbox o "
                "JOIN events e ON e.id = o.event_row GROUP BY e.sn"
            ).fetchall()
        states: dict[str, SyncState] = {}
        for sn, total, refused, sent in rows:
            states[sn] = "refused" if refused else ("sent" if sent == total else "pending")
        return states

    def sync_state_for(self, sn: str) -> SyncState | None:
        """Whether the team server has every event of ``sn``; None: none went to the outbox."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT count(*), count(o.refused), count(o.sent_at) FROM outbox o "
                "JOIN events e ON e.id = o.event_row WHERE e.sn = ?",
                (sn,),
            ).fetchone()
        total, refused, sent = (int(v) for v in row)
        if total == 0:
            return None
        if refused:
            return "refused"
        return "sent" if sent == total else "pending"

    # -- leases ------------------------------------------------------------------------------

    def add_lease(
        self,
        lease_id: str,
        model_id: str,
        expires_at: datetime,
        credentials: Sequence[LeasedCredential],
    ) -> int:
        """Keep a lease and its credentials (sealed), in one transaction. Idempotent by
        ``lease_id``; returns how many credentials were new."""
        now = self._now()
        added = 0
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO leases (lease_id, model_id, expires_at, taken_at) "
                "VALUES (?, ?, ?, ?)",
                (lease_id, model_id, iso(expires_at), now),
            )
            for credential in credentials:
                require_sn(credential.sn)
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO credentials (sn, secret_no_enc, model_id, qr_code, "
                    "source, stage, created_at, updated_at, lease_id) "
                    "VALUES (?, ?, ?, ?, ?, 'free', ?, ?, ?)",
                    (
                        credential.sn,
                        self._cipher.encrypt(credential.sn, credential.secret),
                        model_id,
                        credential.qr_code or None,
                        Source.INVENTORY.value,
                        now,
                        now,
                        lease_id,
                    ),
                )
                added += cursor.rowcount
                if cursor.rowcount:
                    add_event(conn, credential.sn, None, "leased", now, None, lease_id)
        return added

    def take_leased(self, hw_id_hex: str, *, model_id: str, installer: str) -> DeviceRecord | None:
        """Give board ``hw_id_hex`` the next unused leased credential of ``model_id`` (the
        board's own record when it already holds an SN); None when no lease has one left."""
        hw_id = normalize_hw_id(hw_id_hex)
        now = self._now()
        with self._write() as conn:
            existing = record_by_hw_id(conn, hw_id)
            if existing is not None:
                return existing
            row = conn.execute(
                "SELECT c.sn FROM credentials c JOIN leases l ON l.lease_id = c.lease_id "
                "WHERE c.hw_id IS NULL AND c.model_id = ? AND l.returned_at IS NULL "
                "AND l.expires_at > ? ORDER BY l.taken_at, c.rowid LIMIT 1",
                (model_id, now),
            ).fetchone()
            if row is None:
                return None
            assign(conn, row[0], hw_id, installer, now)
            return record_by_sn(conn, row[0])

    def leases(self) -> list[LeaseInfo]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT l.lease_id, l.model_id, l.expires_at, "
                "count(c.sn) FILTER (WHERE c.hw_id IS NULL), "
                "count(c.sn) FILTER (WHERE c.hw_id IS NOT NULL), l.returned_at IS NOT NULL "
                "FROM leases l LEFT JOIN credentials c ON c.lease_id = l.lease_id "
                "GROUP BY l.lease_id ORDER BY l.taken_at"
            ).fetchall()
        return [
            LeaseInfo(r[0], r[1], datetime.fromisoformat(r[2]), int(r[3]), int(r[4]), bool(r[5]))
            for r in rows
        ]

    def held_offline(self, model_id: str | None = None) -> int:
        """Unused leased credentials still valid (for ``model_id`` when given)."""
        sql = (
            "SELECT count(*) FROM credentials c JOIN leases l ON l.lease_id = c.lease_id "
            "WHERE c.hw_id IS NULL AND l.returned_at IS NULL AND l.expires_at > ?"
        )
        params: tuple[str, ...] = (self._now(),)
        if model_id:
            sql += " AND c.model_id = ?"
            params += (model_id,)
        with self._read() as conn:
            return int(conn.execute(sql, params).fetchone()[0])

    def forget_lease(self, lease_id: str) -> int:
        """After the server took a lease back: drop its unused credentials (the used ones stay
        with their boards for ever) and mark it returned. Returns how many were dropped."""
        now = self._now()
        with self._write() as conn:
            cursor = conn.execute(
                "DELETE FROM credentials WHERE lease_id = ? AND hw_id IS NULL", (lease_id,)
            )
            conn.execute(
                "UPDATE leases SET returned_at = coalesce(returned_at, ?) WHERE lease_id = ?",
                (now, lease_id),
            )
            return cursor.rowcount
