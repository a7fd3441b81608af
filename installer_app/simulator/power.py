"""Power for the simulated board: restart (power-on, REBOOT) with its boot log and deaf time,
and the log noise a running board prints.
"""

from __future__ import annotations

import functools
import logging
import time

from installer_app.device.protocol import EventCode, NetState, WecomState
from installer_app.simulator.board import Board
from installer_app.simulator.faults import noise_line
from installer_app.simulator.network import Network

log = logging.getLogger("installer_app.simulator")


class Power:
    """Boot and noise."""

    def __init__(self, board: Board, network: Network) -> None:
        self.board = board
        self.network = network

    def restart(self, reason: str) -> None:
        """Power-on or REBOOT: RAM is lost, the boot log runs, input is ignored until ready."""
        self.board.power_gen += 1
        gen = self.board.power_gen
        self.board.booting = True
        self.board.boot_time = time.monotonic()
        self.board.rx.clear()
        self.board.decoder.reset()
        self.board.staged = None
        self.board.last = None
        self.board.busy_until = 0.0
        self.board.identify_until = 0.0
        self.board.net_gen += 1
        self.board.wecom_gen += 1
        # No events: the board is off.
        self.board.net = NetState.DOWN
        self.board.wecom = WecomState.IDLE
        log.debug("simulator restarts (%s)", reason)
        state = self.board.state()
        lines = [
            # A ROM prints at another baud rate first: garbage to the host, A5 included.
            b"\x00\xff\xa5\x13\x8c\r\n",
            b"ESP-ROM:esp32s3-20210327\r\n",
            f"rst:0x1 ({reason}),boot:0x8 (SPI_FAST_FLASH_BOOT)\r\n".encode(),
            f"I (31) boot: {self.board.config.model_id} bootloader\r\n".encode(),
            f"I (118) app: {self.board.config.model_id} fw {self.board.config.fw_version} "
            f"hw {self.board.hw_id_hex}\r\n".encode(),
            f"I (152) prov: state {state.name}".encode()
            + (f" sn={self.board.flash.sn}".encode() if self.board.flash.sn else b"")
            + b"\r\n",
        ]
        boot = self.board.config.boot_s
        for i, line in enumerate(lines):
            self.board.timers.call_later(
                boot * i / (len(lines) + 1),
                functools.partial(self.board.if_powered, gen, self.board.send, line),
            )
        self.board.timers.call_later(boot, lambda: self.board.if_powered(gen, self._boot_done))

    def _boot_done(self) -> None:
        self.board.booting = False
        self.board.decoder.reset()
        self.board.log_line("I", "main", "ready")
        self.board.event(EventCode.BOOTED)
        if not self.board.config.wifi or self.board.flash.ssid is not None:
            self.network.start_join()

    def schedule_noise(self) -> None:
        delay = self.board.rng.expovariate(1.0 / self.board.config.noise_interval_s)
        self.board.timers.call_later(delay, self._noise)

    def _noise(self) -> None:
        if self.board.closed:
            return
        line = noise_line(self.board.rng, self.board.ms())
        self.board.send(line)
        self.schedule_noise()
