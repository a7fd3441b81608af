"""The emulator's third-party suite side (the companion app, team-server.md): WeCom's
``get_suite_token`` and ``get_permanent_code``, and the signed, encrypted callbacks WeCom pushes
to the partner's callback URL (``suite_ticket``, ``create_auth``, ``cancel_auth``) when an
enterprise installs or removes the companion app. Message crypto: provider/wecom_crypto.py.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from installer_app.provider.emulator.records import COMPANION_AGENTID, ApiError
from installer_app.provider.emulator.wire import Request, Response, json_response, ok
from installer_app.provider.wecom_crypto import MessageCrypto
from installer_app.secrets import Secret

SUITE_APIS = ("get_suite_token", "get_permanent_code")
# Needs the provider token (checked by the caller, api.py), not the suite's.
OPEN_CORPID_API = "corpid_to_opencorpid"


def open_corpid(corpid: str) -> str:
    """The provider-level open corpid WeCom hands third-party apps for ``corpid`` (stable)."""
    return "wo" + hashlib.sha256(corpid.encode("utf-8")).hexdigest()[:30]


ERR_BAD_SUITE = 40082  # invalid suite_id / secret / ticket
ERR_BAD_AUTH_CODE = 40084


@dataclass
class SuiteConfig:
    suite_id: str = "wwsuite0000000001"
    suite_secret: str = "emulator-suite-secret"
    callback_token: str = "emulatorCallbackToken"
    # 43 characters of Base64 (32 bytes): the EncodingAESKey the provider admin would show.
    callback_aes_key: str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    callback_url: str | None = None


@dataclass
class _Auth:
    corpid: str
    corp_name: str


@dataclass
class SuiteSide:
    config: SuiteConfig = field(default_factory=SuiteConfig)
    ticket: str = ""
    _tokens: set[str] = field(default_factory=set)
    _codes: dict[str, _Auth] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    pushed: list[tuple[str, int]] = field(default_factory=list)  # (InfoType, HTTP status)

    def handle(self, req: Request, name: str) -> Response:
        body = req.json()
        with self._lock:
            if name == "get_suite_token":
                if (
                    body.get("suite_id") != self.config.suite_id
                    or body.get("suite_secret") != self.config.suite_secret
                    or not self.ticket
                    or body.get("suite_ticket") != self.ticket
                ):
                    raise ApiError(ERR_BAD_SUITE, "invalid suite_id, suite_secret or suite_ticket")
                token = "suite-" + secrets.token_hex(12)
                self._tokens.add(token)
                return json_response({"suite_access_token": token, "expires_in": 7200})
            if req.query.get("suite_access_token") not in self._tokens:
                raise ApiError(40014, "invalid suite_access_token")
            auth = self._codes.pop(str(body.get("auth_code", "")), None)
            if auth is None:
                raise ApiError(ERR_BAD_AUTH_CODE, "invalid auth_code")
            return ok(
                permanent_code="perm-" + secrets.token_hex(16),
                # A third-party app sees the enterprise by its open corpid.
                auth_corp_info={"corpid": open_corpid(auth.corpid), "corp_name": auth.corp_name},
                auth_info={"agent": [{"agentid": COMPANION_AGENTID, "name": "companion"}]},
            )

    def crypto(self) -> MessageCrypto:
        return MessageCrypto(
            Secret(self.config.callback_token),
            Secret(self.config.callback_aes_key),
            self.config.suite_id,
        )

    def _push(self, info_type: str, fields: dict[str, str]) -> int:
        url = self.config.callback_url
        if not url:
            return 0
        inner = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
        plain = (
            f"<xml><SuiteId><![CDATA[{self.config.suite_id}]]></SuiteId>"
            f"<InfoType><![CDATA[{info_type}]]></InfoType>"
            f"<TimeStamp>{int(time.time())}</TimeStamp>{inner}</xml>"
        )
        crypto = self.crypto()
        encrypted = crypto.encrypt(plain)
        timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**9))
        query = urlencode(
            {
                "msg_signature": crypto.sign(timestamp, nonce, encrypted),
                "timestamp": timestamp,
                "nonce": nonce,
            }
        )
        body = (
            f"<xml><ToUserName><![CDATA[{self.config.suite_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID></AgentID></xml>"
        )
        sep = "&" if "?" in url else "?"
        try:
            status = httpx.post(f"{url}{sep}{query}", content=body.encode(), timeout=10).status_code
        except httpx.HTTPError:
            status = 0
        self.pushed.append((info_type, status))
        return status

    def push_ticket(self) -> int:
        with self._lock:
            self.ticket = "ticket-" + secrets.token_hex(12)
            ticket = self.ticket
        return self._push("suite_ticket", {"SuiteTicket": ticket})

    def install(self, corpid: str, corp_name: str) -> dict[str, Any]:
        """An enterprise installs the companion app: a fresh ticket, then ``create_auth``."""
        if not self.ticket:
            self.push_ticket()
        code = "auth-" + secrets.token_hex(12)
        with self._lock:
            self._codes[code] = _Auth(corpid, corp_name)
        status = self._push("create_auth", {"AuthCode": code})
        return {"auth_code_issued": True, "callback_status": status}

    def cancel(self, corpid: str) -> int:
        return self._push("cancel_auth", {"AuthCorpId": open_corpid(corpid)})
