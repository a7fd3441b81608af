"""Every rule of the workflow against the real simulator (pty), emulator (loopback HTTP) and store
(SQLite): the three credential sources, resume, foreign boards, conflicts, crash recovery,
QR codes, Wi-Fi, a bad link, and parallel boards."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from installer_app.device.client import DeviceClient
from installer_app.device.protocol import DeviceState
from installer_app.errors import ExitCode
from installer_app.secrets import Secret
from installer_app.simulator.flash import STATE_FILE_FORMAT
from installer_app.store.db import Store
from installer_app.store.inventory import InventoryRow, ParsedInventory
from installer_app.store.records import Source, Stage
from installer_app.workflow.events import Outcome, Step, WifiCredentials, WorkflowEvent
from installer_app.workflow.plan import flow_rules
from installer_app.workflow.wiring import Session
from tests.fixtures.device import RunningSim
from tests.fixtures.workflow import MODEL_ID, ScriptedAnswers, WorkflowEnv


def scan_on_qr(wf: WorkflowEnv, corp_name: str = "Acme Ltd") -> Callable[[WorkflowEvent], None]:
    """The enterprise admin scans the first QR code the workflow shows."""
    done = threading.Event()

    def on_event(event: WorkflowEvent) -> None:
        if event.step is Step.QR and event.outcome is Outcome.OK and not done.is_set():
            done.set()
            wf.emulator.scan(str(event.data["url"]), corp_name=corp_name)

    return on_event


def board_hello(board: RunningSim) -> tuple[DeviceState, str | None]:
    with DeviceClient.open(board.url) as client:
        hello = client.hello()
    return hello.state, hello.sn


def stock_inventory(
    wf: WorkflowEnv,
    store: Store,
    count: int,
    *,
    with_qr: bool = True,
    qr_code: str | None = None,
) -> list[str]:
    """SNs registered at the emulator (as the provider admin would) and imported as free;
    ``qr_code`` replaces the emulator's link (a store filled by some other program)."""
    rows = []
    for index in range(count):
        sn = f"INV{index:05d}{int(time.time() * 1000) % 100000:05d}"
        info = wf.emulator.register(sn, MODEL_ID)
        rows.append(
            InventoryRow(
                row=index + 2,
                sn=sn,
                secret_no=Secret(info["secret_no"]),
                model_id=MODEL_ID,
                qr_code=(qr_code or info["qr_code"]) if with_qr else None,
            )
        )
    report = store.import_inventory(
        ParsedInventory(Path("export.csv"), tuple(rows), ()), installer="test"
    )
    assert report.ok and report.imported == count
    return [r.sn for r in rows]


def inventory_session(wf: WorkflowEnv) -> Session:
    return wf.session(wf.settings(credentials={"source": "inventory"}))


# -- the three sources ------------------------------------------------------------------------


def test_inventory_source_takes_a_free_credential(wf: WorkflowEnv) -> None:
    session = inventory_session(wf)
    sns = stock_inventory(wf, session.store, 2)
    board = wf.board()
    run = wf.run(session, board.url, on_event=scan_on_qr(wf))
    assert run.result.ok, run.result.error
    assert run.result.device_sn == sns[0]
    record = session.store.record_for_sn(sns[0])
    assert record is not None and record.source is Source.INVENTORY
    assert record.hw_id == board.simulator.hw_id.hex() and record.stage is Stage.APP_INSTALLED
    assert record.seed_credential is False  # per_device: the SecretNo is the device's own
    assert session.store.inventory_stats().free == 1
    assert board_hello(board) == (DeviceState.PROVISIONED, sns[0])


def test_inventory_exhausted_exits_6_and_writes_nothing(wf: WorkflowEnv) -> None:
    session = inventory_session(wf)
    board = wf.board()
    run = wf.run(session, board.url)
    assert run.result.exit_code == ExitCode.NO_CREDENTIAL and not run.result.ok
    assert "write" not in run.steps()
    assert run.of(Step.CREDENTIAL)[-1].outcome is Outcome.FAILED
    assert board_hello(board) == (DeviceState.BLANK, None)


def test_partner_source_in_cloud_mode(wf: WorkflowEnv) -> None:
    settings = wf.settings(provider={"mode": "cloud"}, credentials={"source": "partner"})
    session = wf.session(settings)
    board = wf.board()
    # The flow rule (workflow/plan.py), applied by the Provisioner that the CLI and the wizard
    # both run: a cloud-mode board is never given a Wi-Fi network, and nobody is asked for one.
    offered = ScriptedAnswers(wifi=WifiCredentials("SiteNet", Secret("site-password")))
    assert session.provisioner.rules == flow_rules(settings)
    assert not session.provisioner.rules.sets_wifi
    run = wf.run(session, board.url, offered, on_event=scan_on_qr(wf))
    assert run.result.ok, run.result.error
    assert offered.wifi_asked == 0
    wifi = run.of(Step.WIFI)
    assert [e.outcome for e in wifi] == [Outcome.SKIPPED]
    assert wifi[0].reason is not None and "partner's cloud" in wifi[0].reason.render()
    record = session.store.record_for_hw_id(board.simulator.hw_id.hex())
    assert record is not None and record.source is Source.PARTNER
    assert record.sn == run.result.device_sn and record.stage is Stage.APP_INSTALLED
    assert run.result.corpid and run.result.app_installed is True
    # Idempotent by HW_ID: the partner gives the same board the same SN again.
    again = wf.run(session, board.url)
    assert again.result.ok and again.result.device_sn == record.sn


# -- resume -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "outcome"),
    [
        (Step.CREDENTIAL, Outcome.OK),
        (Step.WRITE, Outcome.OK),
        (Step.VERIFY, Outcome.OK),
        (Step.COMMIT, Outcome.OK),
        (Step.QR, Outcome.OK),
        (Step.BINDING, Outcome.OK),
    ],
)
def test_a_stopped_run_resumes_where_it_stopped(
    wf: WorkflowEnv, step: Step, outcome: Outcome
) -> None:
    session = wf.session()
    board = wf.board()
    cancel = threading.Event()

    def stop_at(event: WorkflowEvent) -> None:
        if event.step is step and event.outcome is outcome:
            cancel.set()
        if event.step is Step.QR and event.outcome is Outcome.OK and step is not Step.QR:
            wf.emulator.scan(str(event.data["url"]), corp_name="Acme Ltd")

    first = wf.run(session, board.url, cancel=cancel, on_event=stop_at)
    assert first.result.exit_code == ExitCode.INTERRUPTED, first.result.error
    registered = len(wf.emulator.devices())

    second = wf.run(session, board.url, on_event=scan_on_qr(wf))
    assert second.result.ok, second.result.error
    hw_id = board.simulator.hw_id.hex()
    record = session.store.record_for_hw_id(hw_id)
    assert record is not None and record.sn == second.result.device_sn
    assert record.stage is Stage.APP_INSTALLED
    credential = second.of(Step.CREDENTIAL)[-1]
    assert credential.data["resumed"] is True
    assert len(wf.emulator.devices()) == registered == 1  # no second SN for the board
    assert board_hello(board) == (DeviceState.PROVISIONED, record.sn)


def test_an_already_bound_board_asks_and_resumes_without_a_new_qr(wf: WorkflowEnv) -> None:
    session = wf.session()
    board = wf.board()
    assert wf.run(session, board.url, on_event=scan_on_qr(wf)).result.ok
    again = wf.run(session, board.url)
    assert again.result.ok and again.result.corp_name == "Acme Ltd"
    assert [q.stage for q in again.answers.questions] == ["app_installed"]
    assert again.of(Step.QR)[-1].outcome is Outcome.SKIPPED
    assert "write" in again.steps("skipped")

    skipped = wf.run(session, board.url, ScriptedAnswers(resume="skip"))
    assert not skipped.result.ok and skipped.result.exit_code == ExitCode.FAILURE
    assert len(skipped.answers.questions) == 1 and "done" not in skipped.steps()
    assert skipped.of(Step.CREDENTIAL)[-1].outcome is Outcome.SKIPPED
    # The skip is in the board's history (the site handover lists skipped boards).
    events = session.store.events_for(again.result.device_sn)
    assert events[-1].what == "skipped" and events[-1].hw_id == board.simulator.hw_id.hex()


def test_factory_reset_keeps_the_board_s_own_sn(wf: WorkflowEnv) -> None:
    session = wf.session()
    board = wf.board()
    first = wf.run(session, board.url, on_event=scan_on_qr(wf))
    assert first.result.ok
    again = wf.run(session, board.url, ScriptedAnswers(proceed="factory_reset"))
    assert again.result.ok, again.result.error
    assert again.result.device_sn == first.result.device_sn
    assert "write" in again.steps("ok")  # written again after the reset
    assert len(wf.emulator.devices()) == 1


# -- boards that are not ours -------------------------------------------------------------------


def seed_foreign_board(wf: WorkflowEnv, tmp_path: Path, sn: str, hw_id: str) -> RunningSim:
    state = tmp_path / "foreign.json"
    state.write_text(
        json.dumps(
            {
                "format": STATE_FILE_FORMAT,
                "hw_id": hw_id,
                "credential": {"sn": sn, "secret_no": "f" * 32},
                "wifi": None,
                "bound_corp": None,
            }
        )
    )
    return wf.board(state_file=state)


def test_locked_board_with_an_unknown_credential_is_reported_and_takes_nothing(
    wf: WorkflowEnv, tmp_path: Path
) -> None:
    session = inventory_session(wf)
    stock_inventory(wf, session.store, 1)
    board = seed_foreign_board(wf, tmp_path, "FOREIGN0001", "a1b2c3d4e5f6")
    run = wf.run(session, board.url)
    assert run.result.exit_code == ExitCode.DEVICE and not run.result.ok
    assert "FOREIGN0001" in run.result.error.english()  # type: ignore[union-attr]
    assert session.store.inventory_stats().free == 1
    assert session.store.record_for_hw_id("a1b2c3d4e5f6") is None
    assert board_hello(board) == (DeviceState.PROVISIONED, "FOREIGN0001")
    assert "write" not in run.steps()


def test_a_board_holding_our_sn_with_another_secret_is_never_ok(
    wf: WorkflowEnv, tmp_path: Path
) -> None:
    session = wf.session()
    hw_id = "0a0b0c0d0e0f"
    sn = "T" + hw_id.upper()
    # The store issued SN to this board, but the board's flash holds another secret for it.
    session.store.reserve(
        sn, hw_id, Secret("s" * 32), source=Source.REGISTER, model_id=MODEL_ID, installer="t"
    )
    board = seed_foreign_board(wf, tmp_path, sn, hw_id)
    run = wf.run(session, board.url)
    assert run.result.exit_code == ExitCode.DEVICE and not run.result.ok
    record = session.store.record_for_sn(sn)
    assert record is not None and record.stage is Stage.RESERVED


def test_model_mismatch_is_refused_before_anything_happens(wf: WorkflowEnv) -> None:
    session = wf.session()
    board = wf.board(model_id="WX-DOOR-100")
    run = wf.run(session, board.url)
    assert run.result.exit_code == ExitCode.DEVICE
    assert "WX-DOOR-100" in run.result.error.english()  # type: ignore[union-attr]
    assert run.answers.boards == []
    assert session.store.history() == [] and wf.emulator.devices() == []


# -- register conflicts and crash recovery ------------------------------------------------------


def test_sn_registered_elsewhere_stops_with_exit_4_before_writing(wf: WorkflowEnv) -> None:
    session = wf.session()
    board = wf.board()
    sn = "T" + board.simulator.hw_id.hex().upper()
    wf.emulator.register(sn, MODEL_ID)  # another installer's computer registered it
    run = wf.run(session, board.url)
    assert run.result.exit_code == ExitCode.PROVIDER
    assert "write" not in run.steps()
    assert board_hello(board) == (DeviceState.BLANK, None)
    assert session.store.pending_registrations() == []  # never deleted by a later run
    assert wf.emulator.device(sn) is not None


@pytest.mark.parametrize("wecom_registered", [True, False])
def test_pending_registration_is_recovered(wf: WorkflowEnv, wecom_registered: bool) -> None:
    session = wf.session()
    board = wf.board()
    hw_id = board.simulator.hw_id.hex()
    sn = "T" + hw_id.upper()
    # A crash after begin_registration: WeCom may or may not have registered the SN, and its
    # SecretNo never reached the store.
    session.store.begin_registration(sn, hw_id, MODEL_ID)
    lost_secret = wf.emulator.register(sn, MODEL_ID)["secret_no"] if wecom_registered else None
    run = wf.run(session, board.url, on_event=scan_on_qr(wf))
    assert run.result.ok, run.result.error
    assert session.store.pending_registrations() == []
    registered = wf.emulator.state.find(sn)
    assert registered is not None and registered.secret_no != lost_secret
    assert session.store.secret_for(sn) == Secret(registered.secret_no)


# -- QR codes -----------------------------------------------------------------------------------


def test_dynamic_qr_is_renewed_while_shown_and_the_renewed_code_binds(wf: WorkflowEnv) -> None:
    session = wf.session(wf.settings(binding={"qr": "dynamic"}))
    session.provisioner.binding.qr_refresh_s = 1.0
    session.provisioner.binding.qr_valid_s = 30.0
    board = wf.board()
    urls: list[str] = []

    def on_event(event: WorkflowEvent) -> None:
        if event.step is Step.QR and "url" in event.data:
            urls.append(str(event.data["url"]))
            if event.outcome is Outcome.PROGRESS and len(urls) == 3:
                wf.emulator.scan(urls[-1], corp_name="Renewed Co")

    run = wf.run(session, board.url, on_event=on_event)
    assert run.result.ok, run.result.error
    assert run.result.corp_name == "Renewed Co"
    assert len(set(urls)) >= 3
    assert all("signature=" in url and "type=qrcode" in url for url in urls)
    renewals = [e for e in run.of(Step.QR) if e.outcome is Outcome.PROGRESS]
    assert renewals and all(e.data["kind"] == "dynamic" for e in renewals)


def test_static_qr_without_a_known_code_falls_back_to_the_dynamic_one(wf: WorkflowEnv) -> None:
    session = inventory_session(wf)
    stock_inventory(wf, session.store, 1, with_qr=False)
    board = wf.board()
    run = wf.run(session, board.url, on_event=scan_on_qr(wf))
    assert run.result.ok, run.result.error
    qr = next(e for e in run.of(Step.QR) if e.outcome is Outcome.OK)
    assert qr.data["kind"] == "dynamic" and qr.reason is not None


@pytest.mark.parametrize(
    "bad_qr",
    [
        "https://evil.example\\@open.work.weixin.qq.com/connect/hardware?hw_code=abc",
        "https://open.work.weixin.qq.com/connect/hardware?hw_code=abc&next=https://evil.example",
        "http://open.work.weixin.qq.com/connect/hardware?hw_code=abc",
    ],
)
def test_a_bad_qr_code_from_the_source_leaves_the_board_blank(wf: WorkflowEnv, bad_qr: str) -> None:
    session = inventory_session(wf)
    (sn,) = stock_inventory(wf, session.store, 1, qr_code=bad_qr)
    board = wf.board()
    run = wf.run(session, board.url)
    assert not run.result.ok and run.result.exit_code == ExitCode.PROVIDER
    assert "QR" in run.result.error.english()  # type: ignore[union-attr]
    assert "write" not in run.steps() and "commit" not in run.steps()
    assert board_hello(board) == (DeviceState.BLANK, None)
    record = session.store.record_for_sn(sn)
    assert record is not None and record.stage is Stage.RESERVED


def test_seed_mode_shows_the_static_code_and_records_the_device_secret_as_unknown(
    wf: WorkflowEnv,
) -> None:
    session = wf.session(wf.settings(provider={"secret_mode": "seed"}))
    board = wf.board()
    run = wf.run(session, board.url, on_event=scan_on_qr(wf))
    assert run.result.ok, run.result.error
    qr = next(e for e in run.of(Step.QR) if e.outcome is Outcome.OK)
    assert qr.data["kind"] == "static"
    record = session.store.record_for_sn(str(run.result.device_sn))
    assert record is not None and record.seed_credential is True


def test_seed_mode_never_falls_back_to_a_dynamic_code(wf: WorkflowEnv) -> None:
    session = wf.session(
        wf.settings(credentials={"source": "inventory"}, provider={"secret_mode": "seed"})
    )
    (sn,) = stock_inventory(wf, session.store, 1, with_qr=False)
    board = wf.board()
    run = wf.run(session, board.url)
    assert not run.result.ok and run.result.exit_code == ExitCode.PROVIDER
    assert "seed" in run.result.error.english()  # type: ignore[union-attr]
    assert not any(e.data.get("kind") == "dynamic" for e in run.of(Step.QR))
    assert "write" not in run.steps()
    assert board_hello(board) == (DeviceState.BLANK, None)
    record = session.store.record_for_sn(sn)
    assert record is not None and record.seed_credential is True


def test_a_binding_reported_with_the_open_corpid_still_finds_the_companion_app(
    wf: WorkflowEnv, emulator_factory: Any
) -> None:
    wf.emulator = emulator_factory(corpid_form="open")
    session = wf.session()
    board = wf.board()
    run = wf.run(session, board.url, on_event=scan_on_qr(wf))
    assert run.result.ok, run.result.error
    assert run.result.corpid is not None and run.result.corpid.startswith("wp")
    assert run.result.app_installed is True


# -- Wi-Fi and the link -------------------------------------------------------------------------


def test_wifi_is_set_and_followed_until_online(wf: WorkflowEnv) -> None:
    session = wf.session()
    board = wf.board(known_networks={"SiteNet": "site-password"})
    answers = ScriptedAnswers(wifi=WifiCredentials("SiteNet", Secret("site-password")))
    run = wf.run(session, board.url, answers, on_event=scan_on_qr(wf))
    assert run.result.ok, run.result.error
    wifi_ok = [e for e in run.of(Step.WIFI) if e.outcome is Outcome.OK]
    assert wifi_ok and wifi_ok[0].data["net_state"] == "ONLINE"


def test_a_board_without_wifi_skips_the_step_with_a_reason(wf: WorkflowEnv) -> None:
    session = wf.session()
    board = wf.board(wifi=False)
    answers = ScriptedAnswers(wifi=WifiCredentials("SiteNet", Secret("site-password")))
    run = wf.run(session, board.url, answers, on_event=scan_on_qr(wf))
    assert run.result.ok, run.result.error
    wifi = run.of(Step.WIFI)[-1]
    assert wifi.outcome is Outcome.SKIPPED and wifi.reason is not None


def test_a_noisy_lossy_link_still_provisions(wf: WorkflowEnv) -> None:
    session = wf.session()
    board = wf.board(noise=True, noise_interval_s=0.05, drop_rate=0.1, corrupt_rate=0.1, seed=7)
    run = wf.run(session, board.url, on_event=scan_on_qr(wf))
    assert run.result.ok, run.result.error
    assert board_hello(board)[0] is DeviceState.PROVISIONED


# -- cancel and parallel boards -----------------------------------------------------------------


def test_cancel_while_waiting_for_the_binding_is_prompt_and_consistent(wf: WorkflowEnv) -> None:
    session = wf.session()
    board = wf.board()
    cancel = threading.Event()
    cancelled_at: list[float] = []

    def on_event(event: WorkflowEvent) -> None:
        if event.step is Step.BINDING and event.outcome is Outcome.STARTED:
            cancelled_at.append(time.monotonic())
            cancel.set()

    run = wf.run(session, board.url, cancel=cancel, on_event=on_event)
    assert run.result.exit_code == ExitCode.INTERRUPTED
    assert time.monotonic() - cancelled_at[0] < 5.0  # generous: a loaded machine
    record = session.store.record_for_hw_id(board.simulator.hw_id.hex())
    assert record is not None and record.stage is Stage.COMMITTED
    assert board_hello(board) == (DeviceState.PROVISIONED, record.sn)


def test_parallel_boards_from_one_inventory_never_share_an_sn(wf: WorkflowEnv) -> None:
    session = inventory_session(wf)
    sns = stock_inventory(wf, session.store, 3)
    boards = [wf.board() for _ in range(4)]
    results = {}

    def provision(board: RunningSim) -> None:
        results[board.url] = wf.run(session, board.url, no_wait=True).result

    threads = [threading.Thread(target=provision, args=(b,)) for b in boards]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    done = [r for r in results.values() if r.ok]
    assert len(done) == 3
    assert sorted(r.device_sn for r in done) == sorted(sns)  # type: ignore[type-var]
    assert [r.exit_code for r in results.values() if not r.ok] == [ExitCode.NO_CREDENTIAL]
    held = {b.url: board_hello(b) for b in boards}
    assert sorted(sn for _, sn in held.values() if sn) == sorted(sns)
