"""WecomClient against the provider emulator over real loopback HTTP: every errcode path of the
spec's A5 table, the token refresh (also under ten concurrent threads), timeouts and keep-alive."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest

from installer_app.i18n import Message
from installer_app.provider import errors as e
from installer_app.provider.emulator import DEFAULT_CORP_NAME, DEFAULT_CORPID, ProviderEmulator
from installer_app.provider.http import HttpOptions, RetryPolicy, Timeouts
from installer_app.provider.wecom import WecomClient
from installer_app.secrets import Secret
from tests.fixtures.provider import EMULATOR_CORPID, EMULATOR_PROVIDER_SECRET, raises_errcode

FAST = RetryPolicy(base_s=0.01, max_delay_s=0.05)
AUTH = "/cgi-bin/service/get_device_auth_info"
ADD = "/cgi-bin/service/add_device"
TOKEN = "/cgi-bin/service/get_provider_token"


def client(emulator: ProviderEmulator, **kw: Any) -> WecomClient:
    kw.setdefault("retry", FAST)
    return WecomClient(
        kw.pop("base_url", emulator.base_url),
        kw.pop("corpid", EMULATOR_CORPID),
        Secret(kw.pop("secret", EMULATOR_PROVIDER_SECRET)),
        HttpOptions(**kw),
    )


def test_register_poll_bind_list_delete(emulator: ProviderEmulator) -> None:
    with client(emulator) as wecom:
        device = wecom.add_device("WX-ATT-200", "WXA2000000001")
        assert device.device_sn == "WXA2000000001" and device.model_id == "WX-ATT-200"
        assert 1 <= len(device.secret_no) <= 128 and device.device_id
        assert device.qr_code.startswith("https://open.work.weixin.qq.com/connect/hardware?")
        assert wecom.get_device_auth_info("WXA2000000001") is None  # 600004
        emulator.bind("WXA2000000001")
        binding = wecom.get_device_auth_info("WXA2000000001")
        assert binding is not None
        assert (binding.corpid, binding.corp_name) == (DEFAULT_CORPID, DEFAULT_CORP_NAME)
        wecom.add_device("WX-DOOR-100", "WXA2000000002")
        assert {d.device_sn for d in wecom.list_devices()} == {"WXA2000000001", "WXA2000000002"}
        wecom.del_device("WXA2000000002")
        assert [d.device_sn for d in wecom.list_devices()] == ["WXA2000000001"]
    assert emulator.token_fetches == 1


def test_list_devices_pages(emulator: ProviderEmulator) -> None:
    sns = [f"PAGE{i:03d}" for i in range(7)]
    for sn in sns:
        emulator.register(sn)
    with client(emulator) as wecom:
        assert [d.device_sn for d in wecom.list_devices(page_size=3)] == sns
        assert [d.device_sn for d in wecom.list_devices(page_size=7)] == sns
    assert emulator.stats()["requests"]["/cgi-bin/service/list_device"] == 3 + 2


def test_sn_already_registered_is_a_conflict(emulator: ProviderEmulator) -> None:
    with client(emulator) as wecom:
        wecom.add_device("WX-ATT-200", "DUP0001")
        with raises_errcode(600021, e.SnAlreadyRegistered):
            wecom.add_device("WX-ATT-200", "dup0001")  # unique case-insensitively
        emulator.inject(ADD, errcode=600036)  # 设备sn冲突: the same conflict
        with raises_errcode(600036, e.SnAlreadyRegistered):
            wecom.add_device("WX-ATT-200", "DUP0002")


@pytest.mark.parametrize(
    ("code", "text", "hint"),
    [
        (600002, "already registered itself", "set this board aside"),
        (600037, "model_id is missing", "Set model_id in settings"),
        (600042, "model_id is invalid", "model_id in settings is wrong"),
        (600051, "SN has expired", "validity in the provider admin"),
    ],
)
def test_codes_with_their_own_message_and_hint(
    emulator: ProviderEmulator, code: int, text: str, hint: str
) -> None:
    # Over real HTTP from the emulator's per-errcode fault; none is "unknown", none a conflict.
    emulator.inject(ADD, errcode=code)
    with client(emulator) as wecom, raises_errcode(code) as info:
        wecom.add_device("WX-ATT-200", "OWN0001")
    assert type(info.value) is e.ProviderError
    assert text in info.value.message.english()
    assert info.value.hint is not None and hint in info.value.hint.english()
    assert "errcode" in str(info.value) and "WeCom documentation" not in str(info.value)


def test_model_not_found(emulator: ProviderEmulator) -> None:
    with client(emulator) as wecom, raises_errcode(600038) as info:
        wecom.add_device("NO-SUCH-MODEL", "SN0001")
    assert "model_id in settings is wrong" in str(info.value)


def test_bad_sn(emulator: ProviderEmulator) -> None:
    with client(emulator) as wecom:
        with raises_errcode(600001, e.BadSn):
            wecom.get_device_auth_info("NEVERREGISTERED")  # the emulator's 600001
        with raises_errcode(600001, e.BadSn):
            wecom.add_device("WX-ATT-200", "bad-sn!")  # refused before the wire
        emulator.inject(ADD, errcode=600001)
        with raises_errcode(600001, e.BadSn):
            wecom.add_device("WX-ATT-200", "GOODSN1")


def test_hardware_secret_invalid(emulator: ProviderEmulator) -> None:
    emulator.register("HW0001")
    emulator.inject(AUTH, errcode=600005)
    with client(emulator) as wecom, raises_errcode(600005):
        wecom.get_device_auth_info("HW0001")


def test_wrong_secret_and_wrong_corpid(emulator: ProviderEmulator) -> None:
    with client(emulator, secret="not-the-secret") as wecom, raises_errcode(40001):
        wecom.check()
    with client(emulator, corpid="wwnobody") as wecom, raises_errcode(40013):
        wecom.check()
    assert emulator.token_fetches == 2  # fatal: never retried


@pytest.mark.parametrize("invalidate", [False, True])  # 42001 expired, 40014 invalid
def test_token_refused_is_refreshed_once(emulator: ProviderEmulator, invalidate: bool) -> None:
    emulator.register("TOK0001")
    with client(emulator) as wecom:
        first = wecom.get_provider_token()
        emulator.expire_tokens(invalidate=invalidate)
        assert wecom.get_device_auth_info("TOK0001") is None
        assert wecom.get_provider_token() != first
    assert emulator.token_fetches == 2


@pytest.mark.parametrize("code", [40014, 42001])
def test_token_refused_twice_is_an_error_not_a_loop(emulator: ProviderEmulator, code: int) -> None:
    emulator.register("TOK0002")
    emulator.inject(AUTH, errcode=code, count=2)
    with client(emulator) as wecom, pytest.raises(e.TokenInvalid):
        wecom.get_device_auth_info("TOK0002")
    assert emulator.token_fetches == 2
    assert emulator.stats()["requests"][AUTH] == 2


def test_ten_threads_polling_at_once_fetch_one_token(emulator: ProviderEmulator) -> None:
    sns = [f"CONC{i:02d}" for i in range(10)]
    for sn in sns:
        emulator.register(sn)
    emulator.bind(sns[0])
    results: list[object] = []
    failures: list[BaseException] = []
    with client(emulator) as wecom:

        def poll_all(start: threading.Barrier) -> None:
            start.wait(30)
            for sn in sns:
                try:
                    results.append(wecom.get_device_auth_info(sn))
                except BaseException as exc:  # noqa: BLE001 - reported below
                    failures.append(exc)

        for round_ in range(2):
            start = threading.Barrier(10)
            threads = [threading.Thread(target=poll_all, args=(start,)) for _ in range(10)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert failures == []
            assert emulator.token_fetches == 1 + round_
            # WeCom drops every token: the ten threads see 42001 at once, and refresh once.
            emulator.expire_tokens()
    assert len(results) == 200
    assert sum(r is not None for r in results) == 20


@pytest.mark.parametrize(
    ("fault", "budget"),
    [
        ({"errcode": -1}, 3),
        ({"errcode": 45009}, 4),
        ({"errcode": 45033}, 4),
        ({"http_status": 500}, 3),
        ({"http_status": 502}, 3),
        ({"http_status": 503}, 3),
    ],
)
def test_transient_faults_are_retried_then_given_up(
    emulator: ProviderEmulator, fault: dict[str, int], budget: int
) -> None:
    emulator.register("RETRY01")
    emulator.bind("RETRY01")
    notes: list[tuple[Message, float]] = []
    with client(emulator, on_retry=lambda r, d: notes.append((r, d))) as wecom:
        emulator.inject(AUTH, count=2, **fault)
        assert wecom.get_device_auth_info("RETRY01") is not None
        assert len(notes) == 2 and all(0.01 <= d <= 0.05 for _, d in notes)
        emulator.inject(AUTH, count=10, **fault)
        with pytest.raises(e.ProviderError) as info:
            wecom.get_device_auth_info("RETRY01")
        assert info.value.errcode == fault.get("errcode") and info.value.transient
    emulator.clear_faults()
    assert emulator.stats()["requests"][AUTH] == 3 + budget + 1


def test_system_busy_at_most_three_retries(emulator: ProviderEmulator) -> None:
    emulator.register("BUSY01")
    emulator.inject(AUTH, errcode=-1, count=3)
    with client(emulator) as wecom:
        assert wecom.get_device_auth_info("BUSY01") is None  # the 4th try gets through
    assert emulator.stats()["requests"][AUTH] == 4


def test_unknown_errcode_is_fatal_with_the_servers_text(emulator: ProviderEmulator) -> None:
    emulator.register("UNK001")
    emulator.inject(AUTH, errcode=48002)
    with client(emulator) as wecom, raises_errcode(48002) as info:
        wecom.get_device_auth_info("UNK001")
    assert info.value.errcode == 48002 and "48002" in str(info.value)
    assert emulator.stats()["requests"][AUTH] == 1


def test_read_timeout_is_unreachable(emulator: ProviderEmulator) -> None:
    emulator.register("SLOW01")
    with client(
        emulator, timeouts=Timeouts(connect_s=5, read_s=0.2), retry=RetryPolicy.no_retries()
    ) as wecom:
        wecom.get_provider_token()
        emulator.set_latency(3)
        with pytest.raises(e.ProviderUnreachable) as info:
            wecom.get_device_auth_info("SLOW01")
    emulator.set_latency(0)
    assert "no answer in time" in str(info.value)


def test_nothing_listening_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    wecom = WecomClient(
        f"http://127.0.0.1:{port}",
        EMULATOR_CORPID,
        Secret(EMULATOR_PROVIDER_SECRET),
        HttpOptions(retry=FAST),
    )
    with wecom, pytest.raises(e.ProviderUnreachable) as info:
        wecom.check()
    assert "127.0.0.1" in str(info.value) and "check the network" in str(info.value)


def test_one_keep_alive_connection_serves_every_poll(emulator: ProviderEmulator) -> None:
    emulator.register("KEEP01")
    accepted: list[object] = []
    server = emulator._server  # count the TCP connections the emulator accepts
    assert server is not None
    original = server.process_request

    def counting(request: Any, client_address: Any) -> None:
        accepted.append(client_address)
        original(request, client_address)

    server.process_request = counting  # type: ignore[method-assign]
    with client(emulator) as wecom:
        for _ in range(20):
            assert wecom.get_device_auth_info("KEEP01") is None
    assert len(accepted) == 1
