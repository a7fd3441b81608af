"""The simulated board's network and WeCom state: Wi-Fi (or ethernet) join with its NET_CHANGED
events, the WeCom registration steps with WECOM_CHANGED, and the binding probe that learns from
the cloud whether the board is bound.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import threading
import time

from installer_app.device.protocol import DeviceState, EventCode, NetState, WecomState
from installer_app.simulator.board import HEX64_RE, Board, Reject, wpa_psk
from installer_app.simulator.config import BindingProbe

log = logging.getLogger("installer_app.simulator")


class Network:
    """Network join and WeCom state steps, on the board's timers."""

    def __init__(self, board: Board) -> None:
        self.board = board

    def settle(self) -> None:
        """The steady state of a board that has been on for a while (no events)."""
        if self.can_join():
            self.board.net = NetState.ONLINE
        if self.board.state() == DeviceState.PROVISIONED and self.board.net == NetState.ONLINE:
            self.board.wecom = (
                WecomState.BOUND if self.board.flash.bound_corp else WecomState.WAITING_BIND
            )

    def can_join(self) -> bool:
        if not self.board.config.wifi:
            return True  # ethernet
        if self.board.flash.ssid is None:
            return False
        known = self.board.config.known_networks
        if known is None:
            return True
        if self.board.flash.ssid not in known:
            return False
        given = self.board.flash.psk.reveal() if self.board.flash.psk else ""
        expected = known[self.board.flash.ssid]
        if len(given) == 64 and HEX64_RE.fullmatch(given):
            return hmac.compare_digest(given.lower(), wpa_psk(expected, self.board.flash.ssid))
        return hmac.compare_digest(given.encode(), expected.encode())

    def set_net(self, state: NetState) -> None:
        if state != self.board.net:
            self.board.net = state
            self.board.event(EventCode.NET_CHANGED)
        self.update_wecom()

    def start_join(self) -> None:
        """(Re)join the network in the background: DOWN now, LINK_UP half-way, then ONLINE."""
        self.board.net_gen += 1
        gen, power = self.board.net_gen, self.board.power_gen
        self.set_net(NetState.DOWN)
        if not self.board.config.wifi:
            self.board.log_line("I", "eth", "link negotiation")
        elif self.board.flash.ssid is None:
            return
        join = self.board.config.wifi_join_s

        def step(state: NetState) -> None:
            if gen != self.board.net_gen or power != self.board.power_gen or self.board.closed:
                return
            if state == NetState.LINK_UP and not self.can_join():
                self.board.log_line(
                    "W", "wifi", f"cannot join '{self.board.flash.ssid}': auth failed or not found"
                )
                return
            self.board.log_line("I", "net", "link up" if state == NetState.LINK_UP else "online")
            self.set_net(state)

        self.board.timers.call_later(join / 2, lambda: step(NetState.LINK_UP))
        self.board.timers.call_later(join, lambda: step(NetState.ONLINE))

    def set_wecom(self, state: WecomState) -> None:
        if state != self.board.wecom:
            self.board.wecom = state
            self.board.log_line("I", "wecom", f"state {state.name}")
            self.board.event(EventCode.WECOM_CHANGED)

    def update_wecom(self) -> None:
        """Move WECOM_STATE towards what the board's state and network allow."""
        if self.board.state() != DeviceState.PROVISIONED or self.board.net != NetState.ONLINE:
            self.board.wecom_gen += 1
            self.set_wecom(WecomState.IDLE)
            return
        if self.board.wecom == WecomState.IDLE:
            self.board.wecom_gen += 1
            gen = self.board.wecom_gen
            self.board.timers.call_at(
                max(time.monotonic(), self.board.busy_until) + self.board.config.wecom_step_s,
                lambda: self._wecom_step(gen),
            )

    def _wecom_step(self, gen: int) -> None:
        if gen != self.board.wecom_gen or self.board.closed or self.board.booting:
            return
        if self.board.wecom == WecomState.IDLE:
            self.set_wecom(WecomState.REGISTERED)
            self.board.timers.call_later(
                self.board.config.wecom_step_s, lambda: self._wecom_step(gen)
            )
        elif self.board.wecom == WecomState.REGISTERED:
            self.set_wecom(
                WecomState.BOUND
                if self.board.flash.bound_corp is not None
                else WecomState.WAITING_BIND
            )

    def apply_binding(self, corp_name: str | None) -> None:
        changed = corp_name != self.board.flash.bound_corp
        if changed:
            try:
                self.board.store(dataclasses.replace(self.board.flash, bound_corp=corp_name))
            except Reject:
                self.board.flash.bound_corp = corp_name  # a cache: keep it in RAM at least
        if self.board.wecom not in (WecomState.WAITING_BIND, WecomState.BOUND):
            return  # the REGISTERED step picks it up
        target = WecomState.BOUND if corp_name is not None else WecomState.WAITING_BIND
        if target != self.board.wecom:
            self.set_wecom(target)
        elif changed and target == WecomState.BOUND:
            self.board.event(EventCode.WECOM_CHANGED)  # bound to another enterprise

    def probe_loop(self, probe: BindingProbe, stop: threading.Event) -> None:
        """The binding probe's thread: ask the cloud about the SN until ``stop`` is set."""
        while not stop.wait(self.board.config.probe_interval_s):
            with self.board.lock:
                ready = (
                    not self.board.booting
                    and self.board.state() == DeviceState.PROVISIONED
                    and self.board.net == NetState.ONLINE
                )
                sn = self.board.flash.sn if ready else None
            if sn is None:
                continue
            try:
                corp = probe(sn)
            except Exception:
                log.exception("binding probe failed")
                continue
            with self.board.lock:
                if not self.board.closed and self.board.flash.sn == sn:
                    self.apply_binding(corp)
