"""DeviceSimulator commands, errors and replay cache, fed frames directly (no port)."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable

import pytest

from installer_app.device.codec import Frame, encode_frame
from installer_app.device.protocol import (
    RESPONSE_BIT,
    Command,
    DeviceState,
    ErrorCode,
    FrameType,
    Tag,
)
from tests.fixtures.device import FedBoard

MakeBoard = Callable[..., FedBoard]

VECTOR_HW_ID = bytes.fromhex("240AC4123456")
SN = b"WXA2000012345"
SECRET = b"8f14e45fceea167a5a36dedd4bea2543"
NONCE = bytes(range(16))


def vector(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def wire(frame: Frame) -> bytes:
    return encode_frame(frame.type, frame.seq, frame.payload)


def assert_ok(frame: Frame, command: Command) -> dict[int, bytes]:
    assert frame.type == command | RESPONSE_BIT, frame
    return frame.fields()


def error_code(frame: Frame) -> int:
    assert frame.type == FrameType.ERROR, frame
    return frame.fields()[Tag.ERROR_CODE][0]


def provision(board: FedBoard, sn: bytes = SN, secret: bytes = SECRET) -> None:
    assert_ok(board.request(Command.WRITE, [(Tag.SN, sn), (Tag.SECRET_NO, secret)]), Command.WRITE)
    assert_ok(board.request(Command.COMMIT), Command.COMMIT)


@pytest.fixture
def board(make_board: MakeBoard) -> FedBoard:
    return make_board(hw_id=VECTOR_HW_ID)


def test_spec_vectors_byte_exact(make_board: MakeBoard) -> None:
    board = make_board(hw_id=VECTOR_HW_ID, error_messages=False)
    board.sim.feed(vector("a5 5a 01 01 01 00 00 d9 fa"))
    assert wire(board.response_to(1)) == vector(
        "a5 5a 01 81 01 21 00 01 01 01 02 0a 57 58 2d 41 54 54 2d 32 30 30 03 05 31 2e 34 2e 32"
        " 04 06 24 0a c4 12 34 56 05 01 00 d6 7f"
    )
    board.sim.feed(
        vector(
            "a5 5a 01 02 02 31 00 06 0d 57 58 41 32 30 30 30 30 31 32 33 34 35 07 20 38 66 31 34"
            " 65 34 35 66 63 65 65 61 31 36 37 61 35 61 33 36 64 65 64 64 34 62 65 61 32 35 34"
            " 33 81 06"
        )
    )
    assert board.response_to(2).type == Command.WRITE | RESPONSE_BIT
    board.sim.feed(
        vector("a5 5a 01 03 03 12 00 08 10 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 68 c5")
    )
    assert wire(board.response_to(3)) == vector(
        "a5 5a 01 83 03 31 00 06 0d 57 58 41 32 30 30 30 30 31 32 33 34 35 09 20 15 c0 53 18"
        " 0d 32 3b 08 af be 77 21 b1 78 68 3b c5 5c a6 05 d1 a5 7c 6e c6 cf c5 10 9d b6 90 c6"
        " 9c 4c"
    )
    assert_ok(board.request(Command.COMMIT, seq=4), Command.COMMIT)
    board.send(Command.WRITE, [(Tag.SN, b"OTHER1"), (Tag.SECRET_NO, SECRET)], seq=2)
    assert wire(board.response_to(2)) == vector("a5 5a 01 ff 02 03 00 0f 01 04 8a e9")


def test_hello_blank_then_staged_then_provisioned(board: FedBoard) -> None:
    fields = assert_ok(board.request(Command.HELLO), Command.HELLO)
    assert fields[Tag.PROTO] == b"\x01"
    assert fields[Tag.FW_VERSION] == b"1.4.2"
    assert fields[Tag.STATE] == bytes([DeviceState.BLANK])
    assert Tag.SN not in fields

    board.request(Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, SECRET)])
    fields = assert_ok(board.request(Command.HELLO), Command.HELLO)
    assert fields[Tag.STATE] == bytes([DeviceState.STAGED])
    assert fields[Tag.SN] == SN

    assert_ok(board.request(Command.COMMIT), Command.COMMIT)
    fields = assert_ok(board.request(Command.HELLO), Command.HELLO)
    assert fields[Tag.STATE] == bytes([DeviceState.PROVISIONED])
    assert fields[Tag.SN] == SN
    assert board.sim.state == DeviceState.PROVISIONED


def test_write_replaces_staging_until_commit(board: FedBoard) -> None:
    board.request(Command.WRITE, [(Tag.SN, b"FIRST1"), (Tag.SECRET_NO, SECRET)])
    board.request(Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, SECRET)])
    fields = assert_ok(board.request(Command.VERIFY, [(Tag.NONCE, NONCE)]), Command.VERIFY)
    assert fields[Tag.SN] == SN


def test_verify_proves_the_staged_then_stored_credential(board: FedBoard) -> None:
    assert error_code(board.request(Command.VERIFY, [(Tag.NONCE, NONCE)])) == ErrorCode.NOT_STAGED
    provision(board)
    nonce = bytes.fromhex("f0e1d2c3b4a5968778695a4b3c2d1e0f")
    fields = assert_ok(board.request(Command.VERIFY, [(Tag.NONCE, nonce)]), Command.VERIFY)
    assert fields[Tag.PROOF] == hmac.new(SECRET, nonce + SN, hashlib.sha256).digest()


def test_provisioned_board_is_locked_but_idempotent(board: FedBoard) -> None:
    provision(board)
    assert_ok(board.request(Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, SECRET)]), Command.WRITE)
    other_sn = board.request(Command.WRITE, [(Tag.SN, b"WXA2000099999"), (Tag.SECRET_NO, SECRET)])
    other_secret = board.request(Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, b"another")])
    assert error_code(other_sn) == ErrorCode.LOCKED
    assert error_code(other_secret) == ErrorCode.LOCKED
    assert other_sn.fields()[Tag.MESSAGE]  # a human hint by default
    assert board.sim.sn == SN.decode()


def test_commit_errors_and_recommit(board: FedBoard) -> None:
    assert error_code(board.request(Command.COMMIT)) == ErrorCode.NOT_STAGED
    provision(board)
    assert_ok(board.request(Command.COMMIT), Command.COMMIT)  # committing again is fine
    assert board.sim.counters.executed[Command.COMMIT] == 2


@pytest.mark.parametrize(
    ("command", "fields"),
    [
        (Command.WRITE, [(Tag.SECRET_NO, SECRET)]),
        (Command.WRITE, [(Tag.SN, SN)]),
        (Command.WRITE, [(Tag.SN, b""), (Tag.SECRET_NO, SECRET)]),
        (Command.WRITE, [(Tag.SN, b"WXA-2000"), (Tag.SECRET_NO, SECRET)]),
        (Command.WRITE, [(Tag.SN, b"A" * 129), (Tag.SECRET_NO, SECRET)]),
        (Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, b"has space")]),
        (Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, b"\x7f")]),
        (Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, b"x" * 129)]),
        (Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, b"")]),
        (Command.VERIFY, []),
        (Command.VERIFY, [(Tag.NONCE, bytes(15))]),
        (Command.VERIFY, [(Tag.NONCE, bytes(17))]),
        (Command.SET_WIFI, [(Tag.PSK, b"password1")]),
        (Command.SET_WIFI, [(Tag.SSID, b"home")]),
        (Command.SET_WIFI, [(Tag.SSID, b""), (Tag.PSK, b"password1")]),
        (Command.SET_WIFI, [(Tag.SSID, b"s" * 33), (Tag.PSK, b"password1")]),
        (Command.SET_WIFI, [(Tag.SSID, b"\xff\xfe"), (Tag.PSK, b"password1")]),
        (Command.SET_WIFI, [(Tag.SSID, b"home"), (Tag.PSK, b"short77")]),
        (Command.SET_WIFI, [(Tag.SSID, b"home"), (Tag.PSK, b"p" * 65)]),
        (Command.SET_WIFI, [(Tag.SSID, b"home"), (Tag.PSK, b"g" * 64)]),
        (Command.SET_WIFI, [(Tag.SSID, b"home"), (Tag.PSK, b"\xc3(password")]),
        (Command.FACTORY_RESET, []),
        (Command.FACTORY_RESET, [(Tag.CONFIRM, bytes.fromhex("240AC4123457"))]),
    ],
)
def test_bad_values(board: FedBoard, command: Command, fields: list[tuple[int, bytes]]) -> None:
    if command == Command.VERIFY:
        board.request(Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, SECRET)])
    assert error_code(board.request(command, fields)) == ErrorCode.BAD_VALUE


@pytest.mark.parametrize(
    "fields",
    [
        [(Tag.SN, b"A" * 128), (Tag.SECRET_NO, bytes(range(0x21, 0x7F)))],
        [(Tag.SN, b"z"), (Tag.SECRET_NO, b"~")],
    ],
)
def test_write_accepts_the_edges(board: FedBoard, fields: list[tuple[int, bytes]]) -> None:
    assert_ok(board.request(Command.WRITE, fields), Command.WRITE)


@pytest.mark.parametrize(
    ("ssid", "psk"),
    [
        ("家" * 10 + "ab", ""),  # 32 bytes of UTF-8
        ("office", "12345678"),
        ("office", "密码" * 10 + "密"),  # 63 bytes
        ("office", "0123456789abcdefABCDEF0123456789abcdef0123456789abcdef0123456789"),
    ],
)
def test_set_wifi_accepts_the_edges(board: FedBoard, ssid: str, psk: str) -> None:
    fields = [(Tag.SSID, ssid.encode()), (Tag.PSK, psk.encode())]
    assert_ok(board.request(Command.SET_WIFI, fields), Command.SET_WIFI)
    assert board.sim.wifi_ssid == ssid


def test_malformed_payloads_are_bad_frame(board: FedBoard) -> None:
    runs_past_end = encode_frame(Command.HELLO, 9, bytes([0x40, 5, 1, 2]))
    duplicate = encode_frame(Command.STATUS, 10, bytes([0x40, 1, 0, 0x40, 1, 0]))
    dangling_tag = encode_frame(Command.HELLO, 11, bytes([0x06]))
    for data, seq in ((runs_past_end, 9), (duplicate, 10), (dangling_tag, 11)):
        board.sim.feed(data)
        assert error_code(board.response_to(seq)) == ErrorCode.BAD_FRAME


def test_unknown_tags_are_ignored(board: FedBoard) -> None:
    reply = board.request(Command.HELLO, [(0x7F, b"future"), (Tag.SN, b"ignored")])
    assert assert_ok(reply, Command.HELLO)[Tag.STATE] == bytes([DeviceState.BLANK])


@pytest.mark.parametrize("frame_type", [0x0A, 0x7F, 0x81, FrameType.EVENT, FrameType.ERROR])
def test_unknown_types_are_unknown_command(board: FedBoard, frame_type: int) -> None:
    assert error_code(board.request(frame_type)) == ErrorCode.UNKNOWN_COMMAND


def test_status_and_identify(board: FedBoard) -> None:
    fields = assert_ok(board.request(Command.STATUS), Command.STATUS)
    assert fields[Tag.NET_STATE] == b"\x00"
    assert fields[Tag.WECOM_STATE] == b"\x00"
    assert Tag.CORP_NAME not in fields
    assert_ok(board.request(Command.IDENTIFY), Command.IDENTIFY)
    assert board.sim.identifying
    board.wait_log(b"identify: done")
    assert not board.sim.identifying


def test_factory_reset_clears_credential_and_wifi(board: FedBoard) -> None:
    provision(board)
    board.request(Command.SET_WIFI, [(Tag.SSID, b"office"), (Tag.PSK, b"password1")])
    reply = board.request(Command.FACTORY_RESET, [(Tag.CONFIRM, VECTOR_HW_ID)])
    assert_ok(reply, Command.FACTORY_RESET)
    assert board.sim.state == DeviceState.BLANK
    assert board.sim.wifi_ssid is None
    provision(board, b"NEWSN1", b"newsecret")  # a fresh credential is accepted again
    assert board.sim.sn == "NEWSN1"


def test_replay_cache_answers_without_executing(board: FedBoard) -> None:
    board.request(Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, SECRET)], seq=20)
    first = board.request(Command.COMMIT, seq=21)
    again = board.request(Command.COMMIT, seq=21)
    assert first == again
    assert board.sim.counters.executed[Command.COMMIT] == 1
    assert board.sim.counters.replayed == 1
    # Same seq, another type: a new request, executed.
    assert_ok(board.request(Command.STATUS, seq=21), Command.STATUS)
    assert board.sim.counters.executed[Command.STATUS] == 1


def test_replay_cache_remembers_errors(board: FedBoard) -> None:
    first = board.request(Command.VERIFY, [(Tag.NONCE, NONCE)], seq=30)
    board.sim.set_binding(None)  # unrelated state poke: the answer must still be the old one
    again = board.request(Command.VERIFY, [(Tag.NONCE, NONCE)], seq=30)
    assert error_code(first) == error_code(again) == ErrorCode.NOT_STAGED
    assert board.sim.counters.replayed == 1


def test_replay_only_remembers_the_last_request(board: FedBoard) -> None:
    board.request(Command.HELLO, seq=40)
    board.request(Command.STATUS, seq=41)
    board.request(Command.HELLO, seq=40)
    assert board.sim.counters.executed[Command.HELLO] == 2
    assert board.sim.counters.replayed == 0


def test_requests_fed_together_are_answered_in_order(board: FedBoard) -> None:
    data = b"".join(encode_frame(Command.HELLO, seq) for seq in (50, 51, 52))
    board.sim.feed(data[:5])
    board.sim.feed(data[5:])
    board.wait_for(lambda: len(board.responses) == 3)
    assert [f.seq for f in board.responses] == [50, 51, 52]


def test_secrets_never_reach_logs_or_the_uart(
    board: FedBoard, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret, psk = b"TopSecret-0042", b"wifi-pass-9876"
    provision(board, SN, secret)
    board.request(Command.VERIFY, [(Tag.NONCE, NONCE)])
    board.request(Command.SET_WIFI, [(Tag.SSID, b"office"), (Tag.PSK, psk)])
    board.request(Command.WRITE, [(Tag.SN, b"OTHER1"), (Tag.SECRET_NO, secret)])
    board.wait_log(b"joining 'office'")
    for value in (secret, psk):
        assert value.decode() not in caplog.text
        assert value not in board.log
        assert value not in board.raw


def test_a_request_during_the_flash_write_waits_its_turn(make_board: MakeBoard) -> None:
    board = make_board(commit_latency_s=0.2)
    board.request(Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, SECRET)])
    board.sim.feed(encode_frame(Command.COMMIT, 60) + encode_frame(Command.HELLO, 61))
    board.wait_for(lambda: len(board.responses) == 2)
    commit, hello = board.responses
    assert (commit.seq, hello.seq) == (60, 61)
    assert hello.fields()[Tag.STATE] == bytes([DeviceState.PROVISIONED])
