"""Text from outside (device HELLO, inventory files, WeCom, the team server, OS port names) is
shown as plain text, never interpreted: a board whose MODEL_ID is ``<font color=red>X</font>``
shows those characters, not a red X, and an ``<a href>`` is no link.

Qt's QLabel, QMessageBox and tool tips guess "rich text" from the first tag they see
(``Qt.TextFormat.AutoText``); every label and message box of the wizard is made here, with
``Qt.TextFormat.PlainText``, and ``tests/gui/test_plain_text.py`` walks the windows to keep it so.
(Items of QListWidget/QTableWidget are always drawn as plain text.)
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as QtGui
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget

PLAIN = Qt.TextFormat.PlainText


def plain_label(text: str = "", parent: QWidget | None = None) -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(PLAIN)
    label.setText(text)
    return label


def plain_tooltip(text: str) -> str:
    """A tool tip that shows ``text`` literally (tool tips have no text-format setting)."""
    return QtGui.convertFromPlainText(text, Qt.WhiteSpaceMode.WhiteSpacePre) if text else ""


def plain_message(
    parent: QWidget | None,
    icon: QMessageBox.Icon,
    title: str,
    text: str,
    buttons: QMessageBox.StandardButton = QMessageBox.StandardButton.Ok,
    default: QMessageBox.StandardButton = QMessageBox.StandardButton.NoButton,
) -> QMessageBox:
    """A message box whose text is plain; ``exec()`` or ``open()`` it."""
    box = QMessageBox(icon, title, "", buttons, parent)
    box.setTextFormat(PLAIN)
    box.setText(text)
    if default != QMessageBox.StandardButton.NoButton:
        box.setDefaultButton(default)
    return box
