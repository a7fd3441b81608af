"""The demo environment: emulator + simulated boards + a demo store, provisioned end to end."""

from __future__ import annotations

import threading
from pathlib import Path

from installer_app.config import load_settings
from installer_app.demo import DemoEnvironment
from installer_app.provider.emulator.records import DEFAULT_CORPID
from installer_app.workflow.events import Outcome, WorkflowEvent
from installer_app.workflow.wiring import open_session
from tests.fixtures.workflow import ScriptedAnswers


def test_demo_provisions_its_boards_and_the_emulator_scans(tmp_path: Path) -> None:
    with DemoEnvironment(tmp_path, boards=2, auto_scan_after_s=0.5, install_delay_s=0.2) as demo:
        assert demo.data_dir == tmp_path / "demo"
        assert len(demo.ports) == 2
        # The file on disk is a valid configuration without any secret in it.
        on_disk = load_settings(demo.config_path)
        assert on_disk.provider.wecom_base_url == demo.emulator.base_url
        assert demo.emulator.provider_secret not in demo.config_path.read_text()
        assert demo.settings.provider_secret is not None

        session = open_session(demo.settings, demo.data_dir)
        try:
            results = []
            for port in demo.ports:
                events: list[WorkflowEvent] = []
                results.append(
                    session.provisioner.run(
                        port,
                        answers=ScriptedAnswers(),
                        on_event=events.append,
                        cancel=threading.Event(),
                    )
                )
                assert any(e.outcome is Outcome.OK and e.step.value == "done" for e in events)
        finally:
            session.close()
        assert all(r.ok for r in results), [r.error for r in results]
        assert {r.device_sn for r in results} == {
            "DEMO" + s.simulator.hw_id.hex().upper() for s in demo.servers
        }
        assert all(r.corpid and r.corp_name for r in results)
        assert (demo.data_dir / "installer.db").exists()
        assert demo.key_path.exists()
    assert demo.ports == []


def test_a_second_demo_starts_with_nothing_of_the_first(tmp_path: Path) -> None:
    with DemoEnvironment(tmp_path, boards=1, auto_scan_after_s=None, install_delay_s=0) as first:
        first.emulator.register("DEMO000000000001")
        first.emulator.bind("DEMO000000000001")
        assert first.emulator.state.installation(DEFAULT_CORPID) is not None
    with DemoEnvironment(tmp_path, boards=1, auto_scan_after_s=None, install_delay_s=0) as second:
        # The last demo's device and installation are gone: its enterprise installs the companion
        # app again (a team demo's new server hears of it through create_auth).
        assert second.emulator.devices() == []
        assert second.emulator.state.installation(DEFAULT_CORPID) is None
