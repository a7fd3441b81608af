"""Polls the serial ports on the worker pool for a view that shows them live (the Connect page's
port list, the bench view): about every half second while started, never more than one listing in
flight, the answer delivered on the GUI thread by the ``listed`` signal."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from ui.workers import Workers

log = logging.getLogger(__name__)

POLL_MS = 500


class PortPoller(QObject):
    listed = Signal(object)  # list[PortInfo], likely boards first (device.ports' order)
    failed = Signal(object)  # the exception list_ports raised

    def __init__(
        self, workers: Workers, allowlist: Sequence[str], name: str, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._workers = workers
        self._allowlist = tuple(allowlist)
        self._name = name
        self._in_flight = False
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.scan)

    def set_allowlist(self, allowlist: Sequence[str]) -> None:
        self._allowlist = tuple(allowlist)

    def start(self) -> None:
        if not self._timer.isActive():
            self._timer.start()
            self.scan()

    def stop(self) -> None:
        self._timer.stop()

    @property
    def polling(self) -> bool:
        return self._timer.isActive()

    def scan(self) -> None:
        """List the ports now (unless a listing is already on its way)."""
        if self._in_flight:
            return
        self._in_flight = True
        allowlist = self._allowlist

        def list_now(cancel: threading.Event) -> list[Any]:
            from installer_app.device.ports import list_ports

            return list(list_ports(allowlist))

        self._workers.submit(
            list_now, name=self._name, on_success=self._listed, on_failure=self._failed
        )

    def _listed(self, ports: list[Any]) -> None:
        self._in_flight = False
        self.listed.emit(ports)

    def _failed(self, exc: BaseException) -> None:
        self._in_flight = False
        log.warning("listing serial ports failed: %s", exc)
        self.failed.emit(exc)
