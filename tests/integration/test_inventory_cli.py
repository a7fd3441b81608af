"""``installer-app inventory import|stats`` as a separate process, on a real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.fixtures.store import CHINESE_HEADERS, InventoryWriter

REPO = Path(__file__).resolve().parents[2]
SECRETS = ["Kx9-first-secret-0001", "Kx9-second-secret-002", "Kx9-third-secret-0003"]


def cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "installer_app", *args, "--data-dir", str(data_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "INSTALLER_LANG": "en"},
    )


def no_secret_anywhere(result: subprocess.CompletedProcess[str], data_dir: Path) -> str:
    logs = "".join(p.read_text("utf-8") for p in (data_dir / "logs").glob("*.log*"))
    for secret in SECRETS:
        assert secret not in result.stdout and secret not in result.stderr and secret not in logs
    return logs


def test_import_then_stats_then_reimport(
    write_inventory: InventoryWriter, key_file: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    path = write_inventory(
        [("SN0001", SECRETS[0], "WX-ATT-200", ""), ("SN0002", SECRETS[1], "WX-DOOR-100", "")],
        bom=True,
    )
    first = cli("inventory", "import", str(path), "-v", data_dir=data)
    assert first.returncode == 0, first.stderr
    assert "Imported 2 credentials" in first.stdout and "0 were already" in first.stdout
    assert key_file.exists() and (data / "installer.db").exists()

    stats = cli("inventory", "stats", "--json", data_dir=data)
    assert stats.returncode == 0, stats.stderr
    counts = json.loads(stats.stdout)
    assert (counts["event"], counts["total"], counts["free"], counts["assigned"]) == (
        "inventory_stats",
        2,
        2,
        0,
    )
    one_model = json.loads(
        cli("inventory", "stats", "--json", "--model", "WX-ATT-200", data_dir=data).stdout
    )
    assert one_model["total"] == 1

    again = cli("inventory", "import", str(path), "--json", data_dir=data)
    assert again.returncode == 0
    assert json.loads(again.stdout) == {
        "event": "inventory_import",
        "ok": True,
        "file": str(path),
        "imported": 0,
        "duplicates": 2,
        "rejected": [],
    }
    text_stats = cli("inventory", "stats", data_dir=data)
    assert "Inventory: 2 credentials, 2 free, 0 given to boards." in text_stats.stdout
    logs = no_secret_anywhere(first, data)
    assert "imported 2 inventory credentials" in logs  # the log was written and checked


def test_any_rejected_row_imports_nothing_and_exits_2(
    write_inventory: InventoryWriter, key_file: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    path = write_inventory(
        [
            ("SN0001", SECRETS[0], "", ""),
            ("SN 2", SECRETS[1], "", ""),
            ("sn0001", SECRETS[2], "", ""),
            ("SN0004", "", "", ""),
        ],
        name="mixed.tsv",
    )
    result = cli("inventory", "import", str(path), data_dir=data)
    assert result.returncode == 2
    assert "Nothing was imported from" in result.stdout and "3 rows are rejected" in result.stdout
    assert "row 3: SN SN 2 is not valid" in result.stdout
    assert "row 4: SN sn0001 appears again (first on row 2)" in result.stdout
    assert "row 5: SN SN0004 has no SecretNo" in result.stdout
    no_secret_anywhere(result, data)
    as_json = cli("inventory", "import", str(path), "--json", data_dir=data)
    assert as_json.returncode == 2
    report = json.loads(as_json.stdout)
    assert report["ok"] is False and [r["row"] for r in report["rejected"]] == [3, 4, 5]
    stats = json.loads(cli("inventory", "stats", "--json", data_dir=data).stdout)
    assert stats["total"] == 0


def test_already_in_store_with_another_secret_is_rejected(
    write_inventory: InventoryWriter, key_file: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    assert (
        cli(
            "inventory",
            "import",
            str(write_inventory([("SN0001", SECRETS[0], "", "")])),
            data_dir=data,
        ).returncode
        == 0
    )
    other = write_inventory(
        [("SN0009", SECRETS[2], "", ""), ("SN0001", SECRETS[1], "", "")], name="second.csv"
    )
    result = cli("inventory", "import", str(other), data_dir=data)
    assert result.returncode == 2
    assert "row 3: SN SN0001 is already in the store with another SecretNo" in result.stdout
    assert json.loads(cli("inventory", "stats", "--json", data_dir=data).stdout)["total"] == 1


def test_xlsx_with_chinese_headers_and_configured_model(
    write_inventory: InventoryWriter, key_file: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    config = tmp_path / "config.toml"
    config.write_text('[provider]\nmodel_id = "WX-ATT-200"\n', encoding="utf-8")
    path = write_inventory(
        [
            (
                "SN0001",
                SECRETS[0],
                "WX-ATT-200",
                "https://open.work.weixin.qq.com/connect/hardware?hw_code=qr1",
            ),
            ("SN0002", SECRETS[1], "WX-PRN-300", ""),
        ],
        name="导出.xlsx",
        headers=CHINESE_HEADERS,
    )
    result = cli("inventory", "import", str(path), "--config", str(config), data_dir=data)
    assert result.returncode == 2
    assert (
        "row 3: SN SN0002 is for model WX-PRN-300, not the configured WX-ATT-200" in result.stdout
    )
    fixed = write_inventory(
        [
            (
                "SN0001",
                SECRETS[0],
                "WX-ATT-200",
                "https://open.work.weixin.qq.com/connect/hardware?hw_code=qr1",
            )
        ],
        name="导出2.xlsx",
        headers=CHINESE_HEADERS,
    )
    ok = cli("inventory", "import", str(fixed), "--config", str(config), "--json", data_dir=data)
    assert ok.returncode == 0 and json.loads(ok.stdout)["imported"] == 1


def test_a_bad_qr_code_refuses_the_whole_file_naming_its_row(
    write_inventory: InventoryWriter, key_file: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    evil = "https://evil.example\\@open.work.weixin.qq.com/connect/hardware?hw_code=qr1"
    path = write_inventory(
        [("SN0001", SECRETS[0], "", ""), ("SN0002", SECRETS[1], "", evil)], name="qr.csv"
    )
    result = cli("inventory", "import", str(path), data_dir=data)
    assert result.returncode == 2, result.stderr
    assert "row 3: the QR code of SN SN0002 is not usable" in result.stdout
    assert json.loads(cli("inventory", "stats", "--json", data_dir=data).stdout)["total"] == 0


def test_malformed_file_is_one_clear_error(key_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"device_sn,secret_no\nSN1,abc\x80\xff\n")  # neither UTF-8 nor GB18030
    result = cli("inventory", "import", str(path), data_dir=tmp_path / "data")
    assert result.returncode == 2
    assert f"Error: Cannot import {path}: it is not UTF-8, UTF-16 or GB18030" in result.stderr
    assert "CSV UTF-8 (Comma delimited)" in result.stderr
    assert "Traceback" not in result.stderr
    missing = cli("inventory", "import", str(tmp_path / "none.csv"), data_dir=tmp_path / "data")
    assert missing.returncode == 2 and "none.csv" in missing.stderr


def test_no_credential_store_and_no_key_file_refuses(
    write_inventory: InventoryWriter, tmp_path: Path
) -> None:
    # conftest: keyring "fail" backend and no INSTALLER_KEY_FILE (no key_file fixture here)
    path = write_inventory([("SN0001", SECRETS[0], "", "")])
    result = cli("inventory", "import", str(path), data_dir=tmp_path / "data")
    assert result.returncode == 2
    assert (
        "no credential store" in result.stderr and "will not keep device secrets" in result.stderr
    )
    assert "INSTALLER_KEY_FILE" in result.stderr and "[store]" in result.stderr
    assert not (tmp_path / "data" / "installer.db").exists()


def test_key_file_from_the_configuration(write_inventory: InventoryWriter, tmp_path: Path) -> None:
    key = tmp_path / "cfg-key" / "store.key"
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nkey_file = "{key.as_posix()}"\n', encoding="utf-8")
    path = write_inventory([("SN0001", SECRETS[0], "", "")])
    result = cli("inventory", "import", str(path), "--config", str(config), data_dir=tmp_path / "d")
    assert result.returncode == 0, result.stderr
    if os.name == "posix":
        assert key.stat().st_mode & 0o777 == 0o600
        key.chmod(0o644)
        refused = cli("inventory", "stats", "--config", str(config), data_dir=tmp_path / "d")
        assert refused.returncode == 2 and f"chmod 600 {key}" in refused.stderr
