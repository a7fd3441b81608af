"""A live list of serial ports: boards appear and disappear as they are plugged, no refresh button.

``PortPoller`` lists the ports on a worker about every half second, never more than one listing in
flight; the list keeps the installer's selection and preselects
the likely board when nothing is selected yet.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from ui.widgets.plain import plain_tooltip
from ui.widgets.port_poller import PortPoller
from ui.workers import Workers

log = logging.getLogger(__name__)

PORT_ROLE = Qt.ItemDataRole.UserRole


def describe_port(port: Any) -> str:
    """One line for a PortInfo: device, what it is, USB ids."""
    parts = [str(port.device)]
    if getattr(port, "description", None):
        parts.append(str(port.description))
    if getattr(port, "vid", None) is not None and getattr(port, "pid", None) is not None:
        parts.append(f"{port.vid:04X}:{port.pid:04X}")
    if getattr(port, "serial_number", None):
        parts.append(f"S/N {port.serial_number}")
    return " — ".join(parts)


def is_board(port: Any) -> bool:
    """A USB-serial bridge on the allowlist, or a running simulator (not a built-in ttyS0)."""
    return bool(getattr(port, "likely", False) or getattr(port, "simulated", False))


class PortList(QListWidget):
    ports_changed = Signal(int)  # how many listed ports look like a board (likely or simulated)
    selected_port_changed = Signal(object)  # PortInfo | None
    scan_failed = Signal(object)  # the exception list_ports raised

    def __init__(
        self, workers: Workers, allowlist: Sequence[str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._poller = PortPoller(workers, allowlist, "list_ports", self)
        self._poller.listed.connect(self._update)
        self._poller.failed.connect(self.scan_failed)
        self._ports: dict[str, Any] = {}
        self._user_chose = False
        self._arrival: dict[str, int] = {}  # device -> the scan that first listed it
        self._avoid: Any | None = None  # the PortInfo of the board just finished (Next device)
        self.scans = 0
        self.setObjectName("portList")
        self.setAccessibleName(self.tr("Serial ports"))
        self.itemSelectionChanged.connect(self._selection_changed)
        self.itemClicked.connect(lambda _item: setattr(self, "_user_chose", True))

    def set_allowlist(self, allowlist: Sequence[str]) -> None:
        self._poller.set_allowlist(allowlist)

    def start(self) -> None:
        self._poller.start()

    def stop(self) -> None:
        self._poller.stop()

    @property
    def polling(self) -> bool:
        return self._poller.polling

    def scan(self) -> None:
        self._poller.scan()

    def _update(self, ports: list[Any]) -> None:
        self.scans += 1
        fresh = {p.device: p for p in ports}
        if list(fresh) == list(self._ports) and all(fresh[k] == self._ports[k] for k in fresh):
            return
        selected = self.selected_port()
        selected_device = selected.device if selected is not None else None
        self.blockSignals(True)
        self.clear()
        for port in ports:
            item = QListWidgetItem(self._label(port))
            item.setData(PORT_ROLE, port.device)
            item.setToolTip(plain_tooltip(describe_port(port)))
            self.addItem(item)
        # A board is new on a new port, or on a port whose board changed between two scans (the
        # next board plugged into the port name the last one just freed: its USB serial number
        # or HW_ID differs).
        arrived = [
            p for p in ports if is_board(p) and self.scans > 1 and self._ports.get(p.device) != p
        ]
        for port in arrived:
            self._arrival.pop(port.device, None)
        for device in list(self._arrival):
            if device not in fresh:
                del self._arrival[device]
        if self._avoid is not None and fresh.get(self._avoid.device) != self._avoid:
            self._avoid = None  # unplugged: a board that comes back is a new arrival
        for port in ports:
            self._arrival.setdefault(port.device, self.scans)
        self._ports = fresh
        target = selected_device if selected_device in fresh else None
        if arrived and not self._user_chose:
            target = arrived[-1].device  # a board just plugged in is the one to provision
        elif target is None or (not self._user_chose and not is_board(fresh[target])):
            target = self._newest_board()
        self._select_row(target)
        self.blockSignals(False)
        self.ports_changed.emit(self.board_count())
        new_selected = self.selected_port()
        if (new_selected.device if new_selected else None) != selected_device:
            self.selected_port_changed.emit(new_selected)

    def _newest_board(self) -> str | None:
        """The board plugged in last, not the one just finished; never a port that is no board
        (a built-in ttyS0). Among boards seen in the same scan, the likeliest (list order)."""
        boards = [p for p in self._ports.values() if is_board(p) and p != self._avoid]
        if not boards:
            return None
        order = {p.device: i for i, p in enumerate(self._ports.values())}
        newest = max(boards, key=lambda p: (self._arrival.get(p.device, 0), -order[p.device]))
        return str(newest.device)

    def _select_row(self, target: str | None) -> None:
        if target is None:
            return
        for row in range(self.count()):
            if self.item(row).data(PORT_ROLE) == target:
                self.setCurrentRow(row)
                return

    def prefer_newest(self, avoid: str | None) -> None:
        """Next device: forget the installer's pick and select the newest board but the one on
        ``avoid`` (the board just finished, still plugged in); a board plugged in later wins."""
        self._user_chose = False
        self._avoid = self._ports.get(avoid) if avoid is not None else None
        target = self._newest_board()
        if target is None:
            self.clearSelection()
        else:
            self._select_row(target)

    def _label(self, port: Any) -> str:
        text = describe_port(port)
        if getattr(port, "simulated", False):
            text += "  " + self.tr("(simulated board)")
        elif getattr(port, "likely", False):
            text += "  " + self.tr("(likely the board)")
        return text

    def _selection_changed(self) -> None:
        self.selected_port_changed.emit(self.selected_port())

    def board_count(self) -> int:
        return sum(1 for p in self._ports.values() if is_board(p))

    def ports(self) -> list[Any]:
        return list(self._ports.values())

    def selected_port(self) -> Any | None:
        items = self.selectedItems()
        if not items:
            return None
        return self._ports.get(items[0].data(PORT_ROLE))

    def select_device(self, device: str) -> bool:
        for row in range(self.count()):
            if self.item(row).data(PORT_ROLE) == device:
                self._user_chose = True
                self.setCurrentRow(row)
                return True
        return False
