"""Client of the WeCom provider API for smart hardware (spec section A, direct mode).

Blocking and thread-safe: one keep-alive connection and one token cache per client, shared by all
threads. Every call fetches the provider token through the cache; when WeCom refuses it early
(40014/42001) the client drops it, fetches a new one once (behind the cache's lock) and repeats the
request once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from installer_app.formats import is_secret_no, is_sn
from installer_app.provider.errors import (
    NotBound,
    ProviderError,
    TokenInvalid,
    bad_sn,
    wecom_error,
)
from installer_app.provider.http import DEFAULT_OPTIONS, HttpOptions, JsonClient, errcode_of
from installer_app.provider.token_cache import TokenCache
from installer_app.secrets import Secret

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
LIST_PAGE_SIZE = 100


@dataclass(frozen=True)
class CorpBinding:
    """The enterprise a device is bound to."""

    corpid: str
    corp_name: str


@dataclass(frozen=True)
class RegisteredDevice:
    device_sn: str
    secret_no: Secret
    device_id: str
    qr_code: str
    model_id: str


@dataclass(frozen=True)
class ListedDevice:
    device_sn: str
    model_id: str


def check_sn(sn: str) -> str:
    """The SN rule of spec A2 (``formats``), checked before it goes on the wire (or into a URL
    path)."""
    if not is_sn(sn):
        raise bad_sn()
    return sn


def _map_wecom_error(
    status: int, data: Mapping[str, Any], retry_after: float | None
) -> ProviderError | None:
    if status == 429:
        return wecom_error(45009, retry_after_s=retry_after)
    if not data:
        return None
    errcode = errcode_of(data)
    if errcode == 0:
        return None
    return wecom_error(errcode, str(data.get("errmsg", "")))


class WecomClient(JsonClient):
    def __init__(
        self,
        base_url: str,
        corpid: str,
        provider_secret: Secret,
        options: HttpOptions = DEFAULT_OPTIONS,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(base_url, map_error=_map_wecom_error, options=options)
        self.corpid = corpid
        self._secret = provider_secret
        self.tokens = TokenCache(self._fetch_token, clock=clock)

    # -- token -------------------------------------------------------------------------------

    def _fetch_token(self) -> tuple[Secret, float]:
        data = self._http.request(
            "POST",
            "/cgi-bin/service/get_provider_token",
            body={"corpid": self.corpid, "provider_secret": self._secret.reveal()},
        )
        token = data.get("provider_access_token")
        expires_in = data.get("expires_in", 7200)
        if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
            raise self._bad_answer()
        return Secret(token), float(expires_in)

    def get_provider_token(self) -> Secret:
        """The cached provider access token (fetched when missing or nearly expired)."""
        return self.tokens.get()

    def _call(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        token = self.tokens.get()
        try:
            return self._http.request(
                "POST", path, params={"provider_access_token": token}, body=body
            )
        except TokenInvalid:
            stale = token
        # Outside the except block: a second refusal is raised without the first as context.
        self.tokens.invalidate(stale)
        token = self.tokens.get()
        return self._http.request("POST", path, params={"provider_access_token": token}, body=body)

    # -- A2 ----------------------------------------------------------------------------------

    def add_device(self, model_id: str, sn: str) -> RegisteredDevice:
        """Register ``sn`` and get its SecretNo. 600021/600036 raise SnAlreadyRegistered."""
        check_sn(sn)
        data = self._call("/cgi-bin/service/add_device", {"model_id": model_id, "device_sn": sn})
        info = data.get("device_info")
        if not isinstance(info, dict):
            raise self._bad_answer()
        secret_no = info.get("secret_no")
        device_sn = info.get("device_sn", sn)
        if (
            not isinstance(secret_no, str)
            or not is_secret_no(secret_no)
            or not isinstance(device_sn, str)
        ):
            raise self._bad_answer()
        return RegisteredDevice(
            device_sn=device_sn,
            secret_no=Secret(secret_no),
            device_id=str(info.get("device_id", "")),
            qr_code=str(info.get("qr_code", "")),
            model_id=str(info.get("model_id", model_id)),
        )

    # -- A3 ----------------------------------------------------------------------------------

    def get_device_auth_info(self, sn: str) -> CorpBinding | None:
        """The enterprise ``sn`` is bound to, or None while it is not bound (600004)."""
        check_sn(sn)
        try:
            data = self._call("/cgi-bin/service/get_device_auth_info", {"device_sn": sn})
        except NotBound:
            return None
        corp = data.get("auth_corp_info")
        if not isinstance(corp, dict) or not isinstance(corp.get("corpid"), str):
            raise self._bad_answer()
        return CorpBinding(corpid=corp["corpid"], corp_name=str(corp.get("corp_name", "")))

    # -- A4 ----------------------------------------------------------------------------------

    def del_device(self, sn: str) -> None:
        check_sn(sn)
        self._call("/cgi-bin/service/del_device", {"device_sn": sn})

    def list_devices(self, page_size: int = LIST_PAGE_SIZE) -> list[ListedDevice]:
        """Every registered SN, page by page until a page shorter than ``page_size``."""
        devices: list[ListedDevice] = []
        offset = 0
        while True:
            page = self._list_page(offset, page_size)
            devices.extend(page)
            if len(page) < page_size:
                return devices
            offset += page_size

    def _list_page(self, offset: int, limit: int) -> list[ListedDevice]:
        data = self._call("/cgi-bin/service/list_device", {"offset": offset, "limit": limit})
        items = data.get("device_list", [])
        if not isinstance(items, list):
            raise self._bad_answer()
        return [
            ListedDevice(
                device_sn=str(item.get("device_sn", "")), model_id=str(item.get("model_id", ""))
            )
            for item in items
            if isinstance(item, dict)
        ]

    def check(self) -> None:
        """Prove the corpid and provider secret work: a token, then one harmless read."""
        self.get_provider_token()
        self._list_page(0, 1)
