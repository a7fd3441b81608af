"""BindingWatcher against the provider emulator over real HTTP: bind -> bound -> app installed,
rate limiting with a reason and recovery, the device's own report, timeout, cancel, fatal errors."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from installer_app.device.protocol import WecomState
from installer_app.provider import errors as e
from installer_app.provider.emulator import DEFAULT_CORP_NAME, DEFAULT_CORPID, ProviderEmulator
from installer_app.provider.http import HttpOptions, RetryPolicy
from installer_app.provider.partner import PartnerClient
from installer_app.provider.wecom import WecomClient
from installer_app.secrets import Secret
from installer_app.workflow.watch import BindingWatcher, WatchEvent, WatchResult
from tests.fixtures.provider import (
    EMULATOR_CORPID,
    EMULATOR_PARTNER_TOKEN,
    EMULATOR_PROVIDER_SECRET,
)

FAST = RetryPolicy(base_s=0.02, max_delay_s=0.1)
AUTH = "/cgi-bin/service/get_device_auth_info"
WAIT = 30.0  # generous: several agents share two cores


class Watch:
    """A watcher running on its own thread, its events in a queue."""

    def __init__(self, **kw: Any) -> None:
        self.events: queue.Queue[WatchEvent] = queue.Queue()
        self.seen: list[WatchEvent] = []
        kw.setdefault("poll_interval_s", 0.05)
        kw.setdefault("timeout_s", 120)
        kw.setdefault("retry", FAST)
        self.watcher = BindingWatcher(on_event=self.events.put, **kw)
        self.result: WatchResult | None = None
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        self.result = self.watcher.run()

    def next(self, kind: str) -> WatchEvent:
        """The next event of ``kind`` (earlier ones are kept in ``seen``)."""
        while True:
            event = self.events.get(timeout=WAIT)
            self.seen.append(event)
            if event.kind == kind:
                return event

    def finish(self) -> WatchResult:
        self.thread.join(WAIT)
        assert not self.thread.is_alive()
        while not self.events.empty():
            self.seen.append(self.events.get())
        assert self.result is not None
        return self.result


@pytest.fixture
def wecom(emulator: ProviderEmulator) -> Iterator[WecomClient]:
    client = WecomClient(
        emulator.base_url,
        EMULATOR_CORPID,
        Secret(EMULATOR_PROVIDER_SECRET),
        HttpOptions(retry=RetryPolicy.no_retries()),  # the watcher does the backing off
    )
    yield client
    client.close()


@pytest.fixture
def partner(emulator: ProviderEmulator) -> Iterator[PartnerClient]:
    client = PartnerClient(
        emulator.base_url, Secret(EMULATOR_PARTNER_TOKEN), HttpOptions(retry=FAST)
    )
    yield client
    client.close()


def test_bind_then_app_installed(
    emulator: ProviderEmulator, wecom: WecomClient, partner: PartnerClient
) -> None:
    emulator.register("WATCH0001")
    watch = Watch(
        sn="WATCH0001",
        check_binding=wecom.get_device_auth_info,
        check_install=partner.get_installation,
    )
    watch.next("waiting")
    emulator.bind("WATCH0001")
    bound = watch.next("bound")
    assert (bound.corpid, bound.corp_name, bound.via) == (
        DEFAULT_CORPID,
        DEFAULT_CORP_NAME,
        "provider",
    )
    installed = watch.next("app_installed")  # after the emulator's 0.2 s install delay
    assert isinstance(installed.agentid, int)
    result = watch.finish()
    assert result.bound and result.corpid == DEFAULT_CORPID
    assert result.app_installed is True and result.agentid == installed.agentid
    assert emulator.token_fetches == 1


def test_cloud_mode_via_partner_and_not_checkable(
    emulator: ProviderEmulator, partner: PartnerClient
) -> None:
    board = partner.register_device("WX-ATT-200", "feedface00000001")
    watch = Watch(sn=board.device_sn, check_binding=partner.get_device, check_install=None)
    watch.next("waiting")
    emulator.bind(board.device_sn, corpid="wwcloudcorp01", corp_name="云对云测试企业")
    assert watch.next("bound").corp_name == "云对云测试企业"
    watch.next("not_checkable")
    result = watch.finish()
    assert result.corpid == "wwcloudcorp01" and result.app_installed is None


def test_rate_limited_is_stuck_with_a_reason_then_recovers(
    emulator: ProviderEmulator, wecom: WecomClient
) -> None:
    emulator.register("WATCH0002")
    emulator.inject(AUTH, errcode=45009, count=3)
    watch = Watch(sn="WATCH0002", check_binding=wecom.get_device_auth_info, check_install=None)
    stuck = watch.next("stuck")
    assert stuck.reason is not None
    assert stuck.reason.english().startswith("rate limited, retrying in ")
    assert stuck.retry_in_s is not None and stuck.retry_in_s >= 0.05
    recovered = watch.next("waiting")  # the fourth poll gets through: not bound yet
    assert recovered.reason is None
    assert [ev.kind for ev in watch.seen].count("stuck") == 3
    emulator.bind("WATCH0002")
    assert watch.next("bound").corpid == DEFAULT_CORPID
    assert watch.finish().bound


def test_a_retrying_client_is_polled_through_its_no_retry_view(
    emulator: ProviderEmulator,
) -> None:
    # What wiring does: the session's client retries, the watch's view of it does not, so a
    # rate limit reaches the watch at once and its wait is the watch's own (cancellable, shown).
    emulator.register("WATCH0003")
    emulator.inject(AUTH, errcode=45009, count=1)
    notes: list[object] = []
    client = WecomClient(
        emulator.base_url,
        EMULATOR_CORPID,
        Secret(EMULATOR_PROVIDER_SECRET),
        HttpOptions(retry=RetryPolicy(base_s=30), on_retry=lambda r, d: notes.append(r)),
    )
    with client:
        view = client.with_retry(RetryPolicy.no_retries())
        watch = Watch(sn="WATCH0003", check_binding=view.get_device_auth_info, check_install=None)
        stuck = watch.next("stuck")
        assert notes == []  # the client did not wait 30 s on its own
        assert stuck.reason is not None and stuck.reason.english().startswith("rate limited")
        emulator.bind("WATCH0003")
        watch.next("bound")
        watch.finish()


def test_token_refused_keeps_polling(emulator: ProviderEmulator, wecom: WecomClient) -> None:
    emulator.register("WATCH0004")
    emulator.inject(AUTH, errcode=40014, count=2)  # refused even after the refresh
    watch = Watch(sn="WATCH0004", check_binding=wecom.get_device_auth_info, check_install=None)
    stuck = watch.next("stuck")
    assert stuck.reason is not None
    assert stuck.reason.english().startswith("access token refused")
    emulator.bind("WATCH0004")
    watch.next("bound")
    watch.finish()


def test_network_down_then_back(emulator_factory: Any) -> None:
    emulator = emulator_factory()
    emulator.register("WATCH0005")
    emulator.inject(AUTH, http_status=503, count=2)
    with WecomClient(
        emulator.base_url,
        EMULATOR_CORPID,
        Secret(EMULATOR_PROVIDER_SECRET),
        HttpOptions(retry=RetryPolicy.no_retries()),
    ) as client:
        watch = Watch(sn="WATCH0005", check_binding=client.get_device_auth_info, check_install=None)
        stuck = watch.next("stuck")
        assert stuck.reason is not None
        assert stuck.reason.english().startswith("network down or server unreachable")
        watch.next("waiting")
        emulator.bind("WATCH0005")
        watch.next("bound")
        watch.finish()


def test_device_event_is_announced_first(emulator: ProviderEmulator, wecom: WecomClient) -> None:
    emulator.register("WATCH0006")
    watch = Watch(
        sn="WATCH0006",
        check_binding=wecom.get_device_auth_info,
        check_install=None,
        poll_interval_s=60,  # only the device's report can make this quick
    )
    watch.next("waiting")
    emulator.bind("WATCH0006")
    watch.watcher.feed_device_state(WecomState.BOUND, DEFAULT_CORP_NAME)
    first = watch.next("bound")
    assert (first.via, first.corpid, first.corp_name) == ("device", None, DEFAULT_CORP_NAME)
    second = watch.next("bound")  # the immediate provider poll fills in the corpid
    assert (second.via, second.corpid) == ("provider", DEFAULT_CORPID)
    result = watch.finish()
    assert result.corpid == DEFAULT_CORPID and result.app_installed is None


def test_timeout(emulator: ProviderEmulator, wecom: WecomClient) -> None:
    emulator.register("WATCH0007")
    watch = Watch(
        sn="WATCH0007", check_binding=wecom.get_device_auth_info, check_install=None, timeout_s=0.5
    )
    event = watch.next("timeout")
    assert event.elapsed_s >= 0.5
    result = watch.finish()
    assert result.timed_out and not result.bound and result.error is None


def test_cancel_while_a_slow_request_is_out(emulator: ProviderEmulator, wecom: WecomClient) -> None:
    emulator.register("WATCH0008")
    wecom.get_provider_token()
    emulator.set_latency(20)
    cancel = threading.Event()
    watch = Watch(
        sn="WATCH0008",
        check_binding=wecom.get_device_auth_info,
        check_install=None,
        cancel=cancel,
    )
    watch.next("waiting")
    cancel.set()
    watch.thread.join(5)  # far less than the 20 s request: run() did not wait for it
    assert not watch.thread.is_alive()
    assert watch.finish().cancelled
    emulator.set_latency(0)


def test_fatal_error_ends_the_watch(emulator: ProviderEmulator) -> None:
    with WecomClient(emulator.base_url, EMULATOR_CORPID, Secret("wrong-secret-0000")) as client:
        watch = Watch(sn="WATCH0009", check_binding=client.get_device_auth_info, check_install=None)
        result = watch.finish()
    assert isinstance(result.error, e.ProviderError) and result.error.errcode == 40001
    assert not result.bound and not result.timed_out


def test_unknown_sn_ends_the_watch(emulator: ProviderEmulator, wecom: WecomClient) -> None:
    watch = Watch(sn="NEVERSEEN01", check_binding=wecom.get_device_auth_info, check_install=None)
    assert isinstance(watch.finish().error, e.BadSn)
