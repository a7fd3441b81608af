"""Crash safety, damaged files, locks, keys and schema migrations, on real SQLite files."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from installer_app.secrets import Secret
from installer_app.store import (
    CorruptStore,
    SecretCipher,
    Stage,
    Store,
    StoreError,
    StoreLocked,
    StoreTooNew,
    StoreUnavailable,
    WrongKey,
)
from installer_app.store.inventory import parse_inventory
from installer_app.store.schema import MIGRATIONS, SCHEMA_VERSION, migrate
from installer_app.store.team_tables import OutboxCounts
from installer_app.team.outbox import wire_event
from tests.fixtures.store import InventoryWriter, StoreFactory

REPO = Path(__file__).resolve().parents[2]

# A child process that stops INSIDE a store transaction: its cipher announces the Nth encryption
# (which the store does within BEGIN IMMEDIATE ... COMMIT) and then waits to be killed.
CHILD = r"""
import sys
from pathlib import Path
from installer_app.secrets import Secret
from installer_app.store import SecretCipher, Store
from installer_app.store.inventory import parse_inventory

db, key, action, freeze_at = sys.argv[1:5]
inner = SecretCipher.from_key_file(Path(key))

class FreezingCipher(SecretCipher):
    calls = 0
    def __init__(self):
        pass
    def decrypt(self, sn, blob):
        return inner.decrypt(sn, blob)
    def encrypt(self, sn, secret):
        FreezingCipher.calls += 1
        if FreezingCipher.calls == int(freeze_at):
            print("inside", flush=True)
            sys.stdin.read()  # parked mid-transaction until killed
        return inner.encrypt(sn, secret)

store = Store.open(Path(db), FreezingCipher())
if action == "import":
    store.import_inventory(parse_inventory(Path(sys.argv[5])), installer="admin")
elif action == "reserve":
    for i in range(1000):
        store.reserve(f"CRASH{i}", f"{i:08x}", Secret(f"secret-{i:04d}"), source="register",
                      model_id="M", installer="li")
        store.advance(f"CRASH{i}", "written", installer="li")
        print(f"done {i}", flush=True)
print("finished", flush=True)
"""


def run_child_until_inside(args: list[str]) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, *args],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    lines = []
    for line in child.stdout:  # blocks on the child's own progress, no sleeping
        lines.append(line.strip())
        if line.strip() == "inside":
            break
    else:
        raise AssertionError(f"child ended early: {lines} {child.communicate()[1]}")
    return child


def kill(child: subprocess.Popen[str]) -> None:
    if os.name == "posix":
        child.send_signal(signal.SIGKILL)
    else:  # pragma: no cover
        child.kill()
    child.communicate(timeout=60)


def test_kill_inside_an_import_imports_nothing_and_the_file_reopens(
    store_factory: StoreFactory, write_inventory: InventoryWriter, key_file: Path
) -> None:
    store = store_factory()
    store.close()
    rows = [(f"INV{i:05d}", f"secret-{i:05d}", "M", "") for i in range(400)]
    path = write_inventory(rows)
    child = run_child_until_inside([str(store.path), str(key_file), "import", "300", str(path)])
    assert Path(f"{store.path}-wal").exists()
    kill(child)
    reopened = store_factory()  # quick_check passes, the key check passes
    assert reopened.inventory_stats().total == 0  # all or nothing, even when killed
    assert reopened.events_for("INV00000") == []
    report = reopened.import_inventory(parse_inventory(path), installer="admin")
    assert report.imported == 400


def test_kill_between_steps_of_many_boards_leaves_every_record_whole(
    store_factory: StoreFactory, key_file: Path
) -> None:
    store = store_factory()
    store.close()
    # freeze at the 40th encryption: boards 0..38 committed, board 39 mid-reservation
    child = run_child_until_inside([str(store.path), str(key_file), "reserve", "40"])
    kill(child)
    reopened = store_factory()
    records = reopened.history(limit=10_000)
    assert len(records) == 39
    assert reopened.record_for_sn("CRASH39") is None
    assert reopened.record_for_hw_id(f"{39:08x}") is None
    assert reopened.events_for("CRASH39") == []
    for record in records:
        assert record.stage is Stage.WRITTEN
        assert [e.what for e in reopened.events_for(record.sn)] == ["reserved", "written"]
        index = int(record.sn.removeprefix("CRASH"))
        assert reopened.secret_for(record.sn).reveal() == f"secret-{index:04d}"
    # the next run carries on: the board that was cut off can take its SN now
    reopened.reserve(
        "CRASH39",
        f"{39:08x}",
        Secret("secret-0039"),
        source="register",
        model_id="M",
        installer="li",
    )


def test_a_held_write_lock_is_reported_not_waited_on_for_ever(
    store_factory: StoreFactory,
) -> None:
    store = store_factory(busy_timeout_s=0.2)
    other = sqlite3.connect(store.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreLocked) as caught:
            store.reserve(
                "LOCK1",
                "0a0a",
                Secret("secret-lock"),
                source="register",
                model_id="M",
                installer="li",
            )
        assert "busy in another program" in str(caught.value)
        assert store.record_for_sn("LOCK1") is None  # reading still works under WAL
        other.execute("ROLLBACK")
    finally:
        other.close()
    store.reserve(
        "LOCK1", "0a0a", Secret("secret-lock"), source="register", model_id="M", installer="li"
    )


def test_garbage_file_is_reported_as_damaged(tmp_path: Path) -> None:
    path = tmp_path / "installer.db"
    path.write_bytes(os.urandom(8192))
    with pytest.raises(CorruptStore) as caught:
        Store.open(path, SecretCipher.generate())
    assert "The database file is damaged" in str(caught.value) and str(path) in str(caught.value)


def test_damaged_page_is_found_at_open(store_factory: StoreFactory, tmp_path: Path) -> None:
    store = store_factory()
    for i in range(200):
        store.reserve(
            f"PAGE{i}",
            f"{i:08x}",
            Secret(f"secret-{i:04d}"),
            source="register",
            model_id="M",
            installer="li",
        )
    path = store.path
    store.close()
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    for page in range(1, len(data) // page_size):
        start = page * page_size
        data[start : start + page_size] = b"\xff" * page_size  # wipe every page but the first
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptStore):
        Store.open(path, SecretCipher.generate())


def test_another_key_is_refused_before_anything_is_stored(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    store = store_factory()
    path = store.path
    store.close()
    with pytest.raises(WrongKey) as caught:
        Store.open(path, SecretCipher.generate())
    assert "does not match the database" in str(caught.value)


def test_unusable_location(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreUnavailable):
        Store.open(blocker / "installer.db", SecretCipher.generate())


# -- migrations --------------------------------------------------------------------------------


def table_names(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    finally:
        conn.close()
    return {r[0] for r in rows}


def test_version_0_file_is_migrated_to_current(tmp_path: Path) -> None:
    path = tmp_path / "installer.db"
    sqlite3.connect(path).close()  # an empty database: schema version 0
    assert table_names(path) == set()
    with Store.open(path, SecretCipher.generate()) as store:
        assert store.schema_version() == SCHEMA_VERSION
    assert {"credentials", "events", "pending_registrations", "schema_version", "meta"} <= (
        table_names(path)
    )


def test_reopening_does_not_migrate_again(store_factory: StoreFactory) -> None:
    first = store_factory()
    first.reserve(
        "KEEP1", "0b0b", Secret("secret-k1"), source="partner", model_id="M", installer="li"
    )
    first.close()
    again = store_factory()
    assert again.schema_version() == SCHEMA_VERSION
    assert again.record_for_sn("KEEP1") is not None


def test_a_later_migration_keeps_the_data(store_factory: StoreFactory) -> None:
    first = store_factory()
    first.reserve(
        "KEEP2", "0c0c", Secret("secret-k2"), source="partner", model_id="M", installer="li"
    )
    first.close()
    step = (
        "ALTER TABLE credentials ADD COLUMN note TEXT;\n"
        "CREATE INDEX credentials_note ON credentials (note);"
    )
    upgraded = store_factory(migrations=(*MIGRATIONS, step))
    assert upgraded.schema_version() == SCHEMA_VERSION + 1
    record = upgraded.record_for_sn("KEEP2")
    assert record is not None and upgraded.secret_for("KEEP2").reveal() == "secret-k2"


def test_a_failing_migration_changes_nothing(store_factory: StoreFactory) -> None:
    first = store_factory()
    path = first.path
    first.close()
    broken = "CREATE TABLE half_done (a INTEGER);\nINSERT INTO no_such_table VALUES (1);"
    with pytest.raises(StoreError):
        store_factory(migrations=(*MIGRATIONS, broken))
    assert "half_done" not in table_names(path)
    assert store_factory().schema_version() == SCHEMA_VERSION


def test_a_file_from_a_newer_app_is_refused_untouched(store_factory: StoreFactory) -> None:
    first = store_factory()
    path = first.path
    first.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE schema_version SET version = 99")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreTooNew) as caught:
        store_factory()
    assert "newer version of the app (schema 99" in str(caught.value)
    assert path.read_bytes() == before


def test_a_schema_1_file_gains_the_seed_marker_and_keeps_its_rows(
    store_factory: StoreFactory,
) -> None:
    from installer_app.store.inventory import InventoryRow, ParsedInventory

    old = store_factory(migrations=MIGRATIONS[:1])
    row = InventoryRow(row=2, sn="OLD1", secret_no=Secret("secret-o1"), model_id="M", qr_code=None)
    assert old.import_inventory(ParsedInventory(Path("x.csv"), (row,), ()), installer="a").ok
    old.close()
    store = store_factory()
    assert store.schema_version() == SCHEMA_VERSION >= 2
    record = store.record_for_sn("OLD1")
    # Rows from before secret_mode existed hold the device's own SecretNo.
    assert record is not None and record.seed_credential is False
    assert store.secret_for("OLD1").reveal() == "secret-o1"


def test_seed_credentials_are_marked_when_they_go_to_a_board(store_factory: StoreFactory) -> None:
    from installer_app.store.inventory import InventoryRow, ParsedInventory

    store = store_factory()
    seeded = store.reserve(
        "SEED1", "0e0e", Secret("seed-x"), source="register", model_id="M", installer="a", seed=True
    )
    assert seeded.seed_credential is True
    own = store.reserve(
        "OWN1", "0f0f", Secret("own-x"), source="register", model_id="M", installer="a"
    )
    assert own.seed_credential is False
    rows = tuple(
        InventoryRow(row=i + 2, sn=sn, secret_no=Secret("seed-y"), model_id="M", qr_code=None)
        for i, sn in enumerate(("INVA", "INVB"))
    )
    assert store.import_inventory(ParsedInventory(Path("x.csv"), rows, ()), installer="a").ok
    taken = store.take_from_inventory("1a1a", model_id="M", installer="a", seed=True)
    assert taken is not None and taken.seed_credential is True
    plain = store.take_from_inventory("1b1b", model_id="M", installer="a")
    assert plain is not None and plain.seed_credential is False
    assert store.record_for_sn("SEED1").seed_credential is True  # type: ignore[union-attr]


def test_a_schema_1_file_gains_the_location_column_and_keeps_its_rows(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    # A file as the previous release left it: schema 1, one board.
    path = tmp_path / "v1" / "installer.db"
    path.parent.mkdir()
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, path, MIGRATIONS[:1])
    conn.execute(
        "INSERT INTO credentials (sn, secret_no_enc, source, hw_id, stage, created_at, "
        "updated_at) VALUES ('LOC9', x'00', 'partner', '0d0d', 'reserved', ?, ?)",
        ("2026-11-30T01:00:00+00:00", "2026-11-30T01:00:00+00:00"),
    )
    conn.close()
    upgraded = store_factory(path)
    assert upgraded.schema_version() == SCHEMA_VERSION == 5
    record = upgraded.record_for_sn("LOC9")
    assert record is not None and record.location is None
    moved = upgraded.set_location("LOC9", "  3F-301\t前台  ", installer="li")
    assert moved.location == "3F-301 前台"  # whitespace folded: one line of plain text
    assert upgraded.events_for("LOC9")[-1].what == "location"
    assert upgraded.set_location("LOC9", "x" * 500, installer="li").location == "x" * 200
    assert upgraded.set_location("LOC9", "   ", installer="li").location is None


def test_a_schema_3_file_gains_the_outbox_and_sends_only_what_team_mode_records(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    # A file as the previous release left it: schema 3, one board with its history.
    path = tmp_path / "v3" / "installer.db"
    path.parent.mkdir()
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, path, MIGRATIONS[:3])
    conn.execute(
        "INSERT INTO credentials (sn, secret_no_enc, source, hw_id, stage, created_at, "
        "updated_at) VALUES ('OLD1', x'00', 'register', '0e0e', 'reserved', ?, ?)",
        ("2026-11-30T01:00:00+00:00", "2026-11-30T01:00:00+00:00"),
    )
    conn.execute(
        "INSERT INTO events (sn, hw_id, what, time) VALUES ('OLD1', '0e0e', 'reserved', ?)",
        ("2026-11-30T01:00:00+00:00",),
    )
    conn.close()
    store = store_factory(path)
    assert store.schema_version() == SCHEMA_VERSION
    record = store.record_for_sn("OLD1")
    assert record is not None and record.lease_id is None
    store.advance("OLD1", "written", installer="li")
    assert store.outbox_counts().pending == 0  # direct mode: nothing goes to the outbox
    store.enable_outbox()
    store.advance("OLD1", "verified", installer="li")
    batch = store.outbox_batch(10)
    assert [(e.sn, e.what) for e in batch] == [("OLD1", "verified")]
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", batch[0].event_id
    )
    store.outbox_done([batch[0].event_id], {})
    assert store.outbox_counts() == OutboxCounts(pending=0, sent=1, refused=0)
    assert store.sync_state_for("OLD1") == "sent"


def test_a_schema_4_file_sends_skips_of_boards_with_an_sn(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    path = tmp_path / "v4" / "installer.db"
    path.parent.mkdir()
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, path, MIGRATIONS[:4])
    conn.close()
    store = store_factory(path)
    assert store.schema_version() == SCHEMA_VERSION == 5
    store.enable_outbox()
    store.reserve("SKIP1", "0f0f", Secret("s"), source="partner", model_id="m", installer="li")
    store.mark_skipped("0f0f", installer="li")
    store.mark_skipped("0d0d", installer="li")  # no SN: stays on this laptop
    sent = [(e.sn, e.what) for e in store.outbox_batch(10)]
    assert sent == [("SKIP1", "reserved"), ("SKIP1", "skipped")]
    assert wire_event(store.outbox_batch(10)[-1], "li")["outcome"] == "skipped"
