"""The provider emulator's records and WeCom's rules that need no state: SN checks (the rules are
``installer_app.formats``), the errcodes it answers with, the binding QR's signature (spec B)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from installer_app.errors import ExitCode, InstallerError
from installer_app.formats import is_sn

# Spec B: a binding link's values are plain [A-Za-z0-9_-] (anything else could be read
# differently by another URL parser), and the dynamic nonce is a decimal Uint64, no leading zero.
QR_VALUE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,128}")
NONCE_PATTERN = re.compile(r"[1-9][0-9]{0,19}")
UINT64_MAX = 2**64 - 1
INT64_MAX = 2**63 - 1
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
    device_id: int  # WeCom returns an int64
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


def open_corpid(provider_corpid: str, corpid: str) -> str:
    """The provider-level encrypted ("open") corpid WeCom gives third-party apps for an
    enterprise: stable per provider and enterprise, and nothing like the plain one."""
    digest = hashlib.sha256(f"{provider_corpid}/{corpid}".encode()).hexdigest()
    return "wp" + digest[:30]


def valid_nonce(nonce: str) -> bool:
    return NONCE_PATTERN.fullmatch(nonce) is not None and int(nonce) <= UINT64_MAX


def binding_query(url: str) -> dict[str, str] | None:
    """The parameters of a WeCom binding link, or None when it is not exactly one: the fixed
    https origin and path, then ``key=value`` pairs of plain values, each key once, nothing else
    (no userinfo, port, backslash, fragment or percent escape)."""
    prefix = STATIC_QR_BASE + "?"
    if not url.startswith(prefix):
        return None
    query: dict[str, str] = {}
    for pair in url[len(prefix) :].split("&"):
        key, sep, value = pair.partition("=")
        if (
            not sep
            or key in query
            or not QR_VALUE_PATTERN.fullmatch(key)
            or not QR_VALUE_PATTERN.fullmatch(value)
        ):
            return None
        query[key] = value
    return query


def dynamic_signature(sn: str, secret_no: str, ts: str, nonce: str) -> str:
    """Spec B: SHA-1 of the five raw values sorted as byte strings, lower-case hex."""
    parts = sorted(v.encode() for v in (sn, secret_no, ts, nonce, "qrcode"))
    return hashlib.sha1(b"".join(parts)).hexdigest()
