"""Watching one board until an enterprise binds it and the companion app is installed there.

Stages: waiting for the admin's scan -> bound (corpid, corp_name) -> companion app installed
(agentid), or "not checkable" when no install check is configured. ``run()`` is one loop on the
caller's thread (the board's run): it asks the provider every ``poll_interval_s``, never more than
one request in flight, and handles what wakes it, in order of arrival:

- a poll's answer. Requests go to the board's one poll worker (a thread started once per watch), so
  the loop stays responsive while a request is out;
- the device's own report (``feed_device_state``): BOUND on the device is announced at once, as a
  hint, and the provider is asked right away for the corpid;
- cancel, timeout, and the caller's ``tick`` (the QR renewal) when it is due.

Everything waits in ``_wait``, the one place that looks at the cancel event.

Transient failures (rate limits, busy, network, a refused token) do not end the watch: it backs off
(1-2 s doubling to 60 s, or the server's Retry-After) and says why in a "stuck" event, which the
screen shows as "rate limited, retrying in 8 s". The polls themselves are not retried by the
client (see ``wiring``): backing off here keeps every wait cancellable and on screen. Anything else
(wrong secret, unknown SN, ...) ends the watch with the error. Every event is emitted from the
thread that called ``run()``.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from installer_app.device.protocol import WecomState
from installer_app.errors import InstallerError
from installer_app.i18n import Message
from installer_app.provider.errors import NotBound, ProviderError
from installer_app.provider.http import DEFAULT_RETRY, RetryPolicy, retry_message
from installer_app.provider.partner import Installation
from installer_app.provider.wecom import CorpBinding

log = logging.getLogger(__name__)

WatchKind = Literal["waiting", "bound", "app_installed", "not_checkable", "stuck", "timeout"]
Via = Literal["provider", "device"]

_SLICE_S = 0.05  # how often the cancel event is looked at while waiting


@dataclass(frozen=True)
class WatchEvent:
    kind: WatchKind
    elapsed_s: float
    corpid: str | None = None
    corp_name: str | None = None
    agentid: int | None = None
    via: Via | None = None
    reason: Message | None = None  # why it is stuck ("rate limited, retrying in 8 s")
    retry_in_s: float | None = None


@dataclass(frozen=True)
class WatchResult:
    bound: bool
    corpid: str | None
    corp_name: str | None
    app_installed: bool | None  # None: not checkable (no install check configured)
    agentid: int | None
    timed_out: bool
    error: InstallerError | None
    cancelled: bool = False
    elapsed_s: float = 0.0


@dataclass(frozen=True)
class _Answer:
    """A poll's outcome, handed from the poll worker to the loop."""

    value: object = None
    error: BaseException | None = None


@dataclass(frozen=True)
class _DeviceBound:
    corp_name: str | None


_Wake = _Answer | _DeviceBound


class _PollWorker:
    """The board's one thread for provider requests, one at a time, answers into ``inbox``.

    ``close`` joins it when it is idle (a watch that ended on an answer). A watch that ends
    (cancel, timeout) while a request is out does not wait for it: the answer is dropped and the
    daemon thread ends once that request does (bounded by the client's timeouts)."""

    def __init__(self, sn: str, inbox: queue.Queue[_Wake]) -> None:
        self._jobs: queue.Queue[Callable[[], object] | None] = queue.Queue()
        self._inbox = inbox
        self._busy = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"binding-poll-{sn}", daemon=True)
        self._thread.start()

    def ask(self, call: Callable[[], object]) -> None:
        self._busy.set()
        self._jobs.put(call)

    def close(self) -> None:
        self._jobs.put(None)
        if not self._busy.is_set():
            self._thread.join()

    def _serve(self) -> None:
        while (call := self._jobs.get()) is not None:
            try:
                answer = _Answer(value=call())
            except BaseException as exc:  # noqa: BLE001 - handed to the loop's thread
                answer = _Answer(error=exc)
            self._busy.clear()
            self._inbox.put(answer)


class BindingWatcher:
    def __init__(
        self,
        sn: str,
        check_binding: Callable[[str], CorpBinding | None],
        check_install: Callable[[str], Installation] | None,
        poll_interval_s: float = 3.0,
        timeout_s: float = 900.0,
        on_event: Callable[[WatchEvent], None] | None = None,
        cancel: threading.Event | None = None,
        *,
        tick: Callable[[], float | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        rng: random.Random | None = None,
    ) -> None:
        """``tick`` is called on every wake-up and returns the seconds until it wants to be
        called again (None: no more). ``clock`` and ``sleep`` simulate time between polls."""
        self.sn = sn
        self._check_binding = check_binding
        self._check_install = check_install
        self._interval = poll_interval_s
        self._timeout = timeout_s
        self._on_event = on_event or (lambda event: None)
        self._cancel = cancel or threading.Event()
        self._tick = tick
        self._clock = clock
        self._sleep = sleep
        self._retry = retry
        self._rng = rng or random.Random()
        self._inbox: queue.Queue[_Wake] = queue.Queue()
        self._start = 0.0
        self._corpid: str | None = None
        self._corp_name: str | None = None
        self._device_said_bound = False
        self._failures = 0  # transient failures in a row

    # -- from other threads ------------------------------------------------------------------

    def feed_device_state(self, wecom_state: int, corp_name: str | None) -> None:
        """The device's own EVENT/STATUS: BOUND on the device wakes the watch at once."""
        if wecom_state == WecomState.BOUND:
            self._inbox.put(_DeviceBound(corp_name))

    def stop(self) -> None:
        self._cancel.set()

    # -- the watch ---------------------------------------------------------------------------

    def run(self) -> WatchResult:
        self._start = self._clock()
        self._emit("waiting")
        worker = _PollWorker(self.sn, self._inbox)
        try:
            return self._loop(worker)
        finally:
            worker.close()

    def _loop(self, worker: _PollWorker) -> WatchResult:
        next_poll_at = self._start
        in_flight = False
        while True:
            if self._cancel.is_set():
                return self._result(cancelled=True)
            if self._elapsed() >= self._timeout:
                self._emit("timeout", corpid=self._corpid, corp_name=self._corp_name)
                return self._result(timed_out=True)
            if not in_flight and self._clock() >= next_poll_at:
                worker.ask(self._poll_call())
                in_flight = True
                next_poll_at = self._clock() + self._interval

            wake = self._wait(until_poll=None if in_flight else next_poll_at - self._clock())
            if isinstance(wake, _DeviceBound):
                if self._device_reports_bound(wake.corp_name):
                    next_poll_at = self._clock()  # the provider fills in the corpid right away
            elif isinstance(wake, _Answer):
                in_flight = False
                outcome = self._on_answer(wake)
                if isinstance(outcome, WatchResult):
                    return outcome
                if outcome is not None:
                    next_poll_at = self._clock() + outcome

    def _device_reports_bound(self, corp_name: str | None) -> bool:
        """Announce the device's own BOUND once, as a hint, while the provider has not said so."""
        if self._device_said_bound or self._corpid is not None:
            return False
        self._device_said_bound = True
        self._corp_name = corp_name
        self._emit("bound", corp_name=corp_name, via="device")
        return True

    def _on_answer(self, answer: _Answer) -> WatchResult | float | None:
        """Take a poll's answer: the end of the watch, the seconds until the next poll when it
        is not the usual interval (0: at once, or a backoff), or None."""
        error = answer.error
        if isinstance(error, ProviderError) and error.transient:
            self._failures += 1
            delay = self._backoff(error)
            self._emit("stuck", reason=retry_message(error.reason, delay), retry_in_s=delay)
            return delay
        if isinstance(error, NotBound):
            error = None  # "not bound yet" is an answer, not a failure
        if isinstance(error, InstallerError):
            log.info("watch %s ended: %s", self.sn, error.message.english())
            return self._result(error=error)
        if error is not None:
            raise error  # a bug: not the provider's doing
        if self._failures:
            self._failures = 0
            self._emit("waiting", corpid=self._corpid, corp_name=self._corp_name)
        value = answer.value
        if self._corpid is None and isinstance(value, CorpBinding):
            self._corpid, self._corp_name = value.corpid, value.corp_name
            self._emit("bound", corpid=self._corpid, corp_name=self._corp_name, via="provider")
            if self._check_install is None:
                self._emit("not_checkable", corpid=self._corpid, corp_name=self._corp_name)
                return self._result(app_installed=None)
            return 0.0
        if isinstance(value, Installation) and value.installed:
            self._emit(
                "app_installed",
                corpid=self._corpid,
                corp_name=self._corp_name,
                agentid=value.agentid,
            )
            return self._result(app_installed=True, agentid=value.agentid)
        return None

    def _poll_call(self) -> Callable[[], object]:
        """The next question: bound yet? (until a corpid is known), then: app installed?"""
        corpid = self._corpid
        if corpid is None:
            sn, check_binding = self.sn, self._check_binding
            return lambda: check_binding(sn)
        check_install = self._check_install
        assert check_install is not None
        return lambda: check_install(corpid)

    def _backoff(self, error: ProviderError) -> float:
        """The server's Retry-After, else a doubling backoff; never below the poll interval."""
        if error.retry_after_s is not None:
            backoff = error.retry_after_s
        else:
            backoff = self._retry.backoff(self._failures - 1, self._rng)
        return max(self._interval, min(backoff, self._retry.max_retry_after_s))

    def _wait(self, until_poll: float | None) -> _Wake | None:
        """Sleep until the next poll is due (``until_poll`` seconds; None: until the request out
        answers), the timeout, or the tick; a device report, an answer or cancel ends it sooner.
        None when nothing woke it."""
        tick_in = self._tick() if self._tick is not None else None
        limits = [self._timeout - self._elapsed()]
        limits += [s for s in (until_poll, tick_in) if s is not None]
        seconds = max(0.0, min(limits))
        if self._sleep is not None and until_poll is not None:
            # Simulated time between polls: nothing but the clock moves.
            if seconds > 0:
                self._sleep(seconds)
            return self._take(0.0)
        deadline = time.monotonic() + seconds
        while not self._cancel.is_set():
            left = deadline - time.monotonic()
            wake = self._take(min(_SLICE_S, left))
            if wake is not None or left <= _SLICE_S:
                return wake
        return None

    def _take(self, seconds: float) -> _Wake | None:
        try:
            if seconds <= 0:
                return self._inbox.get_nowait()
            return self._inbox.get(timeout=seconds)
        except queue.Empty:
            return None

    # -- events and the result ---------------------------------------------------------------

    def _elapsed(self) -> float:
        return max(0.0, self._clock() - self._start)

    def _emit(
        self,
        kind: WatchKind,
        *,
        corpid: str | None = None,
        corp_name: str | None = None,
        agentid: int | None = None,
        via: Via | None = None,
        reason: Message | None = None,
        retry_in_s: float | None = None,
    ) -> None:
        log.debug("watch %s: %s", self.sn, kind)
        self._on_event(
            WatchEvent(kind, self._elapsed(), corpid, corp_name, agentid, via, reason, retry_in_s)
        )

    def _result(
        self,
        *,
        app_installed: bool | None = False,
        agentid: int | None = None,
        timed_out: bool = False,
        error: InstallerError | None = None,
        cancelled: bool = False,
    ) -> WatchResult:
        return WatchResult(
            bound=self._corpid is not None or self._device_said_bound,
            corpid=self._corpid,
            corp_name=self._corp_name,
            app_installed=None if self._check_install is None else app_installed,
            agentid=agentid,
            timed_out=timed_out,
            error=error,
            cancelled=cancelled,
            elapsed_s=self._elapsed(),
        )
