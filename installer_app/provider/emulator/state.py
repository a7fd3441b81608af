"""What the provider emulator knows, and WeCom's rules over it.

One ``EmulatorState`` holds the registered devices, their bindings, the partner service's boards
and installations, and the provider tokens it issued. Every method takes the one lock, so the HTTP
handler threads and the control methods see a consistent picture. Rule violations raise
``ApiError`` with WeCom's errcode; the HTTP layer turns that into a response.

Persistent parts (devices, boards, installations, tokens) are written to the state file after every
change (state_file.py). Counters and the armed faults (faults.py) live only in memory: they belong
to one run. The records and the stateless rules are in records.py.

Time is wall-clock (``clock``, injectable for unit tests) because token expiry and install times
are persisted and must survive a restart.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from installer_app.provider.emulator import state_file
from installer_app.provider.emulator.faults import FaultBook
from installer_app.provider.emulator.records import (
    DEFAULT_CORPID,
    DYNAMIC_QR_TTL_S,
    ERR_BAD_PARAM,
    ERR_BOUND_CANNOT_DELETE,
    ERR_QR_EXPIRED,
    ERR_TOKEN_MISSING,
    HW_ID_PATTERN,
    STATIC_QR_BASE,
    TEST_CORPS,
    ApiError,
    Board,
    Device,
    Installation,
    dynamic_signature,
    sn_key,
    valid_sn,
)

# Tokens kept at most (oldest forgotten first): a client in a retry loop cannot grow the file.
_MAX_TOKENS = 1000


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
        self.faults = FaultBook()
        # Called with (corpid, corp_name) when an enterprise binds its first device: the
        # companion app's install, which the suite side reports to a callback URL (suite.py).
        self.on_new_installation: Callable[[str, str], None] | None = None
        if path is not None:
            loaded = state_file.load(path)
            self._devices, self._boards = loaded.devices, loaded.boards
            self._installations, self._tokens = loaded.installations, loaded.tokens

    # --- persistence -----------------------------------------------------------------------

    def _save(self) -> None:
        if self.path is not None:
            state_file.save(
                self.path,
                state_file.Persisted(
                    self._devices, self._boards, self._installations, self._tokens
                ),
            )

    # --- counters --------------------------------------------------------------------------

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
                **self.faults.stats(),
            }

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
            self.faults.clear()
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
            if self.on_new_installation is not None:
                self.on_new_installation(corpid, corp_name)

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
