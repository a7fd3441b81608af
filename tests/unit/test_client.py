"""DeviceClient's edges against a scripted fake device on a real pty pair."""

from __future__ import annotations

import logging
import os
import pty
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from installer_app.device import errors
from installer_app.device.client import DeviceClient
from installer_app.device.codec import Frame, encode_frame, encode_tlv
from installer_app.device.protocol import (
    Command,
    DeviceState,
    ErrorCode,
    EventCode,
    FrameType,
    NetState,
    Tag,
    WecomState,
)
from installer_app.device.responses import DeviceEvent, compute_proof
from installer_app.secrets import Secret
from tests.unit.test_client_support import (
    HW_ID,
    FakeDevice,
    Handler,
    Reply,
    default_handler,
    error,
    event,
    hello_payload,
    response,
)

# Short timeouts keep the timeout paths quick; generous ones elsewhere keep a loaded machine happy.
FAST = 0.15
SLOW = 5.0


@contextmanager
def refused(code: int) -> Iterator[pytest.ExceptionInfo[errors.DeviceErrorResponse]]:
    """The device's ERROR answer with this ERROR_CODE."""
    with pytest.raises(errors.DeviceErrorResponse) as caught:
        yield caught
    assert caught.value.code == code


@pytest.fixture
def device() -> Iterator[FakeDevice]:
    fake = FakeDevice()
    yield fake
    fake.stop()


def open_client(fake: FakeDevice, **kwargs: object) -> DeviceClient:
    kwargs.setdefault("response_timeout", SLOW)
    return DeviceClient.open(fake.url, **kwargs)  # type: ignore[arg-type]


def scripted(*replies: Reply) -> Handler:
    """Answer the n-th frame with replies[n]; after the script, behave as the default board."""
    queue = list(replies)

    def handler(frame: Frame) -> Reply:
        if queue:
            reply = queue.pop(0)
            return reply(frame) if callable(reply) else reply
        return default_handler(frame)

    return handler


def test_hello_returns_typed_info(device: FakeDevice) -> None:
    device.handler = lambda f: response(f, hello_payload(state=2, sn="WXA2000012345"))
    with open_client(device) as client:
        info = client.hello()
    assert info.proto == 1
    assert info.model_id == "WX-ATT-200"
    assert info.fw_version == "1.4.2"
    assert info.hw_id == HW_ID and info.hw_id_hex == "240ac4123456"
    assert info.state is DeviceState.PROVISIONED
    assert info.sn == "WXA2000012345"


def test_seq_increments_and_wraps_skipping_zero(device: FakeDevice) -> None:
    with open_client(device, first_seq=254) as client:
        for _ in range(4):
            client.identify()
    assert [f.seq for f in device.frames()] == [254, 255, 1, 2]


def test_first_seq_is_random_in_range() -> None:
    seen = set()
    for _ in range(3):
        fake = FakeDevice()
        try:
            with open_client(fake) as client:
                client.identify()
            seen.add(fake.frames()[0].seq)
        finally:
            fake.stop()
    assert all(1 <= s <= 255 for s in seen)


def test_lost_response_is_retransmitted_with_same_seq(device: FakeDevice) -> None:
    device.handler = scripted(b"", b"")  # the first two requests get no answer
    with open_client(device, response_timeout=0.5) as client:
        client.identify()
    frames = device.frames()
    assert len(frames) == 3
    assert {f.seq for f in frames} == {frames[0].seq}
    assert all(f.type == Command.IDENTIFY for f in frames)
    assert all(f.payload == frames[0].payload for f in frames)


def test_three_tries_then_device_timeout(device: FakeDevice) -> None:
    device.handler = lambda f: None
    with (
        open_client(device, response_timeout=FAST) as client,
        pytest.raises(errors.DeviceTimeout) as caught,
    ):
        client.status()
    assert len(device.frames()) == 3
    assert caught.value.exit_code == 3
    assert "Check the cable" in str(caught.value)


def test_abandon_partial_recovers_a_response_swallowed_by_a_fake_header(
    device: FakeDevice,
) -> None:
    # A log line holding "A5 5A 01" and a long length would swallow the real response while the
    # receiver waits for 1000 bytes; on timeout the client gives that candidate up and rescans.
    fake_header = b"boot: \xa5\x5a\x01\x81\x07\xe8\x03"

    def handler(frame: Frame) -> Reply:
        if len(device.frames()) == 1:
            return [fake_header, response(frame, hello_payload())]
        return None  # a retransmission would go unanswered

    device.handler = handler
    with open_client(device, response_timeout=FAST) as client:
        info = client.hello()
    assert info.model_id == "WX-ATT-200"
    assert len(device.frames()) == 1  # recovered without sending again


def test_error_raises_typed_error_and_next_request_uses_new_seq(device: FakeDevice) -> None:
    device.handler = scripted(lambda f: error(f, ErrorCode.NOT_STAGED, b"nothing\x1b[31m staged"))
    with open_client(device, first_seq=10) as client:
        with refused(ErrorCode.NOT_STAGED) as caught:
            client.commit()
        client.commit()
    assert caught.value.code == ErrorCode.NOT_STAGED
    assert caught.value.device_message == "nothing [31m staged"  # control characters dropped
    assert [f.seq for f in device.frames()] == [10, 11]


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (ErrorCode.BAD_FRAME, errors.DeviceErrorResponse),
        (ErrorCode.UNKNOWN_COMMAND, errors.UnknownCommand),
        (ErrorCode.BAD_VALUE, errors.DeviceErrorResponse),
        (ErrorCode.LOCKED, errors.DeviceErrorResponse),
        (ErrorCode.NOT_STAGED, errors.DeviceErrorResponse),
        (ErrorCode.FLASH_FAIL, errors.DeviceErrorResponse),
        (0x42, errors.DeviceErrorResponse),
    ],
)
def test_each_error_code_has_its_row(
    device: FakeDevice, code: int, cls: type[errors.DeviceErrorResponse]
) -> None:
    device.handler = lambda f: error(f, code)
    with open_client(device) as client, pytest.raises(cls) as caught:
        client.identify()
    assert type(caught.value) is cls
    assert caught.value.code == code
    assert caught.value.exit_code == 3
    assert "IDENTIFY" in str(caught.value)
    # A listed code says what happened and what to do; an unknown one shows its number.
    row = errors.REFUSALS.get(code)
    if row is not None:
        assert row.what.text in caught.value.message.english()
        assert caught.value.hint is not None and caught.value.hint.english() == row.hint.text
    else:
        assert "0x42" in str(caught.value) and caught.value.hint is None


def test_busy_is_retried_after_200ms_with_new_seqs(device: FakeDevice) -> None:
    busy = lambda f: error(f, ErrorCode.BUSY)  # noqa: E731
    device.handler = scripted(busy, busy)
    with open_client(device) as client:
        started = time.monotonic()
        client.identify()
        elapsed = time.monotonic() - started
    seqs = [f.seq for f in device.frames()]
    assert len(seqs) == 3 and len(set(seqs)) == 3
    assert elapsed >= 0.4


def test_busy_for_too_long_raises_busy(device: FakeDevice) -> None:
    device.handler = lambda f: error(f, ErrorCode.BUSY)
    with open_client(device, busy_budget=0.5) as client, pytest.raises(errors.Busy):
        client.identify()
    assert 2 <= len(device.frames()) <= 3


def test_event_is_delivered_and_never_taken_as_response(device: FakeDevice) -> None:
    # An event carrying the request's own seq, then the real answer.
    def handler(frame: Frame) -> Reply:
        status = encode_tlv(
            [(Tag.NET_STATE, b"\x02"), (Tag.WECOM_STATE, b"\x03"), (Tag.CORP_NAME, b"ACME")]
        )
        return [
            event(EventCode.NET_CHANGED, net=1, seq=frame.seq),
            response(frame, status),
        ]

    device.handler = handler
    got: list[DeviceEvent] = []
    seen = threading.Event()
    with open_client(device) as client:
        remove = client.add_event_listener(lambda e: (got.append(e), seen.set()))
        status = client.status()
        assert seen.wait(SLOW)
        remove()
    assert status.net_state is NetState.ONLINE
    assert status.wecom_state is WecomState.BOUND
    assert status.corp_name == "ACME"
    assert got == [DeviceEvent(EventCode.NET_CHANGED, NetState.LINK_UP, WecomState.IDLE, None)]


def test_only_an_event_is_a_timeout(device: FakeDevice) -> None:
    device.handler = lambda f: event(EventCode.WECOM_CHANGED, seq=f.seq)
    with open_client(device, response_timeout=FAST) as client, pytest.raises(errors.DeviceTimeout):
        client.identify()


def test_stray_and_late_frames_are_ignored(device: FakeDevice) -> None:
    def handler(frame: Frame) -> Reply:
        wrong_status = encode_tlv([(Tag.NET_STATE, b"\x00"), (Tag.WECOM_STATE, b"\x00")])
        right_status = encode_tlv([(Tag.NET_STATE, b"\x01"), (Tag.WECOM_STATE, b"\x02")])
        return [
            encode_frame(frame.type | 0x80, (frame.seq - 1) or 255, wrong_status),  # late
            encode_frame(Command.HELLO | 0x80, frame.seq, hello_payload()),  # wrong type
            encode_frame(frame.type, frame.seq, wrong_status),  # a request (an echo)
            response(frame, right_status),
        ]

    device.handler = handler
    with open_client(device) as client:
        status = client.status()
    assert (status.net_state, status.wecom_state) == (NetState.LINK_UP, WecomState.WAITING_BIND)


def test_device_log_text_goes_to_log_listener(device: FakeDevice) -> None:
    device.handler = lambda f: [b"I (123) wifi: started\r\n", response(f), b"tail"]
    chunks: list[bytes] = []
    tail = threading.Event()

    def on_log(data: bytes) -> None:
        chunks.append(data)
        if b"tail" in b"".join(chunks):
            tail.set()

    with open_client(device) as client:
        client.add_log_listener(on_log)
        client.identify()
        assert tail.wait(SLOW)
    assert b"I (123) wifi: started" in b"".join(chunks)


def test_malformed_response_is_a_device_error(device: FakeDevice) -> None:
    no_hw_id = encode_tlv(
        [(Tag.PROTO, b"\x01"), (Tag.MODEL_ID, b"X"), (Tag.FW_VERSION, b"1"), (Tag.STATE, b"\x00")]
    )
    device.handler = lambda f: response(f, no_hw_id)
    with open_client(device) as client, pytest.raises(errors.MalformedResponse) as caught:
        client.hello()
    assert "HW_ID" in str(caught.value)


def test_duplicate_tag_in_response_is_a_device_error(device: FakeDevice) -> None:
    device.handler = lambda f: response(f, b"\x0c\x01\x00\x0c\x01\x00\x0d\x01\x00")
    with open_client(device) as client, pytest.raises(errors.MalformedResponse):
        client.status()


def test_proto_zero_is_unsupported(device: FakeDevice) -> None:
    device.handler = lambda f: response(f, hello_payload(proto=0))
    with open_client(device) as client, pytest.raises(errors.UnsupportedProtocol):
        client.hello()


def test_frames_of_another_version_are_skipped(device: FakeDevice) -> None:
    device.handler = lambda f: [
        encode_frame(f.type | 0x80, f.seq, hello_payload(proto=9), version=2),
        response(f, hello_payload()),
    ]
    with open_client(device) as client:
        assert client.hello().proto == 1


def test_close_from_another_thread_aborts_a_waiting_request(device: FakeDevice) -> None:
    device.handler = lambda f: None
    client = open_client(device, response_timeout=30.0)
    timer = threading.Timer(0.2, client.close)
    timer.start()
    started = time.monotonic()
    with pytest.raises(errors.DeviceDisconnected):
        client.identify()
    assert time.monotonic() - started < 10
    timer.join()
    client.close()  # twice is fine


def test_unplug_mid_command_is_device_disconnected(device: FakeDevice) -> None:
    def handler(frame: Frame) -> Reply:
        threading.Thread(target=device.unplug).start()
        return None

    device.handler = handler
    with (
        open_client(device, response_timeout=30.0) as client,
        pytest.raises(errors.DeviceDisconnected),
    ):
        client.status()


def test_secrets_never_reach_the_log(device: FakeDevice, caplog: pytest.LogCaptureFixture) -> None:
    secret_no = "8f14e45fceea167a5a36dedd4bea2543"
    psk = "correct-horse-battery"
    caplog.set_level(logging.DEBUG)
    with open_client(device) as client:
        client.write("WXA2000012345", Secret(secret_no))
        client.set_wifi("Office", Secret(psk))
    written = device.frames()[0].fields()
    assert written[Tag.SECRET_NO] == secret_no.encode()
    assert secret_no not in caplog.text and psk not in caplog.text
    assert "WRITE" in caplog.text  # frames are logged, without payload


def test_verify_and_compute_proof(device: FakeDevice) -> None:
    secret = Secret("8f14e45fceea167a5a36dedd4bea2543")
    nonce = bytes(range(16))

    def handler(frame: Frame) -> Reply:
        got_nonce = frame.fields()[Tag.NONCE]
        proof = compute_proof(secret, got_nonce, "WXA2000012345")
        return response(frame, encode_tlv([(Tag.SN, b"WXA2000012345"), (Tag.PROOF, proof)]))

    device.handler = handler
    with open_client(device) as client:
        result = client.verify(nonce)
    assert result.sn == "WXA2000012345"
    # The spec's vector.
    assert result.proof.hex() == (
        "15c053180d323b08afbe7721b178683bc55ca605d1a57c6ec6cfc5109db690c6"
    )


def test_factory_reset_sends_confirm(device: FakeDevice) -> None:
    with open_client(device) as client:
        client.factory_reset(HW_ID)
    frame = device.frames()[0]
    assert frame.type == Command.FACTORY_RESET
    assert frame.fields() == {Tag.CONFIRM: HW_ID}


def test_reboot_waits_for_booted_then_says_hello(device: FakeDevice) -> None:
    def handler(frame: Frame) -> Reply:
        if frame.type == Command.REBOOT:
            threading.Timer(0.3, device.send, [b"boot log\r\n" + event(EventCode.BOOTED)]).start()
            return response(frame)
        return default_handler(frame)

    device.handler = handler
    with open_client(device) as client:
        info = client.reboot()
    types = [f.type for f in device.frames()]
    assert info.hw_id == HW_ID
    assert types.count(Command.REBOOT) == 1
    assert types[-1] == Command.HELLO


def test_reboot_is_never_retransmitted_and_falls_back_to_hello(device: FakeDevice) -> None:
    # No REBOOT answer and no BOOTED event: HELLO (new seqs) until it answers.
    answered_hello = {"n": 0}

    def handler(frame: Frame) -> Reply:
        if frame.type == Command.REBOOT:
            return None
        if frame.type == Command.HELLO:
            answered_hello["n"] += 1
            # The first HELLO (before REBOOT) answers, the next one is ignored ("booting").
            if answered_hello["n"] == 2:
                return None
        return default_handler(frame)

    device.handler = handler
    with open_client(device, response_timeout=FAST, reboot_wait=(0.3, SLOW)) as client:
        info = client.reboot()
    frames = device.frames()
    assert info.model_id == "WX-ATT-200"
    assert [f.type for f in frames].count(Command.REBOOT) == 1
    hellos_after = [f.seq for f in frames if f.type == Command.HELLO][1:]
    assert len(hellos_after) >= 2 and len(set(hellos_after)) == len(hellos_after)


def test_too_long_value_is_refused_before_sending(device: FakeDevice) -> None:
    with open_client(device) as client, refused(ErrorCode.BAD_VALUE):
        client.write("A" * 300, Secret("x" * 20))
    assert device.frames() == []


def test_already_open_serial_object_is_accepted(device: FakeDevice) -> None:
    import serial

    port = serial.Serial(device.url, 115200, timeout=0.1)
    client = DeviceClient(port, response_timeout=SLOW)
    try:
        assert client.hello().state is DeviceState.BLANK
    finally:
        client.close()
    assert not port.is_open


def test_malformed_event_is_ignored(device: FakeDevice) -> None:
    device.handler = lambda f: [
        encode_frame(FrameType.EVENT, 0, encode_tlv([(Tag.EVENT_CODE, b"\x01")])),
        response(f),
    ]
    got: list[DeviceEvent] = []
    with open_client(device) as client:
        client.add_event_listener(got.append)
        client.identify()
    assert got == []


def test_a_second_close_returns_only_once_the_port_is_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two threads closing at once (a cancel and the run's own cleanup): neither returns while
    the port is still open, or the next open of the port would find it busy."""
    from installer_app.device import link

    closing = threading.Event()
    closed = threading.Event()
    real_close_port = link.close_port

    def slow_close_port(port: object) -> None:
        closing.set()
        time.sleep(0.3)  # a slow driver; the second close() must wait for it, not skip it
        real_close_port(port)  # type: ignore[arg-type]
        closed.set()

    monkeypatch.setattr(link, "close_port", slow_close_port)
    master, slave = pty.openpty()
    try:
        client = DeviceClient.open(os.ttyname(slave))
        first = threading.Thread(target=client.close)
        first.start()
        assert closing.wait(5)
        client.close()
        assert closed.is_set()
        first.join(5)
    finally:
        os.close(master)
        os.close(slave)
