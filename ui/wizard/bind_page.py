"""Bind: the QR code the enterprise admin scans, with live status until the app is installed."""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from installer_app.provider.admin_menu import SCAN_PATH, TYPE_SN_PATH, arrows
from installer_app.workflow.events import Outcome, Step, WorkflowEvent
from ui.widgets.plain import plain_label
from ui.widgets.qr_view import QrView
from ui.widgets.status_light import Light, StatusLight
from ui.wizard.base import PageId, WizardPage, wrapped_label

STUCK_AFTER_S = 120


class BindPage(WizardPage):
    page_id = PageId.BIND
    demo_scan_requested = Signal()
    operator_page_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.set_heading(
            self.tr("Bind the board to the enterprise"),
            self.tr("The enterprise's admin scans this code with WeCom on their phone."),
        )
        row = QHBoxLayout()
        self.qr = QrView(self)
        self.qr.setObjectName("bindingQr")
        row.addWidget(self.qr, 3)
        side = QVBoxLayout()
        steps = QGroupBox(self.tr("For the enterprise admin (超级管理员 / 设备管理员)"), self)
        steps_layout = QVBoxLayout(steps)
        glosses = (
            self.tr("Workbench"),
            self.tr("Manage the enterprise"),
            self.tr("Smart hardware"),
            self.tr("Add a device"),
            self.tr("Scan the code"),
        )
        # The gloss is dropped where it says the same as WeCom's own (Chinese) menu name.
        lines = [
            f"{i}. {zh}" + (f"  ({gloss})" if gloss != zh else "")
            for i, (zh, gloss) in enumerate(zip(SCAN_PATH, glosses, strict=True), 1)
        ]
        self.instructions = wrapped_label(
            self.tr("In the WeCom mobile app:") + "\n" + "\n".join(lines), steps, "instructions"
        )
        steps_layout.addWidget(self.instructions)
        side.addWidget(steps)
        side.addWidget(self._build_sn_fallback())

        live = QGroupBox(self.tr("Status"), self)
        live_layout = QVBoxLayout(live)
        self.online_light = StatusLight(self.tr("Device online"), live)
        self.bound_light = StatusLight(self.tr("Bound to an enterprise"), live)
        self.app_light = StatusLight(self.tr("Companion app installed"), live)
        for light in (self.online_light, self.bound_light, self.app_light):
            live_layout.addWidget(light)
        self.elapsed = plain_label("", live)
        self.elapsed.setObjectName("elapsed")
        live_layout.addWidget(self.elapsed)
        side.addWidget(live)
        self.help = wrapped_label(
            self.tr(
                "Nothing happens? Make sure the admin scans from 智慧硬件 → 添加设备 (not the "
                "ordinary scanner), that the phone is online, and that the board's network light "
                "is on. A code that is more than 30 minutes old is renewed here by itself."
            ),
            self,
            "bindHelp",
        )
        side.addWidget(self.help)
        self.demo_box = QGroupBox(self.tr("Demo"), self)
        demo_layout = QHBoxLayout(self.demo_box)
        self.operator_button = QPushButton(self.tr("Open the emulator's scan page"), self.demo_box)
        self.scan_button = QPushButton(self.tr("Simulate the admin's scan"), self.demo_box)
        self.scan_button.setObjectName("primary")
        demo_layout.addWidget(self.operator_button)
        demo_layout.addWidget(self.scan_button)
        self.operator_button.clicked.connect(self.operator_page_requested)
        self.scan_button.clicked.connect(self._demo_scan)
        self.demo_box.setVisible(False)
        side.addWidget(self.demo_box)
        side.addStretch(1)
        row.addLayout(side, 2)
        self.body.addLayout(row, 1)
        self.url = wrapped_label("", self, "qrUrl")
        self.body.addWidget(self.url)

        self._clock = QElapsedTimer()
        self._offset_s = 0.0
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._tick)
        self.reset()

    def _build_sn_fallback(self) -> QGroupBox:
        """The other way to bind: the admin types the SN. Large, selectable, one click to copy."""
        box = QGroupBox(self.tr("Cannot scan? Add the board by its SN"), self)
        box.setObjectName("snFallback")
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        self.sn = plain_label("—", box)
        self.sn.setObjectName("bindSn")
        font = self.sn.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        font.setStyleHint(font.StyleHint.Monospace)
        self.sn.setFont(font)
        self.sn.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.copy_sn_button = QPushButton(self.tr("Copy SN"), box)
        self.copy_sn_button.setEnabled(False)
        self.copy_sn_button.clicked.connect(self.copy_sn)
        row.addWidget(self.sn, 1)
        row.addWidget(self.copy_sn_button)
        layout.addLayout(row)
        self.sn_steps = wrapped_label(
            self.tr("In the WeCom mobile app: {path}, then type this SN.").format(
                path=arrows(TYPE_SN_PATH)
            ),
            box,
            "snSteps",
        )
        layout.addWidget(self.sn_steps)
        return box

    def show_sn(self, sn: str) -> None:
        self.sn.setText(sn or "—")
        self.copy_sn_button.setEnabled(bool(sn))

    def copy_sn(self) -> None:
        text = self.sn.text()
        if text and text != "—":
            QGuiApplication.clipboard().setText(text)
            self.copy_sn_button.setText(self.tr("Copied"))
            QTimer.singleShot(1500, self, self._copy_label_back)

    def _copy_label_back(self) -> None:
        self.copy_sn_button.setText(self.tr("Copy SN"))

    def set_demo(self, demo: bool) -> None:
        self.demo_box.setVisible(demo)

    def _demo_scan(self) -> None:
        self.scan_button.setEnabled(False)
        self.demo_scan_requested.emit()

    def demo_scan_done(self, error: str | None) -> None:
        self.scan_button.setEnabled(True)
        if error:
            self.bound_light.set_state(Light.FAILED, error)

    def reset(self) -> None:
        self.show_sn("")
        self.qr.set_url("")
        self.url.setText("")
        self._ticker.stop()
        self._offset_s = 0.0
        self.elapsed.setText("")
        for light in (self.online_light, self.bound_light, self.app_light):
            light.set_state(Light.IDLE, "")
        self.bound_light.set_text(self.tr("Bound to an enterprise"))
        self.help.setVisible(False)
        self.scan_button.setEnabled(True)

    def stop_clock(self) -> None:
        self._ticker.stop()

    def _start_clock(self) -> None:
        if not self._ticker.isActive():
            self._clock.start()
            self._ticker.start()
            self._tick()

    def _tick(self) -> None:
        seconds = int(self._offset_s + self._clock.elapsed() / 1000)
        self.elapsed.setText(
            self.tr("Waiting for {minutes}:{seconds:02d}").format(
                minutes=seconds // 60, seconds=seconds % 60
            )
        )
        if seconds >= STUCK_AFTER_S:
            self.help.setVisible(True)

    def apply_event(self, event: WorkflowEvent) -> None:
        data = event.data
        if isinstance(data.get("device_sn"), str) and data["device_sn"]:
            self.show_sn(str(data["device_sn"]))  # the credential's SN, as the store issued it
        if event.step is Step.WIFI and data.get("net_state") in (2, "ONLINE"):
            self.online_light.set_state(Light.OK)
        if event.step is Step.QR and data.get("url"):
            self.qr.set_url(str(data["url"]))
            self.url.setText(str(data["url"]))
            self._start_clock()
        elif event.step is Step.BINDING:
            self._start_clock()
            if isinstance(data.get("elapsed_s"), int | float):
                self._offset_s = float(data["elapsed_s"])
                self._clock.restart()
            if data.get("net_state") in (2, "ONLINE"):
                self.online_light.set_state(Light.OK)
            if event.outcome is Outcome.OK:
                self.online_light.set_state(Light.OK)
                corp = data.get("corp_name") or data.get("corpid") or ""
                self.bound_light.set_text(self.tr("Bound to {enterprise}").format(enterprise=corp))
                self.bound_light.set_state(Light.OK, "")
            else:
                self._show_outcome(self.bound_light, event)
        elif event.step is Step.APP:
            if event.outcome is Outcome.OK:
                self.app_light.set_state(Light.OK, "")
                self._ticker.stop()
            elif event.outcome is Outcome.SKIPPED:
                self.app_light.set_state(
                    Light.IDLE,
                    event.reason.render()
                    if event.reason
                    else self.tr("Not checkable without a partner service."),
                )
                self._ticker.stop()
            else:
                self._show_outcome(self.app_light, event)

    def _show_outcome(self, light: StatusLight, event: WorkflowEvent) -> None:
        state = {
            Outcome.STARTED: Light.BUSY,
            Outcome.PROGRESS: Light.BUSY,
            Outcome.WAITING: Light.BUSY,
            Outcome.RETRYING: Light.WARNING,
            Outcome.FAILED: Light.FAILED,
        }.get(event.outcome, light.state)
        light.set_state(state, event.reason.render() if event.reason else None)
        if event.outcome is Outcome.WAITING and event.reason is not None:
            self.help.setVisible(True)
