"""The site's Wi-Fi, asked once on the bench for every board of the session.

The password becomes a ``Secret`` as it leaves its field and lives only in the runner's memory
(``SiteWifi``): it is never written to the settings, the store or the log.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLineEdit, QPushButton, QWidget

from installer_app.secrets import Secret
from installer_app.workflow.events import WifiCredentials
from ui.widgets.plain import plain_label


def psk_ok(psk: str) -> bool:
    size = len(psk.encode("utf-8"))
    return (
        size == 0
        or 8 <= size <= 63
        or (size == 64 and all(c in "0123456789abcdefABCDEF" for c in psk))
    )


class WifiBar(QFrame):
    answered = Signal(object)  # WifiCredentials | None (leave the boards' network as it is)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wifiBar")
        self._row = row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        self.prompt = plain_label(self.tr("Site Wi-Fi for every board:"), self)
        self.ssid = QLineEdit(self)
        self.ssid.setPlaceholderText(self.tr("network name"))
        self.ssid.setMaxLength(32)
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setMaxLength(64)
        self.password.setPlaceholderText(self.tr("password (empty: open network)"))
        self.apply_button = QPushButton(self.tr("Use for every board"), self)
        self.apply_button.setObjectName("primary")
        self.keep_button = QPushButton(self.tr("Leave their network"), self)
        self.given = plain_label(
            self.tr("Site Wi-Fi: asked once, when the first board needs it."), self
        )
        self.given.setObjectName("hints")
        self._form = (self.prompt, self.ssid, self.password, self.apply_button, self.keep_button)
        for widget in self._form:
            row.addWidget(widget)
        row.addWidget(self.given, 1)
        self.apply_button.clicked.connect(self._apply)
        self.password.returnPressed.connect(self._apply)
        self.keep_button.clicked.connect(lambda: self._answer(None))
        self.ssid.textChanged.connect(self._validate)
        self.password.textChanged.connect(self._validate)
        self._validate()
        self._show_form(False)
        self._height_kept = False

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        """The bar keeps the form's height whatever it shows: the question arrives while
        boards run, and a bar that grew would move and repaint the whole bench under it."""
        super().showEvent(event)
        if not self._height_kept:
            self._height_kept = True
            self.ensurePolished()  # the style's sizes for the fields and buttons
            frame, inner = self.contentsMargins(), self._row.contentsMargins()
            form = max(w.sizeHint().height() for w in (*self._form, self.given))
            self.setFixedHeight(form + inner.top() + inner.bottom() + frame.top() + frame.bottom())

    def ask(self, default_ssid: str) -> None:
        if default_ssid and not self.ssid.text():
            self.ssid.setText(default_ssid)
        self._show_form(True)
        (self.password if self.ssid.text() else self.ssid).setFocus()

    def _show_form(self, asking: bool) -> None:
        for widget in self._form:
            widget.setVisible(asking)
        self.given.setVisible(not asking)

    def _validate(self) -> None:
        ok = 1 <= len(self.ssid.text().encode("utf-8")) <= 32 and psk_ok(self.password.text())
        self.apply_button.setEnabled(ok)

    def _apply(self) -> None:
        if self.apply_button.isEnabled():
            self._answer(WifiCredentials(self.ssid.text(), Secret(self.password.text())))

    def _answer(self, wifi: WifiCredentials | None) -> None:
        self.password.clear()
        self._show_form(False)
        if wifi is None:
            self.given.setText(self.tr("Wi-Fi: the boards keep their own network."))
        else:
            self.given.setText(
                self.tr("Wi-Fi for every board: {ssid} (kept for this session only)").format(
                    ssid=wifi.ssid
                )
            )
        self.answered.emit(wifi)
