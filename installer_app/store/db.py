"""The credential store: one SQLite file, ``<data_dir>/installer.db``.

It remembers every SN this installation has issued or imported, which board (HW_ID) each went
to, how far each board got, and an append-only history of events. SecretNos are kept only as
AES-GCM ciphertexts (see ``keys.py``); the only way back to one is ``Store.secret_for``.

Exactly-once rules, enforced by SQL (unique index and triggers), not only by this module:

* an SN goes to at most one HW_ID, ever: once ``hw_id`` is set it never changes, and an assigned
  row is never deleted;
* a HW_ID holds at most one SN (unique partial index);
* stages only move forward: free → reserved → written → verified → committed → bound →
  app_installed;
* events are append-only.

Every state change is one ``BEGIN IMMEDIATE`` transaction (the write lock is taken first, so two
processes never interleave a read-then-write). WAL mode, ``synchronous=FULL`` and a busy timeout.
One connection guarded by a lock: a ``Store`` may be shared by the threads that provision several
boards at once; several processes may open the same file.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from installer_app.config import Settings
from installer_app.formats import normalize_hw_id, require_sn
from installer_app.secrets import Secret, redact
from installer_app.store.connection import connect, translated_errors
from installer_app.store.errors import (
    HwIdConflict,
    SnConflict,
    StageOrderError,
    UnknownSn,
    WrongKey,
)
from installer_app.store.inventory import ParsedInventory, RejectedRow, store_rejection
from installer_app.store.keys import DecryptError, SecretCipher, load_cipher
from installer_app.store.records import (
    STAGE_ORDER,
    DeviceRecord,
    EventRecord,
    ImportReport,
    InventoryStats,
    PendingRegistration,
    Source,
    Stage,
)
from installer_app.store.rows import (
    RECORD_COLUMNS,
    add_event,
    assign,
    event_from_row,
    iso,
    record_by_hw_id,
    record_by_sn,
    record_from_row,
)
from installer_app.store.schema import (
    MIGRATIONS,
    migrate,
    read_version,
)
from installer_app.store.team_tables import TeamTables

log = logging.getLogger(__name__)

DB_FILENAME: Final = "installer.db"
DEFAULT_BUSY_TIMEOUT_S: Final = 10.0
MAX_LOCATION_CHARS: Final = 200
_KEY_CHECK_SN = "KEYCHECK"
_KEY_CHECK_VALUE = "installer-app key check"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Store(TeamTables):
    """The open database. Create with ``Store.open``; ``close()`` (or ``with``) when done.

    Thread-safe: every method takes the store's lock, so one ``Store`` serves all the boards a
    process provisions in parallel. Methods raise ``StoreError`` subclasses for what a person can
    meet (``SnConflict``, ``HwIdConflict``, ``StageOrderError``, ``UnknownSn``, ``StoreLocked``,
    ``CorruptStore``, ``StoreUnavailable``), and ``ValueError`` for a malformed SN or HW_ID.
    """

    def __init__(
        self,
        path: Path,
        connection: sqlite3.Connection,
        cipher: SecretCipher,
        clock: Callable[[], datetime],
    ) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = connection
        self._cipher = cipher
        self._clock = clock
        self._lock = threading.RLock()

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path,
        cipher: SecretCipher,
        *,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
        clock: Callable[[], datetime] = _utc_now,
        migrations: Sequence[str] = MIGRATIONS,
    ) -> Store:
        """Open (creating when missing) the database at ``path``, migrate it to the current
        schema, and check that ``cipher`` is the key its secrets were stored with.

        Raises ``CorruptStore`` for a damaged file, ``StoreTooNew`` for a file from a newer app,
        ``WrongKey`` for another key, ``StoreUnavailable`` when the file cannot be used.
        ``migrations`` is for tests of the migration machinery.
        """
        path = Path(path)
        conn = connect(path, busy_timeout_s)
        store = cls(path, conn, cipher, clock)
        try:
            with store._lock:
                migrate(conn, path, migrations)
            store._check_key()
        except BaseException:
            conn.close()
            raise
        return store

    @property
    def path(self) -> Path:
        return self._path

    def close(self) -> None:
        """Close the connection (checkpointing the WAL). Idempotent."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def schema_version(self) -> int:
        with self._read() as conn:
            return read_version(conn)

    # -- reading ------------------------------------------------------------------------------

    def record_for_sn(self, sn: str) -> DeviceRecord | None:
        """The record of ``sn`` (case-insensitive), free or assigned, or None."""
        with self._read() as conn:
            return record_by_sn(conn, sn)

    def record_for_hw_id(self, hw_id_hex: str) -> DeviceRecord | None:
        """The record of the SN this board holds, or None when it holds none."""
        hw_id = normalize_hw_id(hw_id_hex)
        with self._read() as conn:
            return record_by_hw_id(conn, hw_id)

    def record_for_qr_code(self, url: str) -> DeviceRecord | None:
        """The board whose static binding link is ``url`` (a scanned label), or None."""
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {RECORD_COLUMNS} FROM credentials WHERE qr_code = ? AND hw_id IS NOT NULL",
                (url.strip(),),
            ).fetchone()
        return record_from_row(row) if row else None

    def secret_for(self, sn: str) -> Secret:
        """Decrypt the SecretNo of ``sn``. ``UnknownSn`` when absent; ``WrongKey`` when the
        ciphertext does not open (another key, or a ciphertext moved from another row)."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT sn, secret_no_enc FROM credentials WHERE sn = ?", (sn,)
            ).fetchone()
        if row is None:
            raise UnknownSn(sn)
        return self._decrypt(row[0], row[1])

    def history(
        self, search: str | None = None, limit: int = 1000, *, include_free: bool = False
    ) -> list[DeviceRecord]:
        """Boards' records, latest change first. ``search`` matches part of the SN, HW_ID, corp
        name, corpid or installer (case-insensitive for ASCII). Free inventory credentials are
        left out unless ``include_free``."""
        where = [] if include_free else ["hw_id IS NOT NULL"]
        params: list[Any] = []
        if search:
            pattern = "%" + re.sub(r"([\\%_])", r"\\\1", search.strip()) + "%"
            columns = ("sn", "hw_id", "corp_name", "corpid", "installer")
            where.append("(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in columns) + ")")
            params.extend([pattern] * len(columns))
        sql = f"SELECT {RECORD_COLUMNS} FROM credentials"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY updated_at DESC, sn LIMIT ?"
        params.append(max(0, limit))
        with self._read() as conn:
            return [record_from_row(r) for r in conn.execute(sql, params).fetchall()]

    def events_for(self, sn: str) -> list[EventRecord]:
        """Every event of ``sn``, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, sn, hw_id, what, time, installer, detail FROM events "
                "WHERE sn = ? ORDER BY id",
                (sn,),
            ).fetchall()
        return [event_from_row(r) for r in rows]

    def inventory_stats(self, model_id: str | None = None) -> InventoryStats:
        """How many inventory credentials there are, how many are free, and per stage."""
        sql = (
            "SELECT stage, count(*) FROM credentials WHERE source = 'inventory' "
            "AND lease_id IS NULL"
        )
        params: tuple[Any, ...] = ()
        if model_id:
            sql += " AND model_id = ?"
            params = (model_id,)
        with self._read() as conn:
            counts = dict(conn.execute(sql + " GROUP BY stage", params).fetchall())
        by_stage = {s.value: int(counts.get(s.value, 0)) for s in STAGE_ORDER}
        total = sum(by_stage.values())
        free = by_stage[Stage.FREE.value]
        return InventoryStats(total=total, free=free, assigned=total - free, by_stage=by_stage)

    def pending_registrations(self) -> list[PendingRegistration]:
        """Registrations started with ``begin_registration`` and never finished, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT sn, hw_id, model_id, started_at FROM pending_registrations "
                "ORDER BY started_at"
            ).fetchall()
        return [PendingRegistration(r[0], r[1], r[2], datetime.fromisoformat(r[3])) for r in rows]

    # -- changing -----------------------------------------------------------------------------

    def reserve(
        self,
        sn: str,
        hw_id_hex: str,
        secret_no: Secret,
        *,
        source: Source | str,
        model_id: str | None,
        installer: str,
        qr_code: str | None = None,
        seed: bool = False,
    ) -> DeviceRecord:
        """Record that ``sn`` with ``secret_no`` goes to board ``hw_id_hex`` (stage reserved).

        ``seed``: ``secret_no`` is the model's shared seed, so the record notes that the
        device's own secret is unknown to this laptop (``seed_credential``).

        Idempotent: the same SN, board and SecretNo returns the existing record whatever its
        stage. A free inventory credential with the same SecretNo is assigned to the board.
        Also clears a pending registration of ``sn`` in the same transaction.
        Raises ``SnConflict`` when the SN belongs to another board or is held with another
        SecretNo, ``HwIdConflict`` when the board already holds another SN.
        """
        require_sn(sn)
        hw_id = normalize_hw_id(hw_id_hex)
        src = Source(source)
        now = self._now()
        with self._write() as conn:
            existing = conn.execute(
                "SELECT sn, hw_id, secret_no_enc FROM credentials WHERE sn = ?", (sn,)
            ).fetchone()
            if existing is not None:
                held_sn, held_hw, blob = existing
                if held_hw is not None and held_hw != hw_id:
                    raise SnConflict(held_sn, held_hw, hw_id)
                if self._decrypt(held_sn, blob) != secret_no:
                    raise SnConflict(held_sn, None, hw_id)
                if held_hw == hw_id:
                    self._clear_pending(conn, sn)
                    record = record_by_sn(conn, sn)
                    assert record is not None
                    return record
            other = record_by_hw_id(conn, hw_id)
            if other is not None:
                raise HwIdConflict(hw_id, other.sn, sn)
            if existing is not None:
                assign(conn, existing[0], hw_id, installer, now, seed=seed)
                sn = existing[0]
            else:
                conn.execute(
                    "INSERT INTO credentials (sn, secret_no_enc, model_id, qr_code, source, "
                    "hw_id, stage, installer, created_at, updated_at, reserved_at, "
                    "seed_credential) "
                    "VALUES (?, ?, ?, ?, ?, ?, 'reserved', ?, ?, ?, ?, ?)",
                    (
                        sn,
                        self._cipher.encrypt(sn, secret_no),
                        model_id,
                        qr_code,
                        src.value,
                        hw_id,
                        installer,
                        now,
                        now,
                        now,
                        int(seed),
                    ),
                )
                add_event(conn, sn, hw_id, Stage.RESERVED.value, now, installer, src.value)
            self._clear_pending(conn, sn)
            record = record_by_sn(conn, sn)
            assert record is not None
            return record

    def take_from_inventory(
        self, hw_id_hex: str, *, model_id: str | None, installer: str, seed: bool = False
    ) -> DeviceRecord | None:
        """Give board ``hw_id_hex`` a free inventory credential, atomically.

        Returns the board's existing record when it already holds an SN (from any source).
        Otherwise takes the oldest free credential of ``model_id`` (credentials imported without
        a model fit any model, after those of the exact model); ``model_id=None`` takes any.
        Returns None when none is free. Two boards never get the same SN, also across processes.
        """
        hw_id = normalize_hw_id(hw_id_hex)
        now = self._now()
        with self._write() as conn:
            existing = record_by_hw_id(conn, hw_id)
            if existing is not None:
                return existing
            # Credentials lent by the team server (leases) are not inventory: team mode's own.
            if model_id:
                row = conn.execute(
                    "SELECT sn FROM credentials WHERE hw_id IS NULL AND lease_id IS NULL "
                    "AND (model_id = ? OR model_id IS NULL OR model_id = '') "
                    "ORDER BY (model_id IS NULL OR model_id = ''), created_at, rowid LIMIT 1",
                    (model_id,),
                ).fetchone()
            else:
                row = conn.execute(
                    "SELECT sn FROM credentials WHERE hw_id IS NULL AND lease_id IS NULL "
                    "ORDER BY created_at, rowid LIMIT 1"
                ).fetchone()
            if row is None:
                return None
            assign(conn, row[0], hw_id, installer, now, seed=seed)
            record = record_by_sn(conn, row[0])
            assert record is not None
            return record

    def begin_registration(self, sn: str, hw_id_hex: str, model_id: str) -> None:
        """Note, BEFORE calling WeCom add_device, that ``sn`` is being registered for the board.

        ``reserve`` (or ``finish_registration``) clears it. What is still pending after a crash
        is in ``pending_registrations()``. Idempotent for the same SN and board. Raises
        ``SnConflict`` when the SN is held or pending for another board. When the SN is already
        held by this board nothing is noted (the caller resumes instead of registering).
        """
        require_sn(sn)
        hw_id = normalize_hw_id(hw_id_hex)
        now = self._now()
        with self._write() as conn:
            held = conn.execute("SELECT sn, hw_id FROM credentials WHERE sn = ?", (sn,)).fetchone()
            if held is not None:
                if held[1] == hw_id:
                    return
                raise SnConflict(held[0], held[1], hw_id)
            pending = conn.execute(
                "SELECT sn, hw_id FROM pending_registrations WHERE sn = ?", (sn,)
            ).fetchone()
            if pending is not None:
                if pending[1] != hw_id:
                    raise SnConflict(pending[0], pending[1], hw_id)
                return
            conn.execute(
                "INSERT INTO pending_registrations (sn, hw_id, model_id, started_at) "
                "VALUES (?, ?, ?, ?)",
                (sn, hw_id, model_id, now),
            )
            add_event(conn, sn, hw_id, "registration_started", now, None, model_id)

    def finish_registration(self, sn: str) -> None:
        """Forget the pending registration of ``sn`` (after ``reserve``, or after the workflow
        deleted the never-bound SN at WeCom). Idempotent."""
        now = self._now()
        with self._write() as conn:
            row = conn.execute(
                "SELECT sn, hw_id FROM pending_registrations WHERE sn = ?", (sn,)
            ).fetchone()
            if row is None:
                return
            conn.execute("DELETE FROM pending_registrations WHERE sn = ?", (sn,))
            held = conn.execute("SELECT 1 FROM credentials WHERE sn = ?", (sn,)).fetchone()
            if held is None:
                add_event(conn, row[0], row[1], "registration_abandoned", now, None, None)

    def advance(
        self,
        sn: str,
        stage: Stage | str,
        *,
        installer: str,
        corpid: str | None = None,
        corp_name: str | None = None,
        agentid: int | None = None,
    ) -> DeviceRecord:
        """Move ``sn`` forward to ``stage``, recording the time, the installer and an event.

        Advancing to the stage it is at is a no-op (returns the record). Stages may be skipped
        (a resumed board found already committed). ``bound`` needs ``corpid``; ``corp_name`` and
        ``agentid`` are kept when given. Raises ``UnknownSn``, or ``StageOrderError`` for a move
        back or for a free (unassigned) credential.
        """
        wanted = Stage(stage)
        if wanted is Stage.BOUND and not corpid:
            raise ValueError("the bound stage needs the corpid")
        now = self._now()
        with self._write() as conn:
            record = record_by_sn(conn, sn)
            if record is None:
                raise UnknownSn(sn)
            if record.stage is Stage.FREE or wanted is Stage.FREE:
                raise StageOrderError(record.sn, record.stage.value, wanted.value)
            if wanted.rank < record.stage.rank:
                raise StageOrderError(record.sn, record.stage.value, wanted.value)
            if wanted is record.stage:
                return record
            conn.execute(
                f"UPDATE credentials SET stage = ?, {wanted.value}_at = ?, installer = ?, "
                "updated_at = ?, corpid = coalesce(?, corpid), "
                "corp_name = coalesce(?, corp_name), agentid = coalesce(?, agentid) "
                "WHERE sn = ?",
                (wanted.value, now, installer, now, corpid, corp_name, agentid, record.sn),
            )
            details = [
                f"{k}={v}"
                for k, v in (("corpid", corpid), ("corp_name", corp_name), ("agentid", agentid))
                if v is not None
            ]
            add_event(
                conn,
                record.sn,
                record.hw_id,
                wanted.value,
                now,
                installer,
                " ".join(details) or None,
            )
            updated = record_by_sn(conn, record.sn)
            assert updated is not None
            return updated

    def mark_failed(
        self, sn: str, detail: str, *, installer: str | None = None, hw_id: str | None = None
    ) -> None:
        """Append a ``failed`` event (not a stage: the SN stays where it was). ``detail`` is
        English for the log and the history; any secret-like text in it is masked. ``hw_id``
        defaults to the board that holds ``sn``."""
        now = self._now()
        with self._write() as conn:
            record = record_by_sn(conn, sn)
            board = normalize_hw_id(hw_id) if hw_id else (record.hw_id if record else None)
            add_event(
                conn, record.sn if record else sn, board, "failed", now, installer, redact(detail)
            )

    def mark_skipped(self, hw_id: str, *, installer: str | None = None) -> None:
        """Append a ``skipped`` event for the board ``hw_id``: the installer chose to leave it
        as it was. The event carries the board's SN when it holds one, else an empty SN (the
        site handover lists it by HW_ID)."""
        board = normalize_hw_id(hw_id)
        now = self._now()
        with self._write() as conn:
            record = record_by_hw_id(conn, board)
            sn = record.sn if record is not None else ""
            add_event(conn, sn, board, "skipped", now, installer, None)

    def set_location(self, sn: str, location: str, *, installer: str | None = None) -> DeviceRecord:
        """Store where the board was mounted (trimmed, at most 200 characters; empty clears it)
        with a ``location`` event. ``UnknownSn`` when absent."""
        text = " ".join(location.split())[:MAX_LOCATION_CHARS] or None
        now = self._now()
        with self._write() as conn:
            record = record_by_sn(conn, sn)
            if record is None:
                raise UnknownSn(sn)
            conn.execute(
                "UPDATE credentials SET location = ?, updated_at = ? WHERE sn = ?",
                (text, now, record.sn),
            )
            add_event(conn, record.sn, record.hw_id, "location", now, installer, text)
            updated = record_by_sn(conn, record.sn)
            assert updated is not None
            return updated

    def events_between(self, since: datetime, until: datetime) -> list[EventRecord]:
        """Every event with ``since <= time < until``, oldest first (the site handover)."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, sn, hw_id, what, time, installer, detail FROM events "
                "WHERE time >= ? AND time < ? ORDER BY id",
                (iso(since), iso(until)),
            ).fetchall()
        return [event_from_row(r) for r in rows]

    def records_for_corp(self, corpid: str) -> list[DeviceRecord]:
        """Every board bound to the enterprise ``corpid``, oldest change first."""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {RECORD_COLUMNS} FROM credentials WHERE corpid = ? "
                "ORDER BY updated_at, sn",
                (corpid,),
            ).fetchall()
        return [record_from_row(r) for r in rows]

    def import_inventory(self, parsed: ParsedInventory, *, installer: str) -> ImportReport:
        """Add the parsed rows as free credentials: all or nothing.

        Rows already in the store with the same SecretNo count as ``duplicates`` (an earlier
        import of the same file) and are skipped; a row already in the store with another
        SecretNo is rejected. When ``parsed.rejected`` or the store's own check rejects any row,
        nothing is imported and the report lists every rejected row.
        """
        now = self._now()
        rejected: list[RejectedRow] = list(parsed.rejected)
        with self._write() as conn:
            fresh = []
            duplicates = 0
            for row in parsed.rows:
                held = conn.execute(
                    "SELECT sn, secret_no_enc FROM credentials WHERE sn = ?", (row.sn,)
                ).fetchone()
                if held is None:
                    fresh.append(row)
                elif self._decrypt(held[0], held[1]) == row.secret_no:
                    duplicates += 1
                else:
                    rejected.append(store_rejection(row))
            if rejected:
                rejected.sort(key=lambda r: r.row)
                return ImportReport(imported=0, duplicates=duplicates, rejected=tuple(rejected))
            for row in fresh:
                conn.execute(
                    "INSERT INTO credentials (sn, secret_no_enc, model_id, qr_code, source, "
                    "hw_id, stage, installer, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, 'inventory', NULL, 'free', ?, ?, ?)",
                    (
                        row.sn,
                        self._cipher.encrypt(row.sn, row.secret_no),
                        row.model_id or None,
                        row.qr_code or None,
                        installer,
                        now,
                        now,
                    ),
                )
                add_event(conn, row.sn, None, "imported", now, installer, parsed.source.name)
        log.info(
            "imported %d inventory credentials from %s (%d already there)",
            len(fresh),
            parsed.source.name,
            duplicates,
        )
        return ImportReport(imported=len(fresh), duplicates=duplicates, rejected=())

    # -- internals ----------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("the store is closed")
        return self._conn

    def _now(self) -> str:
        return iso(self._clock())

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock, translated_errors(self._path):
            yield self._connection()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed when the block ends, rolled back when
        it raises (including the StoreErrors the block raises to refuse a change)."""
        with self._lock, translated_errors(self._path):
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.rollback()
                raise
            conn.execute("COMMIT")

    def _decrypt(self, sn: str, blob: bytes) -> Secret:
        try:
            return self._cipher.decrypt(sn, blob)
        except DecryptError:
            raise WrongKey(self._path) from None

    @staticmethod
    def _clear_pending(conn: sqlite3.Connection, sn: str) -> None:
        conn.execute("DELETE FROM pending_registrations WHERE sn = ?", (sn,))

    def _check_key(self) -> None:
        """The first key to open the file leaves a sealed marker; any other key is refused
        here, before it could store secrets nobody can read back."""
        with self._write() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'key_check'").fetchone()
            if row is None:
                blob = self._cipher.encrypt(_KEY_CHECK_SN, Secret(_KEY_CHECK_VALUE))
                conn.execute("INSERT INTO meta (key, value) VALUES ('key_check', ?)", (blob,))
                return
        try:
            ok = self._cipher.decrypt(_KEY_CHECK_SN, row[0]).reveal() == _KEY_CHECK_VALUE
        except DecryptError:
            ok = False
        if not ok:
            raise WrongKey(self._path)


def open_store(settings: Settings, data_dir: Path) -> Store:
    """Open ``<data_dir>/installer.db`` with the key the settings choose."""
    return Store.open(data_dir / DB_FILENAME, load_cipher(settings))
