"""The credential store on real SQLite files: lifecycle, exactly-once rules, import, secrecy."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from installer_app.secrets import Secret
from installer_app.store import (
    DeviceRecord,
    HwIdConflict,
    ImportReport,
    SecretCipher,
    SnConflict,
    Source,
    Stage,
    StageOrderError,
    Store,
    UnknownSn,
)
from installer_app.store.inventory import parse_inventory
from tests.fixtures.store import InventoryWriter, StoreFactory

HW1, HW2 = "a1b2c3d4e5f60718", "0011223344556677"
SECRET1 = Secret("8f14e45fceea167a5a36dedd4bea2543")
SECRET2 = Secret("c9f0f895fb98ab9159f51fd0297e236d")


def reserve(
    store: Store, sn: str = "WXA200A1B2C3D4", hw_id: str = HW1, secret: Secret = SECRET1
) -> DeviceRecord:
    return store.reserve(
        sn, hw_id, secret, source=Source.REGISTER, model_id="WX-ATT-200", installer="li"
    )


def test_full_lifecycle_with_times_installers_and_events(store: Store) -> None:
    record = reserve(store)
    assert (record.stage, record.hw_id, record.source) == (Stage.RESERVED, HW1, Source.REGISTER)
    assert record.reserved_at is not None and record.written_at is None
    store.advance(record.sn, Stage.WRITTEN, installer="li")
    store.advance(record.sn, "verified", installer="li")
    store.advance(record.sn, Stage.COMMITTED, installer="wang")
    store.advance(record.sn, Stage.BOUND, installer="wang", corpid="ww123", corp_name="测试企业")
    final = store.advance(record.sn, Stage.APP_INSTALLED, installer="wang", agentid=1000002)
    assert final.stage is Stage.APP_INSTALLED
    assert (final.corpid, final.corp_name, final.agentid) == ("ww123", "测试企业", 1000002)
    assert final.installer == "wang"
    times = [final.time_of(s) for s in list(Stage)[1:]]
    assert all(t is not None for t in times)
    assert times == sorted(t for t in times if t is not None)
    events = store.events_for(record.sn.lower())
    assert [(e.what, e.installer) for e in events] == [
        ("reserved", "li"),
        ("written", "li"),
        ("verified", "li"),
        ("committed", "wang"),
        ("bound", "wang"),
        ("app_installed", "wang"),
    ]
    assert events[4].detail == "corpid=ww123 corp_name=测试企业"
    assert store.secret_for(record.sn) == SECRET1


def test_records_survive_reopening(store_factory: StoreFactory, tmp_path: Path) -> None:
    first = store_factory()
    reserve(first)
    first.advance("WXA200A1B2C3D4", Stage.WRITTEN, installer="li")
    first.close()
    again = store_factory()
    record = again.record_for_hw_id(HW1.upper())
    assert record is not None and record.stage is Stage.WRITTEN
    assert again.secret_for("wxa200a1b2c3d4") == SECRET1


def test_sn_lookup_is_case_insensitive_and_keeps_the_issued_case(store: Store) -> None:
    reserve(store, sn="WXaBc123")
    record = store.record_for_sn("wxabc123")
    assert record is not None and record.sn == "WXaBc123"
    with pytest.raises(SnConflict):
        reserve(store, sn="WXABC123", hw_id=HW2)


def test_reserve_is_idempotent_for_the_same_board_and_secret(store: Store) -> None:
    first = reserve(store)
    store.advance(first.sn, Stage.COMMITTED, installer="li")
    again = reserve(store)
    assert again.stage is Stage.COMMITTED  # a retry does not reset anything
    assert [e.what for e in store.events_for(first.sn)] == ["reserved", "committed"]


def test_an_sn_never_goes_to_a_second_board(store: Store) -> None:
    reserve(store)
    with pytest.raises(SnConflict) as caught:
        reserve(store, hw_id=HW2)
    assert caught.value.held_by == HW1 and caught.value.wanted_by == HW2
    assert "already assigned to board a1b2c3d4e5f60718" in str(caught.value)
    assert store.record_for_hw_id(HW2) is None


def test_same_sn_same_board_other_secret_is_a_conflict(store: Store) -> None:
    reserve(store)
    with pytest.raises(SnConflict) as caught:
        reserve(store, secret=SECRET2)
    assert "another SecretNo" in str(caught.value)
    assert store.secret_for("WXA200A1B2C3D4") == SECRET1


def test_a_board_holds_one_sn(store: Store) -> None:
    reserve(store)
    with pytest.raises(HwIdConflict) as caught:
        reserve(store, sn="OTHER1", secret=SECRET2)
    assert caught.value.held_sn == "WXA200A1B2C3D4"
    assert store.record_for_sn("OTHER1") is None


def test_stages_only_move_forward(store: Store) -> None:
    sn = reserve(store).sn
    store.advance(sn, Stage.VERIFIED, installer="li")  # skipping is allowed (a resumed board)
    same = store.advance(sn, Stage.VERIFIED, installer="someone else")
    assert same.installer == "li"  # a repeat is a no-op
    with pytest.raises(StageOrderError):
        store.advance(sn, Stage.WRITTEN, installer="li")
    with pytest.raises(StageOrderError):
        store.advance(sn, Stage.FREE, installer="li")
    with pytest.raises(UnknownSn):
        store.advance("NOPE1", Stage.WRITTEN, installer="li")
    with pytest.raises(ValueError):
        store.advance(sn, Stage.BOUND, installer="li")  # bound needs the corpid
    assert [e.what for e in store.events_for(sn)] == ["reserved", "verified"]


def test_the_database_itself_refuses_what_the_rules_forbid(store: Store) -> None:
    """Triggers and indexes hold even for a program that bypasses the Store class."""
    sn = reserve(store).sn
    store.advance(sn, Stage.COMMITTED, installer="li")
    raw = sqlite3.connect(store.path, isolation_level=None)
    try:
        refused = [
            ("UPDATE credentials SET hw_id = ? WHERE sn = ?", (HW2, sn)),
            ("UPDATE credentials SET stage = 'written' WHERE sn = ?", (sn,)),
            ("UPDATE credentials SET secret_no_enc = x'00' WHERE sn = ?", (sn,)),
            ("DELETE FROM credentials WHERE sn = ?", (sn,)),
            ("UPDATE events SET what = 'x'", ()),
            ("DELETE FROM events", ()),
            (
                "INSERT INTO credentials (sn, secret_no_enc, source, hw_id, stage, created_at, "
                "updated_at) VALUES ('OTHER2', x'00', 'register', ?, 'reserved', 'now', 'now')",
                (HW1,),
            ),
            (
                "INSERT INTO credentials (sn, secret_no_enc, source, hw_id, stage, created_at, "
                "updated_at) VALUES (?, x'00', 'register', ?, 'reserved', 'now', 'now')",
                (sn.lower(), HW2),
            ),
        ]
        for sql, params in refused:
            with pytest.raises(sqlite3.IntegrityError):
                raw.execute(sql, params)
    finally:
        raw.close()
    record = store.record_for_sn(sn)
    assert record is not None and (record.hw_id, record.stage) == (HW1, Stage.COMMITTED)


def test_mark_failed_is_an_event_not_a_stage(store: Store) -> None:
    sn = reserve(store).sn
    store.mark_failed(sn, "VERIFY proof mismatch; secret_no=abcdef123", installer="li")
    store.mark_failed("NEVERSEEN1", "add_device refused", hw_id=HW2.upper())
    record = store.record_for_sn(sn)
    assert record is not None and record.stage is Stage.RESERVED
    failed = store.events_for(sn)[-1]
    assert (failed.what, failed.hw_id, failed.installer) == ("failed", HW1, "li")
    assert failed.detail is not None and "abcdef123" not in failed.detail
    assert store.events_for("NEVERSEEN1")[0].hw_id == HW2


def test_pending_registration_survives_until_reserved(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.begin_registration("WXA2000011", HW1, "WX-ATT-200")
    store.begin_registration("WXA2000011", HW1, "WX-ATT-200")  # idempotent
    with pytest.raises(SnConflict):
        store.begin_registration("WXA2000011", HW2, "WX-ATT-200")
    store.close()  # "crash" between add_device and the store recording the SecretNo
    store = store_factory()
    pending = store.pending_registrations()
    assert [(p.sn, p.hw_id, p.model_id) for p in pending] == [("WXA2000011", HW1, "WX-ATT-200")]
    reserve(store, sn="WXA2000011")
    assert store.pending_registrations() == []
    store.begin_registration("WXA2000011", HW1, "WX-ATT-200")  # held by this board: nothing noted
    assert store.pending_registrations() == []
    with pytest.raises(SnConflict):
        store.begin_registration("WXA2000011", HW2, "WX-ATT-200")


def test_abandoned_registration_is_recorded(store: Store) -> None:
    store.begin_registration("WXA2000022", HW2, "WX-ATT-200")
    store.finish_registration("WXA2000022")
    store.finish_registration("WXA2000022")
    assert store.pending_registrations() == []
    assert [e.what for e in store.events_for("WXA2000022")] == [
        "registration_started",
        "registration_abandoned",
    ]


def seed_inventory(
    store: Store, write_inventory: InventoryWriter, rows: list[tuple[str, ...]]
) -> ImportReport:
    report = store.import_inventory(parse_inventory(write_inventory(rows)), installer="admin")
    assert report.ok
    return report


def test_take_from_inventory(store: Store, write_inventory: InventoryWriter) -> None:
    seed_inventory(
        store,
        write_inventory,
        [
            ("INV1", "secret-01", "WX-DOOR-100", ""),
            (
                "INV2",
                "secret-02",
                "",
                "https://open.work.weixin.qq.com/connect/hardware?hw_code=qr2",
            ),
            ("INV3", "secret-03", "WX-ATT-200", ""),
        ],
    )
    first = store.take_from_inventory(HW1, model_id="WX-ATT-200", installer="li")
    assert first is not None and (first.sn, first.stage, first.hw_id) == ("INV3", "reserved", HW1)
    # the same board asking again gets the same credential
    again = store.take_from_inventory(HW1.upper(), model_id="WX-ATT-200", installer="li")
    assert again is not None and again.sn == "INV3"
    second = store.take_from_inventory(HW2, model_id="WX-ATT-200", installer="li")
    assert second is not None and second.sn == "INV2"  # no model: fits any, after exact ones
    assert second.qr_code == "https://open.work.weixin.qq.com/connect/hardware?hw_code=qr2"
    assert store.take_from_inventory("ffff", model_id="WX-ATT-200", installer="li") is None
    assert store.secret_for("INV2") == Secret("secret-02")
    stats = store.inventory_stats()
    assert (stats.total, stats.free, stats.assigned) == (3, 1, 2)
    assert stats.by_stage["reserved"] == 2
    assert store.inventory_stats("WX-DOOR-100").free == 1
    events = store.events_for("INV3")
    assert [(e.what, e.installer) for e in events] == [("imported", "admin"), ("reserved", "li")]


def test_free_credential_reserved_explicitly_keeps_its_secret(
    store: Store, write_inventory: InventoryWriter
) -> None:
    seed_inventory(store, write_inventory, [("INV1", "secret-01", "", "")])
    with pytest.raises(SnConflict):
        reserve(store, sn="INV1", secret=SECRET1)
    record = store.reserve(
        "inv1", HW1, Secret("secret-01"), source="inventory", model_id=None, installer="li"
    )
    assert (record.sn, record.source, record.hw_id) == ("INV1", Source.INVENTORY, HW1)


def test_import_is_all_or_nothing_and_counts_duplicates(
    store: Store, write_inventory: InventoryWriter
) -> None:
    seed_inventory(store, write_inventory, [("INV1", "secret-01", "", "")])
    mixed = parse_inventory(
        write_inventory(
            [
                ("INV1", "secret-01", "", ""),  # same secret: a duplicate of the earlier import
                ("INV2", "secret-02", "", ""),
                ("inv1", "secret-xx", "", ""),  # duplicate in the file (rejected by parsing)
            ]
        )
    )
    report = store.import_inventory(mixed, installer="admin")
    assert not report.ok and report.imported == 0
    assert [r.row for r in report.rejected] == [4]
    assert store.record_for_sn("INV2") is None

    clash = parse_inventory(
        write_inventory([("INV3", "secret-03", "", ""), ("INV1", "other-secret", "", "")])
    )
    report = store.import_inventory(clash, installer="admin")
    assert [(r.row, r.reason.english()) for r in report.rejected] == [
        (3, "SN INV1 is already in the store with another SecretNo")
    ]
    assert store.record_for_sn("INV3") is None and store.secret_for("INV1") == Secret("secret-01")

    good = parse_inventory(
        write_inventory([("INV1", "secret-01", "", ""), ("INV4", "secret-04", "M", "")])
    )
    report = store.import_inventory(good, installer="admin")
    assert (report.ok, report.imported, report.duplicates) == (True, 1, 1)
    assert store.inventory_stats().total == 2


def test_history_search_and_order(store: Store, write_inventory: InventoryWriter) -> None:
    seed_inventory(store, write_inventory, [("INV1", "secret-01", "", "")])
    reserve(store, sn="WXA1", hw_id=HW1)
    store.advance("WXA1", Stage.BOUND, installer="li", corpid="ww1", corp_name="北京测试_100%")
    reserve(store, sn="WXA2", hw_id=HW2, secret=SECRET2)
    assert [r.sn for r in store.history()] == ["WXA2", "WXA1"]  # latest change first
    assert [r.sn for r in store.history(include_free=True)][-1] == "INV1"
    assert [r.sn for r in store.history("北京")] == ["WXA1"]
    assert [r.sn for r in store.history("_100%")] == ["WXA1"]  # wildcards are literal
    assert [r.sn for r in store.history("0011")] == ["WXA2"]  # by HW_ID
    assert [r.sn for r in store.history("wxa1")] == ["WXA1"]
    assert [r.sn for r in store.history("LI")] == ["WXA2", "WXA1"]  # by installer
    assert store.history("nothing-like-it") == []
    assert len(store.history(limit=1)) == 1


def test_injected_clock_sets_every_time(store_factory: StoreFactory) -> None:
    now = [datetime(2026, 1, 1, 8, 0, tzinfo=UTC)]

    def clock() -> datetime:
        now[0] += timedelta(minutes=1)
        return now[0]

    store = store_factory(clock=clock)
    record = reserve(store)
    assert record.reserved_at == datetime(2026, 1, 1, 8, 1, tzinfo=UTC)
    record = store.advance(record.sn, Stage.WRITTEN, installer="li")
    assert record.written_at == record.updated_at == datetime(2026, 1, 1, 8, 2, tzinfo=UTC)


def test_no_secret_in_clear_in_the_database_files_or_logs(
    store_factory: StoreFactory, write_inventory: InventoryWriter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = ["Zq7-register-secret-0001", "Zq7-inventory-secret-0002", "Zq7-partner-secret-03"]
    store = store_factory()
    store.reserve("REG1", HW1, Secret(secrets[0]), source="register", model_id="M", installer="li")
    store.import_inventory(
        parse_inventory(write_inventory([("INV1", secrets[1], "M", "")])), installer="li"
    )
    store.reserve("PAR1", HW2, Secret(secrets[2]), source="partner", model_id="M", installer="li")
    store.take_from_inventory("ffee", model_id="M", installer="li")
    store.advance("REG1", Stage.WRITTEN, installer="li")
    assert store.secret_for("INV1").reveal() == secrets[1]
    files = [store.path, Path(f"{store.path}-wal"), Path(f"{store.path}-shm")]
    assert Path(f"{store.path}-wal").stat().st_size > 0  # the data really is in the WAL now
    contents = b"".join(p.read_bytes() for p in files if p.exists())
    store.close()
    contents += store.path.read_bytes()  # and after the checkpoint at close
    for secret in secrets:
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            assert secret.encode(encoding) not in contents
        assert secret not in caplog.text
    assert b"REG1" in contents  # the SNs are there: the check looks at the right bytes


def test_db_file_is_private(store: Store) -> None:
    import os
    import stat

    if os.name == "posix":
        assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_a_second_store_on_the_same_file_sees_the_changes(store_factory: StoreFactory) -> None:
    one, two = store_factory(), store_factory()
    reserve(one)
    assert two.record_for_hw_id(HW1) is not None
    with pytest.raises(SnConflict):
        reserve(two, hw_id=HW2)


def test_a_ciphertext_moved_to_another_row_does_not_open(store: Store) -> None:
    from installer_app.store import WrongKey

    reserve(store, sn="AAA1", hw_id=HW1, secret=SECRET1)
    reserve(store, sn="BBB2", hw_id=HW2, secret=SECRET2)
    raw = sqlite3.connect(store.path, isolation_level=None)
    try:
        raw.execute("DROP TRIGGER credentials_identity_is_fixed")  # an attacker with the file
        raw.execute(
            "UPDATE credentials SET secret_no_enc = "
            "(SELECT secret_no_enc FROM credentials WHERE sn = 'AAA1') WHERE sn = 'BBB2'"
        )
    finally:
        raw.close()
    with pytest.raises(WrongKey):
        store.secret_for("BBB2")


def test_cipher_fixture_uses_the_key_file(key_file: Path, store: Store) -> None:
    assert key_file.exists()
    assert SecretCipher.from_key_file(key_file).origin == f"file:{key_file}"
