"""Barcode scanners in the wizard (a keyboard wedge simulated with QTest: fast key presses ending
in Enter), and the labels and site handover dialogs run against a real store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from installer_app.secrets import Secret
from installer_app.store import Stage
from installer_app.workflow.events import ProvisionResult
from tests.fixtures.site import CORP, open_site_store, pdf_images, qr_of, qr_texts, seed_site
from tests.gui.conftest import SLOW_MS
from tests.gui.helpers import LEFT
from ui.wizard.base import PageId

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

HW_1, HW_2 = "a1a1a1a1a1a1", "b2b2b2b2b2b2"
SCAN_DELAY_MS = 1  # a wedge scanner: a few ms between characters
TYPING_DELAY_MS = 90  # a quick person


def scan(widget: Any, text: str, delay_ms: int = SCAN_DELAY_MS) -> None:
    """Key presses ``delay_ms`` apart, then Enter, into ``widget`` given the keyboard focus first
    (a wedge scanner types where the focus is, and that is where ``WedgeScanner`` listens).
    QTest.keyClicks takes Latin-1 only: a Chinese character goes as a key event carrying its
    text (as an input method delivers it)."""
    widget.setFocus()
    none = Qt.KeyboardModifier.NoModifier
    for char in text:
        if ord(char) < 128:
            QTest.keyClick(widget, char, none, delay_ms)
        else:
            QTest.sendKeyEvent(
                QTest.KeyAction.Click, widget, Qt.Key.Key_unknown, char, none, delay_ms
            )
    QTest.keyClick(widget, Qt.Key.Key_Return, none, delay_ms)


def test_one_long_gap_does_not_make_a_scan_look_typed(qtbot: Any) -> None:
    """Timed by a clock the test moves: a scan whose GUI thread was busy once mid-line is still
    a scan; a person's typing with one quick pair of keys is still typing."""
    from PySide6.QtWidgets import QLineEdit

    from ui.scanner import WedgeScanner

    now = [100.0]
    field = QLineEdit()
    qtbot.addWidget(field)
    field.show()
    field.setFocus()
    scanner = WedgeScanner(field, clock=lambda: now[0])
    lines: list[str] = []
    scanner.scanned.connect(lines.append)

    def keys(text: str, gaps_ms: list[int]) -> None:
        for key, gap in zip([*text, "\r"], gaps_ms, strict=True):
            now[0] += gap / 1000
            if key == "\r":
                QTest.keyClick(field, Qt.Key.Key_Return)
            else:
                QTest.keyClick(field, key)

    keys("SCAN42", [0, 5, 5, 200, 5, 5, 5])  # one 200 ms stall: the other gaps are 5 ms
    assert lines == ["SCAN42"]
    keys("SCAN42", [1000, 90, 5, 90, 90, 90, 90])  # typed, one pair of keys rolled quickly
    keys("AB", [1000, 5, 200])  # too short a line to forgive a gap
    keys("ABC", [1000, 5, 5, 200])
    assert lines == ["SCAN42"]
    scanner.deleteLater()


def test_a_scanned_label_selects_its_board_and_typing_does_not(
    qtbot: Any, make_window: Any, make_sim: Any
) -> None:
    make_sim(hw_id=bytes.fromhex(HW_1))
    make_sim(hw_id=bytes.fromhex(HW_2))
    window = make_window()
    window.show()
    window.bench_page.auto_start.setChecked(False)  # the boards wait on the bench: none runs
    window.show_page(PageId.CONNECT)
    # Two boards take the window to the bench view (its scanner: tests/gui/test_bench_scanner.py);
    # the installer who chose "One board at a time" scans on the Connect page.
    qtbot.waitUntil(lambda: window.current_page() is PageId.BENCH, timeout=SLOW_MS)
    qtbot.mouseClick(window.bench_page.single_button, LEFT)
    assert window.current_page() is PageId.CONNECT
    page = window.connect_page
    # A third board plugged in meanwhile does not take them back to the bench.
    third = make_sim()
    qtbot.waitUntil(lambda: third.url in {p.device for p in page.ports.ports()}, timeout=SLOW_MS)
    assert window.current_page() is PageId.CONNECT
    qtbot.waitUntil(
        lambda: {p.hw_id_hex for p in page.ports.ports()} >= {HW_1, HW_2}, timeout=SLOW_MS
    )
    by_hw = {p.hw_id_hex: p.device for p in page.ports.ports()}
    window.session.store.reserve(
        "SCAN2",
        HW_2,
        Secret("scan-secret-0123456789"),
        source="register",
        model_id="WX-ATT-200",
        installer="t",
        qr_code=qr_of("SCAN2"),
    )
    page.ports.select_device(by_hw[HW_1])

    # A person typing the SN and pressing Enter: nothing is selected for them.
    with qtbot.assertNotEmitted(page.scan_handled, wait=300):
        scan(page.ports, "SCAN2", TYPING_DELAY_MS)
    assert page.ports.selected_port().device == by_hw[HW_1]

    # The scanner: the SN (looked up in the store) selects the board holding it.
    with qtbot.waitSignal(page.scan_handled, timeout=SLOW_MS) as handled:
        scan(page.ports, "SCAN2")
    assert handled.args == ["SCAN2", True]
    assert page.ports.selected_port().device == by_hw[HW_2]

    # The board's HW_ID, and the QR code on a label (its binding link).
    with qtbot.waitSignal(page.scan_handled, timeout=SLOW_MS) as handled:
        scan(page.ports, HW_1.upper())
    assert handled.args[1] and page.ports.selected_port().device == by_hw[HW_1]
    with qtbot.waitSignal(page.scan_handled, timeout=SLOW_MS) as handled:
        scan(page.ports, qr_of("SCAN2"))
    assert handled.args == [qr_of("SCAN2"), True]
    assert page.ports.selected_port().device == by_hw[HW_2]

    # A code that names no connected board: a short note, the selection stays.
    with qtbot.waitSignal(page.scan_handled, timeout=SLOW_MS) as handled:
        scan(page.ports, "NOSUCH99")
    assert handled.args == ["NOSUCH99", False]
    assert "no connected board matches" in page.note.text()
    assert page.ports.selected_port().device == by_hw[HW_2]
    assert window.current_page() is PageId.CONNECT  # no scan's Enter pressed a button


def test_a_scanned_location_tag_is_stored_in_the_boards_record(
    qtbot: Any, make_window: Any
) -> None:
    window = make_window()
    window.show()
    store = window.session.store
    store.reserve(
        "LOC1",
        "c1c1c1c1",
        Secret("loc-secret-0123456789"),
        source="register",
        model_id="WX-ATT-200",
        installer="李工",
        qr_code=qr_of("LOC1"),
    )
    store.advance("LOC1", Stage.BOUND, installer="李工", corpid=CORP)
    page = window.done_page
    page.show_result(
        ProvisionResult(ok=True, exit_code=0, device_sn="LOC1", hw_id="c1c1c1c1", corpid=CORP),
        "李工",
    )
    window.show_page(PageId.DONE)
    box = page.location

    with qtbot.waitSignal(box.location_saved, timeout=SLOW_MS) as saved:
        scan(page, "3F-301 前台")
    assert saved.args == ["3F-301 前台"]
    assert store.record_for_sn("LOC1").location == "3F-301 前台"
    assert window.current_page() is PageId.DONE  # the scan's Enter pressed no button

    # Scanned while the field has the focus: the tag replaces the text, it is not appended.
    box.field.setFocus()
    with qtbot.waitSignal(box.location_saved, timeout=SLOW_MS) as saved:
        scan(box.field, "B1-007")
    assert saved.args == ["B1-007"]
    # Typed by hand, then Enter.
    box.field.clear()
    with qtbot.waitSignal(box.location_saved, timeout=SLOW_MS) as saved:
        scan(box.field, "2F", TYPING_DELAY_MS)
    assert store.record_for_sn("LOC1").location == "2F"


def test_labels_and_handover_from_history(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    window = make_window()
    store = window.session.store
    # The site's boards, written through a second store on the same file (another process).
    from installer_app.store import SecretCipher, Store

    other, clock = open_site_store(
        lambda **kw: Store.open(
            store.path,
            SecretCipher.from_key_file(Path(__import__("os").environ["INSTALLER_KEY_FILE"])),
            **kw,
        )
    )
    with other:
        seed_site(other, clock)
    history = window.open_history()
    qtbot.addWidget(history)
    qtbot.waitUntil(lambda: history.table.rowCount() == 9, timeout=SLOW_MS)

    history.table.selectRow(
        history._records.index(next(r for r in history._records if r.sn == "G7"))
    )
    labels = history.open_labels()
    qtbot.addWidget(labels)
    labels.open_after_save = False
    out = tmp_path / "labels.pdf"
    with qtbot.waitSignal(labels.saved, timeout=SLOW_MS):
        labels.save(out)
    assert qr_texts(pdf_images(out)[0]) == [qr_of("G7")]

    handover = history.open_handover()
    qtbot.addWidget(handover)
    handover.open_after_save = False
    qtbot.waitUntil(lambda: handover.site.count() == 2, timeout=SLOW_MS)
    assert handover.site.currentData() == CORP  # the selected row's enterprise
    from PySide6.QtCore import QDate

    handover.first.setDate(QDate(2026, 11, 30))
    handover.last.setDate(QDate(2026, 12, 1))
    with qtbot.waitSignal(handover.saved, timeout=SLOW_MS) as saved:
        handover.save(tmp_path / "handover")
    package = saved.args[0]
    assert package.pdf.exists() and package.csv.exists() and package.xlsx.exists()
    assert len(package.csv.read_text(encoding="utf-8-sig").splitlines()) == 1 + 7
