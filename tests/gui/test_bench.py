"""The bench view: boards plugged one after another start by themselves, run in parallel through
the core workflow, and end bound through the binding queue (the emulator plays the admin's scan);
done, foreign and wrong-model boards are shown and left alone."""

from __future__ import annotations

import os
import signal
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtTest import QTest

from installer_app.config import ProfileSettings
from installer_app.device.client import DeviceClient
from installer_app.provider.emulator import ProviderEmulator
from installer_app.workflow.board_status import BoardStatus
from tests.gui.bench_helpers import (
    PSK,
    SSID,
    InputCounter,
    foreign_state,
    scan_queue,
    single_board,
)
from tests.gui.conftest import SLOW_MS, emulator_settings
from tests.gui.helpers import LEFT, decode_widget
from ui.bench import binding_queue
from ui.questions import AskResume, AskWifi
from ui.wizard.base import PageId


def open_bench(qtbot: Any, window: Any) -> None:
    qtbot.mouseClick(window.start_page.begin_button, LEFT)
    qtbot.mouseClick(window.connect_page.bench_button, LEFT)
    assert window.current_page() is PageId.BENCH


def give_wifi(qtbot: Any, window: Any) -> None:
    bar = window.bench_page.wifi_bar
    qtbot.waitUntil(lambda: bar.isVisible() and bar.ssid.isVisible(), timeout=SLOW_MS)
    QTest.keyClicks(bar.ssid, SSID)
    QTest.keyClicks(bar.password, PSK)
    qtbot.mouseClick(bar.apply_button, LEFT)


def card_of(qtbot: Any, window: Any, url: str) -> Any:
    page = window.bench_page
    qtbot.waitUntil(lambda: url in page.cards, timeout=SLOW_MS)
    return page.cards[url]


def test_four_boards_then_a_fifth_all_bound_through_the_queue(
    qtbot: Any,
    make_window: Any,
    make_sim: Any,
    emulator: ProviderEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def not_here(url: str, **_: Any) -> list[list[bool]]:
        raise AssertionError(f"the window's process drew {url}: the board host draws the codes")

    monkeypatch.setattr(binding_queue, "qr_matrix", not_here)
    window = make_window()
    window.resize(1280, 800)
    window.show()
    counter = InputCounter()
    try:
        open_bench(qtbot, window)
        boards = []
        for i in range(4):
            sim = make_sim("pty")
            boards.append(sim)
            card = card_of(qtbot, window, sim.url)
            # It starts by itself: no click.
            qtbot.waitUntil(lambda card=card: card.running or card.status, timeout=SLOW_MS)
            if i == 0:
                give_wifi(qtbot, window)  # asked once, for every board of the session
        cards = [window.bench_page.cards[b.url] for b in boards]
        qtbot.waitUntil(
            lambda: all(c.status is BoardStatus.NEEDS_ADMIN for c in cards), timeout=SLOW_MS
        )
        # Hot-plug of a fifth board while the four wait for the admin.
        fifth = make_sim("pty")
        boards.append(fifth)
        cards.append(card_of(qtbot, window, fifth.url))
        queue = window.bench_page.queue
        qtbot.waitUntil(lambda: len(queue.entries) == 5, timeout=SLOW_MS)
        assert window.bench_runner.wifi.ssid == SSID  # not asked again for the fifth
        qtbot.waitUntil(lambda: bool(queue.current().matrix), timeout=SLOW_MS)
        assert decode_widget(queue.qr) == [queue.current().url]
        assert queue.current().hw_id in queue.board.text()

        positions = scan_queue(qtbot, window, emulator, 5)
        assert positions == [f"{n} of 5" for n in range(1, 6)]
        qtbot.waitUntil(lambda: all(not c.running for c in cards), timeout=SLOW_MS)
        assert all(c.status is BoardStatus.DONE_HERE for c in cards)
        assert len({c.height() for c in cards}) == 1  # whatever each said on the way
        assert "All 5 boards are bound" in queue.summary.text()
        store = window.session.store
        assert all(store.record_for_hw_id(c.hw_id).stage.value == "bound" for c in cards)
        # No click but Connect a board, Bench view, and the Wi-Fi's Use for every board.
        assert counter.clicks == 3
        assert counter.keys == len(SSID) + len(PSK)

        # A done board unplugged and plugged in again shows as done, with enterprise and date.
        first = boards[0]
        old_url = first.url
        first.unplug()
        qtbot.waitUntil(lambda: old_url not in window.bench_page.cards, timeout=SLOW_MS)
        url = first.replug()
        again = card_of(qtbot, window, url)
        qtbot.waitUntil(lambda: again.status is BoardStatus.DONE_HERE, timeout=SLOW_MS)
        qtbot.waitUntil(lambda: not again.running, timeout=SLOW_MS)
        assert "UTC+" in again.detail.text() or "UTC-" in again.detail.text()
        assert again.action.isVisible() and again.action.text() == "Check again"
        assert len(queue.entries) == 5  # not queued again
        # The site's Wi-Fi password was kept in memory only: in no file, no log line.
        for path in tmp_path.rglob("*"):
            if path.is_file():
                assert PSK.encode() not in path.read_bytes(), path
        assert PSK not in window.log_pane.toPlainText()
    finally:
        counter.remove()


def test_foreign_and_wrong_model_boards_are_flagged_and_left_alone(
    qtbot: Any, make_window: Any, make_sim: Any, emulator: ProviderEmulator, tmp_path: Path
) -> None:
    window = make_window()
    window.show()
    open_bench(qtbot, window)
    foreign = make_sim(
        "pty", state_file=foreign_state(tmp_path / "foreign.json", "FOREIGN0001", "a1b2c3d4e5f6")
    )
    other = make_sim("pty", model_id="WX-DOOR-100")
    foreign_card = card_of(qtbot, window, foreign.url)
    other_card = card_of(qtbot, window, other.url)
    qtbot.waitUntil(
        lambda: foreign_card.status is BoardStatus.ELSEWHERE and not foreign_card.running,
        timeout=SLOW_MS,
    )
    qtbot.waitUntil(
        lambda: other_card.status is BoardStatus.WRONG_MODEL and not other_card.running,
        timeout=SLOW_MS,
    )
    assert foreign_card.chip.text() == "provisioned elsewhere"
    assert not foreign_card.action.isVisible() and not other_card.action.isVisible()
    store = window.session.store
    assert store.record_for_hw_id("a1b2c3d4e5f6") is None
    assert store.history() == [] and emulator.devices() == []
    assert not window.bench_page.wifi_bar.ssid.isVisible()  # nobody was asked anything
    with DeviceClient.open(foreign.url) as client:
        hello = client.hello()
    assert hello.sn == "FOREIGN0001" and hello.state.name == "PROVISIONED"


def test_next_device_selects_the_board_just_plugged_in(
    qtbot: Any, make_window: Any, make_sim: Any
) -> None:
    window = make_window()
    first = make_sim("pty")
    qtbot.mouseClick(window.start_page.begin_button, LEFT)
    ports = window.connect_page.ports
    qtbot.waitUntil(lambda: ports.selected_port() is not None, timeout=SLOW_MS)
    assert ports.selected_port().device == first.url
    # Next device, with the finished board still plugged in: nothing is preselected…
    window._port = ports.selected_port()
    window.next_device()
    assert ports.selected_port() is None
    # …until the next board arrives, which is selected by itself (a second board would take the
    # window to the bench; stay on Connect for this check).
    window.connect_page.ports.ports_changed.disconnect(window._boards_counted)
    second = make_sim("pty")
    qtbot.waitUntil(
        lambda: ports.selected_port() is not None and ports.selected_port().device == second.url,
        timeout=SLOW_MS,
    )


def test_a_done_board_offers_check_again_on_the_single_board_pages(
    qtbot: Any, make_window: Any, make_sim: Any, emulator: ProviderEmulator
) -> None:
    window = make_window()
    window.show()
    qtbot.mouseClick(window.start_page.begin_button, LEFT)
    sim = single_board(qtbot, window, make_sim, emulator, unplug=False)
    ports = window.connect_page.ports
    assert ports.select_device(sim.url)
    with qtbot.waitSignal(window.wizard.question, timeout=SLOW_MS):
        qtbot.mouseClick(window.connect_page.provision_button, LEFT)
    with qtbot.waitSignal(window.wizard.question, timeout=SLOW_MS) as asked:
        qtbot.mouseClick(window.device_page.continue_button, LEFT)
    assert isinstance(asked.args[0], AskResume)
    page = window.device_page
    assert page.title() == "This board is already done"
    assert page.resume_button.text() == "Check again"
    assert "UTC+" in page._subtitle.text() or "UTC-" in page._subtitle.text()
    with qtbot.waitSignal(window.wizard.question, timeout=SLOW_MS) as asked:
        qtbot.mouseClick(page.resume_button, LEFT)
    assert isinstance(asked.args[0], AskWifi)
    with qtbot.waitSignal(window.run_finished, timeout=SLOW_MS) as finished:
        qtbot.mouseClick(window.network_page.keep_button, LEFT)
    assert finished.args[0].ok  # checked again with WeCom: still bound, nothing written
    assert "UTC" in window.done_page.when.text()


def test_the_start_page_chooses_a_profile_and_its_minimum_firmware_applies(
    qtbot: Any, make_window: Any, emulator: ProviderEmulator, tmp_path: Path
) -> None:
    settings = replace(
        emulator_settings(emulator, tmp_path),
        profiles={"site-b": ProfileSettings(min_fw_version="9.0", wifi_ssid="Site-B")},
    )
    window = make_window(settings)
    combo = window.start_page.profile
    assert combo.count() == 2 and combo.isEnabled()
    assert window.start_page.min_fw.text() == "any"
    opened = window.session
    combo.setCurrentIndex(1)
    combo.activated.emit(1)
    qtbot.waitUntil(
        lambda: window.session is not None and window.session is not opened, timeout=SLOW_MS
    )
    assert window.session.provisioner.rules.min_fw_version == "9.0"
    assert window.start_page.min_fw.text() == "9.0"
    assert window.bench_page.default_ssid == "Site-B"


def test_new_settings_wait_until_the_bench_boards_are_done(
    qtbot: Any, make_window: Any, make_sim: Any, emulator: ProviderEmulator, tmp_path: Path
) -> None:
    settings = replace(
        emulator_settings(emulator, tmp_path),
        profiles={"site-b": ProfileSettings(min_fw_version="1.0")},
    )
    window = make_window(settings)
    window.show()
    open_bench(qtbot, window)
    sim = make_sim("pty")
    card = card_of(qtbot, window, sim.url)
    give_wifi(qtbot, window)
    qtbot.waitUntil(lambda: card.status is BoardStatus.NEEDS_ADMIN, timeout=SLOW_MS)
    opened = window.session
    window.choose_profile("site-b")
    # The board's run still uses the session (its store): it is not closed under it.
    assert window.session is opened and window._pending_settings is not None
    queue = window.bench_page.queue
    emulator.scan(queue.current().url)
    qtbot.waitUntil(lambda: card.bound and not card.running, timeout=SLOW_MS)
    qtbot.waitUntil(
        lambda: window.session is not None and window.session is not opened, timeout=SLOW_MS
    )
    assert window.session.provisioner.rules.min_fw_version == "1.0"


def test_a_board_host_that_dies_shows_on_the_card_and_retry_goes_on(
    qtbot: Any, make_window: Any, make_sim: Any, emulator: ProviderEmulator
) -> None:
    """The boards run in a second process (the board host): killed mid-run, its board's card says
    so and offers Retry, which starts a new host that goes on with the same SN."""
    window = make_window()
    window.show()
    open_bench(qtbot, window)
    sim = make_sim("pty")
    card = card_of(qtbot, window, sim.url)
    bar = window.bench_page.wifi_bar
    qtbot.waitUntil(lambda: bar.isVisible() and bar.ssid.isVisible(), timeout=SLOW_MS)
    qtbot.waitUntil(lambda: bool(card.sn), timeout=SLOW_MS)  # written, waiting for the Wi-Fi
    sn = card.sn
    host = window.bench_runner._host
    os.kill(host.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: not card.running, timeout=SLOW_MS)
    assert card.status is BoardStatus.FAILED
    assert "stopped unexpectedly" in card.detail.text()
    assert card.action.isVisible() and card.action.text() == "Retry"

    give_wifi(qtbot, window)
    qtbot.mouseClick(card.action, LEFT)
    qtbot.waitUntil(lambda: card.running, timeout=SLOW_MS)
    assert window.bench_runner._host is not host  # a new host
    qtbot.waitUntil(lambda: card.status is BoardStatus.NEEDS_ADMIN, timeout=SLOW_MS)
    scan_queue(qtbot, window, emulator, 1)
    qtbot.waitUntil(lambda: not card.running, timeout=SLOW_MS)
    assert card.status is BoardStatus.DONE_HERE and card.sn == sn
