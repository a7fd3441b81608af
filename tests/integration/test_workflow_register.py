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
