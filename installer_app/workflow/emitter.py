"""Progress events of one run, and the device's own state as its events report it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from installer_app.device.protocol import NetState, WecomState
from installer_app.device.responses import DeviceEvent, DeviceStatus
from installer_app.i18n import Message
from installer_app.workflow.errors import Cancelled
from installer_app.workflow.events import Outcome, Step, WorkflowEvent

log = logging.getLogger(__name__)


class Emitter:
    """Sends one run's events to the front end, tagged with the port, and remembers the step in
    progress (a failure is reported against it). A front end that raises does not stop the
    flow: the board's state matters more than one missed line."""

    def __init__(
        self, port: str, on_event: Callable[[WorkflowEvent], None], cancel: threading.Event
    ) -> None:
        self.port = port
        self._on_event = on_event
        self.cancel = cancel
        self.step = Step.CONNECT

    def __call__(
        self, step: Step, outcome: Outcome, reason: Message | None = None, **data: Any
    ) -> None:
        self.step = step
        event = WorkflowEvent(step=step, outcome=outcome, reason=reason, data=data, port=self.port)
        log.info("%s: %s %s %s", self.port, step.value, outcome.value, data or "")
        try:
            self._on_event(event)
        except Exception:
            log.exception("the front end failed to take an event")

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled()


class LiveStatus:
    """The board's latest NET_STATE / WECOM_STATE / CORP_NAME, from EVENT frames and STATUS.

    Written by the device client's reader thread (events) and the run's thread (STATUS);
    ``wait_change`` lets the run sleep until something changes. ``subscribe`` adds a callback
    (the binding watcher's ``feed_device_state``) called on every update.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.net_state: NetState | None = None
        self.wecom_state: WecomState | None = None
        self.corp_name: str | None = None
        self._version = 0
        self._subscribers: list[Callable[[WecomState, str | None], None]] = []

    def on_event(self, event: DeviceEvent) -> None:
        self._update(event.net_state, event.wecom_state, event.corp_name)

    def on_status(self, status: DeviceStatus) -> None:
        self._update(status.net_state, status.wecom_state, status.corp_name)

    def _update(self, net: NetState, wecom: WecomState, corp_name: str | None) -> None:
        with self._cond:
            changed = (net, wecom, corp_name) != (self.net_state, self.wecom_state, self.corp_name)
            self.net_state, self.wecom_state, self.corp_name = net, wecom, corp_name
            if changed:
                self._version += 1
            subscribers = list(self._subscribers)
            self._cond.notify_all()
        for callback in subscribers:
            try:
                callback(wecom, corp_name)
            except Exception:
                log.exception("a device-state subscriber failed")

    @property
    def version(self) -> int:
        with self._cond:
            return self._version

    def wait_change(self, since: int, timeout: float) -> int:
        with self._cond:
            self._cond.wait_for(lambda: self._version != since, timeout)
            return self._version

    def subscribe(self, callback: Callable[[WecomState, str | None], None]) -> Callable[[], None]:
        with self._cond:
            self._subscribers.append(callback)
            wecom, corp = self.wecom_state, self.corp_name
        if wecom is not None:
            callback(wecom, corp)

        def remove() -> None:
            with self._cond:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return remove
