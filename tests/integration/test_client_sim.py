"""DeviceClient against the device simulator, over a real pty and over TCP (``socket://``)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from installer_app.device import errors
from installer_app.device.client import DeviceClient
from installer_app.device.protocol import (
    Command,
    DeviceState,
    ErrorCode,
    EventCode,
    NetState,
    WecomState,
)
from installer_app.device.responses import DeviceEvent, compute_proof
from installer_app.secrets import Secret
from tests.fixtures.device import RunningSim

SN = "WXA2000012345"
SECRET = Secret("8f14e45fceea167a5a36dedd4bea2543")
OTHER_SECRET = Secret("0000aaaabbbbccccddddeeeeffff1111")

MakeSim = Callable[..., RunningSim]


@contextmanager
def refused(code: int) -> Iterator[pytest.ExceptionInfo[errors.DeviceErrorResponse]]:
    """The device's ERROR answer with this ERROR_CODE."""
    with pytest.raises(errors.DeviceErrorResponse) as caught:
        yield caught
    assert caught.value.code == code


@pytest.fixture(params=["pty", "tcp"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clients() -> Iterator[Callable[..., DeviceClient]]:
    opened: list[DeviceClient] = []

    def open_client(url: str, **kwargs: object) -> DeviceClient:
        client = DeviceClient.open(url, **kwargs)  # type: ignore[arg-type]
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def provision(client: DeviceClient, secret: Secret = SECRET) -> None:
    client.write(SN, secret)
    client.commit()


def test_every_command(
    make_sim: MakeSim, transport: str, clients: Callable[..., DeviceClient]
) -> None:
    board = make_sim(transport)
    client = clients(board.url)
    events: list[DeviceEvent] = []
    client.add_event_listener(events.append)

    info = client.hello()
    assert (info.proto, info.model_id, info.fw_version) == (1, "WX-ATT-200", "1.4.2")
    assert info.hw_id == board.simulator.hw_id
    assert info.state is DeviceState.BLANK and info.sn is None

    client.write(SN, SECRET)
    assert client.hello().state is DeviceState.STAGED
    nonce = os.urandom(16)
    verified = client.verify(nonce)
    assert verified.sn == SN
    assert verified.proof == compute_proof(SECRET, nonce, SN)

    client.commit()
    info = client.hello()
    assert (info.state, info.sn) == (DeviceState.PROVISIONED, SN)
    client.commit()  # committing the committed credential again is fine
    client.write(SN, SECRET)  # and so is writing it again

    client.set_wifi("Office", Secret("correct-horse"))
    wait_until(lambda: client.status().net_state is NetState.ONLINE)
    assert any(e.code == EventCode.NET_CHANGED for e in events)

    board.simulator.set_binding("ACME Ltd")
    wait_until(lambda: client.status().wecom_state is WecomState.BOUND)
    assert client.status().corp_name == "ACME Ltd"

    client.identify()
    assert board.simulator.identifying

    after = client.reboot()
    assert (after.state, after.sn, after.hw_id) == (DeviceState.PROVISIONED, SN, info.hw_id)
    assert any(e.code == EventCode.BOOTED for e in events)

    client.factory_reset(after.hw_id)
    assert client.hello().state is DeviceState.BLANK


def test_error_codes(
    make_sim: MakeSim, transport: str, clients: Callable[..., DeviceClient]
) -> None:
    board = make_sim(transport)
    client = clients(board.url)
    with refused(ErrorCode.BAD_FRAME):
        client.request(Command.STATUS, b"\x0c")  # a field running past the end
    with pytest.raises(errors.UnknownCommand):
        client.request(0x42)
    with refused(ErrorCode.NOT_STAGED):
        client.verify(os.urandom(16))
    with refused(ErrorCode.NOT_STAGED):
        client.commit()
    with refused(ErrorCode.BAD_VALUE):
        client.write("not an sn!", SECRET)
    with refused(ErrorCode.BAD_VALUE):
        client.verify(b"short")
    provision(client)
    with refused(ErrorCode.LOCKED) as locked:
        client.write(SN, OTHER_SECRET)
    assert locked.value.code == ErrorCode.LOCKED
    assert OTHER_SECRET.reveal() not in str(locked.value)
    with refused(ErrorCode.BAD_VALUE):
        client.factory_reset(b"\x00" * 6)  # CONFIRM is not the HW_ID
    assert client.hello().state is DeviceState.PROVISIONED


def test_flash_failure_then_retry(
    make_sim: MakeSim, transport: str, clients: Callable[..., DeviceClient]
) -> None:
    board = make_sim(transport, flash_fail_next=1)
    client = clients(board.url)
    client.write(SN, SECRET)
    with refused(ErrorCode.FLASH_FAIL):
        client.commit()
    assert client.hello().state is DeviceState.STAGED
    client.commit()
    assert client.hello().state is DeviceState.PROVISIONED


def test_busy_is_retried(
    make_sim: MakeSim, transport: str, clients: Callable[..., DeviceClient]
) -> None:
    board = make_sim(transport, busy_next=2)
    client = clients(board.url)
    assert client.hello().state is DeviceState.BLANK
    assert board.simulator.counters.busy == 2


def test_busy_for_too_long(make_sim: MakeSim, clients: Callable[..., DeviceClient]) -> None:
    board = make_sim("pty", busy_next=1000)
    client = clients(board.url, busy_budget=0.5)
    with pytest.raises(errors.Busy):
        client.identify()


def test_noise_is_skipped_and_shown_as_log(
    make_sim: MakeSim, transport: str, clients: Callable[..., DeviceClient]
) -> None:
    board = make_sim(transport, noise=True, noise_interval_s=0.01)
    client = clients(board.url, response_timeout=2.0)
    log = bytearray()
    lock = threading.Lock()

    def on_log(data: bytes) -> None:
        with lock:
            log.extend(data)

    client.add_log_listener(on_log)
    for _ in range(20):
        assert client.hello().model_id == "WX-ATT-200"
        client.status()
    provision(client)
    assert client.hello().state is DeviceState.PROVISIONED

    def has_log() -> bool:
        with lock:
            return len(log) > 0

    wait_until(has_log)


@pytest.mark.parametrize(
    ("fault", "counter"), [("drop_next", "dropped"), ("corrupt_next", "corrupted")]
)
def test_lost_requests_and_answers_are_retransmitted(
    make_sim: MakeSim,
    transport: str,
    clients: Callable[..., DeviceClient],
    fault: str,
    counter: str,
) -> None:
    board = make_sim(transport, **{fault: 2})
    client = clients(board.url)
    assert client.hello().state is DeviceState.BLANK
    assert getattr(board.simulator.counters, counter) == 2


def test_three_dropped_requests_time_out(
    make_sim: MakeSim, clients: Callable[..., DeviceClient]
) -> None:
    board = make_sim("pty", drop_next=3)
    client = clients(board.url)
    with pytest.raises(errors.DeviceTimeout):
        client.status()
    assert board.simulator.counters.dropped == 3
    assert client.status().wecom_state is WecomState.IDLE  # the link works again


def test_retransmitted_commit_is_executed_once(
    make_sim: MakeSim, transport: str, clients: Callable[..., DeviceClient]
) -> None:
    board = make_sim(transport)
    client = clients(board.url)
    client.write(SN, SECRET)
    board.simulator.inject(corrupt_next=1)  # the COMMIT's answer is lost on the wire
    client.commit()  # no error: the repeat (same seq) is answered from the replay cache
    counters = board.simulator.counters
    assert counters.executed[Command.COMMIT] == 1
    assert counters.replayed == 1
    assert client.hello().state is DeviceState.PROVISIONED


def test_unplug_mid_command(
    make_sim: MakeSim, transport: str, clients: Callable[..., DeviceClient]
) -> None:
    board = make_sim(transport, unplug_on="STATUS", replug_after_s=None)
    client = clients(board.url, response_timeout=2.0)
    client.hello()
    with pytest.raises(errors.DeviceDisconnected) as caught:
        client.status()
    assert caught.value.exit_code == 3
    with pytest.raises(errors.DeviceDisconnected):
        client.hello()


def test_reboot_across_a_replug_finds_the_board_again(
    make_sim: MakeSim, transport: str, clients: Callable[..., DeviceClient]
) -> None:
    board = make_sim(transport, unplug_on="REBOOT", replug_after_s=0.3)
    client = clients(board.url)
    provision(client)
    before = client.hello()
    after = client.reboot()
    assert after.hw_id == before.hw_id
    assert after.state is DeviceState.PROVISIONED
    assert client.port_name == board.url  # reopened where the board came back
    assert client.status().net_state in tuple(NetState)


def test_a_device_speaking_a_newer_protocol_is_accepted(
    make_sim: MakeSim, clients: Callable[..., DeviceClient]
) -> None:
    board = make_sim("pty", proto=2)
    assert clients(board.url).hello().proto == 2  # newer devices still speak version 1
