"""Power for the simulated board: restart (power-on, REBOOT) with its boot log and deaf time,
and the log noise a running board prints.
"""

from __future__ import annotations

import functools
import logging
import time

from installer_app.device.protocol import EventCode, NetState, WecomState
from installer_app.simulator.faults import noise_line
from installer_app.simulator.network import NetworkBoard

log = logging.getLogger("installer_app.simulator")


class PoweredBoard(NetworkBoard):
    """Boot and noise."""

    def _restart(self, reason: str) -> None:
        self._power_gen += 1
        gen = self._power_gen
        self._booting = True
        self._boot_time = time.monotonic()
        self._rx.clear()
        self._decoder.reset()
        self._staged = None
        self._last = None
        self._busy_until = 0.0
        self._identify_until = 0.0
        self._net_gen += 1
        self._wecom_gen += 1
        self._net, self._wecom = NetState.DOWN, WecomState.IDLE  # no events: the board is off
        log.debug("simulator restarts (%s)", reason)
        state = self._state()
        lines = [
            # A ROM prints at another baud rate first: garbage to the host, A5 included.
            b"\x00\xff\xa5\x13\x8c\r\n",
            b"ESP-ROM:esp32s3-20210327\r\n",
            f"rst:0x1 ({reason}),boot:0x8 (SPI_FAST_FLASH_BOOT)\r\n".encode(),
            f"I (31) boot: {self.config.model_id} bootloader\r\n".encode(),
            f"I (118) app: {self.config.model_id} fw {self.config.fw_version} "
            f"hw {self.hw_id_hex}\r\n".encode(),
            f"I (152) prov: state {state.name}".encode()
            + (f" sn={self._flash.sn}".encode() if self._flash.sn else b"")
            + b"\r\n",
        ]
        boot = self.config.boot_s
        for i, line in enumerate(lines):
            self._timers.call_later(
                boot * i / (len(lines) + 1),
                functools.partial(self._if_powered, gen, self._send, line),
            )
        self._timers.call_later(boot, lambda: self._if_powered(gen, self._boot_done))

    def _boot_done(self) -> None:
        self._booting = False
        self._decoder.reset()
        self._log("I", "main", "ready")
        self._event(EventCode.BOOTED)
        if not self.config.wifi or self._flash.ssid is not None:
            self._start_join()

    def _schedule_noise(self) -> None:
        delay = self._rng.expovariate(1.0 / self.config.noise_interval_s)
        self._timers.call_later(delay, self._noise)

    def _noise(self) -> None:
        if self._closed:
            return
        line = noise_line(self._rng, self._ms())
        self._send(line)
        self._schedule_noise()
