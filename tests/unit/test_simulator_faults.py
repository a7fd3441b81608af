"""DeviceSimulator fault injection and flash: noise, drops, corruption, BUSY, flash failure,
unplug, and what the state file keeps."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from installer_app.device.codec import FrameDecoder, encode_frame
from installer_app.device.protocol import (
    RESPONSE_BIT,
    Command,
    DeviceState,
    ErrorCode,
    FrameType,
    Tag,
)
from installer_app.simulator.board import cut_utf8
from installer_app.simulator.config import SimulatorConfig, parse_command_name
from installer_app.simulator.device_simulator import DeviceSimulator
from installer_app.simulator.flash import SimulatorStateError
from tests.fixtures.device import FedBoard

MakeBoard = Callable[..., FedBoard]

SN = b"WXA2000012345"
SECRET = b"8f14e45fceea167a5a36dedd4bea2543"


def write(board: FedBoard, seq: int = 0) -> None:
    reply = board.request(Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, SECRET)], seq=seq)
    assert reply.type == Command.WRITE | RESPONSE_BIT


def test_noise_is_skipped_by_a_host_and_holds_a5(make_board: MakeBoard) -> None:
    board = make_board(noise=True, noise_interval_s=0.005, seed=7)
    board.wait_for(lambda: board.log.count(b"\xa5") >= 3 and b"\xa5\x5a" in board.log)
    for seq in range(60, 80):
        reply = board.request(Command.HELLO, seq=seq)
        assert reply.type == Command.HELLO | RESPONSE_BIT
    assert board.sim.counters.executed[Command.HELLO] == 20


def test_drop_next_ignores_a_request_and_the_retry_runs_once(make_board: MakeBoard) -> None:
    board = make_board(drop_next=1)
    board.send(Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, SECRET)], seq=3)
    board.wait_for(lambda: board.sim.counters.dropped == 1)
    write(board, seq=3)  # the host's retransmission, same seq
    assert board.sim.counters.executed[Command.WRITE] == 1
    assert board.sim.counters.replayed == 0


def test_a_dropped_request_gets_no_answer(make_board: MakeBoard) -> None:
    board = make_board()
    board.sim.inject(drop_next=1)
    board.send(Command.COMMIT, seq=11)
    board.wait_for(lambda: board.sim.counters.dropped == 1)
    assert board.request(Command.HELLO, seq=12).seq == 12
    assert [r.seq for r in board.responses] == []  # nothing ever answered seq 11
    assert board.sim.counters.executed[Command.COMMIT] == 0


def test_corrupted_response_fails_crc_and_the_retry_is_replayed(make_board: MakeBoard) -> None:
    board = make_board()
    write(board)
    board.sim.inject(corrupt_next=1)
    board.send(Command.COMMIT, seq=21)
    board.wait_for(lambda: board.sim.counters.corrupted == 1 and len(board.raw) > 0)
    assert board.request(Command.COMMIT, seq=21).type == Command.COMMIT | RESPONSE_BIT
    assert board.sim.counters.executed[Command.COMMIT] == 1
    assert board.sim.counters.replayed == 1
    # The corrupted copy reached the host as bytes but never as a frame.
    decoded = FrameDecoder().feed(bytes(board.raw))
    assert [f.seq for f in decoded if f.type == Command.COMMIT | RESPONSE_BIT] == [21]


def test_rates_of_one_drop_or_corrupt_everything(make_board: MakeBoard) -> None:
    dropping = make_board(drop_rate=1.0)
    corrupting = make_board(corrupt_rate=1.0)
    for board in (dropping, corrupting):
        for seq in (1, 2, 3):
            board.send(Command.HELLO, seq=seq)
    dropping.wait_for(lambda: dropping.sim.counters.dropped == 3)
    corrupting.wait_for(lambda: corrupting.sim.counters.corrupted == 3)
    assert dropping.responses == corrupting.responses == []
    assert corrupting.sim.counters.executed[Command.HELLO] == 3


def test_seeded_faults_are_reproducible(make_board: MakeBoard) -> None:
    outcomes = []
    for _ in range(2):
        board = make_board(drop_rate=0.5, seed=99)
        for seq in range(1, 21):
            board.send(Command.STATUS, seq=seq)
        board.wait_for(
            lambda b=board: b.sim.counters.dropped + b.sim.counters.executed[Command.STATUS] == 20
        )
        board.wait_for(lambda b=board: len(b.responses) == b.sim.counters.executed[Command.STATUS])
        outcomes.append([r.seq for r in board.responses])
        board.close()
    assert outcomes[0] == outcomes[1]
    assert 0 < len(outcomes[0]) < 20


def test_busy_is_not_remembered(make_board: MakeBoard) -> None:
    board = make_board()
    status = board.request(Command.STATUS, seq=30)
    board.sim.inject(busy_next=2)
    for _ in range(2):  # the same request twice: BUSY both times, since BUSY is not replayed
        busy = board.request(Command.HELLO, seq=31)
        assert busy.type == FrameType.ERROR
        assert busy.fields()[Tag.ERROR_CODE] == bytes([ErrorCode.BUSY])
    assert board.sim.counters.busy == 2
    assert board.sim.counters.replayed == 0
    # The remembered response is still the one from before the BUSY answers.
    assert board.request(Command.STATUS, seq=30) == status
    assert board.sim.counters.replayed == 1
    hello = board.request(Command.HELLO, seq=31)
    assert hello.type == Command.HELLO | RESPONSE_BIT
    assert board.sim.counters.executed[Command.HELLO] == 1


def test_flash_fail_stores_nothing(make_board: MakeBoard, tmp_path: Path) -> None:
    state_file = tmp_path / "flash.json"
    board = make_board(state_file=state_file, flash_fail_next=1)
    write(board)
    reply = board.request(Command.COMMIT)
    assert reply.fields()[Tag.ERROR_CODE] == bytes([ErrorCode.FLASH_FAIL])
    assert board.sim.state == DeviceState.STAGED
    assert json.loads(state_file.read_text())["credential"] is None
    assert board.request(Command.COMMIT).type == Command.COMMIT | RESPONSE_BIT
    assert json.loads(state_file.read_text())["credential"]["sn"] == SN.decode()


def test_unplug_on_runs_the_command_but_never_answers(make_board: MakeBoard) -> None:
    board = make_board(unplug_on="commit")
    write(board)
    board.send(Command.COMMIT, seq=41)
    board.wait_for(lambda: board.unplugs == 1)
    assert board.sim.state == DeviceState.PROVISIONED
    assert all(r.seq != 41 for r in board.responses)
    board.request(Command.COMMIT, seq=42)  # fires once only
    assert board.unplugs == 1


def test_flash_survives_a_new_simulator(make_board: MakeBoard, tmp_path: Path) -> None:
    state_file = tmp_path / "flash.json"
    first = make_board(state_file=state_file)
    write(first)
    assert first.request(Command.COMMIT).type == Command.COMMIT | RESPONSE_BIT
    first.request(Command.SET_WIFI, [(Tag.SSID, b"office"), (Tag.PSK, b"password1")])
    hw_id = first.sim.hw_id
    first.close()
    assert state_file.stat().st_mode & 0o077 == 0  # the flash holds secrets: owner only
    again = make_board(state_file=state_file)
    fields = again.request(Command.HELLO).fields()
    assert fields[Tag.HW_ID] == hw_id
    assert fields[Tag.STATE] == bytes([DeviceState.PROVISIONED])
    assert fields[Tag.SN] == SN
    assert again.sim.wifi_ssid == "office"
    locked = again.request(Command.WRITE, [(Tag.SN, b"OTHER1"), (Tag.SECRET_NO, SECRET)])
    assert locked.fields()[Tag.ERROR_CODE] == bytes([ErrorCode.LOCKED])


def test_staging_is_not_flash(make_board: MakeBoard, tmp_path: Path) -> None:
    state_file = tmp_path / "flash.json"
    first = make_board(state_file=state_file)
    write(first)
    first.close()
    assert make_board(state_file=state_file).sim.state == DeviceState.BLANK


def test_hw_id_is_kept_unless_given(make_board: MakeBoard, tmp_path: Path) -> None:
    state_file = tmp_path / "flash.json"
    generated = make_board(state_file=state_file).sim.hw_id
    assert len(generated) == 6
    assert generated[0] & 0x03 == 0x02  # locally administered unicast MAC
    assert make_board(state_file=state_file).sim.hw_id == generated
    given = bytes.fromhex("0011223344556677")
    assert make_board(state_file=state_file, hw_id=given).sim.hw_id == given
    assert make_board(state_file=state_file).sim.hw_id == given


def test_unreadable_state_file_is_a_clear_error(tmp_path: Path) -> None:
    state_file = tmp_path / "flash.json"
    state_file.write_text("{not json")
    with pytest.raises(SimulatorStateError) as caught:
        DeviceSimulator(SimulatorConfig(), state_file, lambda data: None)
    assert str(state_file) in caught.value.message.english()


@pytest.mark.parametrize(
    "overrides",
    [
        {"commit_latency_s": 1.5},
        {"hw_id": b"12345"},
        {"drop_rate": 1.5},
        {"busy_next": -1},
        {"unplug_on": "explode"},
        {"model_id": ""},
    ],
)
def test_config_rejects_what_cannot_work(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SimulatorConfig(**overrides)  # type: ignore[arg-type]


def test_helpers() -> None:
    assert parse_command_name("factory-reset") == Command.FACTORY_RESET
    assert cut_utf8("aé", 2) == b"a"
    assert cut_utf8("abc", 128) == b"abc"
    assert encode_frame(Command.HELLO, 1) == bytes.fromhex("a55a01010100 00d9fa".replace(" ", ""))


def test_an_unwritable_flash_answers_flash_fail(make_board: MakeBoard, tmp_path: Path) -> None:
    folder = tmp_path / "flash"
    board = make_board(state_file=folder / "board.json")
    write(board)
    shutil.rmtree(folder)
    folder.write_text("a file where the folder was")  # the next write cannot happen
    reply = board.request(Command.COMMIT)
    assert reply.fields()[Tag.ERROR_CODE] == bytes([ErrorCode.FLASH_FAIL])
    assert board.sim.state == DeviceState.STAGED
    wifi = board.request(Command.SET_WIFI, [(Tag.SSID, b"office"), (Tag.PSK, b"")])
    assert wifi.fields()[Tag.ERROR_CODE] == bytes([ErrorCode.FLASH_FAIL])
    assert board.sim.wifi_ssid is None
