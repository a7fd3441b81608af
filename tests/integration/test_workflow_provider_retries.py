"""A provider that is rate limited or busy: the run says so on the board's own step, keeps going
when the provider recovers, and a cancel ends a retry wait at once."""

from __future__ import annotations

import threading
import time

from installer_app.errors import ExitCode
from installer_app.workflow.events import Outcome, Step, WorkflowEvent
from tests.fixtures.workflow import WorkflowEnv

ADD_DEVICE = "/cgi-bin/service/add_device"
AUTH_INFO = "/cgi-bin/service/get_device_auth_info"


def test_a_rate_limited_registration_is_reported_on_its_step_then_goes_on(
    wf: WorkflowEnv,
) -> None:
    board = wf.board()
    session = wf.session()
    wf.emulator.inject(ADD_DEVICE, errcode=-1, count=1)  # system busy: retried after ~1-2 s
    run = wf.run(session, board.url, no_wait=True)

    assert run.result.ok, run.result.error
    retries = [e for e in run.of(Step.CREDENTIAL) if e.outcome is Outcome.RETRYING]
    assert len(retries) == 1
    assert retries[0].reason is not None and "retrying in" in retries[0].reason.english()
    assert retries[0].data["retry_in_s"] > 0


def test_retries_while_watching_the_binding_show_as_the_binding_step_retrying(
    wf: WorkflowEnv,
) -> None:
    board = wf.board()
    session = wf.session()
    scanned = threading.Event()

    def on_event(event: WorkflowEvent) -> None:
        if event.step is Step.QR and event.outcome is Outcome.OK and not scanned.is_set():
            wf.emulator.inject(AUTH_INFO, http_status=503, count=1)
            wf.emulator.scan(str(event.data["url"]))
            scanned.set()

    run = wf.run(session, board.url, on_event=on_event)

    assert run.result.ok, run.result.error
    stuck = [e for e in run.of(Step.BINDING) if e.outcome is Outcome.RETRYING]
    assert stuck and all(e.reason is not None for e in stuck)


def test_cancel_ends_a_rate_limit_wait_at_once(wf: WorkflowEnv) -> None:
    board = wf.board()
    session = wf.session()
    # 45009 asks for a long back-off (starting at a second or two, doubling up to 60 s).
    wf.emulator.inject(ADD_DEVICE, errcode=45009, count=10)
    cancel = threading.Event()
    waiting = threading.Event()
    cancelled_at: list[float] = []

    def on_event(event: WorkflowEvent) -> None:
        if event.outcome is Outcome.RETRYING and not waiting.is_set():
            waiting.set()
            cancelled_at.append(time.monotonic())
            cancel.set()

    run = wf.run(session, board.url, cancel=cancel, on_event=on_event)
    ended = time.monotonic()

    assert waiting.is_set()
    assert run.result.exit_code == ExitCode.INTERRUPTED
    # Well under the first back-off of a rate limit, even on a loaded machine.
    assert ended - cancelled_at[0] < 1.0
