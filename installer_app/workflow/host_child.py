"""The board host: ``installer-app --board-host``, started by the wizard's bench view.

It opens its own session on the wizard's settings (the same store, clients and rules; its team
outbox is sent by the wizard's session, which polls the same store) and runs each board the
wizard names through ``BoardRuns``, the CLI's machinery, answering for the board as the bench
does (``BenchAnswers``). Everything it has to say goes back over the pipe (``host_protocol``):
the events, the results, the one Wi-Fi question, its log records. It ends when the wizard says
``close`` or its pipe closes (the wizard is gone): every board is cancelled and joined, then the
session is closed, so store and devices are left as after a cancelled CLI run.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
from pathlib import Path
from typing import IO

from installer_app.errors import InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.provider.qr import QUICK_MASK, QUIET_ZONE, qr_matrix
from installer_app.secrets import RedactingFilter, redact
from installer_app.workflow.bench_answers import BenchAnswers, SiteWifi
from installer_app.workflow.events import Outcome, ProvisionResult, Step, WorkflowEvent
from installer_app.workflow.host_protocol import (
    Channel,
    HostMessage,
    ProtocolError,
    settings_of,
    wifi_of,
)
from installer_app.workflow.parallel import BoardRuns

log = logging.getLogger(__name__)
JOIN_TIMEOUT_S = 15.0
HOST_NICENESS = 10
_SHOWN = frozenset({Outcome.OK, Outcome.PROGRESS})  # a QR event whose code is to be shown


class _Forward(logging.Handler):
    """The host's log records go to the wizard, which logs them (its file, its log pane)."""

    def __init__(self, channel: Channel) -> None:
        super().__init__()
        self._channel = channel
        self.addFilter(RedactingFilter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            self._channel.send(("log", record.levelno, record.name, text))
        except Exception:  # noqa: BLE001 - a record that cannot go must not stop a board
            self.handleError(record)


class Host:
    def __init__(self, channel: Channel) -> None:
        self._channel = channel
        self._wifi = SiteWifi()
        self._runs: BoardRuns | None = None

    def serve(self) -> int:
        first = self._channel.receive()
        if first is None:
            return 0
        if first[0] != "open":
            raise ProtocolError(f"expected open, got {first[0]}")
        settings, data_dir, level = settings_of(first)
        _forward_logs(self._channel, level)
        from installer_app.workflow.wiring import open_session

        try:
            session = open_session(settings, Path(data_dir), background_sync=False)
        except InstallerError as exc:
            self._send(("failed", exc.message))
            return 1
        except Exception as exc:  # said to the wizard, then the host ends
            log.exception("the board host could not open its session")
            self._send(("failed", _cannot_open(exc)))
            return 1
        # The wizard's own session sends the outbox (it polls the same store): one sender.
        session.outbox = None
        self._runs = BoardRuns(session.provisioner)
        try:
            self._send(("ready",))
            self._loop()
        finally:
            self._runs.cancel_all()
            self._wifi.release()
            if not self._runs.join(JOIN_TIMEOUT_S):
                log.warning("board host: a board did not stop within %.0f s", JOIN_TIMEOUT_S)
            session.close()
        self._send(("closed",))
        return 0

    def _loop(self) -> None:
        while True:
            message = self._channel.receive()
            if message is None or message[0] == "close":
                return
            tag = message[0]
            if tag == "start":
                self._start(str(message[1]), forced=bool(message[2]))
            elif tag == "cancel":
                assert self._runs is not None
                self._runs.cancel(str(message[1]))
            elif tag == "wifi":
                self._wifi.provide(wifi_of(message))
            else:
                raise ProtocolError(f"unknown message {tag}")

    def _start(self, port: str, *, forced: bool) -> None:
        runs = self._runs
        assert runs is not None
        cancel = threading.Event()
        answers = BenchAnswers(
            runs.provisioner,
            self._wifi,
            cancel,
            lambda: self._send(("wifi_needed",)),
            forced=forced,
        )

        def on_event(event: WorkflowEvent) -> None:
            code = _binding_code(event)
            if code is not None:
                self._send(code)  # before its event: the wizard shows the code it names
            self._send(("event", event))

        def on_result(result: ProvisionResult) -> None:
            self._send(("result", result, answers.left_alone))

        if not runs.start(port, answers, on_event, on_result, cancel=cancel):
            self._send(("refused", port))

    def _send(self, message: HostMessage) -> None:
        try:
            self._channel.send(message)
        except OSError:
            pass  # the wizard is gone: its pipe's end tells the loop to stop
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            # A value the pipe cannot carry must not stop the board: the news is lost, said so.
            log.error("board host: could not send %s: %s", message[0], exc)


def _binding_code(event: WorkflowEvent) -> HostMessage | None:
    """``("code", url, modules)`` for an event that shows a binding code: drawn here, so that
    the wizard's process, whose window waits for the interpreter lock while any of its threads
    runs Python, has only to paint it (issue #15: drawn on the window's workers, eight codes at
    once froze frames)."""
    url = event.data.get("url")
    if event.step is not Step.QR or event.outcome not in _SHOWN or not isinstance(url, str):
        return None
    try:
        return ("code", url, qr_matrix(url, QUIET_ZONE, mask=QUICK_MASK))
    except Exception as exc:  # noqa: BLE001 - the wizard draws it itself then
        log.warning("board host: could not draw a binding code: %s", exc)
        return None


def _cannot_open(exc: BaseException) -> Message:
    return Message(
        QT_TRANSLATE_NOOP(
            "workflow", "The bench's board worker could not open the session: {detail}"
        ),
        detail=redact(str(exc) or type(exc).__name__),
    )


def _forward_logs(channel: Channel, level: int) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(_Forward(channel))
    root.setLevel(level)


def main() -> int:
    """The protocol keeps the real stdin and stdout (file descriptors 0 and 1: a windowed build
    has no ``sys.stdout``); anything else printed goes to stderr, or nowhere."""
    if hasattr(os, "nice"):
        # Before any thread starts (threads inherit it): the boards' work, paced by the devices
        # and WeCom, gives way to the window's thread whenever both want a core. (Windows: the
        # wizard starts the host with BELOW_NORMAL_PRIORITY_CLASS.)
        os.nice(HOST_NICENESS)
    protocol_in: IO[bytes] = os.fdopen(os.dup(0), "rb")
    protocol_out: IO[bytes] = os.fdopen(os.dup(1), "wb")
    try:
        os.dup2(2, 1)
    except OSError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    channel = Channel(protocol_in, protocol_out)
    try:
        return Host(channel).serve()
    except ProtocolError as exc:
        log.error("board host: %s", exc)
        return 2
    finally:
        channel.close()
