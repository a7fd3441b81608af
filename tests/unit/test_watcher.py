"""BindingWatcher against plain callables (the emulator runs in tests/integration)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from installer_app.device.protocol import WecomState
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.provider import errors as e
from installer_app.provider.http import RetryPolicy
from installer_app.provider.partner import Installation
from installer_app.provider.wecom import CorpBinding
from installer_app.workflow.watch import BindingWatcher, WatchEvent, WatchResult

FAST = RetryPolicy(base_s=0.01, max_delay_s=0.05)
CORP = CorpBinding("wwcorp1", "测试企业")


def script(*steps: object) -> Iterator[object]:
    """Answers in order, repeating the last one."""
    last: object = None
    for step in steps:
        last = step
        yield step
    while True:
        yield last


def answering(steps: Iterator[object]) -> Callable[[str], Any]:
    def call(arg: str) -> Any:
        step = next(steps)
        if isinstance(step, BaseException):
            raise step
        return step

    return call


def kinds(events: list[WatchEvent]) -> list[str]:
    return [ev.kind for ev in events]


def test_waiting_bound_installed() -> None:
    events: list[WatchEvent] = []
    asked: list[str] = []

    def install(corpid: str) -> Installation:
        asked.append(corpid)
        return Installation(len(asked) >= 3, 1000002 if len(asked) >= 3 else None, None)

    watcher = BindingWatcher(
        "SN1",
        answering(script(None, None, CORP)),
        install,
        poll_interval_s=0.01,
        timeout_s=60,
        on_event=events.append,
    )
    result = watcher.run()
    assert kinds(events) == ["waiting", "bound", "app_installed"]
    assert events[1].via == "provider" and events[1].corpid == "wwcorp1"
    assert events[1].corp_name == "测试企业"
    assert events[2].agentid == 1000002
    assert asked == ["wwcorp1"] * 3
    assert result == WatchResult(
        bound=True,
        corpid="wwcorp1",
        corp_name="测试企业",
        app_installed=True,
        agentid=1000002,
        timed_out=False,
        error=None,
        elapsed_s=result.elapsed_s,
    )


def test_not_checkable_without_install_check() -> None:
    events: list[WatchEvent] = []
    result = BindingWatcher("SN1", answering(script(CORP)), None, 0.01, 60, events.append).run()
    assert kinds(events) == ["waiting", "bound", "not_checkable"]
    assert result.bound and result.app_installed is None and not result.timed_out


def test_not_bound_error_counts_as_waiting() -> None:
    events: list[WatchEvent] = []
    result = BindingWatcher(
        "SN1", answering(script(e.wecom_error(600004), CORP)), None, 0.01, 60, events.append
    ).run()
    assert result.corpid == "wwcorp1"
    assert "stuck" not in kinds(events)


def test_transient_errors_are_stuck_events_with_reasons_then_recovery() -> None:
    events: list[WatchEvent] = []
    steps = script(
        e.wecom_error(45009),
        e.ProviderUnreachable("qyapi.weixin.qq.com", Message(QT_TRANSLATE_NOOP("provider", "x"))),
        e.wecom_error(40014),
        None,
        CORP,
    )
    result = BindingWatcher(
        "SN1", answering(steps), None, 0.01, 60, events.append, retry=FAST
    ).run()
    assert kinds(events) == [
        "waiting",
        "stuck",
        "stuck",
        "stuck",
        "waiting",
        "bound",
        "not_checkable",
    ]
    reasons = [ev.reason.english() for ev in events if ev.kind == "stuck" and ev.reason]
    assert reasons[0].startswith("rate limited, retrying in")
    assert reasons[1].startswith("network down or server unreachable, retrying in")
    assert reasons[2].startswith("access token refused, retrying in")
    delays = [ev.retry_in_s for ev in events if ev.kind == "stuck"]
    # doubling backoff (1-2x jitter) from 0.01 s, never below the poll interval
    assert delays[0] is not None and 0.01 <= delays[0] <= 0.02
    assert delays[2] is not None and 0.04 <= delays[2] <= 0.08
    assert result.corpid == "wwcorp1"


def test_retry_after_is_obeyed() -> None:
    events: list[WatchEvent] = []
    BindingWatcher(
        "SN1",
        answering(script(e.partner_error(429, retry_after_s=0.2), CORP)),
        None,
        0.01,
        60,
        events.append,
        retry=FAST,
    ).run()
    stuck = [ev for ev in events if ev.kind == "stuck"]
    assert stuck[0].retry_in_s == 0.2


@pytest.mark.parametrize(
    "error",
    [e.wecom_error(40001), e.wecom_error(600001), e.partner_error(401), e.partner_error(600001)],
)
def test_fatal_errors_end_the_watch(error: e.ProviderError) -> None:
    events: list[WatchEvent] = []
    result = BindingWatcher(
        "SN1", answering(script(None, error)), None, 0.01, 60, events.append
    ).run()
    assert result.error is error
    assert not result.bound and not result.timed_out
    assert kinds(events) == ["waiting"]


def test_install_phase_errors_are_handled_too() -> None:
    events: list[WatchEvent] = []
    installs = script(e.wecom_error(-1), Installation(True, 7, 1764316800))
    result = BindingWatcher(
        "SN1", answering(script(CORP)), answering(installs), 0.01, 60, events.append, retry=FAST
    ).run()
    assert kinds(events) == ["waiting", "bound", "stuck", "waiting", "app_installed"]
    assert result.app_installed and result.agentid == 7


def test_timeout_in_simulated_time() -> None:
    clock = [0.0]
    polls: list[float] = []

    def check(sn: str) -> None:
        polls.append(clock[0])

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    events: list[WatchEvent] = []
    result = BindingWatcher(
        "SN1",
        check,
        lambda corpid: Installation(False, None, None),
        poll_interval_s=3,
        timeout_s=30,
        on_event=events.append,
        clock=lambda: clock[0],
        sleep=sleep,
    ).run()
    assert result.timed_out and not result.bound and result.app_installed is False
    assert kinds(events) == ["waiting", "timeout"]
    assert events[-1].elapsed_s == 30
    assert polls == [3.0 * i for i in range(10)]


def test_timeout_after_binding_reports_the_app_missing() -> None:
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    result = BindingWatcher(
        "SN1",
        answering(script(CORP)),
        lambda corpid: Installation(False, None, None),
        3,
        30,
        clock=lambda: clock[0],
        sleep=sleep,
    ).run()
    assert result.timed_out and result.bound and result.corpid == "wwcorp1"
    assert result.app_installed is False


class Blocking:
    """A check that blocks until released, counting requests in flight."""

    def __init__(self, answer: object = None) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.answer = answer
        self.in_flight = 0
        self.max_in_flight = 0
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, sn: str) -> object:
        with self.lock:
            self.calls += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.entered.set()
        self.release.wait(30)
        with self.lock:
            self.in_flight -= 1
        return self.answer


def run_in_thread(watcher: BindingWatcher) -> tuple[threading.Thread, list[WatchResult]]:
    out: list[WatchResult] = []
    thread = threading.Thread(target=lambda: out.append(watcher.run()))
    thread.start()
    return thread, out


def test_device_event_is_announced_while_a_request_is_out() -> None:
    check = Blocking(CORP)
    events: list[WatchEvent] = []
    bound_seen = threading.Event()

    def on_event(ev: WatchEvent) -> None:
        events.append(ev)
        if ev.kind == "bound":
            bound_seen.set()

    watcher = BindingWatcher("SN1", check, None, 0.01, 60, on_event)
    thread, out = run_in_thread(watcher)
    try:
        assert check.entered.wait(30)
        watcher.feed_device_state(WecomState.WAITING_BIND, None)  # not bound: ignored
        watcher.feed_device_state(WecomState.BOUND, "测试企业")
        assert bound_seen.wait(30)
        # announced before the provider answered
        assert check.in_flight == 1
        assert events[-1].via == "device" and events[-1].corpid is None
        assert events[-1].corp_name == "测试企业"
    finally:
        check.release.set()
        thread.join(30)
    (result,) = out
    assert kinds(events) == ["waiting", "bound", "bound", "not_checkable"]
    assert events[2].via == "provider" and events[2].corpid == "wwcorp1"
    assert result.corpid == "wwcorp1" and check.max_in_flight == 1


def test_device_event_triggers_an_immediate_provider_poll() -> None:
    polls = threading.Semaphore(0)
    answers = script(None, CORP)

    def check(sn: str) -> object:
        polls.release()
        return next(answers)

    events: list[WatchEvent] = []
    watcher = BindingWatcher("SN1", check, None, 3600, 60, events.append)
    thread, out = run_in_thread(watcher)
    assert polls.acquire(timeout=30)  # the first poll; the next is an hour away
    watcher.feed_device_state(WecomState.BOUND, "测试企业")
    thread.join(30)
    assert not thread.is_alive()
    assert out[0].corpid == "wwcorp1"
    assert [ev.via for ev in events if ev.kind == "bound"] == ["device", "provider"]


def test_cancel_returns_without_waiting_for_the_request() -> None:
    check = Blocking()
    cancel = threading.Event()
    watcher = BindingWatcher("SN1", check, None, 0.01, 60, cancel=cancel)
    thread, out = run_in_thread(watcher)
    try:
        assert check.entered.wait(30)
        cancel.set()
        thread.join(30)
        assert not thread.is_alive()
        assert check.in_flight == 1  # still out: run() did not wait for it
    finally:
        check.release.set()
    assert out[0].cancelled and not out[0].bound


def test_cancel_during_the_pause_between_polls() -> None:
    check = Blocking()
    check.release.set()
    watcher = BindingWatcher("SN1", check, None, 3600, 7200)
    thread, out = run_in_thread(watcher)
    assert check.entered.wait(30)
    watcher.stop()
    thread.join(30)
    assert not thread.is_alive() and out[0].cancelled and check.calls == 1


def test_the_tick_runs_on_the_watch_thread_while_it_waits() -> None:
    # The QR renewal: called on every wake-up, from the thread that runs the watch, and its
    # "call me again in" shortens the wait between polls an hour apart.
    ticks: list[threading.Thread] = []
    two_ticks = threading.Event()

    def tick() -> float:
        ticks.append(threading.current_thread())
        if len(ticks) >= 3:
            two_ticks.set()
        return 0.02

    cancel = threading.Event()
    watcher = BindingWatcher(
        "SN1", answering(script(None)), None, 3600, 60, cancel=cancel, tick=tick
    )
    thread, out = run_in_thread(watcher)
    assert two_ticks.wait(30)
    cancel.set()
    thread.join(30)
    assert out[0].cancelled
    assert set(ticks) == {thread}


def test_one_poll_thread_per_watch_however_many_polls() -> None:
    started: list[str] = []
    polls: list[str] = []

    def check(sn: str) -> CorpBinding | None:
        polls.append(threading.current_thread().name)
        return CORP if len(polls) >= 20 else None

    original = threading.Thread.start

    def counting_start(self: threading.Thread) -> None:
        started.append(self.name)
        original(self)

    threading.Thread.start = counting_start  # type: ignore[method-assign]
    try:
        result = BindingWatcher("SNTHREADS", check, None, 0.001, 60).run()
    finally:
        threading.Thread.start = original  # type: ignore[method-assign]
    assert result.corpid == "wwcorp1" and len(polls) == 20
    assert started == ["binding-poll-SNTHREADS"] and set(polls) == {"binding-poll-SNTHREADS"}
    # The worker was joined when the watch ended on an answer.
    assert "binding-poll-SNTHREADS" not in [t.name for t in threading.enumerate()]


def test_programming_errors_are_not_swallowed() -> None:
    with pytest.raises(RuntimeError):
        BindingWatcher("SN1", answering(script(RuntimeError("bug"))), None, 0.01, 60).run()
