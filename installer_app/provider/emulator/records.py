"""The provider emulator's records and WeCom's rules that need no state: SN checks (the rules are
``installer_app.formats``), the errcodes it answers with, the binding QR's signature (spec B)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from installer_app.errors import ExitCode, InstallerError
from installer_app.formats import is_sn

STATIC_QR_BASE = "https://open.work.weixin.qq.com/connect/hardware"
DYNAMIC_QR_TTL_S = 30 * 60
DEFAULT_CORPID = "wwtestcorp000001"
DEFAULT_CORP_NAME = "测试科技有限公司"
# Test enterprises the operator page offers; any other corpid may be bound through the control API.
TEST_CORPS: dict[str, str] = {
    DEFAULT_CORPID: DEFAULT_CORP_NAME,
    "wwtestcorp000002": "示例智能制造有限公司",
    "wwtestcorp000003": "深圳市演示物业管理有限公司",
}
COMPANION_AGENTID = 1000002

# Errcodes the emulator uses beyond the spec's table (see docs/provider-emulator.md).
ERR_BOUND_CANNOT_DELETE = 600003
ERR_QR_EXPIRED = 600041
ERR_BAD_PARAM = 40058
ERR_BAD_JSON = 47001
ERR_TOKEN_MISSING = 41001
ERR_NEED_POST = 43002


class ApiError(Exception):
    """A request broke a rule: WeCom's errcode and errmsg, and the HTTP status to answer with."""

    def __init__(self, errcode: int, errmsg: str, http_status: int = 200) -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.http_status = http_status


class EmulatorStateError(InstallerError):
    exit_code = ExitCode.USAGE


@dataclass
class Device:
    device_sn: str
    model_id: str
    secret_no: str
    device_id: str
    hw_code: str
    create_time: int
    source: str  # "wecom" (A2) or "partner" (POST /v1/devices) or "control"
    corpid: str | None = None
    corp_name: str | None = None
    remark_name: str = ""
    bind_time: int | None = None
    ever_bound: bool = False

    @property
    def bound(self) -> bool:
        return self.corpid is not None

    @property
    def qr_code(self) -> str:
        return f"{STATIC_QR_BASE}?hw_code={self.hw_code}"


@dataclass
class Board:
    """A board the partner service issued an SN and credential to, keyed by its hw_id."""

    device_sn: str
    model_id: str
    credential: str


@dataclass
class Installation:
    """The companion app in one enterprise: installed from ``install_at`` (wall time) on."""

    corp_name: str
    install_at: float
    agentid: int = COMPANION_AGENTID


def sn_key(sn: str) -> str:
    """WeCom treats SNs case-insensitively: one key for every spelling."""
    return sn.upper()


def valid_sn(sn: object) -> bool:
    return isinstance(sn, str) and is_sn(sn)


def dynamic_signature(sn: str, secret_no: str, ts: str, nonce: str) -> str:
    """Spec B: SHA-1 of the five raw values sorted as byte strings, lower-case hex."""
    parts = sorted(v.encode() for v in (sn, secret_no, ts, nonce, "qrcode"))
    return hashlib.sha1(b"".join(parts)).hexdigest()
