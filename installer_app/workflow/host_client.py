"""The wizard's end of a board host (``host_child``): start the process, name the boards to
run, relay what it says.

``on_event``, ``on_code``, ``on_result`` and ``on_wifi_needed`` are called on the host's reader
thread, in the order the host said them. When the host ends without being asked (it crashed, it
was killed), every board still running gets a failed result that says so: the store keeps each
board's progress, so *Retry* on its card goes on where it stopped, in a new host.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from installer_app.app_command import BOARD_HOST_FLAG, app_command
from installer_app.config import Settings
from installer_app.errors import ExitCode
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.workflow.events import ProvisionResult, WifiCredentials, WorkflowEvent
from installer_app.workflow.host_protocol import (
    Channel,
    HostMessage,
    ProtocolError,
    open_message,
    wifi_message,
)

log = logging.getLogger(__name__)

# Windows: below the window's priority (POSIX: the host lowers its own, host_child.main), and no
# console window for a console build of the app.
_WINDOWS_FLAGS = getattr(subprocess, "BELOW_NORMAL_PRIORITY_CLASS", 0) | getattr(
    subprocess, "CREATE_NO_WINDOW", 0
)
OnEvent = Callable[[WorkflowEvent], None]
OnResult = Callable[[ProvisionResult, bool], None]  # the result, whether the board was left alone
OnCode = Callable[[str, list[list[bool]]], None]  # a binding link, its QR modules


class BoardHost:
    def __init__(
        self,
        settings: Settings,
        data_dir: Path,
        *,
        on_event: OnEvent,
        on_result: OnResult,
        on_wifi_needed: Callable[[], None],
        on_code: OnCode | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        self._on_event = on_event
        self._on_code = on_code
        self._on_result = on_result
        self._on_wifi_needed = on_wifi_needed
        self._command = [*(command or app_command()), BOARD_HOST_FLAG]
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._closing = False
        self._closed_in_time = True
        self._closed = threading.Event()
        self._lost: Message | None = None
        self.ready = threading.Event()
        # Messages wait here until the process is up, then go in order.
        self._send_lock = threading.Lock()
        self._pending: list[HostMessage] = [
            open_message(settings, str(data_dir), logging.getLogger().getEffectiveLevel())
        ]
        self._channel: Channel | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None

    # -- the process ----------------------------------------------------------------------------

    def launch(self) -> None:
        """Start the host (on a worker thread: starting a process costs its caller ms)."""
        with self._lock:
            if self._closing or self._process is not None:
                return
            try:
                # Its own session: a Ctrl-C in the wizard's terminal reaches the wizard, which
                # closes the host in order, not both at once.
                process = subprocess.Popen(
                    self._command,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    start_new_session=True,
                    creationflags=_WINDOWS_FLAGS,
                )
            except OSError as exc:
                self._lost = _could_not_start(exc)
                log.error("the board host did not start: %s", exc)
                return
            self._process = process
        assert process.stdout is not None and process.stdin is not None
        channel = Channel(process.stdout, process.stdin)
        with self._send_lock:
            self._channel = channel
            pending, self._pending = self._pending, []
            try:
                for message in pending:
                    channel.send(message)
            except OSError:
                pass  # it died at once: the reader finds out and reports it
        self._reader = threading.Thread(target=self._read, name="board-host-reader", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def exit_code(self) -> int | None:
        return self._process.returncode if self._process is not None else None

    @property
    def lost(self) -> Message | None:
        """Why this host can run no more boards (None: it can)."""
        return self._lost

    def close(self, timeout_s: float = 15.0) -> bool:
        """Cancel every board, let the host join them and close its session; True when it
        ended in time (else it is killed). Idempotent."""
        with self._lock:
            closing_already = self._closing
            self._closing = True
            process = self._process
        if closing_already:  # closed, or being closed on another thread: wait for that
            return self._closed.wait(timeout_s) and self._closed_in_time
        self._send(("close",))
        if process is None:
            self._closed.set()
            return True
        ok = True
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("the board host did not end within %.0f s: killed", timeout_s)
            process.kill()
            process.wait()
            ok = False
        if self._reader is not None:
            self._reader.join(timeout_s)
        if self._channel is not None:
            self._channel.close()
        self._closed_in_time = ok
        self._closed.set()
        return ok

    # -- the boards -----------------------------------------------------------------------------

    def start(self, port: str, *, forced: bool = False) -> bool:
        """False when the port already runs here, or the host is closing or lost."""
        with self._lock:
            if port in self._running or self._closing or self._lost is not None:
                return False
            self._running.add(port)
        self._send(("start", port, forced))
        return True

    def cancel(self, port: str) -> None:
        self._send(("cancel", port))

    def provide_wifi(self, wifi: WifiCredentials | None) -> None:
        self._send(wifi_message(wifi))

    def running(self) -> list[str]:
        with self._lock:
            return sorted(self._running)

    def is_running(self, port: str) -> bool:
        with self._lock:
            return port in self._running

    def _send(self, message: HostMessage) -> None:
        with self._send_lock:
            if self._channel is None:
                self._pending.append(message)
                return
            # The host gone (the reader reports it), or its pipe closed by ``close``.
            with contextlib.suppress(OSError, ValueError):
                self._channel.send(message)

    # -- what the host says ---------------------------------------------------------------------

    def _read(self) -> None:
        channel, process = self._channel, self._process
        assert channel is not None and process is not None
        try:
            while (message := channel.receive()) is not None:
                self._dispatch(message)
        except (ProtocolError, OSError, EOFError, ValueError) as exc:
            log.error("the board host sent something unreadable: %s", exc)
            process.kill()
        except Exception:
            log.exception("the board host's message could not be handled")
            process.kill()
        try:
            code = process.wait(5.0)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        with self._lock:
            ports = sorted(self._running)
            self._running.clear()
            if self._lost is None:
                self._lost = _stopped(code)
            reason = self._lost
        for port in ports:
            self._on_result(_failed(port, reason), False)

    def _dispatch(self, message: HostMessage) -> None:
        tag = message[0]
        if tag == "event":
            event = message[1]
            if isinstance(event, WorkflowEvent):
                self._on_event(event)
        elif tag == "code":
            url, modules = message[1], message[2]
            if self._on_code is not None and isinstance(url, str) and isinstance(modules, list):
                self._on_code(url, modules)
        elif tag == "result":
            result, left_alone = message[1], bool(message[2])
            if isinstance(result, ProvisionResult):
                with self._lock:
                    self._running.discard(result.port or "")
                self._on_result(result, left_alone)
        elif tag == "log":
            logging.getLogger(str(message[2])).log(int(message[1]), "%s", message[3])
        elif tag == "wifi_needed":
            self._on_wifi_needed()
        elif tag == "refused":
            with self._lock:
                self._running.discard(str(message[1]))
            log.warning("the board host still runs %s: not started again", message[1])
        elif tag == "ready":
            self.ready.set()
        elif tag == "failed" and isinstance(message[1], Message):
            with self._lock:
                self._lost = message[1]
            log.error("the board host: %s", message[1].english())


def _failed(port: str, reason: Message) -> ProvisionResult:
    return ProvisionResult(
        ok=False,
        exit_code=ExitCode.FAILURE,
        port=port,
        error=reason,
        hint=Message(
            QT_TRANSLATE_NOOP(
                "workflow",
                "Press Retry on the board's card: it goes on from the step it had reached.",
            )
        ),
    )


def _stopped(code: int) -> Message:
    return Message(
        QT_TRANSLATE_NOOP(
            "workflow", "The bench's board worker stopped unexpectedly (exit code {code})."
        ),
        code=code,
    )


def _could_not_start(exc: OSError) -> Message:
    return Message(
        QT_TRANSLATE_NOOP("workflow", "The bench's board worker could not start: {detail}"),
        detail=exc.strerror or str(exc),
    )
