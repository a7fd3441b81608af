"""Errors for a busy, a missing and a silent port, on real ptys; port discovery of simulators."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
import tty
from collections.abc import Callable, Iterator

import pytest

from installer_app.device import errors
from installer_app.device.client import DeviceClient
from installer_app.device.ports import find_again, list_ports
from tests.fixtures.device import RunningSim

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals")


@pytest.fixture
def silent_pty() -> Iterator[str]:
    """A port whose other end is held open but never answers."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    try:
        yield os.ttyname(slave)
    finally:
        os.close(master)
        os.close(slave)


def test_missing_port() -> None:
    with pytest.raises(errors.PortNotFound) as caught:
        DeviceClient.open("/dev/does-not-exist")
    assert "/dev/does-not-exist" in str(caught.value)
    assert caught.value.exit_code == 3


def test_unknown_url_scheme() -> None:
    with pytest.raises(errors.DeviceError):
        DeviceClient.open("nosuch://x")


def test_refused_tcp_port() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]  # nobody listens once closed
    with pytest.raises(errors.PortNotFound):
        DeviceClient.open(f"socket://127.0.0.1:{free}")


def test_silent_port_times_out_after_three_tries(silent_pty: str) -> None:
    with DeviceClient.open(silent_pty) as client:
        started = time.monotonic()
        with pytest.raises(errors.DeviceTimeout) as caught:
            client.hello()
        elapsed = time.monotonic() - started
    assert elapsed >= 3 * 0.5  # three tries of 500 ms each, the spec's numbers
    assert "3 tries" in str(caught.value)
    assert caught.value.hint is not None
    assert "Check the cable and the power" in caught.value.hint.english()


def test_busy_port_opened_twice(silent_pty: str) -> None:
    with DeviceClient.open(silent_pty), pytest.raises(errors.PortBusy) as caught:
        DeviceClient.open(silent_pty)
    assert silent_pty in str(caught.value)
    assert caught.value.hint is not None
    assert "serial monitor" in caught.value.hint.english()
    # Once the first holder closes, the port opens again.
    DeviceClient.open(silent_pty).close()


def test_busy_port_names_the_other_process(silent_pty: str) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, serial\n"
            "p = serial.Serial(sys.argv[1], exclusive=True)\n"
            "print('ready', flush=True)\n"
            "sys.stdin.read()\n"
            "p.close()\n",
            silent_pty,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(errors.PortBusy) as caught:
            DeviceClient.open(silent_pty)
        assert f"(pid {holder.pid})" in str(caught.value)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
        assert holder.stdout is not None
        holder.stdout.close()


def test_running_simulators_are_listed_as_likely(make_sim: Callable[..., RunningSim]) -> None:
    board = make_sim("pty")
    tcp_board = make_sim("tcp")
    found = {p.device: p for p in list_ports()}
    for running in (board, tcp_board):
        info = found[running.url]
        assert info.simulated and info.likely
        assert info.serial_number
        assert info.hw_id_hex == running.simulator.hw_id_hex


def test_find_again_after_replug(make_sim: Callable[..., RunningSim]) -> None:
    board = make_sim("pty")
    previous = next(p for p in list_ports() if p.device == board.url)
    board.unplug()
    board.replug()
    assert find_again(previous, board.simulator.hw_id, 10.0) == board.url
    # Without the old entry, the HW_ID alone finds it.
    assert find_again(None, board.simulator.hw_id, 10.0) == board.url


def test_close_after_the_peer_reset_leaks_no_socket() -> None:
    # pyserial's socket:// close() skips closing its socket when shutdown() fails, as it does
    # after a reset; the client must close it itself (else a ResourceWarning, an error here).
    import gc
    import socket
    import struct

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        client = DeviceClient.open(f"socket://127.0.0.1:{server.getsockname()[1]}")
        try:
            peer, _ = server.accept()
            peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            peer.close()  # linger 0: the close sends RST
            deadline = time.monotonic() + 30
            while client.link_lost is None:
                assert time.monotonic() < deadline, "the reader never saw the reset"
                time.sleep(0.01)
            sock = client._port._socket
            assert sock is not None
        finally:
            client.close()
    assert sock.fileno() == -1
    del sock
    gc.collect()  # a leaked socket would warn here, and warnings are errors
