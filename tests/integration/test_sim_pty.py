"""The simulator over a real pseudo-terminal, spoken to with bare pyserial and the codec."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from installer_app.device.protocol import Command, DeviceState, Tag
from tests.fixtures.device import RawLink, RunningSim

pytestmark = pytest.mark.skipif(os.name == "nt", reason="pseudo-terminals need Linux or macOS")


@pytest.fixture
def link(sim_pty: RunningSim) -> Iterator[RawLink]:
    with RawLink.open(sim_pty.url) as opened:
        yield opened


def test_hello_over_pty(sim_pty: RunningSim, link: RawLink) -> None:
    reply = link.request(Command.HELLO)
    fields = reply.fields()
    assert reply.type == Command.HELLO | 0x80
    assert fields[Tag.MODEL_ID] == b"WX-ATT-200"
    assert fields[Tag.HW_ID] == sim_pty.simulator.hw_id
    assert fields[Tag.STATE] == bytes([DeviceState.BLANK])
