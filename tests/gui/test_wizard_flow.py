"""The whole wizard, Start to Done, against the real simulator (pty) and the real emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import zxingcpp
from PIL import Image
from PySide6.QtCore import QBuffer, QIODevice

from installer_app.provider.emulator import ProviderEmulator
from installer_app.workflow.events import Outcome, Step
from tests.gui.conftest import SLOW_MS
from ui.wizard.base import PageId


def decode_widget(widget: Any) -> list[str]:
    """Grab what the widget shows and read it back with a real QR decoder."""
    image = widget.grab().toImage()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    import io

    pil = Image.open(io.BytesIO(bytes(buffer.data())))
    return [r.text for r in zxingcpp.read_barcodes(pil)]


def test_start_to_done(
    qtbot: Any, make_window: Any, make_sim: Any, emulator: ProviderEmulator, tmp_path: Path
) -> None:
    sim = make_sim("pty")
    window = make_window()
    window.resize(1280, 720)
    window.show()
    events: list[Any] = []
    window.runner.event.connect(events.append)

    assert window.current_page() is PageId.START
    qtbot.mouseClick(window.start_page.begin_button, _left())
    assert window.current_page() is PageId.CONNECT
    ports = window.connect_page.ports
    qtbot.waitUntil(lambda: ports.selected_port() is not None, timeout=SLOW_MS)
    assert ports.selected_port().device == sim.url

    with qtbot.waitSignal(window.runner.question, timeout=SLOW_MS) as asked:
        qtbot.mouseClick(window.connect_page.provision_button, _left())
    assert asked.args[0].kind == "board"
    assert window.current_page() is PageId.DEVICE
    assert window.device_page.model.text() == "WX-ATT-200"
    assert window.device_page.continue_button.isVisible()

    with qtbot.waitSignal(window.runner.question, timeout=SLOW_MS) as asked:
        qtbot.mouseClick(window.device_page.continue_button, _left())
    assert asked.args[0].kind == "wifi"
    assert window.current_page() is PageId.NETWORK
    # The write steps all went through and show it.
    assert window.write_page.progress.value() == 4
    window.network_page.ssid.setText("site-wifi")
    window.network_page.password.setText("correct horse battery")
    qtbot.mouseClick(window.network_page.apply_button, _left())

    qtbot.waitUntil(lambda: window.bind_page.qr.url() != "", timeout=SLOW_MS)
    qtbot.waitUntil(lambda: window.current_page() is PageId.BIND, timeout=SLOW_MS)
    qr_events = [e for e in events if e.step is Step.QR and e.data.get("url")]
    url = qr_events[-1].data["url"]
    assert window.bind_page.qr.url() == url
    assert decode_widget(window.bind_page.qr) == [url]

    with qtbot.waitSignal(window.run_finished, timeout=SLOW_MS) as finished:
        emulator.scan(url)
    result = finished.args[0]
    assert result.ok, result
    assert window.current_page() is PageId.DONE
    assert window.done_page.sn.text() == result.device_sn
    assert window.done_page.hw_id.text() == result.hw_id
    assert any(e.step is Step.BINDING and e.outcome is Outcome.OK for e in events)

    report = window.done_page.save_report(tmp_path / "report.pdf")
    assert report.read_bytes().startswith(b"%PDF")

    qtbot.mouseClick(window.done_page.next_button, _left())
    assert window.current_page() is PageId.CONNECT
    assert window.connect_page.ports.polling


def _left() -> Any:
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton
