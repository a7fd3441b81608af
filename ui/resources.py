"""Bundled files (icons, stylesheets, translations) through importlib.resources, so they load
from source, from a wheel and from a frozen build alike."""

from __future__ import annotations

from importlib import resources

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)


def read_bytes(package_path: str) -> bytes | None:
    ref = resources.files("resources").joinpath(package_path)
    try:
        return ref.read_bytes()
    except OSError:
        return None


def read_text(package_path: str) -> str:
    data = read_bytes(package_path)
    return data.decode("utf-8") if data is not None else ""


def icon(name: str) -> QIcon:
    """An SVG icon from resources/icons, rendered at every common size (sharp on HiDPI)."""
    data = read_bytes(f"icons/{name}.svg")
    if data is None:
        return QIcon()
    renderer = QSvgRenderer(QByteArray(data))
    if not renderer.isValid():
        return QIcon()
    result = QIcon()
    for size in ICON_SIZES:
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter)
        painter.end()
        result.addPixmap(pixmap)
    return result
