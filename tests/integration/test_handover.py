"""The site handover: which boards a site's package lists (bound, failed and skipped; not another
enterprise's), the CSV and XLSX reading back with the same rows (formula text neutralised), the
PDF in both languages with Chinese rendered, and the ``labels`` / ``handover`` commands headless."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date
from pathlib import Path

import openpyxl
import pytest

from installer_app import i18n
from installer_app.handover.package import write_package
from installer_app.handover.report import report_document
from installer_app.handover.rows import HandoverError, State, collect, require_rows
from installer_app.handover.tables import header, neutralise, table
from installer_app.launch import render_pdf
from installer_app.store import SecretCipher, Store
from tests.fixtures.site import (
    CORP,
    CORP_NAME,
    FORMULA_LOCATION,
    SKIPPED_FRESH_HW,
    embedded_fonts,
    open_site_store,
    pdf_images,
    qr_of,
    qr_texts,
    seed_site,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def site(store_factory: Callable[..., Store]) -> Store:
    store, clock = open_site_store(store_factory)
    seed_site(store, clock)
    return store


def test_handover_lists_bound_failed_and_skipped_boards_of_the_site(site: Store) -> None:
    handover = collect(site, CORP, zone=UTC)
    by_sn = {(r.sn or r.hw_id): r for r in handover.rows}
    assert set(by_sn) == {"A1", "B2", "C3", "D4", SKIPPED_FRESH_HW, "G7", "H8"}
    assert by_sn["A1"].state is State.APP_INSTALLED
    assert by_sn["A1"].location == "3F-301 前台"
    assert by_sn["B2"].state is State.BOUND and by_sn["B2"].app_installed is False
    assert by_sn["C3"].state is State.FAILED and "timed out" in by_sn["C3"].detail
    assert by_sn["D4"].state is State.SKIPPED
    assert by_sn[SKIPPED_FRESH_HW].state is State.SKIPPED and by_sn[SKIPPED_FRESH_HW].sn == ""
    assert by_sn["H8"].state is State.FAILED and by_sn["H8"].installer == "王工"
    assert handover.corp_name == CORP_NAME
    assert handover.installers == ["李工", "王工"]
    counts = handover.counts()
    assert (counts[State.BOUND], counts[State.FAILED], counts[State.SKIPPED]) == (2, 2, 2)


def test_a_date_range_keeps_only_its_days(site: Store) -> None:
    handover = collect(site, CORP, date(2026, 12, 1), date(2026, 12, 1), zone=UTC)
    assert [r.sn for r in handover.rows] == ["G7", "H8"]
    with pytest.raises(HandoverError):
        collect(site, CORP, date(2026, 12, 2), date(2026, 12, 1), zone=UTC)
    with pytest.raises(HandoverError):
        require_rows(collect(site, "ww-nobody", zone=UTC))


def test_csv_and_xlsx_read_back_with_the_same_rows(site: Store, tmp_path: Path) -> None:
    handover = collect(site, CORP, zone=UTC)
    package = write_package(handover, tmp_path / "out", render_pdf)
    expected = [header(), *table(handover)]
    with package.csv.open(encoding="utf-8-sig", newline="") as f:
        assert list(csv.reader(f)) == expected
    workbook = openpyxl.load_workbook(package.xlsx)
    try:
        sheet = workbook.active
        rows = [["" if c.value is None else str(c.value) for c in row] for row in sheet.iter_rows()]
        assert rows == expected
        cells = [c for row in sheet.iter_rows(min_row=2) for c in row if c.value is not None]
        assert cells and all(c.data_type == "s" for c in cells)  # text, never a formula
    finally:
        workbook.close()
    located = {row[2]: row[1] for row in expected[1:]}
    assert located["B2"] == "'" + FORMULA_LOCATION
    assert package.pdf.name.startswith("handover-ww-site-2026-11-30-")


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_formula_characters_are_neutralised(text: str) -> None:
    assert neutralise(text) == "'" + text
    assert neutralise("3F-301") == "3F-301"


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_handover_pdf_in_both_languages_with_chinese_rendered(
    site: Store, tmp_path: Path, language: str
) -> None:
    i18n.install_catalog_translator(language)
    try:
        handover = collect(site, CORP, zone=UTC)
        document = report_document(handover)
        package = write_package(handover, tmp_path, render_pdf)
    finally:
        i18n.set_translator(lambda _c, text: text, "en")
    texts = document.texts()
    if language == "zh_CN":
        assert "现场交接单" in texts and "签名" in texts
    else:
        assert "Site handover" in texts and "Signature" in texts
    assert any(CORP_NAME in t for t in texts)
    assert not package.rendered.missing_cjk_font
    assert any("CJK" in name for name in embedded_fonts(package.pdf))
    pages = pdf_images(package.pdf, dpi=100)
    assert len(pages) == 2  # the cover, then one page of 7 boards
    # The table page has ink in every one of its 8 rows (header + 7 boards).
    assert all(p.getbbox() is not None for p in pages)


def cli(
    *args: str, data_dir: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "installer_app", *args, "--data-dir", str(data_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **{k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")},
            "INSTALLER_LANG": "en",
            **(env or {}),
        },
    )


@pytest.fixture
def site_dir(tmp_path: Path, key_file: Path) -> Path:
    data = tmp_path / "data"

    def factory(**kwargs: object) -> Store:
        return Store.open(data / "installer.db", SecretCipher.from_key_file(key_file), **kwargs)  # type: ignore[arg-type]

    store, clock = open_site_store(factory)
    with store:
        seed_site(store, clock)
    return data


def test_labels_and_handover_commands_work_without_a_display(
    site_dir: Path, tmp_path: Path
) -> None:
    sheet = tmp_path / "sheet.pdf"
    result = cli("labels", "--site", CORP, "-o", str(sheet), data_dir=site_dir)
    assert result.returncode == 0, result.stderr
    assert "Wrote 3 labels" in result.stdout
    assert sorted(qr_texts(pdf_images(sheet)[0])) == sorted(qr_of(s) for s in ("A1", "B2", "G7"))

    zpl = tmp_path / "one.zpl"
    result = cli("labels", "--sn", "B2", "--layout", "zpl", "-o", str(zpl), data_dir=site_dir)
    assert result.returncode == 0, result.stderr
    assert f"^FDMA,{qr_of('B2')}^FS" in zpl.read_text()

    roll = tmp_path / "roll.pdf"
    result = cli(
        "labels",
        "--sn",
        "A1",
        "--sn",
        "G7",
        "--layout",
        "roll",
        "--size",
        "60x40",
        "-o",
        str(roll),
        data_dir=site_dir,
    )
    assert result.returncode == 0, result.stderr
    assert [qr_texts(p) for p in pdf_images(roll)] == [[qr_of("A1")], [qr_of("G7")]]

    # The site's boards were all provisioned on other days.
    result = cli("labels", "--all-today", "-o", str(sheet), data_dir=site_dir)
    assert result.returncode == 2 and "no board was provisioned today" in result.stderr

    result = cli("labels", "--sn", "NOPE9", "-o", str(sheet), data_dir=site_dir)
    assert result.returncode == 2 and "NOPE9" in result.stderr and "Traceback" not in result.stderr

    out = tmp_path / "handover"
    result = cli(
        "handover",
        "--corp",
        CORP,
        "--from",
        "2026-11-30",
        "--to",
        "2026-12-01",
        "-o",
        str(out),
        data_dir=site_dir,
        env={"TZ": "UTC"},
    )
    assert result.returncode == 0, result.stderr
    assert "(7 devices)" in result.stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        f"handover-{CORP}-2026-11-30-2026-12-01.{ext}" for ext in ("csv", "pdf", "xlsx")
    ]

    result = cli(
        "handover", "--corp", CORP, "--from", "yesterday", "-o", str(out), data_dir=site_dir
    )
    assert result.returncode == 2 and "2026-12-01" in result.stderr


def test_without_a_cjk_font_the_command_says_so(site_dir: Path, tmp_path: Path) -> None:
    # A fontconfig that knows no font at all (a bare machine): Qt would draw Chinese as boxes;
    # the files are still written, and the command says what to install.
    (tmp_path / "no-fonts").mkdir()
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        f'<?xml version="1.0"?><fontconfig><dir>{tmp_path / "no-fonts"}</dir>'
        f"<cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>"
    )
    out = tmp_path / "handover"
    result = cli(
        "handover",
        "--corp",
        CORP,
        "-o",
        str(out),
        data_dir=site_dir,
        env={"FONTCONFIG_FILE": str(conf)},
    )
    assert result.returncode == 0, result.stderr
    assert "no font for Chinese" in result.stderr and "fonts-noto-cjk" in result.stderr
    assert len(list(out.iterdir())) == 3


def test_a_long_table_runs_over_pages_and_long_cells_get_taller_rows() -> None:
    from dataclasses import replace
    from datetime import datetime

    from installer_app.handover.report import ROW_H, row_height
    from installer_app.handover.rows import Handover, HandoverRow

    row = HandoverRow(
        sn="A1",
        hw_id="a1",
        model_id="m",
        location="",
        state=State.BOUND,
        app_installed=True,
        time=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
        installer="李工",
        detail="",
    )
    rows = tuple(replace(row, sn=f"SN{i:03d}") for i in range(90))
    rows = (*rows, replace(row, sn="LONG1", location="3F-301 前台东侧靠窗第二排 " * 3))
    document = report_document(
        Handover(CORP, CORP_NAME, date(2026, 11, 30), date(2026, 11, 30), rows)
    )
    assert len(document.pages) == 1 + 3  # the cover, then 91 rows over three pages
    texts = document.texts()
    assert all(f"SN{i:03d}" in texts for i in range(90)) and "LONG1" in texts
    assert row_height(["1", "3F", "A1", "a1", "x", "y", "z", "w"]) == ROW_H
    assert (
        row_height(["1", "3F-301 前台东侧靠窗第二排 " * 3, "A1", "a1", "x", "y", "z", "w"]) > ROW_H
    )
