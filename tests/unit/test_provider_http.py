"""The clients' own edges, over httpx.MockTransport: backoff schedule and jitter, Retry-After,
refresh-once of the token, fatal codes, non-JSON answers, and no secret in any exception text.
(The same paths run over real HTTP against the emulator in tests/integration.)"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from installer_app.i18n import Message
from installer_app.provider import errors as e
from installer_app.provider.http import (
    DEFAULT_RETRY,
    CallScope,
    HttpOptions,
    RetryPolicy,
    parse_retry_after,
    retry_message,
)
from installer_app.provider.partner import PartnerClient
from installer_app.provider.wecom import WecomClient
from installer_app.secrets import Secret
from tests.fixtures.provider import raises_errcode

SECRET = "unit-provider-secret-5b1e"
TOKEN = "unit-access-token-77aa90"
PARTNER_TOKEN = "unit-partner-token-c0ffee"
SECRET_NO = "unit-secretno-0d15ea5e"

Handler = Callable[[httpx.Request], httpx.Response]


class Server:
    """A scripted WeCom: answers ``script`` in order for the API path, tokens always."""

    def __init__(self, script: list[httpx.Response | Exception] | None = None) -> None:
        self.script: Iterator[httpx.Response | Exception] = iter(script or [])
        self.requests: list[httpx.Request] = []
        self.token_fetches = 0
        self.tokens = [TOKEN, TOKEN + "-2", TOKEN + "-3"]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.endswith("get_provider_token"):
            token = self.tokens[min(self.token_fetches, len(self.tokens) - 1)]
            self.token_fetches += 1
            return httpx.Response(200, json={"provider_access_token": token, "expires_in": 7200})
        step = next(self.script)
        if isinstance(step, Exception):
            raise step
        return step

    @property
    def api_calls(self) -> list[httpx.Request]:
        return [r for r in self.requests if not r.url.path.endswith("get_provider_token")]


def err(code: int, msg: str = "whatever") -> httpx.Response:
    return httpx.Response(200, json={"errcode": code, "errmsg": msg})


def ok(**fields: Any) -> httpx.Response:
    return httpx.Response(200, json={"errcode": 0, "errmsg": "ok", **fields})


BOUND = ok(auth_corp_info={"corpid": "wwcorp1", "corp_name": "测试企业"})


@pytest.fixture
def sleeps() -> list[float]:
    return []


def wecom(
    server: Handler, sleeps: list[float], retry: RetryPolicy = DEFAULT_RETRY, **kw: Any
) -> WecomClient:
    return WecomClient(
        "https://qyapi.example",
        "wwprovider",
        Secret(SECRET),
        HttpOptions(retry=retry, sleep=sleeps.append, transport=httpx.MockTransport(server), **kw),
    )


def test_backoff_doubles_with_jitter_between_one_and_two_times_up_to_60s() -> None:
    policy = RetryPolicy()
    rng = random.Random(7)
    for attempt in range(10):
        nominal = 2.0**attempt
        for _ in range(50):
            delay = policy.backoff(attempt, rng)
            assert min(60.0, nominal) <= delay <= min(60.0, 2 * nominal)
    # jitter: not one fixed value
    assert len({round(policy.backoff(0, rng), 6) for _ in range(20)}) > 10


def test_system_busy_is_retried_three_times_then_raised(sleeps: list[float]) -> None:
    server = Server([err(-1)] * 4)
    with wecom(server, sleeps) as client, raises_errcode(-1):
        client.get_device_auth_info("SN1")
    assert len(server.api_calls) == 4
    assert len(sleeps) == 3
    assert 1 <= sleeps[0] <= 2 and 2 <= sleeps[1] <= 4 and 4 <= sleeps[2] <= 8


def test_rate_limit_backs_off_doubling_and_recovers(sleeps: list[float]) -> None:
    server = Server([err(45009), err(45009), err(45033), BOUND])
    notes: list[tuple[Message, float]] = []
    with wecom(server, sleeps, on_retry=lambda r, d: notes.append((r, d))) as client:
        binding = client.get_device_auth_info("SN1")
    assert binding is not None and binding.corpid == "wwcorp1"
    assert len(sleeps) == 3
    assert 1 <= sleeps[0] <= 2 and 2 <= sleeps[1] <= 4 and 4 <= sleeps[2] <= 8
    assert [d for _, d in notes] == sleeps
    assert notes[0][0].english() == "rate limited"
    assert retry_message(notes[0][0], 8.2).english() == "rate limited, retrying in 8 s"


def test_rate_limit_gives_up_after_its_budget(sleeps: list[float]) -> None:
    server = Server([err(45009)] * 5)
    with wecom(server, sleeps) as client, raises_errcode(45009):
        client.get_device_auth_info("SN1")
    assert len(sleeps) == 4
    assert sleeps[3] <= 16


def test_http_5xx_and_network_errors_retry_then_unreachable(sleeps: list[float]) -> None:
    server = Server(
        [
            httpx.Response(503, text="<html>down</html>"),
            httpx.ConnectError("boom"),
            httpx.ReadTimeout("slow"),
            httpx.Response(502),
        ]
    )
    with wecom(server, sleeps) as client, pytest.raises(e.ProviderUnreachable) as info:
        client.get_device_auth_info("SN1")
    assert len(server.api_calls) == 4 and len(sleeps) == 3
    assert "qyapi.example" in str(info.value)
    assert "check the network" in str(info.value)


def test_transient_failure_then_success(sleeps: list[float]) -> None:
    server = Server([httpx.ConnectTimeout("t"), httpx.Response(500), BOUND])
    with wecom(server, sleeps) as client:
        assert client.get_device_auth_info("SN1") is not None
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (40001, e.ProviderError),
        (40013, e.ProviderError),
        (600001, e.BadSn),
        (600002, e.ProviderError),
        (600021, e.SnAlreadyRegistered),
        (600036, e.SnAlreadyRegistered),
        (600005, e.ProviderError),
        (600037, e.ProviderError),
        (600038, e.ProviderError),
        (600042, e.ProviderError),
        (600051, e.ProviderError),
        (12345, e.ProviderError),
    ],
)
def test_fatal_codes_stop_at_once(
    sleeps: list[float], code: int, cls: type[e.ProviderError]
) -> None:
    server = Server([err(code)])
    with wecom(server, sleeps) as client, raises_errcode(code, cls) as caught:
        client.add_device("WX-ATT-200", "SN1")
    assert type(caught.value) is cls
    assert len(server.api_calls) == 1
    assert sleeps == []


def test_conflict_is_never_success(sleeps: list[float]) -> None:
    # Even with a device_info in the body, 600021 and 600036 are conflicts.
    for code in (600021, 600036):
        server = Server(
            [httpx.Response(200, json={"errcode": code, "errmsg": "ok", "device_info": {}})]
        )
        with wecom(server, sleeps) as client, raises_errcode(code, e.SnAlreadyRegistered):
            client.add_device("WX-ATT-200", "SN1")


def test_not_bound_is_none(sleeps: list[float]) -> None:
    with wecom(Server([err(600004)]), sleeps) as client:
        assert client.get_device_auth_info("SN1") is None


def test_token_refused_is_refreshed_once_and_repeated_once(sleeps: list[float]) -> None:
    server = Server([err(40014), BOUND])
    with wecom(server, sleeps) as client:
        assert client.get_device_auth_info("SN1") is not None
    assert server.token_fetches == 2
    tokens = [r.url.params["provider_access_token"] for r in server.api_calls]
    assert tokens == [TOKEN, TOKEN + "-2"]


def test_token_refused_twice_is_raised_without_a_loop(sleeps: list[float]) -> None:
    server = Server([err(42001), err(42001), BOUND])
    with wecom(server, sleeps) as client, pytest.raises(e.TokenInvalid) as info:
        client.get_device_auth_info("SN1")
    assert server.token_fetches == 2 and len(server.api_calls) == 2
    assert info.value.__context__ is None


def test_token_is_cached_across_calls(sleeps: list[float]) -> None:
    server = Server([BOUND, BOUND, BOUND])
    with wecom(server, sleeps) as client:
        for _ in range(3):
            client.get_device_auth_info("SN1")
    assert server.token_fetches == 1


def test_token_errors_are_fatal(sleeps: list[float]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return err(40001, "invalid provider_secret")

    with wecom(handler, sleeps) as client, raises_errcode(40001):
        client.check()
    assert sleeps == []


def test_non_json_answer_is_a_clear_error(sleeps: list[float]) -> None:
    server = Server([httpx.Response(200, text="<html>captive portal</html>")])
    with wecom(server, sleeps) as client, pytest.raises(e.UnexpectedAnswer) as info:
        client.get_device_auth_info("SN1")
    assert "qyapi.example" in str(info.value) and "JSON" in str(info.value)


def test_bad_sn_is_refused_before_the_wire(sleeps: list[float]) -> None:
    server = Server([])
    with wecom(server, sleeps) as client:
        for sn in ("", "SN 1", "SN/../x", "x" * 129, "序列号"):
            with raises_errcode(600001, e.BadSn):
                client.get_device_auth_info(sn)
    assert server.requests == []


def test_list_devices_pages_until_a_short_page(sleeps: list[float]) -> None:
    def page(n: int) -> httpx.Response:
        return ok(device_list=[{"device_sn": f"SN{n}{i}", "model_id": "M"} for i in range(n)])

    server = Server([page(2), page(2), page(1)])
    with wecom(server, sleeps) as client:
        devices = client.list_devices(page_size=2)
    assert [d.device_sn for d in devices] == ["SN20", "SN21", "SN20", "SN21", "SN10"]
    offsets = [json.loads(r.content)["offset"] for r in server.api_calls]
    assert offsets == [0, 2, 4]


def test_cancel_interrupts_a_backoff_wait() -> None:
    cancel = threading.Event()

    def sleep(delay: float) -> None:
        cancel.set()  # the person presses Cancel during the wait

    server = Server([err(45009), BOUND])
    client = WecomClient(
        "https://qyapi.example",
        "wwprovider",
        Secret(SECRET),
        HttpOptions(cancel=cancel, sleep=sleep, transport=httpx.MockTransport(server)),
    )
    with client, pytest.raises(e.ProviderCancelled):
        client.get_device_auth_info("SN1")
    assert len(server.api_calls) == 1


def test_default_wait_wakes_on_cancel() -> None:
    cancel = threading.Event()
    server = Server([err(45009), BOUND])
    client = WecomClient(
        "https://qyapi.example",
        "wwprovider",
        Secret(SECRET),
        HttpOptions(
            cancel=cancel,
            retry=RetryPolicy(base_s=30),
            on_retry=lambda reason, delay: cancel.set(),
            transport=httpx.MockTransport(server),
        ),
    )
    with client, pytest.raises(e.ProviderCancelled):
        client.get_device_auth_info("SN1")


def test_a_scoped_view_ends_its_wait_on_its_callers_cancel_and_reports_to_it() -> None:
    # One client shared by two boards: board A's cancel ends A's retry wait, not B's, and A's
    # retries are reported to A (and to the client's own hook) only.
    server = Server([err(45009), err(45009), BOUND])
    own: list[float] = []
    client = WecomClient(
        "https://qyapi.example",
        "wwprovider",
        Secret(SECRET),
        HttpOptions(
            retry=RetryPolicy(base_s=30),
            on_retry=lambda reason, delay: own.append(delay),
            transport=httpx.MockTransport(server),
        ),
    )
    cancel_a, cancel_b = threading.Event(), threading.Event()
    heard_a: list[str] = []

    def on_retry_a(reason: Message, delay: float) -> None:
        heard_a.append(reason.english())
        cancel_a.set()

    with client:
        board_a = client.scoped(CallScope(cancel_a, on_retry_a))
        board_b = client.scoped(CallScope(cancel_b))
        started = time.monotonic()
        with pytest.raises(e.ProviderCancelled):
            board_a.get_device_auth_info("SN1")
        assert time.monotonic() - started < 5  # not the 30-60 s backoff
        assert heard_a == ["rate limited"] and len(own) == 1
        assert not cancel_b.is_set() and not board_b._http._cancelled()
        # A view without retries (the binding watch's) raises the rate limit at once.
        with raises_errcode(45009):
            client.with_retry(RetryPolicy.no_retries()).get_device_auth_info("SN1")
        assert len(own) == 1


# -- partner -------------------------------------------------------------------------------------


def partner(handler: Handler, sleeps: list[float]) -> PartnerClient:
    return PartnerClient(
        "https://partner.example/",
        Secret(PARTNER_TOKEN),
        HttpOptions(sleep=sleeps.append, transport=httpx.MockTransport(handler)),
    )


def test_partner_sends_bearer_and_honours_retry_after(sleeps: list[float]) -> None:
    seen: list[httpx.Request] = []
    answers = iter(
        [
            httpx.Response(429, json={"errcode": 429}, headers={"Retry-After": "7"}),
            httpx.Response(429, text="slow down", headers={"Retry-After": "3"}),
            httpx.Response(200, json={"errcode": 0, "installed": True, "agentid": 1000002}),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(answers)

    with partner(handler, sleeps) as client:
        inst = client.get_installation("wwcorp1")
    assert inst.installed and inst.agentid == 1000002 and inst.auth_time is None
    assert sleeps == [7.0, 3.0]
    assert all(r.headers["Authorization"] == f"Bearer {PARTNER_TOKEN}" for r in seen)
    assert seen[0].url.path == "/v1/installations/wwcorp1"


@pytest.mark.parametrize(
    ("response", "errcode", "text"),
    [
        (httpx.Response(401, json={"errcode": 401, "errmsg": "bad token"}), 401, "token"),
        (httpx.Response(401, text="Unauthorized"), 401, "installer token"),
        (httpx.Response(404, json={"errcode": 600001}), 600001, "partner service does not"),
        (httpx.Response(200, json={"errcode": 600036}), 600036, "already registered"),
        (httpx.Response(200, json={"errcode": 40001}), 40001, "provider secret"),
        (httpx.Response(418, json={"errcode": 0}), None, "without the expected JSON"),
    ],
)
def test_partner_errors(
    sleeps: list[float], response: httpx.Response, errcode: int | None, text: str
) -> None:
    with partner(lambda r: response, sleeps) as client, pytest.raises(e.ProviderError) as caught:
        client.get_device("SN1")
    assert caught.value.errcode == errcode and text in str(caught.value)
    assert sleeps == []


def test_partner_register_and_binding(sleeps: list[float]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            body = json.loads(request.content)
            assert body == {"model_id": "WX-ATT-200", "hw_id": "a1b2c3"}
            return httpx.Response(
                200, json={"errcode": 0, "device_sn": "SNP1", "credential": SECRET_NO}
            )
        if request.url.path == "/v1/devices/SNP1":
            return httpx.Response(
                200,
                json={"errcode": 0, "bind_status": 1, "corp": {"corpid": "c", "corp_name": "n"}},
            )
        return httpx.Response(200, json={"errcode": 0, "bind_status": 0, "corp": None})

    with partner(handler, sleeps) as client:
        device = client.register_device("WX-ATT-200", "A1B2C3")
        assert device.device_sn == "SNP1" and device.credential.reveal() == SECRET_NO
        assert repr(device).count(SECRET_NO) == 0
        binding = client.get_device("SNP1")
        assert binding is not None and binding.corpid == "c"
        assert client.get_device("SNP2") is None


# -- secrets -------------------------------------------------------------------------------------


def test_no_secret_in_any_exception_text(sleeps: list[float]) -> None:
    secrets = (SECRET, TOKEN, PARTNER_TOKEN, SECRET_NO)
    failures: list[httpx.Response | Exception] = [
        httpx.ConnectError(f"failed https://qyapi.example/x?provider_access_token={TOKEN}"),
        httpx.ReadTimeout(f"timeout for ...token={TOKEN}"),
        httpx.Response(500, text=TOKEN),
        err(99999, f"invalid token {TOKEN}"),
        err(40014),
        err(40014),
    ]
    raised: list[BaseException] = []
    for step in failures:
        server = Server([step, step, step, step])
        with wecom(server, sleeps, retry=RetryPolicy.no_retries()) as client:
            try:
                client.get_device_auth_info("SN1")
            except e.ProviderError as exc:
                raised.append(exc)
    assert len(raised) == len(failures)
    for exc in raised:
        chain = [exc, exc.__cause__, exc.__context__]
        text = " ".join(repr(x) + str(x) for x in chain if x is not None)
        text += exc.message.english() + (exc.hint.english() if exc.hint else "")
        for secret in secrets:
            assert secret not in text


def test_retry_after_parsing() -> None:
    assert parse_retry_after("8") == 8.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert parse_retry_after("-3") is None
