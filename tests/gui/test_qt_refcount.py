"""Guard against PySide6 builds that leak references to None (6.12.0 on CPython 3.11 drops one per
void call, and the interpreter aborts after a few thousand): pyproject pins below such a release."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot


def test_void_qt_calls_keep_the_reference_count_of_none(qtbot: QtBot) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(2000):
        label.setText("x")
    # Other threads may take or drop a few references meanwhile; a leak is one per call.
    assert abs(sys.getrefcount(None) - before) < 100
