"""``installer-app server ...`` against a real database, through the CLI's main()."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from installer_app.cli import main
from tests.server.conftest import SERVER_KEY


def test_migrate_add_installer_installers_revoke(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--data-dir", str(tmp_path), "--database-url", db_url]
    assert main(["server", "migrate", *common]) == 0
    assert main(["server", "add-installer", "zhang", "--json", *common]) == 0
    created = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert created["installer"] == "zhang" and created["role"] == "installer"
    assert len(created["token"]) >= 40
    assert main(["server", "add-installer", "zhang", *common]) == 2  # the name is taken
    assert main(["server", "revoke", "zhang", *common]) == 0
    capsys.readouterr()
    assert main(["server", "installers", "--json", *common]) == 0
    listed = json.loads(capsys.readouterr().out.strip())
    assert listed["installer"] == "zhang" and listed["active"] is False
    with psycopg.connect(db_url) as conn:
        dump = repr(conn.execute("SELECT * FROM installers").fetchall())
    assert created["token"] not in dump


def test_import_seals_the_secret_and_export_has_no_secret(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INSTALLER_SERVER_KEY", SERVER_KEY)
    inventory = tmp_path / "export.csv"
    inventory.write_text(
        "设备SN,调用凭证,型号ID\nSNA0001,cleartextsecret0001,WX-ATT-200\n"
        "SNA0002,cleartextsecret0002,WX-ATT-200\nbad sn!,x,WX-ATT-200\n",
        encoding="utf-8-sig",
    )
    common = ["--data-dir", str(tmp_path), "--database-url", db_url]
    assert main(["server", "import", str(inventory), "--json", *common]) == 1  # one bad row
    report = json.loads(capsys.readouterr().out.strip())
    assert (report["added"], report["duplicates"], len(report["rejected"])) == (2, 0, 1)
    assert main(["server", "import", str(inventory), "--json", *common]) == 1
    assert json.loads(capsys.readouterr().out.strip())["duplicates"] == 2
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT secret_sealed FROM credentials").fetchall()
    assert all(b"cleartextsecret" not in bytes(r[0]) for r in rows)
    out = tmp_path / "devices.csv"
    assert main(["server", "export", "-o", str(out), *common]) == 0
    assert out.read_text(encoding="utf-8").startswith("device_sn,hw_id,model_id")


def test_serve_without_the_server_key_names_it(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("INSTALLER_SERVER_KEY", raising=False)
    config = tmp_path / "s.toml"
    config.write_text('[server]\nmodel_ids = ["WX-ATT-200"]\n')
    assert (
        main(
            [
                "serve",
                "--config",
                str(config),
                "--database-url",
                db_url,
                "--data-dir",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "INSTALLER_SERVER_KEY" in capsys.readouterr().err
    monkeypatch.setenv("INSTALLER_SERVER_KEY", "short")
    assert (
        main(
            [
                "serve",
                "--config",
                str(config),
                "--database-url",
                db_url,
                "--data-dir",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "INSTALLER_SERVER_KEY" in capsys.readouterr().err


@pytest.mark.parametrize(
    "where",
    [
        ["--config", "{c}", "server", "installers"],
        ["server", "--config", "{c}", "installers"],
        ["server", "installers", "--config", "{c}"],
    ],
)
def test_config_before_or_after_the_subcommand_words(
    db_url: str, tmp_path: Path, where: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "server.toml"
    config.write_text(f'[server]\ndatabase_url = "{db_url}"\n')
    args = [a.format(c=config) for a in where]
    assert main([*args, "--data-dir", str(tmp_path)]) == 0, capsys.readouterr().err
