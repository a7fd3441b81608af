"""The whole wizard, Start to Done, against the real simulator (pty) and the real emulator."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from installer_app.provider.emulator import ProviderEmulator
from installer_app.secrets import Secret
from installer_app.workflow.events import Outcome, Step
from installer_app.workflow.plan import flow_rules
from tests.fixtures.provider import EMULATOR_PARTNER_TOKEN, EMULATOR_PROVIDER_SECRET
from tests.gui.conftest import SLOW_MS, emulator_settings
from tests.gui.helpers import LEFT, answer_wifi, decode_widget, start_run
from ui import labels
from ui.questions import AskBoard, AskWifi
from ui.wizard.base import PageId

WIFI_PSK = "correct horse battery"


def test_start_to_done(
    qtbot: Any,
    make_window: Any,
    make_sim: Any,
    emulator: ProviderEmulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sim = make_sim("pty")
    window = make_window()
    window.resize(1280, 720)
    window.show()
    events: list[Any] = []
    window.wizard.workflow_event.connect(events.append)

    assert window.current_page() is PageId.START
    qtbot.mouseClick(window.start_page.begin_button, LEFT)
    assert window.current_page() is PageId.CONNECT
    ports = window.connect_page.ports
    # The only board is preselected: no click needed.
    qtbot.waitUntil(lambda: ports.selected_port() is not None, timeout=SLOW_MS)
    assert ports.selected_port().device == sim.url

    with qtbot.waitSignal(window.wizard.question, timeout=SLOW_MS) as asked:
        qtbot.mouseClick(window.connect_page.provision_button, LEFT)
    assert isinstance(asked.args[0], AskBoard)
    assert window.current_page() is PageId.DEVICE
    assert window.device_page.model.text() == "WX-ATT-200"
    assert window.device_page.state.text() == labels.board_state("BLANK") == "blank (no credential)"
    assert window.device_page.continue_button.isVisible()

    with qtbot.waitSignal(window.wizard.question, timeout=SLOW_MS) as asked:
        qtbot.mouseClick(window.device_page.continue_button, LEFT)
    assert isinstance(asked.args[0], AskWifi)
    assert window.current_page() is PageId.NETWORK
    assert window.write_page.progress.value() == 4  # every write step went through
    answer_wifi(qtbot, window, "site-wifi", WIFI_PSK)

    qtbot.waitUntil(lambda: window.current_page() is PageId.BIND, timeout=SLOW_MS)
    qtbot.waitUntil(lambda: window.bind_page.qr.url() != "", timeout=SLOW_MS)
    url = [e for e in events if e.step is Step.QR and e.data.get("url")][-1].data["url"]
    assert window.bind_page.qr.url() == url
    assert decode_widget(window.bind_page.qr) == [url]
    # The fallback: the SN in large selectable text, one click to copy, and the admin's steps.
    bind = window.bind_page
    sn = bind.sn.text()
    assert sn.startswith("GUI") and bind.copy_sn_button.isEnabled()
    assert bind.sn.font().pointSizeF() >= 1.5 * bind.sn_steps.font().pointSizeF()
    assert bind.sn.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    qtbot.mouseClick(bind.copy_sn_button, LEFT)
    assert QGuiApplication.clipboard().text() == sn
    assert "智慧硬件 → 添加设备 → 输入SN" in bind.sn_steps.text()

    with qtbot.waitSignal(window.run_finished, timeout=SLOW_MS) as finished:
        emulator.scan(url)
    result = finished.args[0]
    assert result.device_sn == sn
    assert result.ok, result
    assert window.current_page() is PageId.DONE
    assert window.done_page.sn.text() == result.device_sn
    assert window.done_page.hw_id.text() == result.hw_id
    assert "wwemulator" in window.done_page.enterprise.text() or result.corp_name
    assert any(e.step is Step.BINDING and e.outcome is Outcome.OK for e in events)

    with qtbot.waitSignal(window.done_page.report_saved, timeout=SLOW_MS) as saved:
        assert window.done_page.save_report(tmp_path / "report.pdf")
    assert Path(saved.args[0]).read_bytes().startswith(b"%PDF")

    # The log pane saw the run, and no secret: provider secret, SecretNo, Wi-Fi password.
    secret_no = window.session.store.secret_for(result.device_sn).reveal()
    logging.getLogger("tests.gui").info(
        "a careless line: %s %s %s", EMULATOR_PROVIDER_SECRET, secret_no, WIFI_PSK
    )
    qtbot.waitUntil(lambda: "a careless line" in window.log_pane.toPlainText(), timeout=SLOW_MS)
    shown = window.log_pane.toPlainText()
    assert result.device_sn in shown
    for secret in (EMULATOR_PROVIDER_SECRET, secret_no, WIFI_PSK):
        assert secret not in shown

    qtbot.mouseClick(window.done_page.next_button, LEFT)
    assert window.current_page() is PageId.CONNECT
    assert window.connect_page.ports.polling


def test_dynamic_qr_on_screen_is_the_workflow_url(
    qtbot: Any, make_window: Any, make_sim: Any, emulator: ProviderEmulator, tmp_path: Path
) -> None:
    sim = make_sim("pty")
    window = make_window(emulator_settings(emulator, tmp_path, qr="dynamic"))
    window.resize(1100, 700)
    window.show()
    urls: list[str] = []
    window.wizard.workflow_event.connect(
        lambda e: urls.append(e.data["url"]) if e.step is Step.QR and e.data.get("url") else None
    )
    question = start_run(qtbot, window, sim.url)
    assert isinstance(question, AskBoard)
    with qtbot.waitSignal(window.wizard.question, timeout=SLOW_MS):
        qtbot.mouseClick(window.device_page.continue_button, LEFT)
    qtbot.mouseClick(window.network_page.keep_button, LEFT)
    qtbot.waitUntil(lambda: bool(urls) and window.bind_page.qr.url() == urls[-1], timeout=SLOW_MS)
    assert "signature=" in urls[-1]
    assert decode_widget(window.bind_page.qr) == [urls[-1]]
    with qtbot.waitSignal(window.run_finished, timeout=SLOW_MS) as finished:
        emulator.scan(urls[-1])
    assert finished.args[0].ok


def test_failed_step_is_retried_without_starting_over(
    qtbot: Any, make_window: Any, make_sim: Any, emulator: ProviderEmulator
) -> None:
    sim = make_sim("pty")
    window = make_window()
    window.show()
    emulator.inject("/cgi-bin/service/add_device", errcode=600038)  # model unknown, once
    start_run(qtbot, window, sim.url)
    with qtbot.waitSignal(window.run_finished, timeout=SLOW_MS) as finished:
        qtbot.mouseClick(window.device_page.continue_button, LEFT)
    assert not finished.args[0].ok
    assert window.banner.isVisible()
    assert window.current_page() is PageId.WRITE
    assert window.write_page.failed_step() is Step.CREDENTIAL

    # Retry: the board question is answered as before; the run goes on to the Wi-Fi question.
    qtbot.mouseClick(window.retry_button, LEFT)
    qtbot.waitUntil(lambda: window.network_page.form_box.isEnabled(), timeout=SLOW_MS)
    assert window.current_page() is PageId.NETWORK
    assert not window.banner.isVisible()
    assert window.write_page.progress.value() == 4
    with qtbot.waitSignal(window.run_finished, timeout=SLOW_MS):
        qtbot.mouseClick(window.stop_button, LEFT)
    assert window.current_page() is PageId.CONNECT


def test_skip_leaves_the_board_alone(
    qtbot: Any, make_window: Any, make_sim: Any, emulator: ProviderEmulator
) -> None:
    sim = make_sim("pty")
    window = make_window()
    window.show()
    start_run(qtbot, window, sim.url)
    with qtbot.waitSignal(window.run_finished, timeout=SLOW_MS) as finished:
        qtbot.mouseClick(window.device_page.skip_button, LEFT)
    assert not finished.args[0].ok
    assert window.current_page() is PageId.CONNECT
    assert window.connect_page.note.isVisible()
    assert emulator.devices() == []


def test_cloud_mode_never_asks_for_wifi_the_rule_the_cli_follows(
    qtbot: Any, make_window: Any, make_sim: Any, emulator: ProviderEmulator, tmp_path: Path
) -> None:
    """workflow/plan.py decides, for the wizard as for the CLI (see test_provision_cli): a
    cloud-mode board gets its network from the partner's cloud, so no Network question."""
    base = emulator_settings(emulator, tmp_path)
    settings = replace(
        base,
        provider=replace(base.provider, mode="cloud"),
        credentials=replace(base.credentials, source="partner"),
        partner=replace(base.partner, base_url=emulator.base_url),
    ).with_secrets(Secret(EMULATOR_PROVIDER_SECRET), Secret(EMULATOR_PARTNER_TOKEN))
    assert not flow_rules(settings).sets_wifi
    sim = make_sim("pty")
    window = make_window(settings)
    window.show()
    assert window.session.provisioner.rules == flow_rules(settings)
    asked: list[Any] = []
    window.wizard.question.connect(asked.append)
    events: list[Any] = []
    window.wizard.workflow_event.connect(events.append)
    question = start_run(qtbot, window, sim.url)
    qtbot.mouseClick(window.device_page.continue_button, LEFT)
    qtbot.waitUntil(lambda: window.bind_page.qr.url() != "", timeout=SLOW_MS)
    with qtbot.waitSignal(window.run_finished, timeout=SLOW_MS) as finished:
        emulator.scan(window.bind_page.qr.url())
    assert finished.args[0].ok, finished.args[0]
    assert isinstance(question, AskBoard)
    assert not any(isinstance(q, AskWifi) for q in asked)
    wifi = [e for e in events if e.step is Step.WIFI]
    assert [e.outcome for e in wifi] == [Outcome.SKIPPED]
