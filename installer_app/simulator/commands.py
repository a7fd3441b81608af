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
from installer_app.simulator.board import ERROR_TEXT, HEX64_RE, Reject
from installer_app.simulator.flash import Flash
from installer_app.simulator.power import PoweredBoard

log = logging.getLogger("installer_app.simulator")


REBOOT_RESTART_DELAY_S = 0.02  # "restarts within 100 ms" of its answer

# The firmware checks the raw bytes against the same rules as everyone else.
_SN_RE = re.compile(SN_PATTERN.pattern.encode("ascii"))
_SECRET_RE = re.compile(SECRET_NO_PATTERN.pattern.encode("ascii"))


class CommandBoard(PoweredBoard):
    """The commands of protocol version 1."""

    def _execute(
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
        state = self._state()
        out: list[tuple[int, bytes]] = [
            (Tag.PROTO, bytes([self.config.proto])),
            (Tag.MODEL_ID, self.config.model_id.encode("ascii")),
            (Tag.FW_VERSION, self.config.fw_version.encode("ascii")),
            (Tag.HW_ID, self._flash.hw_id),
            (Tag.STATE, bytes([state])),
        ]
        sn = self._current_sn()
        if state > DeviceState.BLANK and sn is not None:
            out.append((Tag.SN, sn.encode("ascii")))
        return _encode_tlv(out), 0.0, None

    def _cmd_write(self, fields: dict[int, bytes]) -> tuple[bytes, float, None]:
        sn_raw = _require(fields, Tag.SN, _SN_RE, "SN must be 1..128 characters 0-9 A-Z a-z")
        secret_raw = _require(
            fields, Tag.SECRET_NO, _SECRET_RE, "SECRET_NO must be 1..128 printable ASCII bytes"
        )
        sn, secret = sn_raw.decode("ascii"), Secret(secret_raw.decode("ascii"))
        if self._flash.sn is not None:
            if self._flash.sn != sn or self._flash.secret_no != secret:
                raise Reject(ErrorCode.LOCKED, "provisioned with a different credential")
            self._log("I", "prov", f"credential already stored, sn={sn}")
            return b"", 0.0, None
        self._staged = (sn, secret)
        self._log("I", "prov", f"credential staged in RAM, sn={sn}")
        return b"", 0.0, None

    def _cmd_verify(self, fields: dict[int, bytes]) -> tuple[bytes, float, None]:
        nonce = fields.get(Tag.NONCE)
        if nonce is None or len(nonce) != 16:
            raise Reject(ErrorCode.BAD_VALUE, "NONCE must be exactly 16 bytes")
        credential = self._staged or (
            (self._flash.sn, self._flash.secret_no)
            if self._flash.sn is not None and self._flash.secret_no is not None
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
        if self._staged is None:
            if self._flash.sn is None:
                raise Reject(ErrorCode.NOT_STAGED, ERROR_TEXT[ErrorCode.NOT_STAGED])
            return b"", 0.0, None  # already committed: nothing to write
        sn, secret = self._staged
        if self._flash.sn == sn and self._flash.secret_no == secret:
            self._staged = None
            return b"", 0.0, None
        if self.faults.flash_fail_next > 0:
            self.faults.flash_fail_next -= 1
            self._log("E", "flash", "program failed at 0x3f0000, credential not stored")
            raise Reject(ErrorCode.FLASH_FAIL, ERROR_TEXT[ErrorCode.FLASH_FAIL])
        self._store(dataclasses.replace(self._flash, sn=sn, secret_no=secret))
        self._staged = None
        self._log("I", "prov", f"credential committed to flash, sn={sn}")
        # WeCom registration starts once the answer is out, so its events follow the response.
        return b"", self.config.commit_latency_s, self._update_wecom

    def _cmd_set_wifi(self, fields: dict[int, bytes]) -> tuple[bytes, float, Callable[[], None]]:
        if not self.config.wifi:
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
        self._store(dataclasses.replace(self._flash, ssid=ssid, psk=Secret(psk)))
        self._log("I", "wifi", f"credentials stored, joining '{ssid}'")
        return b"", 0.0, self._start_join

    def _cmd_status(self, fields: dict[int, bytes]) -> tuple[bytes, float, None]:
        return _encode_tlv(self._state_fields()), 0.0, None

    def _cmd_identify(self, fields: dict[int, bytes]) -> tuple[bytes, float, None]:
        self._identify_until = time.monotonic() + self.config.identify_s
        self._log("I", "ui", f"identify: LED blinking and beeping for {self.config.identify_s:g} s")
        gen = self._power_gen
        self._timers.call_later(
            self.config.identify_s,
            lambda: self._if_powered(gen, self._log, "I", "ui", "identify: done"),
        )
        return b"", 0.0, None

    def _cmd_reboot(self, fields: dict[int, bytes]) -> tuple[bytes, float, Callable[[], None]]:
        self._log("I", "sys", "reboot requested")

        def restart_soon() -> None:
            gen = self._power_gen
            self._timers.call_later(
                REBOOT_RESTART_DELAY_S, lambda: self._if_powered(gen, self._restart, "SW_RESET")
            )

        return b"", 0.0, restart_soon

    def _cmd_factory_reset(
        self, fields: dict[int, bytes]
    ) -> tuple[bytes, float, Callable[[], None]]:
        confirm = fields.get(Tag.CONFIRM)
        if confirm is None or not hmac.compare_digest(confirm, self._flash.hw_id):
            raise Reject(ErrorCode.BAD_VALUE, "CONFIRM must equal HW_ID")
        self._store(Flash(hw_id=self._flash.hw_id))
        self._staged = None
        self._log("W", "prov", "factory reset: credential and Wi-Fi erased")
        # Wi-Fi is forgotten (the network drops); an ethernet link stays up.
        return b"", 0.0, self._start_join if self.config.wifi else self._update_wecom


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
