"""Connect: the live port list, IDENTIFY, and hints when nothing is found."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from ui.scanner import WedgeScanner, resolve_on_worker
from ui.widgets.port_list import PortList
from ui.widgets.status_light import Light, StatusLight
from ui.wizard.base import PageId, WizardPage, wrapped_label
from ui.workers import Workers


class ConnectPage(WizardPage):
    page_id = PageId.CONNECT
    identify_requested = Signal(object)  # PortInfo
    provision_requested = Signal(object)  # PortInfo
    back_requested = Signal()
    scan_handled = Signal(str, bool)  # the scanned text, whether it selected a board
    bench_requested = Signal()

    def __init__(
        self, workers: Workers, allowlist: Sequence[str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.set_heading(
            self.tr("Connect the board"),
            self.tr(
                "Plug the board into this computer with a USB data cable. It appears below "
                "by itself."
            ),
        )
        self.ports = PortList(workers, allowlist, self)
        self.body.addWidget(self.ports, 1)
        self.hints = wrapped_label("", self, "hints")
        self.body.addWidget(self.hints)
        self.identify_status = StatusLight("", self)
        self.identify_status.setVisible(False)
        self.body.addWidget(self.identify_status)
        self.note = wrapped_label("", self, "note")
        self.note.setVisible(False)
        self.body.addWidget(self.note)

        buttons = QHBoxLayout()
        self.back_button = QPushButton(self.tr("Back"), self)
        self.identify_button = QPushButton(self.tr("Blink (identify)"), self)
        self.identify_button.setToolTip(
            self.tr("The selected board blinks its LED and beeps for 5 seconds.")
        )
        self.provision_button = QPushButton(self.tr("Provision this board"), self)
        self.provision_button.setObjectName("primary")
        self.bench_button = QPushButton(self.tr("Bench view (every board)"), self)
        self.back_button.clicked.connect(self.back_requested)
        self.bench_button.clicked.connect(self.bench_requested)
        self.identify_button.clicked.connect(self._identify)
        self.provision_button.clicked.connect(self._provision)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.bench_button)
        buttons.addStretch(1)
        buttons.addWidget(self.identify_button)
        buttons.addWidget(self.provision_button)
        self.body.addLayout(buttons)

        self.ports.ports_changed.connect(self._ports_changed)
        self.ports.selected_port_changed.connect(lambda _p: self._update_buttons())
        self._ready = True
        self._ports_changed(0)
        self._workers = workers
        self._store: Any | None = None
        self.scanner = WedgeScanner(self)
        self.scanner.scanned.connect(self._scanned)

    def set_store(self, store: Any | None) -> None:
        """The session's store: a scanned SN or binding link is looked up in it."""
        self._store = store

    def _scanned(self, text: str) -> None:
        """A label was scanned: select the board it names, or say briefly that none matches."""
        resolve_on_worker(self._workers, text, self._store, self._select_scanned)

    def _select_scanned(self, match: Any | None, text: str) -> None:
        from installer_app.labels.scan import pick_port

        port = pick_port(match, self.ports.ports()) if match is not None else None
        scanned = match.text if match is not None else text
        if port is not None and self.ports.select_device(port.device):
            self.show_note(
                self.tr("Scanned {code}: selected {port}.").format(code=scanned, port=port.device)
            )
        else:
            self.show_note(
                self.tr("Scanned {code}: no connected board matches.").format(code=scanned)
            )
        self.scan_handled.emit(scanned, port is not None)

    def set_ready(self, ready: bool) -> None:
        """False while the session (store, provisioner) is not open yet."""
        self._ready = ready
        self._update_buttons()

    def show_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def _update_buttons(self) -> None:
        chosen = self.ports.selected_port() is not None
        self.identify_button.setEnabled(chosen)
        self.provision_button.setEnabled(chosen and self._ready)

    def _ports_changed(self, count: int) -> None:
        if count:
            self.hints.setText(self.tr("Select the board to provision, then press Provision."))
        else:
            self.hints.setText(
                self.tr(
                    "No USB-serial board found yet. Check that:\n"
                    "• the cable carries data (some USB cables only charge);\n"
                    "• the USB-serial driver (CP210x, CH340/CH9102 or FTDI) is installed;\n"
                    "• on Linux, your user is in the dialout group "
                    "(sudo usermod -aG dialout $USER, then log in again);\n"
                    "• the board is powered and its USB port is the console port."
                )
            )
        self._update_buttons()

    def _identify(self) -> None:
        port = self.ports.selected_port()
        if port is not None:
            self.identify_status.setVisible(True)
            self.identify_status.set_state(Light.BUSY, "")
            self.identify_status.set_text(
                self.tr("Asking {port} to blink…").format(port=port.device)
            )
            self.identify_button.setEnabled(False)
            self.identify_requested.emit(port)

    def show_identify_result(self, port: Any, error: str | None) -> None:
        self.identify_button.setEnabled(self.ports.selected_port() is not None)
        if error is None:
            self.identify_status.set_state(Light.OK, "")
            self.identify_status.set_text(
                self.tr("{port} is blinking and beeping for 5 seconds.").format(port=port.device)
            )
        else:
            self.identify_status.set_state(Light.FAILED, "")
            self.identify_status.set_text(error)

    def _provision(self) -> None:
        port = self.ports.selected_port()
        if port is not None:
            self.provision_requested.emit(port)

    def reset(self) -> None:
        self.identify_status.setVisible(False)
