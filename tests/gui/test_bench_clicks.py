"""How many clicks and keystrokes a board costs the installer, from plug to bound: eight boards
on the bench view beside today's single-board pages. Printed (pytest -s) and recorded in
benchmarks/README.md; the assertions hold the bench to its promise of no click per board."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from installer_app.provider.emulator import ProviderEmulator
from tests.gui.bench_helpers import PSK, SSID, InputCounter, scan_queue, single_board
from tests.gui.conftest import SLOW_MS
from tests.gui.helpers import LEFT
from tests.gui.test_bench import card_of, give_wifi, open_bench
from ui.wizard.base import PageId

BOARDS = 8


def test_clicks_and_keystrokes_per_board(
    qtbot: Any, make_window: Any, make_sim: Any, emulator: ProviderEmulator, tmp_path: Path
) -> None:
    # Today: the single-board pages; the second board is the steady state (the first one also
    # pays for "Connect a board" and the network name).
    window = make_window()
    window.show()
    qtbot.mouseClick(window.start_page.begin_button, LEFT)
    single_board(qtbot, window, make_sim, emulator)
    counter = InputCounter()
    try:
        single_board(qtbot, window, make_sim, emulator)
    finally:
        counter.remove()
    single = (counter.clicks, counter.keys)
    assert window.current_page() is PageId.CONNECT
    window.shutdown()

    # The bench: eight boards, everything from the Start page on counted.
    bench = make_window()
    bench.resize(1280, 800)
    bench.show()
    counter = InputCounter()
    try:
        open_bench(qtbot, bench)
        cards = []
        for i in range(BOARDS):
            sim = make_sim("pty")
            cards.append(card_of(qtbot, bench, sim.url))
            if i == 0:
                give_wifi(qtbot, bench)
        scan_queue(qtbot, bench, emulator, BOARDS)
        qtbot.waitUntil(lambda: all(c.bound and not c.running for c in cards), timeout=SLOW_MS)
    finally:
        counter.remove()
    per_board = (counter.clicks / BOARDS, counter.keys / BOARDS)
    print(
        f"\nclicks and keystrokes per board, plug to bound: single-board pages {single[0]} "
        f"clicks + {single[1]} keystrokes; bench view with {BOARDS} boards "
        f"{per_board[0]:.2f} clicks + {per_board[1]:.2f} keystrokes "
        f"({counter.clicks} clicks and {counter.keys} keystrokes for all {BOARDS}, the site "
        f"Wi-Fi typed once)"
    )
    # Only the named clicks (Connect a board, Bench view, Use for every board) and the Wi-Fi.
    assert counter.clicks == 3
    assert counter.keys == len(SSID) + len(PSK)
    assert single[0] >= 4
