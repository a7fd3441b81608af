"""What every wizard page shares: a title, a subtitle and a way to render workflow events.

Pages render; they never decide the flow. ``ui.wizard.flow`` maps each ``WorkflowEvent`` to the
page that shows it, and the window routes events and questions accordingly.
"""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from installer_app.workflow.events import WorkflowEvent
from ui.widgets.plain import plain_label


class PageId(StrEnum):
    START = "start"
    CONNECT = "connect"
    DEVICE = "device"
    WRITE = "write"
    NETWORK = "network"
    BIND = "bind"
    DONE = "done"
    BENCH = "bench"  # every board at once (ui/bench), outside the one-board steps


class WizardPage(QWidget):
    page_id: PageId

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"page_{self.page_id.value}")
        self._title = plain_label(parent=self)
        self._title.setObjectName("pageTitle")
        self._subtitle = plain_label(parent=self)
        self._subtitle.setObjectName("pageSubtitle")
        self._subtitle.setWordWrap(True)
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(16, 12, 16, 12)
        self.body.addWidget(self._title)
        self.body.addWidget(self._subtitle)

    def set_heading(self, title: str, subtitle: str = "") -> None:
        self._title.setText(title)
        self._subtitle.setText(subtitle)
        self._subtitle.setVisible(bool(subtitle))

    def title(self) -> str:
        return self._title.text()

    def apply_event(self, event: WorkflowEvent) -> None:
        """Render one event of the run (each page picks the steps it shows)."""

    def reset(self) -> None:
        """Forget the previous board before the next run."""


def wrapped_label(text: str = "", parent: QWidget | None = None, name: str = "") -> QLabel:
    label = plain_label(text, parent)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    if name:
        label.setObjectName(name)
    return label
