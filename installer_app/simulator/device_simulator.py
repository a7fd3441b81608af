"""A simulated board: the device side of the provisioning serial protocol, version 1.

``DeviceSimulator`` receives the host's bytes through ``feed()`` and answers through the ``send``
callable it was given, exactly as ``shared/specs/device-protocol.md`` says: states BLANK, STAGED and
PROVISIONED, a flash (the state file, written atomically) that survives a restart, the replay
cache, every ERROR code, REBOOT with a boot log, FACTORY_RESET, Wi-Fi join and WeCom state changes
with their EVENT frames. Fault injection (log noise, dropped requests, corrupted responses, flash
failure, BUSY, unplug in the middle of a command) makes the host's error paths testable. Behaviour
the spec leaves open is written down in docs/device-simulator.md.

Threads: one worker thread runs the timed work (delayed responses, boot, Wi-Fi join, noise); an
optional second one polls the binding probe. Every touch of the board's state and every call of
``send`` happens under one lock, so ``feed()`` may be called from any reader thread.

The board is composed of parts, one concern each: ``board.Board`` (the whole state in one place,
UART output, flash writes), ``network.Network`` (Wi-Fi/ethernet and WeCom state, binding probe),
``power.Power`` (boot, noise), ``commands.Commands`` (the command handlers), and here the request
pipeline (replay cache, faults, timing) and the public API. Configuration is in ``config``, the
state file in ``flash``, fault bookkeeping in ``faults``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from installer_app.device.codec import Frame, MalformedPayload, encode_frame
from installer_app.device.codec import encode_tlv as _encode_tlv
from installer_app.device.protocol import (
    RESPONSE_BIT,
    Command,
    DeviceState,
    ErrorCode,
    FrameType,
    NetState,
    Tag,
    WecomState,
)
from installer_app.simulator.board import (
    ERROR_TEXT,
    MESSAGE_MAX,
    Board,
    LastResponse,
    Reject,
    SendFn,
    cut_utf8,
)
from installer_app.simulator.commands import Commands
from installer_app.simulator.config import (
    SimulatorConfig,
    parse_command_name,
)
from installer_app.simulator.faults import corrupt
from installer_app.simulator.network import Network
from installer_app.simulator.power import Power

log = logging.getLogger("installer_app.simulator")


class DeviceSimulator:
    """One simulated board. Construct it with its configuration, its flash file (None: RAM only)
    and where its UART output goes.

    A new simulator is a board that has been powered for a while: it settles into its network and
    WeCom state at once, without events. ``power_cycle()`` boots it as if just plugged in.
    ``on_unplug`` is called (from the worker thread, with the simulator's lock held, so it must not
    block) when ``unplug_on`` fires; servers close the port then.

    The board's whole state is ``board.Board``; the parts that act on it are composed here.
    """

    def __init__(
        self,
        config: SimulatorConfig,
        state_file: Path | None,
        send: SendFn,
        *,
        on_unplug: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self._board = board = Board(config, state_file, send, on_unplug=on_unplug)
        self._network = Network(board)
        self._power = Power(board, self._network)
        self._commands = Commands(board, self._network, self._power)
        self.faults = board.faults  # what is still to come (``inject`` adds to it)
        self.counters = board.counters
        with board.lock:
            self._network.settle()
            if config.noise:
                self._power.schedule_noise()
        self._probe_stop = threading.Event()
        self._probe_thread: threading.Thread | None = None
        if config.binding_probe is not None:
            self._probe_thread = threading.Thread(
                target=self._network.probe_loop,
                args=(config.binding_probe, self._probe_stop),
                daemon=True,
            )
            self._probe_thread.start()

    # ----------------------------------------------------------------- public API
    @property
    def hw_id(self) -> bytes:
        return self._board.flash.hw_id

    @property
    def hw_id_hex(self) -> str:
        return self._board.hw_id_hex

    @property
    def state(self) -> DeviceState:
        with self._board.lock:
            return self._board.state()

    @property
    def sn(self) -> str | None:
        with self._board.lock:
            return self._board.current_sn()

    @property
    def net_state(self) -> NetState:
        with self._board.lock:
            return self._board.net

    @property
    def wecom_state(self) -> WecomState:
        with self._board.lock:
            return self._board.wecom

    @property
    def corp_name(self) -> str | None:
        with self._board.lock:
            return self._board.flash.bound_corp if self._board.wecom == WecomState.BOUND else None

    @property
    def wifi_ssid(self) -> str | None:
        with self._board.lock:
            return self._board.flash.ssid

    @property
    def booting(self) -> bool:
        with self._board.lock:
            return self._board.booting

    @property
    def identifying(self) -> bool:
        return time.monotonic() < self._board.identify_until

    def feed(self, data: bytes) -> None:
        """Bytes from the host. Input is ignored while the board boots."""
        with self._board.lock:
            if self._board.closed or self._board.booting:
                return
            frames = self._board.decoder.feed(data)
            self._board.decoder.skipped.clear()  # a real UART drops what it cannot parse
            if frames:
                self._board.rx.extend(frames)
                self._board.timers.call_at(time.monotonic(), self._pump)

    def set_binding(self, corp_name: str | None) -> None:
        """What WeCom's cloud says of this board: bound to ``corp_name``, or unbound (None)."""
        with self._board.lock:
            self._network.apply_binding(corp_name)

    def inject(
        self,
        *,
        drop_next: int = 0,
        corrupt_next: int = 0,
        flash_fail_next: int = 0,
        busy_next: int = 0,
        unplug_on: str | None = None,
    ) -> None:
        """Add faults to come, like the config's ``*_next`` options, on a running board."""
        with self._board.lock:
            self.faults.drop_next += drop_next
            self.faults.corrupt_next += corrupt_next
            self.faults.flash_fail_next += flash_fail_next
            self.faults.busy_next += busy_next
            if unplug_on is not None:
                self.faults.unplug_on = parse_command_name(unplug_on)

    def power_cycle(self) -> None:
        """Cut power and boot: RAM (staging, replay cache) is lost, flash is kept."""
        with self._board.lock:
            if not self._board.closed:
                self._power.restart("POWERON")

    def close(self) -> None:
        """Stop the timers and the probe thread; the board sends nothing after this."""
        with self._board.lock:
            self._board.closed = True
        self._probe_stop.set()
        self._board.timers.stop()
        if self._probe_thread is not None and self._probe_thread is not threading.current_thread():
            self._probe_thread.join(timeout=5)

    def __enter__(self) -> DeviceSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- request handling
    def _pump(self) -> None:
        if self._board.closed or self._board.booting or not self._board.rx:
            return
        now = time.monotonic()
        if now < self._board.busy_until:
            self._board.timers.call_at(self._board.busy_until, self._pump)
            return
        frame = self._board.rx.popleft()
        self._handle(frame, now)
        if self._board.rx:
            self._board.timers.call_at(max(now, self._board.busy_until), self._pump)

    def _handle(self, frame: Frame, now: float) -> None:
        name = _command_name(frame.type)
        if self.faults.drop_next > 0 or (
            self.config.drop_rate and self._board.rng.random() < self.config.drop_rate
        ):
            self.faults.drop_next = max(0, self.faults.drop_next - 1)
            self.counters.dropped += 1
            log.debug("simulator dropped %s seq %d", name, frame.seq)
            return
        if self.faults.busy_next > 0:
            self.faults.busy_next -= 1
            self.counters.busy += 1
            busy = self._error_frame(frame.seq, ErrorCode.BUSY, ERROR_TEXT[ErrorCode.BUSY])
            self._respond(busy, now, self.config.latency_s)  # not remembered
            return
        last = self._board.last
        if last is not None and last.seq == frame.seq and last.type == frame.type:
            self.counters.replayed += 1
            log.debug("simulator replays %s seq %d", name, frame.seq)
            self._respond(last.frame, now, self.config.latency_s)
            return
        extra_delay = 0.0
        after: Callable[[], None] | None = None
        try:
            command = Command(frame.type)
        except ValueError:
            response = self._error_frame(
                frame.seq, ErrorCode.UNKNOWN_COMMAND, f"unknown type {frame.type:02X}"
            )
        else:
            try:
                fields = frame.fields()
                payload, extra_delay, after = self._commands.execute(command, fields)
                response = encode_frame(command | RESPONSE_BIT, frame.seq, payload)
                self.counters.executed[command] += 1
            except MalformedPayload as exc:
                response = self._error_frame(frame.seq, ErrorCode.BAD_FRAME, str(exc))
            except Reject as rej:
                response = self._error_frame(frame.seq, rej.code, rej.message)
            if self.faults.unplug_on == command:
                # The port vanishes after the command ran and before its answer left.
                self.faults.unplug_on = None
                self._board.last = LastResponse(frame.seq, frame.type, response)
                self._board.busy_until = now + self.config.latency_s + extra_delay
                log.info("simulator: unplugging in the middle of %s", command.name)
                if self._board.on_unplug is not None:
                    self._board.on_unplug()
                return
        self._board.last = LastResponse(frame.seq, frame.type, response)
        self._respond(response, now, self.config.latency_s + extra_delay)
        if after is not None:
            gen = self._board.power_gen
            self._board.timers.call_at(
                self._board.busy_until, lambda: self._board.if_powered(gen, after)
            )

    def _respond(self, data: bytes, now: float, delay: float) -> None:
        if self.faults.corrupt_next > 0 or (
            self.config.corrupt_rate and self._board.rng.random() < self.config.corrupt_rate
        ):
            self.faults.corrupt_next = max(0, self.faults.corrupt_next - 1)
            self.counters.corrupted += 1
            data = corrupt(data, self._board.rng)
        self._board.busy_until = now + delay
        gen = self._board.power_gen
        if delay <= 0:
            self._board.send(data)
        else:
            self._board.timers.call_at(
                self._board.busy_until, lambda: self._board.if_powered(gen, self._board.send, data)
            )

    def _error_frame(self, seq: int, code: ErrorCode, text: str) -> bytes:
        fields: list[tuple[int, bytes]] = [(Tag.ERROR_CODE, bytes([code]))]
        if self.config.error_messages and text:
            fields.append((Tag.MESSAGE, cut_utf8(text, MESSAGE_MAX)))
        log.debug("simulator answers ERROR %02X (%s) to seq %d", code, code.name, seq)
        return encode_frame(FrameType.ERROR, seq, _encode_tlv(fields))


def _command_name(frame_type: int) -> str:
    try:
        return Command(frame_type).name
    except ValueError:
        return f"type {frame_type:02X}"
