"""The whole flow with the ``register`` source: real simulator on a pty, real emulator over
loopback HTTP, real SQLite store."""

from __future__ import annotations

import threading

from installer_app.device.client import DeviceClient
from installer_app.device.protocol import DeviceState
from installer_app.errors import ExitCode
from installer_app.store.records import Stage
from installer_app.workflow.events import Outcome, Step, WorkflowEvent
from tests.fixtures.workflow import WorkflowEnv

AUTH = "/cgi-bin/service/get_device_auth_info"


def scan_when_qr_shown(wf: WorkflowEnv) -> tuple[threading.Event, object]:
    """An 'admin' that scans the QR code as soon as the workflow shows it."""
    scanned = threading.Event()

    def on_event(event: WorkflowEvent) -> None:
        if event.step is Step.QR and event.outcome is Outcome.OK and not scanned.is_set():
            wf.emulator.scan(str(event.data["url"]), corp_name="Acme Ltd")
            scanned.set()

    return scanned, on_event


def test_register_flow_end_to_end(wf: WorkflowEnv) -> None:
    board = wf.board()
    session = wf.session()
    scanned, on_event = scan_when_qr_shown(wf)
    run = wf.run(session, board.url, on_event=on_event)  # type: ignore[arg-type]

    assert run.result.ok, run.result.error
    assert run.result.exit_code == ExitCode.OK
    hw_id = board.simulator.hw_id.hex()
    assert run.result.hw_id == hw_id
    assert run.result.device_sn == "T" + hw_id.upper()
    assert run.result.corpid and run.result.corp_name == "Acme Ltd"
    assert run.result.app_installed is True
    assert scanned.is_set()
    ok_steps = run.steps("ok")
    for step in ("connect", "hello", "credential", "write", "verify", "commit", "qr", "binding"):
        assert step in ok_steps
    assert run.steps()[-1] == "done"

    record = session.store.record_for_hw_id(hw_id)
    assert record is not None and record.stage is Stage.APP_INSTALLED
    assert record.corp_name == "Acme Ltd" and record.agentid is not None
    assert session.store.pending_registrations() == []
    # The board holds the credential the store issued, and WeCom knows the SN.
    with DeviceClient.open(board.url) as client:
        hello = client.hello()
    assert hello.state is DeviceState.PROVISIONED and hello.sn == record.sn
    assert wf.emulator.device(record.sn) is not None


ADD_DEVICE = "/cgi-bin/service/add_device"


def test_600036_is_a_registration_conflict_like_600021(wf: WorkflowEnv) -> None:
    # 设备sn冲突 from WeCom over real HTTP: the SN conflict rule, never "unknown error".
    for code in (600021, 600036):
        board = wf.board()
        session = wf.session()
        wf.emulator.inject(ADD_DEVICE, errcode=code)
        run = wf.run(session, board.url)
        assert not run.result.ok and run.result.exit_code == ExitCode.PROVIDER
        assert run.result.error is not None
        assert "already registered with WeCom, but not by this computer" in (
            run.result.error.english()
        )
        # Not ours: the pending mark is dropped so that no later run deletes someone's SN.
        assert session.store.pending_registrations() == []
        assert "write" not in run.steps("ok")


def test_600002_stops_the_board_as_activated_before(wf: WorkflowEnv) -> None:
    board = wf.board()
    session = wf.session()
    wf.emulator.inject(ADD_DEVICE, errcode=600002)
    run = wf.run(session, board.url)
    assert not run.result.ok and run.result.exit_code == ExitCode.PROVIDER
    assert run.result.error is not None and "activated before" in run.result.error.english()
    assert run.result.hint is not None and "set this board aside" in run.result.hint.english()
    assert "write" not in run.steps("ok")


def test_one_board_starts_few_threads_however_long_the_binding(wf: WorkflowEnv) -> None:
    """Threads one board's run starts, binding included: the run's cancel watcher and the
    watch's one poll worker, not one thread per poll (issue 10 item 6)."""
    board = wf.board()
    interval = 0.05  # the fastest poll config allows, against a loopback emulator
    session = wf.session(wf.settings(binding={"qr": "static", "poll_interval_s": interval}))
    started: list[str] = []
    original = threading.Thread.start

    def counting_start(self: threading.Thread) -> None:
        started.append(self.name)
        original(self)

    polls = 20
    seen: list[int] = []

    def on_event(event: WorkflowEvent) -> None:
        if event.step is Step.BINDING and event.outcome is Outcome.STARTED:
            seen.append(wf.emulator.stats()["requests"].get(AUTH, 0))
        if event.step is Step.QR and event.outcome is Outcome.OK:
            url = str(event.data["url"])
            threading.Timer(polls * interval * 1.5, wf.emulator.scan, (url,)).start()

    threading.Thread.start = counting_start  # type: ignore[method-assign]
    try:
        run = wf.run(session, board.url, on_event=on_event)
    finally:
        threading.Thread.start = original  # type: ignore[method-assign]
    assert run.result.ok, run.result.error
    auth_polls = wf.emulator.stats()["requests"][AUTH] - seen[0]
    assert auth_polls >= 10
    mine = [name for name in started if not name.startswith("Thread-")]  # the test's Timer
    print(f"threads started by one board's run: {len(mine)} ({auth_polls} binding polls): {mine}")
    assert sum(name.startswith("binding-poll") for name in mine) == 1
    assert len(mine) <= 4
