"""The simulated board learns of its binding from the provider emulator, as in the demo."""

from __future__ import annotations

from collections.abc import Callable

from installer_app.device.codec import Frame
from installer_app.device.protocol import RESPONSE_BIT, Command, EventCode, Tag, WecomState
from installer_app.provider.emulator import ProviderEmulator
from installer_app.provider.emulator.probe import emulator_binding_probe
from tests.fixtures.device import FedBoard


def wecom(state: WecomState) -> Callable[[Frame], bool]:
    def match(frame: Frame) -> bool:
        fields = frame.fields()
        return fields[Tag.EVENT_CODE] == bytes([EventCode.WECOM_CHANGED]) and fields[
            Tag.WECOM_STATE
        ] == bytes([state])

    return match


def test_board_turns_bound_when_the_emulator_binds_it(
    emulator: ProviderEmulator, make_board: Callable[..., FedBoard]
) -> None:
    device = emulator.register("WXA2000055555")
    board = make_board(wifi=False, binding_probe=emulator_binding_probe(emulator.base_url))
    fields = [(Tag.SN, b"WXA2000055555"), (Tag.SECRET_NO, device["secret_no"].encode())]
    assert board.request(Command.WRITE, fields).type == Command.WRITE | RESPONSE_BIT
    assert board.request(Command.COMMIT).type == Command.COMMIT | RESPONSE_BIT
    board.wait_event(wecom(WecomState.WAITING_BIND))
    emulator.bind("WXA2000055555", corp_name="Demo Corp")
    bound = board.wait_event(wecom(WecomState.BOUND), timeout=20)
    assert bound.fields()[Tag.CORP_NAME] == b"Demo Corp"
    mark = len(board.events)
    emulator.unbind("WXA2000055555")
    board.wait_event(wecom(WecomState.WAITING_BIND), timeout=20, after=mark)
