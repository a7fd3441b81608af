"""Network: the Wi-Fi the board should join, then its own network and WeCom state, live."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from installer_app.workflow.events import Outcome, Step, WorkflowEvent
from ui import labels
from ui.widgets.status_light import Light, StatusLight
from ui.wizard.base import PageId, WizardPage

NET_STATES = ("DOWN", "LINK_UP", "ONLINE")
WECOM_STATES = ("IDLE", "REGISTERED", "WAITING_BIND", "BOUND")


class NetworkPage(WizardPage):
    page_id = PageId.NETWORK
    wifi_answered = Signal(object)  # (ssid, password) or None to keep the board's network

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.set_heading(
            self.tr("The board's network"),
            self.tr("The board reaches WeCom by itself over Wi-Fi."),
        )
        self.form_box = QGroupBox(self.tr("Wi-Fi"), self)
        form = QFormLayout(self.form_box)
        self.ssid = QLineEdit(self.form_box)
        self.ssid.setMaxLength(32)
        self.password = QLineEdit(self.form_box)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setMaxLength(64)
        self.password.setPlaceholderText(self.tr("empty for an open network"))
        form.addRow(self.tr("Network name (SSID):"), self.ssid)
        form.addRow(self.tr("Password:"), self.password)
        buttons = QHBoxLayout()
        self.keep_button = QPushButton(self.tr("Keep the board's network"), self.form_box)
        self.apply_button = QPushButton(self.tr("Send to the board"), self.form_box)
        self.apply_button.setObjectName("primary")
        buttons.addStretch(1)
        buttons.addWidget(self.keep_button)
        buttons.addWidget(self.apply_button)
        form.addRow(buttons)
        self.body.addWidget(self.form_box)
        self.problem = StatusLight("", self)
        self.problem.setVisible(False)
        self.body.addWidget(self.problem)

        live = QGroupBox(self.tr("Live state"), self)
        column = QVBoxLayout(live)
        self.net_light = StatusLight(self.tr("Network: not known yet"), live)
        self.wecom_light = StatusLight(self.tr("WeCom: not known yet"), live)
        column.addWidget(self.net_light)
        column.addWidget(self.wecom_light)
        self.body.addWidget(live)
        self.body.addStretch(1)
        self.apply_button.clicked.connect(self._apply)
        self.keep_button.clicked.connect(self._keep)
        self.ssid.textChanged.connect(self._validate)
        self.password.textChanged.connect(self._validate)
        self._asking = False
        self.form_box.setEnabled(False)

    def reset(self) -> None:
        self._asking = False
        self.form_box.setEnabled(False)
        self.password.clear()
        self.problem.setVisible(False)
        self.net_light.set_state(Light.IDLE, "")
        self.net_light.set_text(self.tr("Network: not known yet"))
        self.wecom_light.set_state(Light.IDLE, "")
        self.wecom_light.set_text(self.tr("WeCom: not known yet"))

    def ask(self, current_ssid: str | None) -> None:
        self._asking = True
        self.form_box.setEnabled(True)
        if current_ssid and not self.ssid.text():
            self.ssid.setText(current_ssid)
        self._validate()
        self.ssid.setFocus()

    def _validate(self) -> None:
        size = len(self.password.text().encode("utf-8"))
        ok_psk = (
            size == 0
            or 8 <= size <= 63
            or (size == 64 and all(c in "0123456789abcdefABCDEF" for c in self.password.text()))
        )
        ok = 1 <= len(self.ssid.text().encode("utf-8")) <= 32 and ok_psk
        self.apply_button.setEnabled(self._asking and ok)
        if self.password.text() and not ok_psk:
            self.password.setToolTip(self.tr("A Wi-Fi password has 8 to 63 characters."))
        else:
            self.password.setToolTip("")

    def _apply(self) -> None:
        if self._asking:
            self._asking = False
            self.form_box.setEnabled(False)
            self.wifi_answered.emit((self.ssid.text(), self.password.text()))
            self.password.clear()

    def _keep(self) -> None:
        if self._asking:
            self._asking = False
            self.form_box.setEnabled(False)
            self.wifi_answered.emit(None)

    def apply_event(self, event: WorkflowEvent) -> None:
        if event.step is not Step.WIFI:
            if event.step is Step.BINDING and "net_state" in event.data:
                self._show_states(event.data)
            return
        self._show_states(event.data)
        if event.outcome is Outcome.FAILED or event.outcome is Outcome.WAITING:
            self.problem.setVisible(event.reason is not None)
            self.problem.set_state(
                Light.FAILED if event.outcome is Outcome.FAILED else Light.WARNING, ""
            )
            self.problem.set_text(event.reason.render() if event.reason else "")
        elif event.outcome is Outcome.OK:
            self.problem.setVisible(False)

    def _show_states(self, data: object) -> None:
        from collections.abc import Mapping

        if not isinstance(data, Mapping):
            return
        net = data.get("net_state")
        wecom = data.get("wecom_state")
        if net is not None:
            name = _name(net, NET_STATES)
            self.net_light.set_text(
                self.tr("Network: {state}").format(state=labels.net_state(name))
            )
            self.net_light.set_state(
                Light.OK if name == "ONLINE" else Light.BUSY if name == "LINK_UP" else Light.WARNING
            )
        if wecom is not None:
            name = _name(wecom, WECOM_STATES)
            self.wecom_light.set_text(
                self.tr("WeCom: {state}").format(state=labels.wecom_state(name))
            )
            self.wecom_light.set_state(
                Light.OK if name in ("WAITING_BIND", "BOUND") else Light.BUSY
            )
        if data.get("ssid"):
            self.ssid.setText(str(data["ssid"]))


def _name(value: object, names: tuple[str, ...]) -> str:
    if isinstance(value, int) and 0 <= value < len(names):
        return names[value]
    return str(value).upper()
