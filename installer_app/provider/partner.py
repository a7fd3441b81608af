"""Client of the partner service (spec section C): cloud-to-cloud credentials, bindings, and
whether the companion app is installed in an enterprise (both modes).

Requests carry ``Authorization: Bearer <installer token>``; the header value is revealed only when
the request is built and httpx does not log headers. Blocking and thread-safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from installer_app.formats import is_secret_no
from installer_app.provider.errors import ProviderError, partner_error
from installer_app.provider.http import DEFAULT_OPTIONS, HttpOptions, JsonClient, errcode_of
from installer_app.provider.wecom import CorpBinding, check_sn
from installer_app.secrets import Secret


@dataclass(frozen=True)
class PartnerDevice:
    device_sn: str
    credential: Secret
    qr_code: str


@dataclass(frozen=True)
class Installation:
    """Whether the partner's callback server saw the companion app installed (create_auth)."""

    installed: bool
    agentid: int | None
    auth_time: int | None


def map_partner_error(
    status: int, data: Mapping[str, Any], retry_after: float | None
) -> ProviderError | None:
    errcode = errcode_of(data) if data else None
    # The status decides first: a proxy's 401, 404 or 429 page carries no errcode.
    errcode = {401: 401, 403: 403, 429: 429, 404: 600001}.get(status, errcode)
    if errcode is None or errcode == 0:
        return None
    return partner_error(errcode, str(data.get("errmsg", "")), retry_after_s=retry_after)


def _optional_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class PartnerClient(JsonClient):
    def __init__(
        self,
        base_url: str,
        token: Secret,
        options: HttpOptions = DEFAULT_OPTIONS,
    ) -> None:
        super().__init__(
            base_url,
            map_error=map_partner_error,
            options=options,
            headers={"Authorization": Secret("Bearer " + token.reveal())},
        )

    def register_device(
        self, model_id: str, hw_id_hex: str, device_sn: str | None = None
    ) -> PartnerDevice:
        """The SN and credential for this board; the same board always gets the same ones."""
        hw_id = hw_id_hex.lower().replace(":", "").replace("-", "")
        body: dict[str, Any] = {"model_id": model_id, "hw_id": hw_id}
        if device_sn is not None:
            body["device_sn"] = check_sn(device_sn)
        data = self._http.request("POST", "/v1/devices", body=body)
        sn = data.get("device_sn")
        credential = data.get("credential")
        if (
            not isinstance(sn, str)
            or not isinstance(credential, str)
            or not is_secret_no(credential)
        ):
            raise self._bad_answer()
        return PartnerDevice(
            device_sn=sn, credential=Secret(credential), qr_code=str(data.get("qr_code", ""))
        )

    def get_device(self, sn: str) -> CorpBinding | None:
        """The enterprise ``sn`` is bound to, or None while it is not bound."""
        data = self._http.request("GET", "/v1/devices/" + quote(check_sn(sn), safe=""))
        corp = data.get("corp")
        if data.get("bind_status") != 1 or not isinstance(corp, dict):
            return None
        corpid = corp.get("corpid")
        if not isinstance(corpid, str):
            raise self._bad_answer()
        return CorpBinding(corpid=corpid, corp_name=str(corp.get("corp_name", "")))

    def get_installation(self, corpid: str) -> Installation:
        data = self._http.request("GET", "/v1/installations/" + quote(corpid, safe=""))
        installed = data.get("installed")
        if not isinstance(installed, bool):
            raise self._bad_answer()
        return Installation(
            installed=installed,
            agentid=_optional_int(data.get("agentid")),
            auth_time=_optional_int(data.get("auth_time")),
        )

    def check(self, corpid: str) -> None:
        """Prove the URL and installer token work with one harmless read."""
        self.get_installation(corpid or "check")
