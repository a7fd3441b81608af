"""DeviceSimulator over time: events, Wi-Fi join, WeCom states, binding, REBOOT, power cycle."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from installer_app.device.codec import Frame
from installer_app.device.protocol import (
    EVENT_SEQ,
    RESPONSE_BIT,
    Command,
    DeviceState,
    EventCode,
    FrameType,
    NetState,
    Tag,
    WecomState,
)
from installer_app.simulator.board import wpa_psk
from tests.fixtures.device import FedBoard

MakeBoard = Callable[..., FedBoard]

SN = b"WXA2000012345"
SECRET = b"8f14e45fceea167a5a36dedd4bea2543"


def is_event(code: EventCode, **values: int) -> Callable[[Frame], bool]:
    def match(frame: Frame) -> bool:
        fields = frame.fields()
        if fields[Tag.EVENT_CODE] != bytes([code]):
            return False
        return all(fields[Tag[name.upper()]] == bytes([v]) for name, v in values.items())

    return match


def provision(board: FedBoard) -> None:
    board.request(Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, SECRET)])
    assert board.request(Command.COMMIT).type == Command.COMMIT | RESPONSE_BIT


def join_wifi(board: FedBoard, ssid: bytes = b"office", psk: bytes = b"password1") -> Frame:
    return board.request(Command.SET_WIFI, [(Tag.SSID, ssid), (Tag.PSK, psk)])


def test_events_are_type_e0_seq_0_with_states(make_board: MakeBoard) -> None:
    board = make_board()
    join_wifi(board)
    online = board.wait_event(is_event(EventCode.NET_CHANGED, net_state=NetState.ONLINE))
    assert online.type == FrameType.EVENT
    assert online.seq == EVENT_SEQ
    assert set(online.fields()) == {Tag.EVENT_CODE, Tag.NET_STATE, Tag.WECOM_STATE}


def test_wifi_join_goes_link_up_then_online(make_board: MakeBoard) -> None:
    board = make_board()
    assert board.sim.net_state == NetState.DOWN
    join_wifi(board)
    board.wait_event(is_event(EventCode.NET_CHANGED, net_state=NetState.ONLINE))
    states = [
        e.fields()[Tag.NET_STATE][0]
        for e in board.events
        if e.fields()[Tag.EVENT_CODE] == bytes([EventCode.NET_CHANGED])
    ]
    assert states == [NetState.LINK_UP, NetState.ONLINE]
    status = board.request(Command.STATUS).fields()
    assert status[Tag.NET_STATE] == bytes([NetState.ONLINE])
    assert status[Tag.WECOM_STATE] == bytes([WecomState.IDLE])  # not provisioned yet


def test_wecom_registers_then_waits_then_binds(make_board: MakeBoard) -> None:
    board = make_board()
    join_wifi(board)
    board.wait_event(is_event(EventCode.NET_CHANGED, net_state=NetState.ONLINE))
    provision(board)
    board.wait_event(is_event(EventCode.WECOM_CHANGED, wecom_state=WecomState.REGISTERED))
    board.wait_event(is_event(EventCode.WECOM_CHANGED, wecom_state=WecomState.WAITING_BIND))
    board.sim.set_binding("Acme 贸易")
    bound = board.wait_event(is_event(EventCode.WECOM_CHANGED, wecom_state=WecomState.BOUND))
    assert bound.fields()[Tag.CORP_NAME] == "Acme 贸易".encode()
    status = board.request(Command.STATUS).fields()
    assert status[Tag.WECOM_STATE] == bytes([WecomState.BOUND])
    assert status[Tag.CORP_NAME] == "Acme 贸易".encode()
    mark = len(board.events)
    board.sim.set_binding(None)
    board.wait_event(
        is_event(EventCode.WECOM_CHANGED, wecom_state=WecomState.WAITING_BIND), after=mark
    )
    assert Tag.CORP_NAME not in board.request(Command.STATUS).fields()


def test_wecom_events_follow_the_commit_response(make_board: MakeBoard) -> None:
    board = make_board(wifi=False)  # online by ethernet from the start
    board.request(Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, SECRET)])
    board.send(Command.COMMIT, seq=99)
    board.wait_event(is_event(EventCode.WECOM_CHANGED, wecom_state=WecomState.REGISTERED))
    commit_at = board.raw.find(bytes([0x84, 99]))
    event_at = board.raw.find(bytes([FrameType.EVENT, EVENT_SEQ]))
    assert 0 < commit_at < event_at


def test_corp_name_is_cut_at_a_character_boundary(make_board: MakeBoard) -> None:
    board = make_board(wifi=False)
    provision(board)
    board.wait_event(is_event(EventCode.WECOM_CHANGED, wecom_state=WecomState.WAITING_BIND))
    board.sim.set_binding("企" * 50)  # 150 bytes of UTF-8
    bound = board.wait_event(is_event(EventCode.WECOM_CHANGED, wecom_state=WecomState.BOUND))
    assert bound.fields()[Tag.CORP_NAME] == ("企" * 42).encode()


def test_binding_probe_is_polled_once_provisioned_and_online(make_board: MakeBoard) -> None:
    bound: dict[str, str] = {}
    asked: list[str] = []
    lock = threading.Lock()

    def probe(sn: str) -> str | None:
        with lock:
            asked.append(sn)
            return bound.get(sn)

    board = make_board(binding_probe=probe)
    join_wifi(board)
    board.wait_event(is_event(EventCode.NET_CHANGED, net_state=NetState.ONLINE))
    with lock:
        assert asked == []  # nothing to ask before the board holds an SN
    provision(board)
    board.wait_event(is_event(EventCode.WECOM_CHANGED, wecom_state=WecomState.WAITING_BIND))
    with lock:
        bound[SN.decode()] = "Bound Corp"
    event = board.wait_event(is_event(EventCode.WECOM_CHANGED, wecom_state=WecomState.BOUND))
    assert event.fields()[Tag.CORP_NAME] == b"Bound Corp"
    with lock:
        assert set(asked) == {SN.decode()}
        del bound[SN.decode()]
    board.wait_for(lambda: board.sim.wecom_state == WecomState.WAITING_BIND)


def test_known_networks_refuse_a_wrong_password(make_board: MakeBoard) -> None:
    board = make_board(known_networks={"office": "right-password"})
    join_wifi(board, b"office", b"wrong-password")
    board.wait_log(b"cannot join 'office'")
    assert board.sim.net_state == NetState.DOWN
    join_wifi(board, b"elsewhere", b"right-password")
    board.wait_log(b"cannot join 'elsewhere'")
    join_wifi(board, b"office", b"right-password")
    board.wait_event(is_event(EventCode.NET_CHANGED, net_state=NetState.ONLINE))


def test_known_networks_accept_the_raw_wpa_key(make_board: MakeBoard) -> None:
    board = make_board(known_networks={"office": "right-password"})
    join_wifi(board, b"office", wpa_psk("right-password", "office").upper().encode())
    board.wait_event(is_event(EventCode.NET_CHANGED, net_state=NetState.ONLINE))


def test_board_without_wifi(make_board: MakeBoard) -> None:
    board = make_board(wifi=False)
    reply = join_wifi(board)
    assert reply.type == FrameType.ERROR
    assert reply.fields()[Tag.ERROR_CODE] == b"\x02"
    status = board.request(Command.STATUS).fields()
    assert status[Tag.NET_STATE] == bytes([NetState.ONLINE])


def test_new_wifi_rejoins(make_board: MakeBoard) -> None:
    board = make_board()
    join_wifi(board)
    board.wait_event(is_event(EventCode.NET_CHANGED, net_state=NetState.ONLINE))
    mark = len(board.events)
    join_wifi(board, b"other", b"")
    board.wait_event(is_event(EventCode.NET_CHANGED, net_state=NetState.DOWN), after=mark)
    board.wait_event(is_event(EventCode.NET_CHANGED, net_state=NetState.ONLINE), after=mark)
    assert board.sim.wifi_ssid == "other"


def test_factory_reset_takes_the_network_and_wecom_down(make_board: MakeBoard) -> None:
    board = make_board()
    join_wifi(board)
    provision(board)
    board.wait_event(is_event(EventCode.WECOM_CHANGED, wecom_state=WecomState.WAITING_BIND))
    board.request(Command.FACTORY_RESET, [(Tag.CONFIRM, board.sim.hw_id)])
    board.wait_event(is_event(EventCode.NET_CHANGED, net_state=NetState.DOWN))
    board.wait_event(is_event(EventCode.WECOM_CHANGED, wecom_state=WecomState.IDLE))


def test_reboot_answers_then_boots_keeping_flash_only(make_board: MakeBoard) -> None:
    board = make_board(wifi=False)
    provision(board)
    board.request(Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, SECRET)])
    reply = board.request(Command.REBOOT)
    assert reply.type == Command.REBOOT | RESPONSE_BIT
    board.wait_for(lambda: board.sim.booting)
    ignored = board.send(Command.HELLO)  # the board is deaf while it boots
    booted = board.wait_event(is_event(EventCode.BOOTED))
    assert booted.fields()[Tag.NET_STATE] == bytes([NetState.DOWN])
    assert b"rst:0x1 (SW_RESET)" in board.log
    assert b"app: WX-ATT-200 fw 1.4.2" in board.log
    assert all(r.seq != ignored for r in board.responses)
    assert board.request(Command.HELLO).fields()[Tag.STATE] == bytes([DeviceState.PROVISIONED])
    assert board.sim.counters.executed[Command.HELLO] == 1
    board.wait_event(is_event(EventCode.NET_CHANGED, net_state=NetState.ONLINE))


def test_reboot_loses_staging_and_replay_cache(make_board: MakeBoard) -> None:
    board = make_board()
    board.request(Command.WRITE, [(Tag.SN, SN), (Tag.SECRET_NO, SECRET)], seq=7)
    board.request(Command.REBOOT, seq=8)
    board.wait_event(is_event(EventCode.BOOTED))
    assert board.sim.state == DeviceState.BLANK
    board.request(Command.REBOOT, seq=8)  # not a replay: the cache was in RAM
    board.wait_for(lambda: board.sim.counters.executed[Command.REBOOT] == 2)


def test_power_cycle_boots_and_sends_booted(make_board: MakeBoard) -> None:
    board = make_board()
    board.sim.power_cycle()
    board.wait_event(is_event(EventCode.BOOTED, wecom_state=WecomState.IDLE))
    assert b"rst:0x1 (POWERON)" in board.log
    assert not board.sim.booting


@pytest.mark.parametrize("wifi", [True, False])
def test_a_board_already_set_up_settles_without_events(
    make_board: MakeBoard, tmp_path_factory: pytest.TempPathFactory, wifi: bool
) -> None:
    state_file = tmp_path_factory.mktemp("flash") / "board.json"
    first = make_board(state_file=state_file, wifi=wifi)
    provision(first)
    if wifi:
        join_wifi(first)
    first.sim.set_binding("Acme")
    first.close()
    again = make_board(state_file=state_file, wifi=wifi)
    status = again.request(Command.STATUS).fields()
    assert status[Tag.NET_STATE] == bytes([NetState.ONLINE])
    assert status[Tag.WECOM_STATE] == bytes([WecomState.BOUND])
    assert status[Tag.CORP_NAME] == b"Acme"
    assert again.events == []
