"""Small helpers the wizard's tests share."""

from __future__ import annotations

import io
from typing import Any

import zxingcpp
from PIL import Image
from PySide6.QtCore import QBuffer, QIODevice, Qt

from tests.gui.conftest import SLOW_MS
from ui.wizard.base import PageId

LEFT = Qt.MouseButton.LeftButton


def decode_widget(widget: Any) -> list[str]:
    """Grab what the widget shows and read it back with a real QR decoder."""
    image = widget.grab().toImage()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    pil = Image.open(io.BytesIO(bytes(buffer.data())))
    return [r.text for r in zxingcpp.read_barcodes(pil, formats=zxingcpp.BarcodeFormat.QRCode)]


def start_run(qtbot: Any, window: Any, device: str) -> Any:
    """Start page → Connect → select ``device`` → Provision; returns the board question."""
    qtbot.mouseClick(window.start_page.begin_button, LEFT)
    assert window.current_page() is PageId.CONNECT
    ports = window.connect_page.ports
    qtbot.waitUntil(lambda: ports.select_device(device), timeout=SLOW_MS)
    with qtbot.waitSignal(window.wizard.question, timeout=SLOW_MS) as asked:
        qtbot.mouseClick(window.connect_page.provision_button, LEFT)
    return asked.args[0]


def answer_wifi(qtbot: Any, window: Any, ssid: str, password: str) -> None:
    page = window.network_page
    page.ssid.setText(ssid)
    page.password.setText(password)
    qtbot.mouseClick(page.apply_button, LEFT)
