"""The bench's board host: a second process of the app that runs the wizard's boards (issue #15).

Real processes throughout: ``installer-app --board-host`` started by ``BoardHost``, the demo's
simulated boards on ptys and its provider emulator on loopback HTTP, the demo's SQLite store.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from installer_app.demo import DemoEnvironment
from installer_app.provider.qr import QUICK_MASK, QUIET_ZONE, qr_matrix
from installer_app.secrets import Secret
from installer_app.workflow.events import (
    Outcome,
    ProvisionResult,
    Step,
    WifiCredentials,
    WorkflowEvent,
)
from installer_app.workflow.host_child import Host
from installer_app.workflow.host_client import BoardHost
from installer_app.workflow.host_protocol import (
    Channel,
    ProtocolError,
    open_message,
    settings_of,
)

WAIT_S = 60.0
PSK = "site-wifi-pass-5731"


@dataclass
class Heard:
    """Everything a host said, as the bench runner would get it (on the reader thread)."""

    events: dict[str, list[WorkflowEvent]] = field(default_factory=dict)
    codes: dict[str, list[list[bool]]] = field(default_factory=dict)  # link -> modules
    said: list[str] = field(default_factory=list)  # "code <link>", "<step> <outcome> <link>"
    results: dict[str, tuple[ProvisionResult, bool]] = field(default_factory=dict)
    wifi_asked: threading.Event = field(default_factory=threading.Event)
    ended: threading.Condition = field(default_factory=threading.Condition)

    def event(self, event: WorkflowEvent) -> None:
        self.events.setdefault(event.port or "", []).append(event)
        self.said.append(f"{event.step} {event.outcome} {event.data.get('url', '')}")

    def code(self, url: str, modules: list[list[bool]]) -> None:
        self.codes[url] = modules
        self.said.append(f"code {url}")

    def result(self, result: ProvisionResult, left_alone: bool) -> None:
        with self.ended:
            self.results[result.port or ""] = (result, left_alone)
            self.ended.notify_all()

    def wait_results(self, ports: list[str]) -> dict[str, ProvisionResult]:
        with self.ended:
            assert self.ended.wait_for(lambda: all(p in self.results for p in ports), WAIT_S)
        return {p: self.results[p][0] for p in ports}

    def host(self, demo: DemoEnvironment, **kwargs: object) -> BoardHost:
        return BoardHost(
            kwargs.get("settings", demo.settings),  # type: ignore[arg-type]
            demo.data_dir,
            on_event=self.event,
            on_result=self.result,
            on_wifi_needed=self.wifi_asked.set,
            on_code=self.code,
        )


def wifi() -> WifiCredentials:
    return WifiCredentials("site-net", Secret(PSK))


@pytest.fixture
def demo(tmp_path: Path) -> DemoEnvironment:
    with DemoEnvironment(tmp_path, boards=2, auto_scan_after_s=0.3, install_delay_s=0.1) as env:
        yield env


def test_the_host_runs_the_boards_to_bound_and_asks_for_the_wifi_once(
    demo: DemoEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # the host logs at the level this process logs at
    heard = Heard()
    host = heard.host(demo)
    for port in demo.ports:
        assert host.start(port)  # before the process is up: sent once it is
    assert not host.start(demo.ports[0])  # already running
    host.launch()
    assert heard.wifi_asked.wait(WAIT_S)
    host.provide_wifi(wifi())
    results = heard.wait_results(demo.ports)
    assert host.close()
    assert host.ready.is_set()

    for port, result in results.items():
        assert result.ok, result.error
        assert result.device_sn and result.corp_name
        steps = [(e.step, e.outcome) for e in heard.events[port]]
        assert (Step.HELLO, Outcome.OK) in steps and (Step.BINDING, Outcome.OK) in steps
        assert [e.data.get("ssid") for e in heard.events[port] if e.step is Step.WIFI][-1] == (
            "site-net"
        )
    assert host.running() == []
    # Each binding code comes drawn, before the event that shows it: the wizard's process only
    # paints it.
    shown = [
        e
        for es in heard.events.values()
        for e in es
        if e.step is Step.QR and e.outcome in (Outcome.OK, Outcome.PROGRESS) and e.data.get("url")
    ]
    assert len(shown) >= len(demo.ports)
    for event in shown:
        url = str(event.data["url"])
        said = heard.said.index(f"{event.step} {event.outcome} {url}")
        assert heard.said.index(f"code {url}") < said
        assert heard.codes[url] == qr_matrix(url, QUIET_ZONE, mask=QUICK_MASK)
    assert {r.device_sn for r in results.values()} == {
        "DEMO" + s.simulator.hw_id.hex().upper() for s in demo.servers
    }
    # The host's log reaches this process's log, and no secret is in it nor on its command line.
    assert "created a new store key file" in caplog.text  # the host opened the demo's store
    text = caplog.text + " ".join(host._command)
    assert PSK not in text
    assert demo.settings.provider_secret is not None
    assert demo.settings.provider_secret.reveal() not in text


def test_a_host_that_dies_fails_its_boards_and_a_new_one_goes_on_where_they_were(
    demo: DemoEnvironment,
) -> None:
    port = demo.ports[0]
    heard = Heard()
    host = heard.host(demo)
    host.launch()
    assert host.start(port)
    assert heard.wifi_asked.wait(WAIT_S)  # written and locked, waiting for the site's network
    written = [
        e for e in heard.events[port] if e.step is Step.CREDENTIAL and e.data.get("device_sn")
    ]
    assert written
    assert host.pid is not None
    os.kill(host.pid, signal.SIGKILL)

    failed = heard.wait_results([port])[port]
    assert not failed.ok and failed.error is not None and failed.hint is not None
    assert "stopped unexpectedly" in failed.error.english()
    assert "Retry" in failed.hint.english()
    assert host.lost is not None
    assert not host.start(port)
    host.close()

    again = Heard()
    second = again.host(demo)
    second.launch()
    second.provide_wifi(wifi())
    assert second.start(port)
    result = again.wait_results([port])[port]
    assert second.close()
    assert result.ok, result.error
    assert result.device_sn == written[-1].data["device_sn"]  # the same board, not a new SN


def test_closing_cancels_a_waiting_board_and_ends_the_host_in_time(demo: DemoEnvironment) -> None:
    port = demo.ports[0]
    heard = Heard()
    host = heard.host(demo)
    host.launch()
    host.start(port)
    assert heard.wifi_asked.wait(WAIT_S)
    assert host.close(timeout_s=20)
    result = heard.results[port][0]  # told before close returned
    assert not result.ok
    assert host.pid is not None and host.exit_code == 0


def test_a_host_that_cannot_open_its_session_says_why(demo: DemoEnvironment) -> None:
    broken = replace(demo.settings, provider=replace(demo.settings.provider, corpid=""))
    heard = Heard()
    host = heard.host(demo, settings=broken)
    host.start(demo.ports[0])
    host.launch()
    result = heard.wait_results([demo.ports[0]])[demo.ports[0]]
    host.close()
    assert not result.ok and result.error is not None
    assert "corpid" in result.error.english()
    assert host.lost is not None


def test_the_pipe_carries_the_secrets_apart_and_refuses_what_is_not_a_message(
    demo: DemoEnvironment,
) -> None:
    message = open_message(demo.settings, str(demo.data_dir), logging.INFO)
    assert message[1].provider_secret is None  # a Secret refuses pickling; the text goes apart
    settings, data_dir, level = settings_of(message)
    assert settings.provider_secret == demo.settings.provider_secret
    assert (data_dir, level) == (str(demo.data_dir), logging.INFO)

    read, write = os.pipe()
    with os.fdopen(read, "rb") as reader, os.fdopen(write, "wb") as writer:
        channel = Channel(reader, writer)
        channel.send(("start", "/dev/pts/9", False))
        assert channel.receive() == ("start", "/dev/pts/9", False)
        writer.write(b"\x00\x00\x00\x05" + b"nope!")
        writer.flush()
        with pytest.raises(Exception):  # noqa: B017 - not a pickle: unpickling fails
            channel.receive()
        writer.write(b"\xff\xff\xff\xff")
        writer.flush()
        with pytest.raises(ProtocolError):
            channel.receive()


def test_news_the_pipe_cannot_carry_is_logged_and_the_board_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    read, write = os.pipe()
    with os.fdopen(read, "rb") as reader, os.fdopen(write, "wb") as writer:
        host = Host(Channel(reader, writer))
        host._send(("event", lambda: None))  # a function does not pickle: logged, not raised
        host._send(("ready",))
        assert Channel(reader, None).receive() == ("ready",)
    assert "could not send event" in caplog.text
