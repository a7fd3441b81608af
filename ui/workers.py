"""The one bridge between blocking core calls and Qt's threads: a long-lived thread pool.

Every serial, HTTP, SQLite and PDF call the GUI makes goes through ``Workers.submit(fn)``:

- ``fn(cancel)`` runs as a ``QRunnable`` (``QThreadPool.start(callable)``) on the window's own
  ``QThreadPool`` (at most ``MAX_THREADS`` threads, reused; an idle one ends after the pool's
  expiry time), never on a thread made for that one call. An earlier bridge made a ``QThread``
  and a runner ``QObject`` per call (the 500 ms port poll included): thousands of short-lived
  QObjects crossing threads, and one deadlock between PySide's destructor hooks (GIL) and Qt's
  signal-slot lock.
- The runnable is not a ``QObject``. Its result or exception comes back by one queued signal of
  ``_Relay``, a ``QObject`` that lives on the GUI thread (MusicBrainz Picard's ``run_task``), and
  the callbacks run there, so no widget is touched from a worker.
- Each task has a ``threading.Event`` the core call watches and optional cancel hooks (close a
  port, release a question). ``Workers.shutdown()`` cancels every task and joins the pool, so
  closing the window leaves no thread behind.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

TaskFn = Callable[[threading.Event], Any]
# Enough for the long calls that can overlap (a provisioning run waiting on its binding, the
# provider check with its retries, opening a session, the PDF) plus the port poll; more would
# only queue behind a slow network, which a bigger pool does not make faster.
MAX_THREADS = 6
IDLE_THREAD_EXPIRY_MS = 10_000


class Task:
    """The GUI-thread handle of one background call (a plain object: nothing Qt to leak)."""

    def __init__(
        self,
        name: str,
        fn: TaskFn,
        cancel: threading.Event,
        on_success: Callable[[Any], None] | None,
        on_failure: Callable[[BaseException], None] | None,
        on_finished: Callable[[], None] | None,
    ) -> None:
        self.name = name
        self.fn: TaskFn | None = fn
        self.cancel_event = cancel
        self.done = False  # the result was delivered on the GUI thread
        self.running = True  # the function has not returned yet (read from any thread)
        self._on_success = on_success
        self._on_failure = on_failure
        self._on_finished = on_finished
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
        if self.cancel_event.is_set():
            hook()

    def _deliver(self, ok: bool, value: object) -> None:
        """On the GUI thread: the callbacks, then forget them (they hold widgets)."""
        self.done = True
        try:
            if ok:
                if self._on_success is not None:
                    self._on_success(value)
            else:
                assert isinstance(value, BaseException)
                if not isinstance(value, Exception):
                    log.error("background task %s ended with %r", self.name, value)
                if self._on_failure is not None:
                    self._on_failure(value)
        finally:
            # Dropped here, on the GUI thread: a closure may hold the last reference to a
            # QObject, whose destructor must not run on a pool thread.
            on_finished = self._on_finished
            self.fn = None
            self._on_success = self._on_failure = self._on_finished = None
            self._on_cancel.clear()
            if on_finished is not None:
                on_finished()


class _Relay(QObject):
    """Lives on the GUI thread; a worker's ``finished.emit`` is queued to it."""

    finished = Signal(int, bool, object)  # task id, ok, value or exception


class _Job:
    """Runs one task's function on a pool thread and reports by the relay's signal.

    Handed to the pool as a callable: Qt wraps it in a runnable of its own, which it owns and
    deletes, and no Python wrapper of that runnable ever exists. A Python ``QRunnable`` subclass
    stays referenced by PySide once started (3,000 tasks left 1,800–3,000 wrappers behind,
    auto-deleted or not); ``QRunnable.create(job)`` leaves a wrapper whose C++ object Qt deletes
    behind PySide's back, and a later object at the same address (the global thread pool, in
    a test) came back as that stale ``QRunnable``: a crash waiting to happen.
    """

    __slots__ = ("_id", "_relay", "_task")

    def __init__(self, task_id: int, task: Task, relay: _Relay) -> None:
        self._id = task_id
        self._task = task
        self._relay = relay

    def __call__(self) -> None:
        fn = self._task.fn
        assert fn is not None
        ok = True
        value: object
        try:
            value = fn(self._task.cancel_event)
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the GUI thread
            ok, value = False, exc
        self._task.running = False
        self._relay.finished.emit(self._id, ok, value)


class Workers(QObject):
    """Runs background calls on one long-lived pool; cancels and joins them all on shutdown."""

    def __init__(self, parent: QObject | None = None, max_threads: int = MAX_THREADS) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self.pool.setExpiryTimeout(IDLE_THREAD_EXPIRY_MS)
        self.pool.setObjectName("workers")
        # Not parented: it must outlive a window deleted while a job's emit is on its way.
        self._relay = _Relay()
        self._relay.finished.connect(self._finished, Qt.ConnectionType.QueuedConnection)
        self._live: dict[int, Task] = {}
        self._ids = itertools.count(1)
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
        """Run ``fn(cancel)`` on the pool; the callbacks run on the GUI thread. After
        ``shutdown`` a task still runs (closing the store must), with its event already set."""
        cancel = cancel or threading.Event()
        if self._closed:
            cancel.set()
        task = Task(name, fn, cancel, on_success, on_failure, on_finished)
        task_id = next(self._ids)
        self._live[task_id] = task
        self.pool.start(_Job(task_id, task, self._relay))
        return task

    @Slot(int, bool, object)
    def _finished(self, task_id: int, ok: bool, value: object) -> None:
        task = self._live.pop(task_id, None)
        if task is not None:
            task._deliver(ok, value)

    def running(self) -> list[Task]:
        """Tasks whose function has not returned yet."""
        return [t for t in self._live.values() if t.running]

    def pending(self) -> int:
        """Tasks whose result has not been delivered yet."""
        return len(self._live)

    def cancel_all(self) -> None:
        for task in list(self._live.values()):
            task.cancel()

    def shutdown(self, timeout_ms: int = 15_000) -> bool:
        """Cancel every task and join the pool; True when all of them ended in time."""
        self._closed = True
        self.cancel_all()
        ok = self.pool.waitForDone(timeout_ms)
        if not ok:
            names = sorted({t.name for t in self.running()})
            log.error("workers %s did not stop within %d ms", ", ".join(names), timeout_ms)
        return ok
