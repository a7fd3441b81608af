"""The one bridge between blocking core calls and Qt's threads and signals.

Every serial, HTTP and SQLite call the GUI makes goes through here:

- ``Workers.submit(fn)`` runs ``fn(cancel)`` on its own ``QThread`` (a runner ``QObject`` moved to
  the thread, ``finished -> quit``; the GUI thread drops both once the thread has ended) and
  hands the return value or the exception back to the GUI thread by signal (Picard's
  ``run_task``). Each task gets a ``threading.Event`` the core call watches;
  ``Workers.shutdown()`` sets them all and joins the threads, so closing the window leaves no
  thread behind.
- ``GuiAnswers`` implements the workflow's ``Answers`` protocol: the workflow thread emits a
  question to the GUI thread and waits on a ``threading.Event`` until a page answers or the run
  is cancelled (Electrum's hardware-wallet handler).
- ``WorkflowRunner`` runs ``Provisioner.run`` on a worker and re-emits every ``WorkflowEvent`` as a
  Qt signal on the GUI thread.

Signals that cross threads are always connected with ``Qt.QueuedConnection`` to a slot of an object
living on the GUI thread, so no widget is ever touched from a worker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from installer_app.secrets import Secret
from installer_app.workflow.events import (
    BoardInfo,
    ProvisionResult,
    ResumeQuestion,
    WifiCredentials,
    WorkflowEvent,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
TaskFn = Callable[[threading.Event], Any]


class _Runner(QObject):
    """Lives on the worker thread; runs the function once and reports by signal."""

    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, fn: TaskFn, cancel: threading.Event) -> None:
        super().__init__()
        self._fn = fn
        self._cancel = cancel

    @Slot()
    def run(self) -> None:
        try:
            result = self._fn(self._cancel)
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the GUI thread
            self.failed.emit(exc)
        else:
            self.succeeded.emit(result)
        finally:
            self.finished.emit()


class Task(QObject):
    """The GUI-thread handle of one background call; its signals fire on the GUI thread."""

    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, name: str, cancel: threading.Event, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.cancel_event = cancel
        self.done = False
        self._on_cancel: list[Callable[[], None]] = []

    def cancel(self) -> None:
        self.cancel_event.set()
        for hook in list(self._on_cancel):
            try:
                hook()
            except Exception:
                log.exception("cancel hook of %s failed", self.name)

    def add_cancel_hook(self, hook: Callable[[], None]) -> None:
        """Something that unblocks the call (e.g. closing a port) beyond setting the event."""
        self._on_cancel.append(hook)

    @Slot(object)
    def _relay_success(self, value: object) -> None:
        self.succeeded.emit(value)

    @Slot(object)
    def _relay_failure(self, exc: object) -> None:
        if not isinstance(exc, Exception):
            log.error("background task %s ended with %r", self.name, exc)
        self.failed.emit(exc)

    @Slot()
    def _relay_finished(self) -> None:
        self.done = True
        self.finished.emit()


class Workers(QObject):
    """Starts background calls and joins them all on shutdown."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._live: dict[Task, tuple[QThread, _Runner]] = {}
        self._closed = False

    def submit(
        self,
        fn: TaskFn,
        *,
        name: str = "task",
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        on_finished: Callable[[], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Task:
        cancel = cancel or threading.Event()
        task = Task(name, cancel)
        if self._closed:
            cancel.set()
        thread = QThread()
        thread.setObjectName(f"worker:{name}")
        runner = _Runner(fn, cancel)
        runner.moveToThread(thread)
        if on_success is not None:
            task.succeeded.connect(on_success)
        if on_failure is not None:
            task.failed.connect(on_failure)
        if on_finished is not None:
            task.finished.connect(on_finished)
        queued = Qt.ConnectionType.QueuedConnection
        runner.succeeded.connect(task._relay_success, queued)
        runner.failed.connect(task._relay_failure, queued)
        runner.finished.connect(task._relay_finished, queued)
        thread.started.connect(runner.run)
        # Direct: quit() is thread-safe, and a queued quit would wait for the GUI thread, which
        # may itself be waiting for this thread (shutdown).
        runner.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        # No runner.deleteLater: deleting it on its own thread runs PySide's destructor hooks
        # there, which take the GIL while Qt holds its signal-slot lock, and the GUI thread,
        # holding the GIL, then waits for that lock in the next submit's moveToThread: a
        # deadlock (a few thousand quick tasks froze every run). Runner and thread are dropped
        # on the GUI thread instead, by _forget, once the thread has finished.
        task.finished.connect(lambda t=task: self._forget(t))
        self._live[task] = (thread, runner)
        thread.start()
        return task

    def _forget(self, task: Task) -> None:
        pair = self._live.pop(task, None)
        if pair is not None:
            pair[0].wait()

    def running(self) -> list[Task]:
        return [t for t, (thread, _) in self._live.items() if thread.isRunning()]

    def cancel_all(self) -> None:
        for task in list(self._live):
            task.cancel()

    def shutdown(self, timeout_ms: int = 15_000) -> bool:
        """Cancel every task and wait for its thread; True when all of them ended."""
        self._closed = True
        self.cancel_all()
        ok = True
        for task, (thread, _runner) in list(self._live.items()):
            if thread.wait(timeout_ms):
                self._live.pop(task, None)
            else:
                log.error("worker %s did not stop within %d ms", task.name, timeout_ms)
                ok = False
        return ok


# --- the workflow's questions, answered on the GUI thread -----------------------------------------


@dataclass
class Question:
    """One pending question from the workflow thread; ``answer`` releases it."""

    kind: Literal["board", "resume", "wifi"]
    payload: Any
    default: Any
    _event: threading.Event = field(default_factory=threading.Event)
    _value: Any = None

    def answer(self, value: Any) -> None:
        if not self._event.is_set():
            self._value = value
            self._event.set()

    @property
    def answered(self) -> bool:
        return self._event.is_set()


class GuiAnswers(QObject):
    """The workflow's ``Answers``: each call blocks its (worker) thread until a page answers.

    Cancelling (the window closes, the installer goes back) answers every pending and future
    question with its safe default — "skip", or None for Wi-Fi — so the workflow thread never
    waits forever.
    """

    asked = Signal(object)  # Question, on the GUI thread
    _ask = Signal(object)

    def __init__(self, cancel: threading.Event, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cancel = cancel
        self._lock = threading.Lock()
        self._pending: list[Question] = []
        self._ask.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _deliver(self, question: Question) -> None:
        if not question.answered:
            self.asked.emit(question)

    def _wait(self, question: Question) -> Any:
        with self._lock:
            if self._cancel.is_set():
                return question.default
            self._pending.append(question)
        self._ask.emit(question)
        while not question._event.wait(0.1):
            if self._cancel.is_set():
                question.answer(question.default)
        with self._lock:
            if question in self._pending:
                self._pending.remove(question)
        return question._value

    def release_all(self) -> None:
        with self._lock:
            pending = list(self._pending)
        for question in pending:
            question.answer(question.default)

    def pending(self) -> list[Question]:
        with self._lock:
            return [q for q in self._pending if not q.answered]

    # Answers protocol (called from the workflow thread)
    def proceed_with_board(self, board: BoardInfo) -> Literal["continue", "skip", "factory_reset"]:
        value: Literal["continue", "skip", "factory_reset"] = self._wait(
            Question("board", board, "skip")
        )
        return value

    def resume_or_skip(self, question: ResumeQuestion) -> Literal["resume", "skip"]:
        value: Literal["resume", "skip"] = self._wait(Question("resume", question, "skip"))
        return value

    def wifi_credentials(self, current_ssid: str | None) -> WifiCredentials | None:
        value: WifiCredentials | None = self._wait(Question("wifi", current_ssid, None))
        return value


def wifi(ssid: str, password: str) -> WifiCredentials:
    return WifiCredentials(ssid=ssid, psk=Secret(password))


class WorkflowRunner(QObject):
    """Runs one ``Provisioner.run`` on a worker; events and the result arrive on the GUI thread."""

    # Not ``event``: that name is QObject's virtual event handler, which Qt calls.
    workflow_event = Signal(object)  # WorkflowEvent
    question = Signal(object)  # Question
    result = Signal(object)  # ProvisionResult
    crashed = Signal(object)  # an exception the workflow did not turn into a result
    finished = Signal()
    _event_from_worker = Signal(object)

    def __init__(self, workers: Workers, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._workers = workers
        self._task: Task | None = None
        self._answers: GuiAnswers | None = None
        self._event_from_worker.connect(self._relay_event, Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done

    @property
    def answers(self) -> GuiAnswers | None:
        return self._answers

    def start(self, provisioner: Any, port: str) -> Task:
        if self.busy:
            raise RuntimeError("a provisioning run is already in progress")

        def run(cancel: threading.Event) -> ProvisionResult:
            def on_event(ev: WorkflowEvent) -> None:
                self._event_from_worker.emit(ev)

            result: ProvisionResult = provisioner.run(
                port, answers=answers, on_event=on_event, cancel=cancel
            )
            return result

        cancel = threading.Event()
        answers = GuiAnswers(cancel, self)
        answers.asked.connect(self.question.emit)
        self._answers = answers
        task = self._workers.submit(
            run,
            name="provision",
            on_success=self.result.emit,
            on_failure=self.crashed.emit,
            on_finished=self._on_finished,
            cancel=cancel,
        )
        task.add_cancel_hook(answers.release_all)
        self._task = task
        return task

    @Slot(object)
    def _relay_event(self, ev: WorkflowEvent) -> None:
        self.workflow_event.emit(ev)

    def _on_finished(self) -> None:
        self._task = None
        self.finished.emit()

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
