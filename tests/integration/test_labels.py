"""Device labels end to end: records from a real store, the PDF drawn by Qt (offscreen), pages
rendered to images and every QR code decoded back to its board's static binding link; ZPL holds
the commands a Zebra printer needs; Chinese text renders with a real CJK glyph, not a box."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from installer_app.labels.content import (
    NoLabels,
    labels_for,
    records_for_day,
    records_for_sns,
    require_some,
)
from installer_app.labels.layout import LayoutError, RollLabel, SheetGrid
from installer_app.labels.pages import roll_document, sheet_document
from installer_app.labels.zpl import document_zpl, write_zpl
from installer_app.launch import render_pdf
from installer_app.printing.document import Box, Document, Page, Text
from installer_app.store import Store
from tests.fixtures.site import (
    CORP,
    embedded_fonts,
    open_site_store,
    pdf_images,
    qr_of,
    qr_texts,
    seed_site,
)


@pytest.fixture
def site(store_factory: Callable[..., Store]) -> Store:
    store, clock = open_site_store(store_factory)
    seed_site(store, clock)
    return store


def test_sheet_pdf_qr_codes_decode_to_each_boards_static_link(site: Store, tmp_path: Path) -> None:
    # 3 bound boards of the site, repeated to fill more than one 3 × 8 sheet.
    labels = labels_for(site.records_for_corp(CORP)) * 9
    assert [label.sn for label in labels[:3]] == ["A1", "B2", "G7"]
    out = tmp_path / "sheet.pdf"
    rendered = render_pdf(sheet_document(labels, SheetGrid(cols=3, rows=8)), out)
    assert rendered.pages == 2
    pages = pdf_images(out)
    assert len(pages) == 2
    decoded = [sorted(qr_texts(page)) for page in pages]
    assert decoded[0] == sorted([qr_of(sn) for sn in ("A1", "B2", "G7")] * 8)
    assert decoded[1] == sorted([qr_of(sn) for sn in ("A1", "B2", "G7")])


def test_roll_pdf_one_label_per_page_of_the_label_size(site: Store, tmp_path: Path) -> None:
    labels = labels_for(records_for_sns(site, ["G7", "a1"]))
    out = tmp_path / "roll.pdf"
    assert render_pdf(roll_document(labels, RollLabel(50, 30)), out).pages == 2
    pages = pdf_images(out, dpi=400)
    # 50 × 30 mm at 400 dpi (787 × 472 px); PDF page sizes are whole points, so within 0.5 mm.
    for page in pages:
        assert abs(page.size[0] - 787) <= 8 and abs(page.size[1] - 472) <= 8, page.size
    assert [qr_texts(p) for p in pages] == [[qr_of("G7")], [qr_of("A1")]]


def test_a_board_without_a_static_code_gets_a_label_without_one(
    site: Store, tmp_path: Path
) -> None:
    labels = labels_for(records_for_sns(site, ["A1"]))
    bare = [label.__class__(label.sn, label.hw_id, label.model_id, None) for label in labels]
    document = sheet_document(bare, SheetGrid())
    assert document.qr_urls() == []
    assert "no static QR code" in document.texts()


def test_todays_boards_and_unknown_sns(site: Store) -> None:
    from datetime import UTC, datetime

    day = records_for_day(site, datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    assert [r.sn for r in day] == ["G7", "H8", "I9"]
    with pytest.raises(NoLabels) as caught:
        records_for_sns(site, ["A1", "NOPE1"])
    assert "NOPE1" in caught.value.message.english()
    with pytest.raises(NoLabels):
        require_some(labels_for([]), caught.value.message)


def test_zpl_holds_one_label_per_board_with_its_qr_code(site: Store, tmp_path: Path) -> None:
    labels = labels_for(site.records_for_corp(CORP))
    text = document_zpl(labels, RollLabel(50, 30))
    jobs = text.split("^XZ\n")[:-1]
    assert len(jobs) == 3
    for job, sn in zip(jobs, ("A1", "B2", "G7"), strict=True):
        assert job.startswith("^XA\n^CI28\n^PW400\n^LL240\n")
        assert "^BQN,2," in job
        assert f"^FDMA,{qr_of(sn)}^FS" in job
        assert f"^FD{sn}^FS" in job
        assert "^A0N" in job
    out, share = tmp_path / "labels.zpl", tmp_path / "printer-share"
    write_zpl(text, out, printer_share=share)
    assert out.read_text() == text == share.read_text()


def test_zpl_field_data_cannot_start_a_command() -> None:
    from installer_app.labels.content import LabelData

    job = document_zpl([LabelData("A1", "aa", "X^XZ~JR", None)], RollLabel())
    assert "^FDXXZJR^FS" in job
    assert "^BQN" not in job


def test_layout_errors_say_what_does_not_fit() -> None:
    with pytest.raises(LayoutError) as caught:
        SheetGrid(cols=12, rows=30).check()
    assert "mm" in caught.value.message.english()
    with pytest.raises(LayoutError):
        SheetGrid(cols=0).check()
    with pytest.raises(LayoutError):
        RollLabel(5, 30).check()


def _glyph_crops(image: Image.Image, boxes: list[Box], dpi: int) -> list[Image.Image]:
    scale = dpi / 25.4
    return [
        image.crop(
            (int(b.x * scale), int(b.y * scale), int(b.right * scale), int(b.bottom * scale))
        )
        for b in boxes
    ]


def test_chinese_renders_with_real_glyphs_not_boxes(tmp_path: Path) -> None:
    # A missing glyph is drawn as the same empty box for every character: real glyphs of
    # different characters differ from each other and from U+FFFF (never in any font).
    page = Page(60, 20)
    chars = ["前", "台", "测", "\uffff"]
    boxes = [Box(5 + 12 * i, 5, 10, 10) for i in range(len(chars))]
    for box, char in zip(boxes, chars, strict=True):
        page.add(Text(box, char, size_pt=20))
    out = tmp_path / "glyphs.pdf"
    rendered = render_pdf(Document("字形", [page]), out)
    assert not rendered.missing_cjk_font, "install a CJK font (fonts-noto-cjk)"
    crops = _glyph_crops(pdf_images(out, dpi=200)[0], boxes, dpi=200)
    inked = [c.point(lambda v: 255 if v < 128 else 0).getbbox() is not None for c in crops]
    assert inked[:3] == [True, True, True]
    for i in range(3):
        for j in range(i + 1, 4):
            diff = ImageChops.difference(crops[i], crops[j])
            assert diff.getbbox() is not None, (chars[i], chars[j])
    assert any("CJK" in name for name in embedded_fonts(out))


def test_a_scan_resolves_sn_hw_id_and_label_links(site: Store) -> None:
    from installer_app.device.ports import PortInfo
    from installer_app.labels.scan import pick_port, resolve_scan

    def port(device: str, hw: str | None, serial: str | None = None) -> PortInfo:
        return PortInfo(device, 0x10C4, 0xEA60, serial, "CP2102", True, hw is not None, hw)

    ports = [
        port("/dev/ttyUSB0", None, "0001"),
        port("sim-a1", "a1a1a1a1"),
        port("sim-g7", "a7a7a7a7"),
    ]
    assert pick_port(resolve_scan("g7", site), ports).device == "sim-g7"  # SN, any case
    assert pick_port(resolve_scan("A1A1A1A1\r\n", site), ports).device == "sim-a1"  # HW_ID
    assert pick_port(resolve_scan(qr_of("A1"), site), ports).device == "sim-a1"  # label QR
    assert pick_port(resolve_scan("0001", site), ports).device == "/dev/ttyUSB0"  # USB serial
    nothing = resolve_scan("https://example.com/?sn=Z", site)
    assert nothing.empty and pick_port(nothing, ports) is None
    assert resolve_scan("\x1b\x00", site).empty
    assert pick_port(resolve_scan("B2", site), ports) is None  # known, but not plugged in
