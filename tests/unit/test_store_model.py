"""Pure pieces of the store: stage order, identifiers, schema splitting, history rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from installer_app.formats import normalize_hw_id, require_sn
from installer_app.store.history import HISTORY_COLUMNS, _csv_cell, record_to_dict
from installer_app.store.records import STAGE_ORDER, DeviceRecord, Source, Stage
from installer_app.store.schema import MIGRATIONS, split_statements


def test_stage_order_is_the_lifecycle() -> None:
    assert [s.value for s in STAGE_ORDER] == [
        "free",
        "reserved",
        "written",
        "verified",
        "committed",
        "bound",
        "app_installed",
    ]
    assert [s.rank for s in STAGE_ORDER] == list(range(7))


def test_hw_id_is_lower_case_hex() -> None:
    assert normalize_hw_id(" 0A1B2c3D ") == "0a1b2c3d"
    for bad in ("", "0g", "abc", "0x12", "12 34"):
        with pytest.raises(ValueError):
            normalize_hw_id(bad)


def test_sn_rule() -> None:
    assert require_sn("WXA2000012345") == "WXA2000012345"
    for bad in ("", "A-1", "A 1", "A" * 129, "设备"):
        with pytest.raises(ValueError):
            require_sn(bad)


def test_schema_statements_keep_trigger_bodies_whole() -> None:
    statements = split_statements(MIGRATIONS[0])
    triggers = [s for s in statements if s.startswith("CREATE TRIGGER")]
    assert len(triggers) == 6
    assert all(t.rstrip().endswith("END;") for t in triggers)
    with pytest.raises(ValueError):
        split_statements("CREATE TABLE t (a")


def test_history_row_has_every_column_and_no_secret_field() -> None:
    moment = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    record = DeviceRecord(
        sn="SN1",
        hw_id="0a0b",
        model_id="WX-ATT-200",
        qr_code=None,
        source=Source.INVENTORY,
        stage=Stage.BOUND,
        corpid="ww1",
        corp_name="测试企业",
        agentid=None,
        installer="li",
        created_at=moment,
        updated_at=moment,
        bound_at=moment,
    )
    row = record_to_dict(record)
    assert tuple(row) == HISTORY_COLUMNS
    assert row["bound_at"] == "2026-11-28T08:00:00+00:00" and row["written_at"] is None
    assert not any("secret" in name for name in DeviceRecord.__dataclass_fields__)
    assert record.reached(Stage.COMMITTED) and not record.reached(Stage.APP_INSTALLED)
    assert record.time_of(Stage.BOUND) == moment


def test_csv_cells_cannot_become_formulas() -> None:
    assert _csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _csv_cell("@SUM") == "'@SUM" and _csv_cell("-1") == "'-1"
    assert _csv_cell("测试企业") == "测试企业" and _csv_cell(None) == "" and _csv_cell(7) == "7"
