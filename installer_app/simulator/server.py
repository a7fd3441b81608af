"""Serve a ``DeviceSimulator`` on a real port: a pseudo-terminal (Linux, macOS) or a TCP socket
(``socket://``, which pyserial opens on every platform, Windows included).

A server is the USB-serial bridge of the simulated board: ``unplug()`` makes the port vanish (the
host's reads fail), ``replug()`` brings it back, possibly under another name, and powers the board
up again as a USB cable would. While a port is up it is announced in ``registry`` with a
pseudo USB serial number derived from the HW_ID, so the host finds the board again after a re-plug.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import sys
import threading
import time
from pathlib import Path

from installer_app.simulator import registry
from installer_app.simulator.config import SimulatorConfig
from installer_app.simulator.device_simulator import DeviceSimulator

log = logging.getLogger(__name__)

# A UART with nobody reading loses bytes: give a slow reader this long, then drop the rest.
_WRITE_GRACE_S = 0.2
_READ_SIZE = 4096


class _SimServer:
    """What the pty and TCP servers share: the board, the registry entry, unplug and re-plug."""

    write_grace_s = _WRITE_GRACE_S

    def __init__(self, config: SimulatorConfig, state_file: Path | None = None) -> None:
        self.config = config
        self.state_file = state_file
        self._sim: DeviceSimulator | None = None
        self._io_lock = threading.Lock()  # guards the port's fds against a concurrent unplug
        self._plug_lock = threading.RLock()  # serialises start, stop, unplug and re-plug
        self._handle: Path | None = None
        self._url: str | None = None
        self._stopping = threading.Event()
        self._replugger: threading.Thread | None = None
        self._replug_lock = threading.Lock()  # stop() sees every re-plug thread started

    # ----------------------------------------------------------------- public API
    @property
    def simulator(self) -> DeviceSimulator:
        if self._sim is None:
            raise RuntimeError("the simulator is not started")
        return self._sim

    @property
    def url(self) -> str | None:
        """Where the host connects now; None while unplugged or stopped."""
        return self._url

    def start(self) -> str:
        with self._plug_lock:
            if self._url is not None:
                return self._url
            if self._sim is None:
                self._stopping.clear()
                self._sim = DeviceSimulator(
                    self.config, self.state_file, self._send, on_unplug=self._unplug_requested
                )
            return self._plug_in()

    def stop(self) -> None:
        with self._replug_lock:
            self._stopping.set()
            replugger = self._replugger
        if replugger is not None and replugger is not threading.current_thread():
            replugger.join(timeout=10)
        with self._plug_lock:
            self._pull_out()
            if self._sim is not None:
                self._sim.close()
                self._sim = None

    def unplug(self) -> None:
        """The cable is pulled: the port disappears, host reads and writes fail."""
        with self._plug_lock:
            self._pull_out()

    def replug(self) -> str:
        """The cable is back: a new port (maybe under another name), the board boots again."""
        with self._plug_lock:
            if self._sim is None:
                raise RuntimeError("the simulator is not started")
            self._pull_out()
            url = self._plug_in(power_cycle=True)
            return url

    def __enter__(self) -> _SimServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- shared machinery
    def _plug_in(self, power_cycle: bool = False) -> str:
        sim = self.simulator
        url = self._open_port()
        if power_cycle:
            sim.power_cycle()
        self._url = url
        self._handle = registry.register(
            registry.SimPortEntry(
                device=url,
                description=registry.describe(self.config.model_id),
                serial_number=registry.pseudo_serial_number(sim.hw_id),
                hw_id_hex=sim.hw_id_hex,
                model_id=self.config.model_id,
                pid=os.getpid(),
            )
        )
        log.info("simulated %s served on %s", self.config.model_id, url)
        return url

    def _pull_out(self) -> None:
        if self._handle is not None:
            registry.unregister(self._handle)
            self._handle = None
        if self._url is not None:
            log.info("simulated port %s unplugged", self._url)
        self._url = None
        self._close_port()

    def _unplug_requested(self) -> None:
        # Called by the board's worker with its lock held: hand over to a thread of our own.
        with self._replug_lock:
            if self._stopping.is_set():
                return
            previous = self._replugger
            if previous is not None and previous.is_alive():
                return
            self._replugger = threading.Thread(target=self._unplug_then_replug, daemon=True)
            self._replugger.start()

    def _unplug_then_replug(self) -> None:
        self.unplug()
        delay = self.config.replug_after_s
        if delay is None or self._stopping.wait(delay):
            return
        with self._plug_lock:
            if not self._stopping.is_set() and self._sim is not None and self._url is None:
                self._plug_in(power_cycle=True)

    def _open_port(self) -> str:
        raise NotImplementedError

    def _close_port(self) -> None:
        raise NotImplementedError

    def _send(self, data: bytes) -> None:
        raise NotImplementedError


class PtySimulator(_SimServer):
    """The board behind a pseudo-terminal; ``start()`` returns the slave path (``/dev/pts/N``)."""

    def __init__(self, config: SimulatorConfig, state_file: Path | None = None) -> None:
        if sys.platform == "win32":
            raise OSError("pseudo-terminals need Linux or macOS; use TcpSimulator on Windows")
        super().__init__(config, state_file)
        self._master: int | None = None
        self._slave: int | None = None
        self._wake: tuple[int, int] | None = None
        self._reader: threading.Thread | None = None

    def _open_port(self) -> str:
        import pty
        import tty

        master, slave = pty.openpty()
        # Raw from the start: no echo of the host's bytes, no line editing, before any client
        # configures the port. The slave stays open here so the master never sees a hang-up
        # between two host sessions.
        tty.setraw(slave)
        os.set_blocking(master, False)
        path = os.ttyname(slave)
        wake = os.pipe()
        with self._io_lock:
            self._master, self._slave, self._wake = master, slave, wake
        self._reader = threading.Thread(
            target=self._read_loop, args=(master, wake[0]), name=f"pty-sim {path}", daemon=True
        )
        self._reader.start()
        return path

    def _close_port(self) -> None:
        wake, reader = self._wake, self._reader
        if wake is None:
            return
        os.write(wake[1], b"x")
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout=5)
        with self._io_lock:
            for fd in (self._master, self._slave, *wake):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._master = self._slave = None
            self._wake = None
            self._reader = None

    def _read_loop(self, master: int, wake_r: int) -> None:
        sim = self.simulator
        while True:
            ready, _, _ = select.select([master, wake_r], [], [])
            if wake_r in ready:
                return
            try:
                data = os.read(master, _READ_SIZE)
            except BlockingIOError:
                continue
            except OSError as exc:
                log.debug("pty read failed: %s", exc)
                return
            if not data:
                return
            sim.feed(data)

    def _send(self, data: bytes) -> None:
        with self._io_lock:
            fd = self._master
            if fd is None:
                return  # unplugged: the bytes go nowhere
            view = memoryview(data)
            deadline = time.monotonic() + self.write_grace_s
            while view:
                try:
                    written = os.write(fd, view)
                except BlockingIOError:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        log.debug("pty output dropped: nobody reads")
                        return
                    select.select([], [fd], [], min(remaining, 0.02))
                    continue
                except OSError as exc:
                    log.debug("pty write failed: %s", exc)
                    return
                view = view[written:]


class TcpSimulator(_SimServer):
    """The board behind a TCP socket on 127.0.0.1, one client at a time;
    ``start()`` returns ``socket://127.0.0.1:PORT``. A second client is disconnected at once."""

    def __init__(self, config: SimulatorConfig, state_file: Path | None = None) -> None:
        super().__init__(config, state_file)
        self._port = 0
        self._listener: socket.socket | None = None
        self._client: socket.socket | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._reader: threading.Thread | None = None

    def start(self, port: int = 0) -> str:
        with self._plug_lock:
            if self._url is None:
                self._port = port
            return super().start()

    def _open_port(self) -> str:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if sys.platform != "win32":  # on Windows the option lets others steal the port
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                listener.bind(("127.0.0.1", self._port))
            except OSError:
                if self._port == 0:
                    raise
                listener.bind(("127.0.0.1", 0))  # the old port was taken meanwhile
            listener.listen(1)
        except OSError:
            listener.close()
            raise
        self._port = listener.getsockname()[1]  # a re-plug tries the same port again
        wake = socket.socketpair()
        with self._io_lock:
            self._listener, self._wake = listener, wake
        self._reader = threading.Thread(
            target=self._serve, args=(listener, wake[0]), name="tcp-sim", daemon=True
        )
        self._reader.start()
        return f"socket://127.0.0.1:{self._port}"

    def _close_port(self) -> None:
        wake, reader = self._wake, self._reader
        if wake is None:
            return
        with contextlib.suppress(OSError):
            wake[1].send(b"x")
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout=5)
        with self._io_lock:
            for sock in (self._client, self._listener, *wake):
                if sock is not None:
                    sock.close()
            self._client = self._listener = None
            self._wake = None
            self._reader = None

    def _serve(self, listener: socket.socket, wake: socket.socket) -> None:
        sim = self.simulator
        while True:
            client = self._client
            watched = [listener, wake] + ([client] if client is not None else [])
            ready, _, _ = select.select(watched, [], [])
            if wake in ready:
                return
            if listener in ready:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                if client is not None:
                    conn.close()  # one host at a time, like a serial port
                else:
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    conn.settimeout(self.write_grace_s)
                    with self._io_lock:
                        self._client = conn
            if client is not None and client in ready:
                try:
                    data = client.recv(_READ_SIZE)
                except OSError:
                    data = b""
                if not data:
                    with self._io_lock:
                        self._client = None
                    client.close()
                    continue
                sim.feed(data)

    def _send(self, data: bytes) -> None:
        with self._io_lock:
            client = self._client
            if client is None:
                return  # no host connected: the bytes go nowhere
            try:
                client.sendall(data)
            except OSError as exc:
                log.debug("tcp output dropped: %s", exc)
