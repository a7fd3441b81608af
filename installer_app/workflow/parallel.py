"""Several boards at once: one thread per board, each running ``Provisioner.run``.

The CLI's ``provision`` (several ``--port``s, ``--all``) and the wizard's bench view both start
boards through ``BoardRuns``, so they share the same machinery: the state machine is thread-safe
(the store serialises its writes), each board has its own cancel event, and ``cancel_all`` +
``join`` stop every board promptly and consistently (Ctrl-C, closing the window).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from installer_app.workflow.events import Answers, ProvisionResult, WorkflowEvent
from installer_app.workflow.machine import Provisioner

log = logging.getLogger(__name__)

OnEvent = Callable[[WorkflowEvent], None]
OnResult = Callable[[ProvisionResult], None]


class BoardRuns:
    """The boards running now, by port. ``on_event`` and ``on_result`` are called on the board's
    own thread."""

    def __init__(self, provisioner: Provisioner, *, no_wait: bool = False) -> None:
        self.provisioner = provisioner
        self.no_wait = no_wait
        self._lock = threading.Lock()
        self._runs: dict[str, tuple[threading.Thread, threading.Event]] = {}

    def start(
        self,
        port: str,
        answers: Answers,
        on_event: OnEvent,
        on_result: OnResult,
        *,
        cancel: threading.Event | None = None,
    ) -> bool:
        """False when this port already runs. ``cancel``: the board's own event, when the caller
        shares it (with its answers, say); else a new one."""
        with self._lock:
            if port in self._runs:
                return False
            cancel = cancel or threading.Event()
            thread = threading.Thread(
                target=self._run,
                args=(port, answers, on_event, on_result, cancel),
                name=f"provision-{port}",
                daemon=True,
            )
            self._runs[port] = (thread, cancel)
        thread.start()
        return True

    def _run(
        self,
        port: str,
        answers: Answers,
        on_event: OnEvent,
        on_result: OnResult,
        cancel: threading.Event,
    ) -> None:
        try:
            result = self.provisioner.run(
                port, answers=answers, on_event=on_event, cancel=cancel, no_wait=self.no_wait
            )
        finally:
            with self._lock:
                self._runs.pop(port, None)
        on_result(result)

    def running(self) -> list[str]:
        with self._lock:
            return list(self._runs)

    def is_running(self, port: str) -> bool:
        with self._lock:
            return port in self._runs

    def cancel(self, port: str) -> None:
        with self._lock:
            run = self._runs.get(port)
        if run is not None:
            run[1].set()

    def cancel_all(self) -> None:
        with self._lock:
            runs = list(self._runs.values())
        for _thread, cancel in runs:
            cancel.set()

    def join(self, timeout_s: float | None = None, *, slice_s: float = 0.2) -> bool:
        """Wait for every board (short joins keep Ctrl-C responsive); True when all ended."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            with self._lock:
                threads = [thread for thread, _cancel in self._runs.values()]
            if not threads:
                return True
            for thread in threads:
                left = slice_s if deadline is None else min(slice_s, deadline - time.monotonic())
                if left <= 0:
                    return False
                thread.join(left)
