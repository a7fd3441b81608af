"""What the device answers, as typed values: HELLO, VERIFY, STATUS and EVENT, parsed and checked.

A response's TLV fields are read through ``ResponseFields``: a missing or mis-shaped field raises
``MalformedResponse`` naming the command and the field, never a KeyError deep in a caller.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from installer_app.device import errors
from installer_app.device.protocol import DeviceState, EventCode, NetState, Tag, WecomState
from installer_app.secrets import Secret


@dataclass(frozen=True)
class HelloInfo:
    proto: int
    model_id: str
    fw_version: str
    hw_id: bytes
    state: DeviceState
    sn: str | None

    @property
    def hw_id_hex(self) -> str:
        return self.hw_id.hex()


@dataclass(frozen=True)
class VerifyResult:
    sn: str
    proof: bytes


@dataclass(frozen=True)
class DeviceStatus:
    net_state: NetState
    wecom_state: WecomState
    corp_name: str | None


@dataclass(frozen=True)
class DeviceEvent:
    code: int  # an EventCode, or a newer code this app does not know
    net_state: NetState
    wecom_state: WecomState
    corp_name: str | None


def compute_proof(secret_no: Secret, nonce: bytes, sn: str) -> bytes:
    """The PROOF a device holding ``secret_no`` for ``sn`` answers to VERIFY ``nonce``."""
    key = secret_no.reveal().encode("utf-8")
    return hmac.new(key, nonce + sn.encode("utf-8"), hashlib.sha256).digest()


class ResponseFields:
    """A response's TLV fields with checked accessors."""

    def __init__(self, command: str, fields: dict[int, bytes]) -> None:
        self.command = command
        self.fields = fields

    def _bad(self, tag: Tag, problem: str) -> errors.MalformedResponse:
        return errors.MalformedResponse(self.command, f"{tag.name} {problem}")

    def raw(self, tag: Tag, lo: int = 0, hi: int = 255) -> bytes:
        value = self.fields.get(tag)
        if value is None:
            raise self._bad(tag, "is missing")
        if not lo <= len(value) <= hi:
            raise self._bad(tag, f"has {len(value)} bytes")
        return value

    def optional(self, tag: Tag) -> bytes | None:
        return self.fields.get(tag)

    def u8(self, tag: Tag) -> int:
        return self.raw(tag, 1, 1)[0]

    def text(self, tag: Tag, lo: int, hi: int, encoding: str = "ascii") -> str:
        value = self.raw(tag, lo, hi)
        try:
            return value.decode(encoding)
        except UnicodeDecodeError:
            raise self._bad(tag, f"is not {encoding} text") from None

    def enum(self, tag: Tag, cls: Any) -> Any:
        value = self.u8(tag)
        try:
            return cls(value)
        except ValueError:
            raise self._bad(tag, f"has unknown value {value}") from None


def _corp_name(f: ResponseFields) -> str | None:
    raw = f.optional(Tag.CORP_NAME)
    # Untrusted text shown to people: decoded leniently, control characters dropped.
    return None if raw is None else errors.clean_device_text(raw)


def parse_hello(f: ResponseFields) -> HelloInfo:
    state = f.enum(Tag.STATE, DeviceState)
    sn = f.text(Tag.SN, 1, 128) if state != DeviceState.BLANK else None
    return HelloInfo(
        proto=f.u8(Tag.PROTO),
        model_id=f.text(Tag.MODEL_ID, 1, 64),
        fw_version=f.text(Tag.FW_VERSION, 1, 32),
        hw_id=f.raw(Tag.HW_ID, 6, 16),
        state=state,
        sn=sn,
    )


def parse_verify(f: ResponseFields) -> VerifyResult:
    return VerifyResult(f.text(Tag.SN, 1, 128), f.raw(Tag.PROOF, 32, 32))


def parse_status(f: ResponseFields) -> DeviceStatus:
    wecom = f.enum(Tag.WECOM_STATE, WecomState)
    return DeviceStatus(f.enum(Tag.NET_STATE, NetState), wecom, _corp_name(f))


def parse_event(f: ResponseFields) -> DeviceEvent:
    code = f.u8(Tag.EVENT_CODE)
    wecom = f.enum(Tag.WECOM_STATE, WecomState)
    with contextlib.suppress(ValueError):  # a newer firmware's event keeps its number
        code = EventCode(code)
    return DeviceEvent(code, f.enum(Tag.NET_STATE, NetState), wecom, _corp_name(f))
