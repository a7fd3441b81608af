"""Barcode scanners and labels on the bench view: a wedge scan (fast key presses ending in Enter)
selects a board's card, a slow typed string does not, a location tag goes into the selected
board's record, and *Print labels…* writes a PDF whose QR codes decode to the boards' links."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt

from installer_app.secrets import Secret
from tests.fixtures.site import pdf_images, qr_of, qr_texts
from tests.gui.conftest import SLOW_MS
from tests.gui.helpers import LEFT
from tests.gui.test_bench import card_of, open_bench
from tests.gui.test_scanner_labels import HW_1, HW_2, TYPING_DELAY_MS, scan
from ui.wizard.base import PageId

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def bench_with_two_boards(qtbot: Any, make_window: Any, make_sim: Any) -> tuple[Any, Any, Any]:
    """The bench view with two boards that wait for Start (nothing runs), both known to the
    store by SN (SCAN1, SCAN2) and HW_ID, as boards bound earlier are."""
    window = make_window()
    window.resize(1280, 800)
    window.show()
    window.bench_page.auto_start.setChecked(False)
    open_bench(qtbot, window)
    store = window.session.store
    for sn, hw_id in (("SCAN1", HW_1), ("SCAN2", HW_2)):
        store.reserve(
            sn,
            hw_id,
            Secret(f"scan-secret-{sn}-0123456789"),
            source="register",
            model_id="WX-ATT-200",
            installer="t",
            qr_code=qr_of(sn),
        )
    first = card_of(qtbot, window, make_sim(hw_id=bytes.fromhex(HW_1)).url)
    second = card_of(qtbot, window, make_sim(hw_id=bytes.fromhex(HW_2)).url)
    return window, first, second


def test_a_scan_selects_its_card_and_a_location_tag_goes_into_its_record(
    qtbot: Any, make_window: Any, make_sim: Any
) -> None:
    window, first, second = bench_with_two_boards(qtbot, make_window, make_sim)
    page = window.bench_page
    store = window.session.store

    # A code that names no board here, nothing selected: a short note, nothing stored.
    with qtbot.waitSignal(page.scan_handled, timeout=SLOW_MS) as handled:
        scan(page, "NOSUCH99")
    assert handled.args == ["NOSUCH99", False]
    assert "no board on the bench matches" in page.note.text()
    assert page.selected == []

    # A person typing the SN and pressing Enter: nothing is selected for them.
    with qtbot.assertNotEmitted(page.scan_handled, wait=300):
        scan(page, "SCAN2", TYPING_DELAY_MS)
    assert page.selected == [] and not second.selected

    # The scanner: the SN, the HW_ID and the label's QR code each select their board's card.
    with qtbot.waitSignal(page.scan_handled, timeout=SLOW_MS) as handled:
        scan(page, "SCAN2")
    assert handled.args == ["SCAN2", True]
    assert page.selected == [second.port] and second.selected and not first.selected
    assert page.location.sn == "SCAN2"  # the store's record for the board's HW_ID
    with qtbot.waitSignal(page.scan_handled, timeout=SLOW_MS) as handled:
        scan(page, HW_1.upper())
    assert handled.args[1] and page.selected == [first.port] and not second.selected
    with qtbot.waitSignal(page.scan_handled, timeout=SLOW_MS) as handled:
        scan(page, qr_of("SCAN2"))
    assert handled.args == [qr_of("SCAN2"), True] and page.selected == [second.port]

    # A location tag scanned while the card is selected: the board's location, in its record.
    with qtbot.waitSignal(page.location.location_saved, timeout=SLOW_MS) as saved:
        scan(page, "3F-301 前台")
    assert saved.args == ["3F-301 前台"]
    assert store.record_for_sn("SCAN2").location == "3F-301 前台"
    assert store.record_for_sn("SCAN1").location is None
    assert page.selected == [second.port]  # a location selects nothing
    assert window.current_page() is PageId.BENCH  # the scan's Enter pressed no button

    # Typed by hand into the field, then Enter.
    page.location.field.setFocus()
    page.location.field.clear()
    with qtbot.waitSignal(page.location.location_saved, timeout=SLOW_MS):
        scan(page.location.field, "2F", TYPING_DELAY_MS)
    assert store.record_for_sn("SCAN2").location == "2F"

    # Another board's SN is never taken for a location: it is not on the bench.
    store.reserve(
        "ELSEWHERE1",
        "c0c0c0c0",
        Secret("scan-secret-elsewhere-0123"),
        source="register",
        model_id="WX-ATT-200",
        installer="t",
    )
    with qtbot.waitSignal(page.scan_handled, timeout=SLOW_MS) as handled:
        scan(page, "ELSEWHERE1")
    assert handled.args == ["ELSEWHERE1", False]
    assert store.record_for_sn("SCAN2").location == "2F"


def test_print_labels_from_the_bench_writes_decodable_qr_codes(
    qtbot: Any, make_window: Any, make_sim: Any, tmp_path: Path
) -> None:
    window, first, second = bench_with_two_boards(qtbot, make_window, make_sim)
    page = window.bench_page

    # Nothing selected and no board done yet: nothing to label, said briefly.
    assert page.print_labels() is None
    assert "No board to label yet" in page.note.text()

    for sn in ("SCAN1", "SCAN2"):
        with qtbot.waitSignal(page.scan_handled, timeout=SLOW_MS):
            scan(page, sn)
    # Ctrl+click adds the first card to the selection (on the card's frame, not its text).
    qtbot.mouseClick(first, LEFT, Qt.KeyboardModifier.ControlModifier, QPoint(3, 3))
    assert page.selected == [second.port, first.port]

    with qtbot.waitSignal(page.labels_opened, timeout=SLOW_MS) as opened:
        qtbot.mouseClick(page.labels_button, LEFT)
    dialog = opened.args[0]
    dialog.open_after_save = False
    dialog.set_layout("sheet")
    out = tmp_path / "bench-labels.pdf"
    with qtbot.waitSignal(dialog.saved, timeout=SLOW_MS):
        dialog.save(out)
    assert sorted(qr_texts(pdf_images(out)[0])) == [qr_of("SCAN1"), qr_of("SCAN2")]
    dialog.close()
