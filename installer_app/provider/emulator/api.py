"""The provider-facing endpoints: WeCom's provider API (spec A) and the partner service (spec C)."""

from __future__ import annotations

import hmac
from typing import Any

from installer_app.provider.emulator.records import ERR_NEED_POST, ApiError, Device
from installer_app.provider.emulator.state import EmulatorState
from installer_app.provider.emulator.suite import (
    OPEN_CORPID_API,
    SUITE_APIS,
    SuiteSide,
    open_corpid,
)
from installer_app.provider.emulator.wire import Request, Response, json_response, ok

WECOM_PREFIX = "/cgi-bin/service/"
PARTNER_PREFIX = "/v1/"


class WecomApi:
    """A1-A4. Errors answer HTTP 200 with an errcode, as WeCom does."""

    def __init__(self, state: EmulatorState, suite: SuiteSide | None = None) -> None:
        self.state = state
        self.suite = suite or SuiteSide()

    def handle(self, req: Request, name: str) -> Response:
        if req.method != "POST":
            raise ApiError(ERR_NEED_POST, "require POST method")
        if name in SUITE_APIS:
            return self.suite.handle(req, name)
        if name == "get_provider_token":
            body = req.json()
            token, expires_in = self.state.issue_token(
                body.get("corpid"), body.get("provider_secret")
            )
            # WeCom's token answer carries no errcode on success (the spec: absent means OK).
            return json_response({"provider_access_token": token, "expires_in": expires_in})
        self.state.check_token(req.query.get("provider_access_token"))
        body = req.json()
        if name == OPEN_CORPID_API:
            corpid = body.get("corpid")
            if not isinstance(corpid, str) or not corpid:
                raise ApiError(40013, "invalid corpid")
            return ok(open_corpid=open_corpid(corpid))
        if name == "add_device":
            device = self.state.add_device(body.get("model_id"), body.get("device_sn"))
            return ok(device_info=device_info(device))
        if name == "get_device_auth_info":
            device = self.state.device_auth_info(body.get("device_sn"))
            return ok(
                auth_corp_info={"corpid": device.corpid, "corp_name": device.corp_name},
                device_info={"remark_name": device.remark_name, "model_id": device.model_id},
            )
        if name == "del_device":
            self.state.del_device(body.get("device_sn"))
            return ok()
        if name == "list_device":
            devices = self.state.list_devices(body.get("offset", 0), body.get("limit", 100))
            return ok(
                device_list=[{"device_sn": d.device_sn, "model_id": d.model_id} for d in devices]
            )
        raise ApiError(404, f"unknown api {name}", 404)


def device_info(device: Device) -> dict[str, Any]:
    """A2's ``device_info`` of a registered device."""
    return {
        "model_id": device.model_id,
        "device_sn": device.device_sn,
        "create_time": device.create_time,
        "secret_no": device.secret_no,
        "device_id": device.device_id,
        "qr_code": device.qr_code,
    }


class PartnerApi:
    """C. Bearer token; 401/404/429 as HTTP statuses, other errcodes with HTTP 200."""

    def __init__(self, state: EmulatorState, partner_token: str) -> None:
        self.state = state
        self._token = partner_token

    def authorize(self, req: Request) -> None:
        header = req.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), self._token.encode()
        ):
            raise ApiError(401, "invalid or revoked installer token", 401)

    def register(self, req: Request) -> Response:
        body = req.json()
        device, board = self.state.partner_register(
            body.get("model_id"), body.get("hw_id"), body.get("device_sn")
        )
        return ok(device_sn=board.device_sn, credential=board.credential, qr_code=device.qr_code)

    def device(self, req: Request) -> Response:
        try:
            device = self.state.polled(req.params["sn"])
        except ApiError as exc:
            raise ApiError(600001, exc.errmsg, 404) from exc
        corp = {"corpid": device.corpid, "corp_name": device.corp_name} if device.bound else None
        return ok(device_sn=device.device_sn, bind_status=1 if device.bound else 0, corp=corp)

    def installation(self, req: Request) -> Response:
        inst = self.state.installed(req.params["corpid"])
        return ok(
            installed=inst is not None,
            agentid=inst.agentid if inst else None,
            auth_time=int(inst.install_at) if inst else None,
        )
