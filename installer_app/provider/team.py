"""Client of the team server's laptop API (team-server.md, C1-C5, and ``GET /v1/me``).

The team server is the partner service made real, so this is the partner client (C1 credentials,
C2 bindings, C3 the companion app) with what only the team server has: who the token belongs to,
C2's long-poll, C4 events and C5 leases. Every request names this laptop (``X-Installer-Laptop``)
for the server's audit table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from installer_app.formats import is_secret_no
from installer_app.provider.http import DEFAULT_OPTIONS, HttpOptions, JsonClient, RetryPolicy
from installer_app.provider.partner import PartnerClient, map_partner_error
from installer_app.provider.wecom import CorpBinding, check_sn
from installer_app.secrets import Secret

LAPTOP_HEADER = "X-Installer-Laptop"
MAX_EVENTS_PER_BATCH = 500  # C4
MAX_LEASE = 200  # C5
MAX_WAIT_S = 30.0  # C2 ?wait=


@dataclass(frozen=True)
class Me:
    installer: str
    role: str


@dataclass(frozen=True)
class DeviceState:
    """C2: where the server has a device."""

    device_sn: str
    stage: str
    binding: CorpBinding | None
    app_installed: bool
    agentid: int | None


@dataclass(frozen=True)
class LeasedItem:
    device_sn: str
    credential: Secret
    qr_code: str


@dataclass(frozen=True)
class Lease:
    lease_id: str
    expires_at: datetime
    credentials: tuple[LeasedItem, ...]


# The states a site's device can be in (``GET /v1/sites/{corpid}``, docs/server.md).
SITE_STATES = ("app_installed", "bound", "failed", "skipped", "unfinished")


@dataclass(frozen=True)
class SiteDevice:
    """One board of a site as the team server knows it (text as a laptop reported it)."""

    device_sn: str
    hw_id: str
    model_id: str
    location: str
    state: str  # one of SITE_STATES
    app_installed: bool | None
    at: datetime
    installer: str
    detail: str


@dataclass(frozen=True)
class Site:
    corpid: str
    corp_name: str
    devices: tuple[SiteDevice, ...]


@dataclass(frozen=True)
class EventsAnswer:
    accepted: int
    duplicates: int
    refused: dict[str, str]  # event id -> "errcode: errmsg"


class TeamClient(PartnerClient):
    def __init__(
        self,
        base_url: str,
        token: Secret,
        options: HttpOptions = DEFAULT_OPTIONS,
        *,
        laptop: str = "",
    ) -> None:
        JsonClient.__init__(
            self,
            base_url,
            map_error=map_partner_error,
            options=options,
            headers={
                "Authorization": Secret("Bearer " + token.reveal()),
                LAPTOP_HEADER: laptop[:128],
            },
        )

    def me(self) -> Me:
        data = self._http.request("GET", "/v1/me")
        installer, role = data.get("installer"), data.get("role")
        if not isinstance(installer, str) or not installer or not isinstance(role, str):
            raise self._bad_answer()
        return Me(installer, role)

    def device_state(
        self, sn: str, wait_s: float = 0.0, *, seen_bound: bool | None = None
    ) -> DeviceState:
        """C2; with ``wait_s`` the server holds the answer until the device changes (or then).
        ``seen_bound``: the binding the caller last saw, so that the server answers at once
        when it already differs (``bind_status``, this app's addition to C2)."""
        params: dict[str, str] | None = None
        if wait_s > 0:
            params = {"wait": f"{min(MAX_WAIT_S, wait_s):g}"}
            if seen_bound is not None:
                params["bind_status"] = "1" if seen_bound else "0"
        data = self._http.request(
            "GET", "/v1/devices/" + quote(check_sn(sn), safe=""), params=params
        )
        device_sn, stage = data.get("device_sn"), data.get("stage")
        if not isinstance(device_sn, str) or not isinstance(stage, str):
            raise self._bad_answer()
        corp = data.get("corp")
        binding: CorpBinding | None = None
        if data.get("bind_status") == 1 and isinstance(corp, dict):
            corpid = corp.get("corpid")
            if not isinstance(corpid, str) or not corpid:
                raise self._bad_answer()
            binding = CorpBinding(corpid=corpid, corp_name=str(corp.get("corp_name", "")))
        agentid = data.get("agentid")
        return DeviceState(
            device_sn=device_sn,
            stage=stage,
            binding=binding,
            app_installed=data.get("app_installed") is True,
            agentid=agentid if isinstance(agentid, int) and not isinstance(agentid, bool) else None,
        )

    def send_events(self, events: Sequence[dict[str, Any]]) -> EventsAnswer:
        """C4: at most 500 events; idempotent by event id."""
        data = self._http.request("POST", "/v1/events", body={"events": list(events)})
        accepted, duplicates = data.get("accepted"), data.get("duplicates")
        refused_list = data.get("refused", [])
        if (
            not isinstance(accepted, int)
            or not isinstance(duplicates, int)
            or not isinstance(refused_list, list)
        ):
            raise self._bad_answer()
        refused: dict[str, str] = {}
        for item in refused_list:
            if not isinstance(item, dict) or not isinstance(item.get("event_id"), str):
                raise self._bad_answer()
            refused[item["event_id"]] = f"{item.get('errcode')}: {item.get('errmsg', '')}"
        return EventsAnswer(accepted, duplicates, refused)

    def take_lease(self, model_id: str, count: int) -> Lease:
        """C5: ``count`` (1-200) credentials reserved to this installer for an offline site."""
        data = self._http.request("POST", "/v1/leases", body={"model_id": model_id, "count": count})
        lease_id, expires, items = (
            data.get("lease_id"),
            data.get("expires_at"),
            data.get("credentials"),
        )
        if not isinstance(lease_id, str) or not isinstance(expires, str):
            raise self._bad_answer()
        if not isinstance(items, list):
            raise self._bad_answer()
        try:
            expires_at = datetime.fromisoformat(expires)
        except ValueError:
            raise self._bad_answer() from None
        credentials: list[LeasedItem] = []
        for item in items:
            if not isinstance(item, dict):
                raise self._bad_answer()
            sn, credential = item.get("device_sn"), item.get("credential")
            if not isinstance(sn, str) or not isinstance(credential, str):
                raise self._bad_answer()
            if not is_secret_no(credential):
                raise self._bad_answer()
            credentials.append(
                LeasedItem(check_sn(sn), Secret(credential), str(item.get("qr_code") or ""))
            )
        return Lease(lease_id, expires_at, tuple(credentials))

    def return_lease(self, lease_id: str) -> int:
        """C5 DELETE: the lease's unused credentials go back to the pool; how many did."""
        data = self._http.request("DELETE", "/v1/leases/" + quote(lease_id, safe=""))
        returned = data.get("returned", 0)
        return returned if isinstance(returned, int) else 0

    def site(
        self, corpid: str, since: datetime | None, until: datetime | None, utc_offset_min: int
    ) -> Site:
        """Every board of one enterprise the team worked in ``since``..``until`` (local days
        ``utc_offset_min`` from UTC decide a site visit), from the server's records."""
        params = {"utc_offset": str(utc_offset_min)}
        if since is not None:
            params["since"] = since.isoformat()
        if until is not None:
            params["until"] = until.isoformat()
        data = self._http.request("GET", "/v1/sites/" + quote(corpid, safe=""), params=params)
        items, corp_name = data.get("devices"), data.get("corp_name", "")
        if not isinstance(items, list) or not isinstance(corp_name, str):
            raise self._bad_answer()
        return Site(corpid, corp_name, tuple(self._site_device(item) for item in items))

    def _site_device(self, item: Any) -> SiteDevice:
        if not isinstance(item, dict):
            raise self._bad_answer()
        text = {
            key: item.get(key)
            for key in ("device_sn", "hw_id", "model_id", "location", "installer", "detail")
        }
        state, app, at = item.get("state"), item.get("app_installed"), item.get("at")
        if (
            not all(isinstance(v, str) for v in text.values())
            or state not in SITE_STATES
            or not (app is None or isinstance(app, bool))
            or not isinstance(at, str)
        ):
            raise self._bad_answer()
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            raise self._bad_answer() from None
        if moment.tzinfo is None:
            raise self._bad_answer()
        return SiteDevice(
            device_sn=str(text["device_sn"]),
            hw_id=str(text["hw_id"]),
            model_id=str(text["model_id"]),
            location=str(text["location"]),
            state=str(state),
            app_installed=app,
            at=moment,
            installer=str(text["installer"]),
            detail=str(text["detail"]),
        )

    def reachable(self) -> bool:
        """Whether the server answers at all (``/healthz``, no retries)."""
        try:
            self.with_retry(RetryPolicy.no_retries())._http.request("GET", "/healthz")
        except Exception:  # noqa: BLE001 - any failure means "not now"
            return False
        return True
