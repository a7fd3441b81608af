"""The simulated board's command handlers: one method per request type, each checking its fields
as the spec says and answering (payload, extra delay, what to do once the answer is out), or
raising ``Reject`` for an ERROR answer.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable

from installer_app.device.codec import encode_tlv as _encode_tlv
from installer_app.device.protocol import Command, DeviceState, ErrorCode, Tag
from installer_app.formats import SECRET_NO_PATTERN, SN_PATTERN
from installer_app.secrets import Secret
from installer_app.simulator.board import ERROR_TEXT, HEX64_RE, Board, Reject
from installer_app.simulator.flash import Flash
from installer_app.simulator.network import Network
from installer_app.simulator.power import Power

log = logging.getLogger("installer_app.simulator")


REBOOT_RESTART_DELAY_S = 0.02  # "restarts within 100 ms" of its answer

# The firmware checks the raw bytes against the same rules as everyone else.
_SN_RE = re.compile(SN_PATTERN.pattern.encode("ascii"))
_SECRET_RE = re.compile(SECRET_NO_PATTERN.pattern.encode("ascii"))


class Commands:
    """The commands of protocol version 1, one handler each."""

    def __init__(self, board: Board, network: Network, power: Power) -> None:
        self.board = board
        self.network = network
        self.power = power

    def execute(
        self, command: Command, fields: dict[int, bytes]
    ) -> tuple[bytes, float, Callable[[], None] | None]:
        """Run one command: (response payload, extra delay, what to do once it was answered)."""
        handler = {
            Command.HELLO: self._cmd_hello,
            Command.WRITE: self._cmd_write,
            Command.VERIFY: self._cmd_verify,
            Command.COMMIT: self._cmd_commit,
            Command.SET_WIFI: self._cmd_set_wifi,
            Command.STATUS: self._cmd_status,
            Command.IDENTIFY: self._cmd_identify,
            Command.REBOOT: self._cmd_reboot,
            Command.FACTORY_RESET: self._cmd_factory_reset,
        }[command]
        return handler(fields)

    def _cmd_hello(self, fields: dict[int, bytes]) -> tuple[bytes, float, None]:
        state = self.board.state()
        out: list[tuple[int, bytes]] = [
            (Tag.PROTO, bytes([self.board.config.proto])),
            (Tag.MODEL_ID, self.board.config.model_id.encode("ascii")),
            (Tag.FW_VERSION, self.board.config.fw_version.encode("ascii")),
            (Tag.HW_ID, self.board.flash.hw_id),
            (Tag.STATE, bytes([state])),
        ]
        sn = self.board.current_sn()
        if state > DeviceState.BLANK and sn is not None:
            out.append((Tag.SN, sn.encode("ascii")))
        return _encode_tlv(out), 0.0, None

    def _cmd_write(self, fields: dict[int, bytes]) -> tuple[bytes, float, None]:
        sn_raw = _require(fields, Tag.SN, _SN_RE, "SN must be 1..128 characters 0-9 A-Z a-z")
        secret_raw = _require(
            fields, Tag.SECRET_NO, _SECRET_RE, "SECRET_NO must be 1..128 printable ASCII bytes"
        )
        sn, secret = sn_raw.decode("ascii"), Secret(secret_raw.decode("ascii"))
        if self.board.flash.sn is not None:
            if self.board.flash.sn != sn or self.board.flash.secret_no != secret:
                raise Reject(ErrorCode.LOCKED, "provisioned with a different credential")
            self.board.log_line("I", "prov", f"credential already stored, sn={sn}")
            return b"", 0.0, None
        self.board.staged = (sn, secret)
        self.board.log_line("I", "prov", f"credential staged in RAM, sn={sn}")
        return b"", 0.0, None

    def _cmd_verify(self, fields: dict[int, bytes]) -> tuple[bytes, float, None]:
        nonce = fields.get(Tag.NONCE)
        if nonce is None or len(nonce) != 16:
            raise Reject(ErrorCode.BAD_VALUE, "NONCE must be exactly 16 bytes")
        credential = self.board.staged or (
            (self.board.flash.sn, self.board.flash.secret_no)
            if self.board.flash.sn is not None and self.board.flash.secret_no is not None
            else None
        )
        if credential is None:
            raise Reject(ErrorCode.NOT_STAGED, ERROR_TEXT[ErrorCode.NOT_STAGED])
        sn, secret = credential
        proof = hmac.new(
            secret.reveal().encode("ascii"), nonce + sn.encode("ascii"), hashlib.sha256
        ).digest()
        return _encode_tlv([(Tag.SN, sn.encode("ascii")), (Tag.PROOF, proof)]), 0.0, None

    def _cmd_commit(
        self, fields: dict[int, bytes]
    ) -> tuple[bytes, float, Callable[[], None] | None]:
        if self.board.staged is None:
            if self.board.flash.sn is None:
                raise Reject(ErrorCode.NOT_STAGED, ERROR_TEXT[ErrorCode.NOT_STAGED])
            return b"", 0.0, None  # already committed: nothing to write
        sn, secret = self.board.staged
        if self.board.flash.sn == sn and self.board.flash.secret_no == secret:
            self.board.staged = None
            return b"", 0.0, None
        if self.board.faults.flash_fail_next > 0:
            self.board.faults.flash_fail_next -= 1
            self.board.log_line("E", "flash", "program failed at 0x3f0000, credential not stored")
            raise Reject(ErrorCode.FLASH_FAIL, ERROR_TEXT[ErrorCode.FLASH_FAIL])
        self.board.store(dataclasses.replace(self.board.flash, sn=sn, secret_no=secret))
        self.board.staged = None
        self.board.log_line("I", "prov", f"credential committed to flash, sn={sn}")
        # WeCom registration starts once the answer is out, so its events follow the response.
        return b"", self.board.config.commit_latency_s, self.network.update_wecom

    def _cmd_set_wifi(self, fields: dict[int, bytes]) -> tuple[bytes, float, Callable[[], None]]:
        if not self.board.config.wifi:
            raise Reject(ErrorCode.UNKNOWN_COMMAND, "this board has no Wi-Fi")
        ssid_raw = fields.get(Tag.SSID)
        psk_raw = fields.get(Tag.PSK)
        ssid = _utf8(ssid_raw)
        if ssid is None or not 1 <= len(ssid_raw or b"") <= 32:
            raise Reject(ErrorCode.BAD_VALUE, "SSID must be 1..32 bytes of UTF-8")
        psk = _utf8(psk_raw)
        if psk is None or not _psk_ok(psk, len(psk_raw or b"")):
            raise Reject(
                ErrorCode.BAD_VALUE, "PSK must be empty, 8..63 bytes of UTF-8 or 64 hex digits"
            )
        self.board.store(dataclasses.replace(self.board.flash, ssid=ssid, psk=Secret(psk)))
        self.board.log_line("I", "wifi", f"credentials stored, joining '{ssid}'")
        return b"", 0.0, self.network.start_join

    def _cmd_status(self, fields: dict[int, bytes]) -> tuple[bytes, float, None]:
        return _encode_tlv(self.board.state_fields()), 0.0, None

    def _cmd_identify(self, fields: dict[int, bytes]) -> tuple[bytes, float, None]:
        self.board.identify_until = time.monotonic() + self.board.config.identify_s
        self.board.log_line(
            "I", "ui", f"identify: LED blinking and beeping for {self.board.config.identify_s:g} s"
        )
        gen = self.board.power_gen
        self.board.timers.call_later(
            self.board.config.identify_s,
            lambda: self.board.if_powered(gen, self.board.log_line, "I", "ui", "identify: done"),
        )
        return b"", 0.0, None

    def _cmd_reboot(self, fields: dict[int, bytes]) -> tuple[bytes, float, Callable[[], None]]:
        self.board.log_line("I", "sys", "reboot requested")

        def restart_soon() -> None:
            gen = self.board.power_gen
            self.board.timers.call_later(
                REBOOT_RESTART_DELAY_S,
                lambda: self.board.if_powered(gen, self.power.restart, "SW_RESET"),
            )

        return b"", 0.0, restart_soon

    def _cmd_factory_reset(
        self, fields: dict[int, bytes]
    ) -> tuple[bytes, float, Callable[[], None]]:
        confirm = fields.get(Tag.CONFIRM)
        if confirm is None or not hmac.compare_digest(confirm, self.board.flash.hw_id):
            raise Reject(ErrorCode.BAD_VALUE, "CONFIRM must equal HW_ID")
        self.board.store(Flash(hw_id=self.board.flash.hw_id))
        self.board.staged = None
        self.board.log_line("W", "prov", "factory reset: credential and Wi-Fi erased")
        # Wi-Fi is forgotten (the network drops); an ethernet link stays up.
        return (
            b"",
            0.0,
            self.network.start_join if self.board.config.wifi else self.network.update_wecom,
        )


def _require(fields: dict[int, bytes], tag: Tag, pattern: re.Pattern[bytes], text: str) -> bytes:
    value = fields.get(tag)
    if value is None or not pattern.fullmatch(value):
        raise Reject(ErrorCode.BAD_VALUE, text)
    return value


def _utf8(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _psk_ok(psk: str, n_bytes: int) -> bool:
    if n_bytes == 0:
        return True
    if n_bytes == 64:
        return HEX64_RE.fullmatch(psk) is not None
    return 8 <= n_bytes <= 63
