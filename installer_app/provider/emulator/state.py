"""What the provider emulator knows, and WeCom's rules over it.

One ``EmulatorState`` holds the registered devices, their bindings, the partner service's boards
and installations, and the provider tokens it issued. Every method takes the one lock, so the HTTP
handler threads and the control methods see a consistent picture. Rule violations raise
``ApiError`` with WeCom's errcode; the HTTP layer turns that into a response.

Persistent parts (devices, boards, installations, tokens) are written to the state file as JSON
after every change (temporary file + ``os.replace``, so a crash never leaves half a file). Counters,
injected faults and latency live only in memory: they belong to one run.

Time is wall-clock (``clock``, injectable for unit tests) because token expiry and install times
are persisted and must survive a restart.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message

SN_PATTERN = re.compile(r"[0-9A-Za-z]{1,128}")
HW_ID_PATTERN = re.compile(r"[0-9a-f]{2,128}")
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
STATE_VERSION = 1
_MAX_TOKENS = 1000

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


@dataclass
class Injection:
    path: str
    errcode: int | None
    http_status: int | None
    retry_after: float | None
    remaining: int


@dataclass
class _Faults:
    injections: list[Injection] = field(default_factory=list)
    latency_s: float = 0.0


def sn_key(sn: str) -> str:
    """WeCom treats SNs case-insensitively: one key for every spelling."""
    return sn.upper()


def valid_sn(sn: object) -> bool:
    return isinstance(sn, str) and SN_PATTERN.fullmatch(sn) is not None


class EmulatorState:
    def __init__(
        self,
        path: Path | None = None,
        *,
        corpid: str,
        provider_secret: str,
        model_ids: Iterable[str],
        install_delay_s: float,
        token_ttl_s: float,
        auto_scan_after_s: float | None = None,
        sn_prefix: str = "WX",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.corpid = corpid
        self._provider_secret = provider_secret
        self.model_ids = tuple(model_ids)
        self.install_delay_s = install_delay_s
        self.token_ttl_s = token_ttl_s
        self.auto_scan_after_s = auto_scan_after_s
        self.sn_prefix = sn_prefix
        self._clock = clock
        self._lock = threading.RLock()
        self._devices: dict[str, Device] = {}  # sn_key -> device, in registration order
        self._boards: dict[str, Board] = {}  # hw_id (lower-case hex) -> board
        self._installations: dict[str, Installation] = {}  # corpid -> installation
        self._tokens: dict[str, float] = {}  # token -> expires_at (wall time)
        self._auto_bind_at: dict[str, float] = {}  # sn_key -> when the automatic scan happens
        # Each device is scanned automatically at most once per run, so an unbind sticks.
        self._auto_scheduled: set[str] = set()
        self._counts: dict[str, int] = {}
        self._token_fetches = 0
        self._faults = _Faults()
        if path is not None:
            self._load(path)

    # --- persistence -----------------------------------------------------------------------

    def _load(self, path: Path) -> None:
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            raise EmulatorStateError(
                Message(
                    QT_TRANSLATE_NOOP("emulator", "Cannot read the emulator state file {path}."),
                    path=str(path),
                ),
                Message(
                    QT_TRANSLATE_NOOP("emulator", "Check its permissions: {reason}"),
                    reason=exc.strerror or "",
                ),
            ) from exc
        try:
            data = json.loads(raw)
            self._devices = {sn_key(d["device_sn"]): Device(**d) for d in data.get("devices", [])}
            self._boards = {k: Board(**v) for k, v in data.get("boards", {}).items()}
            self._installations = {
                k: Installation(**v) for k, v in data.get("installations", {}).items()
            }
            self._tokens = {str(k): float(v) for k, v in data.get("tokens", {}).items()}
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise EmulatorStateError(
                Message(
                    QT_TRANSLATE_NOOP("emulator", "The emulator state file {path} is damaged."),
                    path=str(path),
                ),
                Message(
                    QT_TRANSLATE_NOOP(
                        "emulator", "Delete it or pass another --state file to start empty."
                    )
                ),
            ) from exc

    def _save(self) -> None:
        if self.path is None:
            return
        data = {
            "version": STATE_VERSION,
            "devices": [asdict(d) for d in self._devices.values()],
            "boards": {k: asdict(v) for k, v in self._boards.items()},
            "installations": {k: asdict(v) for k, v in self._installations.items()},
            "tokens": self._tokens,
        }
        text = json.dumps(data, ensure_ascii=False, indent=1)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The file holds SecretNos (test ones, but still): owner-only, and replaced atomically.
        fd, tmp = tempfile.mkstemp(prefix=".emulator-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    # --- counters and faults ---------------------------------------------------------------

    def count(self, key: str) -> None:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    @property
    def token_fetches(self) -> int:
        with self._lock:
            return self._token_fetches

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "token_fetches": self._token_fetches,
                "requests": dict(sorted(self._counts.items())),
                "injections": [asdict(i) for i in self._faults.injections],
                "latency_s": self._faults.latency_s,
            }

    def inject(
        self,
        path: str = "*",
        *,
        errcode: int | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
        count: int = 1,
    ) -> None:
        if (errcode is None) == (http_status is None):
            raise ApiError(400, "give exactly one of errcode and http_status", 400)
        if http_status is not None and not 400 <= http_status <= 599:
            raise ApiError(400, "http_status must be 4xx or 5xx", 400)
        if count < 1:
            raise ApiError(400, "count must be at least 1", 400)
        with self._lock:
            self._faults.injections.append(
                Injection(path, errcode, http_status, retry_after, count)
            )

    def take_injection(self, path: str, template: str) -> Injection | None:
        """The first armed fault matching this request, used up by one; None when none."""
        with self._lock:
            for injection in self._faults.injections:
                if injection.path in ("*", path, template):
                    injection.remaining -= 1
                    if injection.remaining <= 0:
                        self._faults.injections.remove(injection)
                    return Injection(**asdict(injection))
        return None

    @property
    def latency_s(self) -> float:
        with self._lock:
            return self._faults.latency_s

    def set_latency(self, seconds: float) -> None:
        if not 0 <= seconds <= 300:
            raise ApiError(400, "latency must be between 0 and 300 seconds", 400)
        with self._lock:
            self._faults.latency_s = seconds

    def clear_faults(self) -> None:
        with self._lock:
            self._faults = _Faults()

    def reset(self) -> None:
        """Forget everything: devices, boards, installations, tokens, counters, faults."""
        with self._lock:
            self._devices.clear()
            self._boards.clear()
            self._installations.clear()
            self._tokens.clear()
            self._auto_bind_at.clear()
            self._auto_scheduled.clear()
            self._counts.clear()
            self._token_fetches = 0
            self._faults = _Faults()
            self._save()

    # --- A1: tokens ------------------------------------------------------------------------

    def issue_token(self, corpid: object, provider_secret: object) -> tuple[str, int]:
        with self._lock:
            self._token_fetches += 1
            if corpid != self.corpid:
                raise ApiError(40013, "invalid corpid")
            if not isinstance(provider_secret, str) or not secrets.compare_digest(
                provider_secret.encode(), self._provider_secret.encode()
            ):
                raise ApiError(40001, "invalid provider_secret")
            now = self._clock()
            self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now - 86400}
            while len(self._tokens) >= _MAX_TOKENS:
                del self._tokens[next(iter(self._tokens))]
            token = "emu" + secrets.token_urlsafe(48)
            self._tokens[token] = now + self.token_ttl_s
            self._save()
            return token, int(self.token_ttl_s)

    def check_token(self, token: str | None) -> None:
        if not token:
            raise ApiError(ERR_TOKEN_MISSING, "provider_access_token missing")
        with self._lock:
            expires_at = self._tokens.get(token)
            if expires_at is None:
                raise ApiError(40014, "invalid provider_access_token")
            if expires_at <= self._clock():
                raise ApiError(42001, "provider_access_token expired")

    def expire_tokens(self, *, invalidate: bool = False) -> int:
        """Expire (42001) or, with ``invalidate``, forget (40014) every issued token."""
        with self._lock:
            n = len(self._tokens)
            if invalidate:
                self._tokens.clear()
            else:
                past = self._clock() - 1
                self._tokens = dict.fromkeys(self._tokens, past)
            self._save()
            return n

    # --- A2-A4: devices --------------------------------------------------------------------

    def add_device(
        self,
        model_id: object,
        device_sn: object,
        *,
        secret_no: str | None = None,
        source: str = "wecom",
    ) -> Device:
        with self._lock:
            self._check_model(model_id)
            if not valid_sn(device_sn):
                raise ApiError(600001, "invalid device_sn")
            assert isinstance(device_sn, str) and isinstance(model_id, str)
            if sn_key(device_sn) in self._devices:
                raise ApiError(600002, "device_sn already exists")
            device = self._new_device(model_id, device_sn, secret_no, source)
            self._save()
            return device

    def _new_device(
        self, model_id: str, device_sn: str, secret_no: str | None, source: str
    ) -> Device:
        now = self._clock()
        device = Device(
            device_sn=device_sn,
            model_id=model_id,
            secret_no=secret_no or secrets.token_hex(16),
            device_id="emu" + secrets.token_hex(12),
            hw_code=secrets.token_hex(16),
            create_time=int(now),
            source=source,
        )
        self._devices[sn_key(device_sn)] = device
        self._schedule_auto_scan(sn_key(device_sn), now)
        return device

    def _schedule_auto_scan(self, key: str, now: float) -> None:
        if self.auto_scan_after_s is not None and key not in self._auto_scheduled:
            self._auto_scheduled.add(key)
            self._auto_bind_at[key] = now + self.auto_scan_after_s

    def _check_model(self, model_id: object) -> None:
        if model_id not in self.model_ids:
            raise ApiError(600038, "model_id not exist")

    def _device(self, device_sn: object) -> Device:
        if not valid_sn(device_sn):
            raise ApiError(600001, "invalid device_sn")
        assert isinstance(device_sn, str)
        device = self._devices.get(sn_key(device_sn))
        if device is None:
            raise ApiError(600001, "device_sn not exist")
        return device

    def polled(self, device_sn: object) -> Device:
        """A device someone asks about; starts its automatic scan timer on the first poll."""
        with self._lock:
            self._apply_due()
            device = self._device(device_sn)
            if not device.bound:
                self._schedule_auto_scan(sn_key(device.device_sn), self._clock())
            return device

    def device_auth_info(self, device_sn: object) -> Device:
        with self._lock:
            device = self.polled(device_sn)
            if not device.bound:
                raise ApiError(600004, "hardware not authorized by any corp")
            return device

    def del_device(self, device_sn: object) -> None:
        with self._lock:
            device = self._device(device_sn)
            if device.ever_bound:
                raise ApiError(ERR_BOUND_CANNOT_DELETE, "device has been bound, cannot delete")
            key = sn_key(device.device_sn)
            del self._devices[key]
            self._auto_bind_at.pop(key, None)
            self._auto_scheduled.discard(key)
            self._save()

    def list_devices(self, offset: object = 0, limit: object = 100) -> list[Device]:
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise ApiError(ERR_BAD_PARAM, "invalid offset")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
            raise ApiError(ERR_BAD_PARAM, "invalid limit")
        with self._lock:
            return list(self._devices.values())[offset : offset + limit]

    def all_devices(self) -> list[Device]:
        with self._lock:
            self._apply_due()
            return [Device(**asdict(d)) for d in self._devices.values()]

    def find(self, device_sn: str) -> Device | None:
        with self._lock:
            self._apply_due()
            device = self._devices.get(sn_key(device_sn))
            return None if device is None else Device(**asdict(device))

    # --- binding ---------------------------------------------------------------------------

    def bind(
        self,
        device_sn: object,
        corpid: str | None = None,
        corp_name: str | None = None,
        remark_name: str | None = None,
    ) -> Device:
        """The enterprise admin scanned the device's code: bind it, start the app's install."""
        with self._lock:
            self._apply_due()
            device = self._device(device_sn)
            corpid = corpid or DEFAULT_CORPID
            if not re.fullmatch(r"[0-9A-Za-z_-]{1,64}", corpid):
                raise ApiError(400, "invalid corpid", 400)
            corp_name = corp_name or self._corp_name(corpid)
            if device.bound and device.corpid != corpid:
                raise ApiError(409, "device is bound to another corp; unbind it first", 409)
            self._bind(device, corpid, corp_name, remark_name)
            self._save()
            return Device(**asdict(device))

    def _corp_name(self, corpid: str) -> str:
        if corpid in self._installations:
            return self._installations[corpid].corp_name
        return TEST_CORPS.get(corpid, f"测试企业 {corpid}")

    def _bind(
        self,
        device: Device,
        corpid: str,
        corp_name: str,
        remark_name: str | None,
        at: float | None = None,
    ) -> None:
        now = self._clock() if at is None else at
        if not device.bound:
            device.bind_time = int(now)
        device.corpid, device.corp_name = corpid, corp_name
        device.remark_name = remark_name or device.remark_name or device.model_id
        device.ever_bound = True
        self._auto_bind_at.pop(sn_key(device.device_sn), None)
        if corpid not in self._installations:
            self._installations[corpid] = Installation(corp_name, now + self.install_delay_s)

    def unbind(self, device_sn: object) -> Device:
        with self._lock:
            self._apply_due()
            device = self._device(device_sn)
            device.corpid = device.corp_name = None
            device.bind_time = None
            self._save()
            return Device(**asdict(device))

    def scan(self, qr_url: str, corpid: str | None = None, corp_name: str | None = None) -> Device:
        """An admin scans a binding QR: static (hw_code) or dynamic (signed, 30 minutes)."""
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(qr_url)
        if f"{parts.scheme}://{parts.netloc}{parts.path}" != STATIC_QR_BASE:
            raise ApiError(400, "not a WeCom hardware binding QR code", 400)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        with self._lock:
            if "hw_code" in query:
                for device in self._devices.values():
                    if device.hw_code == query["hw_code"]:
                        return self.bind(device.device_sn, corpid, corp_name)
                raise ApiError(600001, "unknown hw_code", 404)
            try:
                sn, ts, nonce, sig = (query[k] for k in ("sn", "timestamp", "nonce", "signature"))
                ts_value = int(ts)
            except (KeyError, ValueError) as exc:
                raise ApiError(400, "incomplete dynamic QR code", 400) from exc
            if query.get("type") != "qrcode" or not re.fullmatch(r"[0-9A-Za-z]{8,32}", nonce):
                raise ApiError(400, "malformed dynamic QR code", 400)
            device = self._device(sn)
            if not secrets.compare_digest(sig, dynamic_signature(sn, device.secret_no, ts, nonce)):
                raise ApiError(600005, "hardware secret invalid: signature mismatch", 400)
            if abs(self._clock() - ts_value) > DYNAMIC_QR_TTL_S:
                raise ApiError(ERR_QR_EXPIRED, "qr code expired", 400)
            return self.bind(device.device_sn, corpid, corp_name)

    def _apply_due(self) -> None:
        """Perform automatic scans whose time has come (evaluated lazily on every look)."""
        if not self._auto_bind_at:
            return
        now = self._clock()
        due = [(at, key) for key, at in self._auto_bind_at.items() if at <= now]
        for at, key in sorted(due):
            device = self._devices.get(key)
            self._auto_bind_at.pop(key, None)
            if device is not None and not device.bound:
                self._bind(device, DEFAULT_CORPID, self._corp_name(DEFAULT_CORPID), None, at)
        if due:
            self._save()

    # --- C: partner service ----------------------------------------------------------------

    def partner_register(
        self, model_id: object, hw_id: object, device_sn: object = None
    ) -> tuple[Device, Board]:
        with self._lock:
            self._check_model(model_id)
            assert isinstance(model_id, str)
            if not isinstance(hw_id, str) or not HW_ID_PATTERN.fullmatch(hw_id.lower()):
                raise ApiError(ERR_BAD_PARAM, "invalid hw_id: lower-case hex, no separators")
            hw_id = hw_id.lower()
            if device_sn is not None and not valid_sn(device_sn):
                raise ApiError(600001, "invalid device_sn")
            board = self._boards.get(hw_id)
            if board is not None:
                if device_sn is not None and sn_key(str(device_sn)) != sn_key(board.device_sn):
                    raise ApiError(600002, "this board already has another device_sn")
            else:
                sn = str(device_sn) if device_sn is not None else self.sn_prefix + hw_id.upper()
                if not valid_sn(sn):
                    raise ApiError(600001, "invalid device_sn")
                if sn_key(sn) in self._devices:
                    raise ApiError(600002, "device_sn already exists")
                board = Board(sn, model_id, secrets.token_hex(16))
                self._boards[hw_id] = board
            device = self._devices.get(sn_key(board.device_sn))
            if device is None:
                # Registered on the WeCom side too (again, if it was deleted there), so that
                # binding and A3 behave the same in both modes.
                device = self._new_device(
                    board.model_id, board.device_sn, board.credential, "partner"
                )
            self._save()
            return Device(**asdict(device)), Board(**asdict(board))

    def installation(self, corpid: str) -> Installation | None:
        """The companion app in ``corpid``, or None before any device was bound there."""
        with self._lock:
            self._apply_due()
            inst = self._installations.get(corpid)
            return None if inst is None else Installation(**asdict(inst))

    def installed(self, corpid: str | None) -> Installation | None:
        """The installation when the app is installed by now, else None."""
        if corpid is None:
            return None
        inst = self.installation(corpid)
        if inst is None or inst.install_at > self._clock():
            return None
        return inst


def dynamic_signature(sn: str, secret_no: str, ts: str, nonce: str) -> str:
    """Spec B: SHA-1 of the five raw values sorted as byte strings, lower-case hex."""
    import hashlib

    parts = sorted(v.encode() for v in (sn, secret_no, ts, nonce, "qrcode"))
    return hashlib.sha1(b"".join(parts)).hexdigest()
