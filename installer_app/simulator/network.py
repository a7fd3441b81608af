"""The simulated board's network and WeCom state: Wi-Fi (or ethernet) join with its NET_CHANGED
events, the WeCom registration steps with WECOM_CHANGED, and the binding probe that learns from
the cloud whether the board is bound.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import time

from installer_app.device.protocol import DeviceState, EventCode, NetState, WecomState
from installer_app.simulator.board import HEX64_RE, BoardCore, Reject, wpa_psk
from installer_app.simulator.config import BindingProbe

log = logging.getLogger("installer_app.simulator")


class NetworkBoard(BoardCore):
    """Network join and WeCom state steps, on the board's timers."""

    def _settle(self) -> None:
        """The steady state of a board that has been on for a while (no events)."""
        if self._can_join():
            self._net = NetState.ONLINE
        if self._state() == DeviceState.PROVISIONED and self._net == NetState.ONLINE:
            self._wecom = WecomState.BOUND if self._flash.bound_corp else WecomState.WAITING_BIND

    def _can_join(self) -> bool:
        if not self.config.wifi:
            return True  # ethernet
        if self._flash.ssid is None:
            return False
        known = self.config.known_networks
        if known is None:
            return True
        if self._flash.ssid not in known:
            return False
        given = self._flash.psk.reveal() if self._flash.psk else ""
        expected = known[self._flash.ssid]
        if len(given) == 64 and HEX64_RE.fullmatch(given):
            return hmac.compare_digest(given.lower(), wpa_psk(expected, self._flash.ssid))
        return hmac.compare_digest(given.encode(), expected.encode())

    def _set_net(self, state: NetState) -> None:
        if state != self._net:
            self._net = state
            self._event(EventCode.NET_CHANGED)
        self._update_wecom()

    def _start_join(self) -> None:
        """(Re)join the network in the background: DOWN now, LINK_UP half-way, then ONLINE."""
        self._net_gen += 1
        gen, power = self._net_gen, self._power_gen
        self._set_net(NetState.DOWN)
        if not self.config.wifi:
            self._log("I", "eth", "link negotiation")
        elif self._flash.ssid is None:
            return
        join = self.config.wifi_join_s

        def step(state: NetState) -> None:
            if gen != self._net_gen or power != self._power_gen or self._closed:
                return
            if state == NetState.LINK_UP and not self._can_join():
                self._log(
                    "W", "wifi", f"cannot join '{self._flash.ssid}': auth failed or not found"
                )
                return
            self._log("I", "net", "link up" if state == NetState.LINK_UP else "online")
            self._set_net(state)

        self._timers.call_later(join / 2, lambda: step(NetState.LINK_UP))
        self._timers.call_later(join, lambda: step(NetState.ONLINE))

    def _set_wecom(self, state: WecomState) -> None:
        if state != self._wecom:
            self._wecom = state
            self._log("I", "wecom", f"state {state.name}")
            self._event(EventCode.WECOM_CHANGED)

    def _update_wecom(self) -> None:
        """Move WECOM_STATE towards what the board's state and network allow."""
        if self._state() != DeviceState.PROVISIONED or self._net != NetState.ONLINE:
            self._wecom_gen += 1
            self._set_wecom(WecomState.IDLE)
            return
        if self._wecom == WecomState.IDLE:
            self._wecom_gen += 1
            gen = self._wecom_gen
            self._timers.call_at(
                max(time.monotonic(), self._busy_until) + self.config.wecom_step_s,
                lambda: self._wecom_step(gen),
            )

    def _wecom_step(self, gen: int) -> None:
        if gen != self._wecom_gen or self._closed or self._booting:
            return
        if self._wecom == WecomState.IDLE:
            self._set_wecom(WecomState.REGISTERED)
            self._timers.call_later(self.config.wecom_step_s, lambda: self._wecom_step(gen))
        elif self._wecom == WecomState.REGISTERED:
            self._set_wecom(
                WecomState.BOUND if self._flash.bound_corp is not None else WecomState.WAITING_BIND
            )

    def _apply_binding(self, corp_name: str | None) -> None:
        changed = corp_name != self._flash.bound_corp
        if changed:
            try:
                self._store(dataclasses.replace(self._flash, bound_corp=corp_name))
            except Reject:
                self._flash.bound_corp = corp_name  # a cache: keep it in RAM at least
        if self._wecom not in (WecomState.WAITING_BIND, WecomState.BOUND):
            return  # the REGISTERED step picks it up
        target = WecomState.BOUND if corp_name is not None else WecomState.WAITING_BIND
        if target != self._wecom:
            self._set_wecom(target)
        elif changed and target == WecomState.BOUND:
            self._event(EventCode.WECOM_CHANGED)  # bound to another enterprise

    def _probe_loop(self, probe: BindingProbe) -> None:
        while not self._probe_stop.wait(self.config.probe_interval_s):
            with self._lock:
                ready = (
                    not self._booting
                    and self._state() == DeviceState.PROVISIONED
                    and self._net == NetState.ONLINE
                )
                sn = self._flash.sn if ready else None
            if sn is None:
                continue
            try:
                corp = probe(sn)
            except Exception:
                log.exception("binding probe failed")
                continue
            with self._lock:
                if not self._closed and self._flash.sn == sn:
                    self._apply_binding(corp)
