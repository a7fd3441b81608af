"""Watching one device until an enterprise binds it and the companion app is installed there.

Stages: waiting for the admin's scan -> bound (corpid, corp_name) -> companion app installed
(agentid), or "not checkable" when no install check is configured. The provider is polled every
``poll_interval_s`` with never more than one request in flight; each request runs on a short-lived
worker thread so that ``run()`` stays responsive: a cancel is noticed within ~0.05 s and the
device's own report (``feed_device_state``) is announced at once, even while a request is out.

Transient failures (rate limits, busy, network, a refused token) do not end the watch: the watcher
backs off (1-2 s doubling to 60 s, or the server's Retry-After) and says why in a "stuck" event.
Anything else (wrong secret, unknown SN, ...) ends it with the error. Every event is emitted from
the thread that called ``run()``.
"""

from __future__ import annotations

import contextvars
import logging
import random
import threading
import time
from collections import deque
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

_SLICE_S = 0.05  # how often an external cancel Event is looked at while waiting


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


class _Poll:
    """One request on its own thread; ``done`` is signalled through the watcher's wake event.

    Never joined: a watch that ends (cancel, timeout) while a request is out drops its answer,
    and the daemon thread ends with the request (bounded by the client's timeouts)."""

    def __init__(self, call: Callable[[], object], wake: threading.Event) -> None:
        self.value: object = None
        self.error: BaseException | None = None
        self.done = False
        self._call = call
        self._wake = wake
        # The poll runs in a copy of the watcher's context, so the caller's provider call scope
        # (cancel, retry notices) applies to it.
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._run,), name="binding-poll", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        try:
            self.value = self._call()
        except BaseException as exc:  # noqa: BLE001 - handed to the watcher's thread
            self.error = exc
        self.done = True
        self._wake.set()


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
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        rng: random.Random | None = None,
    ) -> None:
        self.sn = sn
        self._check_binding = check_binding
        self._check_install = check_install
        self._interval = poll_interval_s
        self._timeout = timeout_s
        self._on_event = on_event or (lambda event: None)
        self._cancel = cancel or threading.Event()
        self._clock = clock
        self._sleep = sleep
        self._retry = retry
        self._rng = rng or random.Random()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._device_corp_name: str | None = None
        self._device_bound = False
        self._retry_notes: deque[tuple[Message, float]] = deque()

    # -- from other threads ------------------------------------------------------------------

    def feed_device_state(self, wecom_state: int, corp_name: str | None) -> None:
        """The device's own EVENT/STATUS: BOUND on the device wakes the watch at once."""
        if wecom_state != WecomState.BOUND:
            return
        with self._lock:
            self._device_bound = True
            self._device_corp_name = corp_name
        self._wake.set()

    def client_retry(self, reason: Message, delay_s: float) -> None:
        """Hook for a client's ``on_retry``: its own retries show up as "stuck" events."""
        with self._lock:
            self._retry_notes.append((reason, delay_s))
        self._wake.set()

    def stop(self) -> None:
        self._cancel.set()
        self._wake.set()

    # -- the watch ---------------------------------------------------------------------------

    def run(self) -> WatchResult:
        start = self._clock()
        corpid: str | None = None
        corp_name: str | None = None
        device_announced = False
        failures = 0
        inflight: _Poll | None = None
        next_poll_at = start

        def elapsed() -> float:
            return max(0.0, self._clock() - start)

        def emit(
            kind: WatchKind,
            *,
            corpid: str | None = None,
            corp_name: str | None = None,
            agentid: int | None = None,
            via: Via | None = None,
            reason: Message | None = None,
            retry_in_s: float | None = None,
        ) -> None:
            event = WatchEvent(kind, elapsed(), corpid, corp_name, agentid, via, reason, retry_in_s)
            log.debug("watch %s: %s", self.sn, kind)
            self._on_event(event)

        def result(
            *,
            app_installed: bool | None = False,
            agentid: int | None = None,
            timed_out: bool = False,
            error: InstallerError | None = None,
            cancelled: bool = False,
        ) -> WatchResult:
            if self._check_install is None:
                app_installed = None
            return WatchResult(
                bound=corpid is not None or device_announced,
                corpid=corpid,
                corp_name=corp_name,
                app_installed=app_installed,
                agentid=agentid,
                timed_out=timed_out,
                error=error,
                cancelled=cancelled,
                elapsed_s=elapsed(),
            )

        emit("waiting")
        while True:
            if self._cancel.is_set():
                return result(cancelled=True)
            if elapsed() >= self._timeout:
                emit("timeout", corpid=corpid, corp_name=corp_name)
                return result(timed_out=True)

            with self._lock:
                device_bound, device_name = self._device_bound, self._device_corp_name
                notes = list(self._retry_notes)
                self._retry_notes.clear()
            for reason, delay in notes:
                emit("stuck", reason=retry_message(reason, delay), retry_in_s=delay)
            if device_bound and not device_announced and corpid is None:
                device_announced = True
                corp_name = device_name
                emit("bound", corp_name=device_name, via="device")
                next_poll_at = self._clock()  # the provider fills in the corpid right away

            if inflight is not None and inflight.done:
                poll, inflight = inflight, None
                if poll.error is not None:
                    error = poll.error
                    if isinstance(error, ProviderError) and error.transient:
                        failures += 1
                        backoff = (
                            error.retry_after_s
                            if error.retry_after_s is not None
                            else self._retry.backoff(failures - 1, self._rng)
                        )
                        delay = max(self._interval, min(backoff, self._retry.max_retry_after_s))
                        emit("stuck", reason=retry_message(error.reason, delay), retry_in_s=delay)
                        next_poll_at = self._clock() + delay
                        continue
                    if isinstance(error, InstallerError):
                        log.info("watch %s ended: %s", self.sn, error.message.english())
                        return result(error=error)
                    raise error
                if failures:
                    failures = 0
                    emit("waiting", corpid=corpid, corp_name=corp_name)
                if corpid is None:
                    binding = poll.value
                    if isinstance(binding, CorpBinding):
                        corpid, corp_name = binding.corpid, binding.corp_name
                        emit("bound", corpid=corpid, corp_name=corp_name, via="provider")
                        if self._check_install is None:
                            emit("not_checkable", corpid=corpid, corp_name=corp_name)
                            return result(app_installed=None)
                        next_poll_at = self._clock()
                        continue
                else:
                    installation = poll.value
                    if isinstance(installation, Installation) and installation.installed:
                        emit(
                            "app_installed",
                            corpid=corpid,
                            corp_name=corp_name,
                            agentid=installation.agentid,
                        )
                        return result(app_installed=True, agentid=installation.agentid)

            now = self._clock()
            if inflight is None and now >= next_poll_at:
                inflight = self._start_poll(corpid)
                next_poll_at = now + self._interval
                continue
            remaining = self._timeout - (now - start)
            if inflight is not None:
                self._wait_real(min(_SLICE_S, remaining))
            else:
                self._wait_until(min(next_poll_at - now, remaining))

    def _start_poll(self, corpid: str | None) -> _Poll:
        if corpid is None:
            sn, check_binding = self.sn, self._check_binding

            def binding() -> CorpBinding | None:
                try:
                    return check_binding(sn)
                except NotBound:
                    return None

            return _Poll(binding, self._wake)
        check_install = self._check_install
        assert check_install is not None
        return _Poll(lambda: check_install(corpid), self._wake)

    def _wait_real(self, seconds: float) -> None:
        if seconds > 0 and self._wake.wait(seconds):
            self._wake.clear()

    def _wait_until(self, seconds: float) -> None:
        """Wait for the next poll; an injected ``sleep`` (simulated time) is used as given."""
        if seconds <= 0:
            return
        if self._sleep is not None:
            self._sleep(seconds)
            return
        deadline = time.monotonic() + seconds
        while not self._cancel.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if self._wake.wait(min(_SLICE_S, left)):
                self._wake.clear()
                return
