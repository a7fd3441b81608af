"""``installer-app history`` as a separate process: text, JSON lines and the CSV for Excel."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from installer_app.secrets import Secret
from installer_app.store import SecretCipher, Stage, Store
from installer_app.store.history import HISTORY_COLUMNS

REPO = Path(__file__).resolve().parents[2]
SECRET_A, SECRET_B = "Hq3-history-secret-A1", "Hq3-history-secret-B2"


def cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "installer_app", *args, "--data-dir", str(data_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "INSTALLER_LANG": "en"},
    )


def seed(data_dir: Path, key_file: Path) -> None:
    with Store.open(data_dir / "installer.db", SecretCipher.from_key_file(key_file)) as store:
        store.reserve(
            "WXA1",
            "0a0b0c0d",
            Secret(SECRET_A),
            source="register",
            model_id="WX-ATT-200",
            installer="李工",
        )
        store.advance("WXA1", Stage.COMMITTED, installer="李工")
        store.advance("WXA1", Stage.BOUND, installer="李工", corpid="ww01", corp_name="=北京测试")
        store.advance("WXA1", Stage.APP_INSTALLED, installer="李工", agentid=1000002)
        store.reserve(
            "WXB2",
            "1a1b1c1d",
            Secret(SECRET_B),
            source="partner",
            model_id="WX-DOOR-100",
            installer="wang",
        )


def test_history_csv_opens_in_excel_with_chinese(key_file: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    seed(data, key_file)
    out = tmp_path / "history.csv"
    result = cli("history", "--csv", str(out), data_dir=data)
    assert result.returncode == 0, result.stderr
    assert f"Wrote 2 boards to {out}." in result.stdout
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert tuple(rows[0]) == HISTORY_COLUMNS
    by_sn = {r["device_sn"]: r for r in rows}
    bound = by_sn["WXA1"]
    assert (bound["stage"], bound["corpid"], bound["agentid"], bound["installer"]) == (
        "app_installed",
        "ww01",
        "1000002",
        "李工",
    )
    assert bound["corp_name"] == "'=北京测试"  # not a formula in Excel
    assert bound["hw_id"] == "0a0b0c0d" and bound["written_at"] == ""
    assert bound["bound_at"].endswith("+00:00") and bound["reserved_at"]
    assert by_sn["WXB2"]["source"] == "partner"
    for secret in (SECRET_A, SECRET_B):
        assert secret.encode() not in raw and secret not in result.stdout


def test_history_json_lines_search_and_text(key_file: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    seed(data, key_file)
    result = cli("history", "--json", data_dir=data)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(x["event"], x["device_sn"]) for x in lines] == [("device", "WXB2"), ("device", "WXA1")]
    found = cli("history", "--json", "--search", "北京", data_dir=data)
    assert [json.loads(line)["device_sn"] for line in found.stdout.splitlines()] == ["WXA1"]
    text = cli("history", "--search", "wang", data_dir=data)
    assert "WXB2" in text.stdout and "WXA1" not in text.stdout and "reserved" in text.stdout
    for output in (result.stdout, text.stdout):
        assert SECRET_A not in output and SECRET_B not in output


def test_history_empty_and_usage_errors(key_file: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    empty = cli("history", data_dir=data)
    assert empty.returncode == 0 and "No boards in the history yet." in empty.stdout
    both = cli("history", "--json", "--csv", str(tmp_path / "x.csv"), data_dir=data)
    assert both.returncode == 2
    unwritable = cli("history", "--csv", str(tmp_path / "no" / "such" / "h.csv"), data_dir=data)
    assert unwritable.returncode == 2 and "Cannot write" in unwritable.stderr
    assert "Traceback" not in unwritable.stderr
