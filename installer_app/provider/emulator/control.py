"""Control endpoints under ``/_emulator/``: what tests, demos and the operator page drive.

No authentication: the emulator listens on loopback by default. A form post (from the operator
page without JavaScript) is answered with a redirect back to the page instead of JSON.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from installer_app.provider.emulator.records import ApiError, Device
from installer_app.provider.emulator.state import EmulatorState
from installer_app.provider.emulator.wire import Request, Response, json_response, ok

CONTROL_PREFIX = "/_emulator/"


def device_view(state: EmulatorState, device: Device) -> dict[str, Any]:
    """The binding probe's answer: exactly these keys (the device simulator reads them)."""
    inst = state.installed(device.corpid)
    return {
        "device_sn": device.device_sn,
        "bound": device.bound,
        "corpid": device.corpid,
        "corp_name": device.corp_name,
        "app_installed": inst is not None,
        "agentid": inst.agentid if inst else None,
    }


def device_row(state: EmulatorState, device: Device) -> dict[str, Any]:
    """The probe's keys plus what the listing and the page show (never the SecretNo)."""
    inst = state.installation(device.corpid) if device.corpid else None
    return {
        **device_view(state, device),
        "model_id": device.model_id,
        "create_time": device.create_time,
        "bind_time": device.bind_time,
        "source": device.source,
        "qr_code": device.qr_code,
        "install_at": inst.install_at if inst else None,
    }


def _str(body: dict[str, Any], key: str, required: bool = False) -> str | None:
    value = body.get(key)
    if value in (None, ""):
        if required:
            raise ApiError(400, f"{key} is required", 400)
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{key} must be a string", 400)
    return value


def _number(body: dict[str, Any], key: str, default: float | None = None) -> float | None:
    value = body.get(key, default)
    if value in (None, ""):
        return default
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, f"{key} must be a number", 400) from exc


class ControlApi:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def handle(self, req: Request, name: str) -> Response:
        if req.method == "GET":
            return self._get(req, name)
        if req.method != "POST":
            raise ApiError(405, "method not allowed", 405)
        body = req.json()
        try:
            result = self._post(name, body)
        except ApiError as exc:
            if req.is_form:
                return _back_to_page(f"{exc.errcode}: {exc.errmsg}")
            if exc.http_status == 200:
                # A WeCom rule met through the control API: say so with an HTTP status too.
                exc.http_status = 404 if exc.errcode == 600001 else 400
            raise
        note = str(result.pop("note", ""))
        if req.is_form:
            return _back_to_page(note)
        return ok(**result)

    def _get(self, req: Request, name: str) -> Response:
        state = self.state
        if name == "devices":
            return ok(devices=[device_row(state, d) for d in state.all_devices()])
        if name.startswith("devices/"):
            device = state.find(name.removeprefix("devices/"))
            if device is None:
                raise ApiError(600001, "device_sn not exist", 404)
            state.polled(device.device_sn)  # the probe counts as a poll for the automatic scan
            refreshed = state.find(device.device_sn)
            assert refreshed is not None
            return json_response(device_view(state, refreshed))
        if name == "stats":
            return ok(**state.stats())
        raise ApiError(404, f"unknown control endpoint {name}", 404)

    def _post(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        state = self.state
        if name == "bind":
            device = state.bind(
                _str(body, "device_sn", True),
                _str(body, "corpid"),
                _str(body, "corp_name"),
                _str(body, "remark_name"),
            )
            return {"device": device_view(state, device), "note": f"bound {device.device_sn}"}
        if name == "scan":
            qr_url = _str(body, "qr_url", True)
            assert qr_url is not None
            device = state.scan(qr_url.strip(), _str(body, "corpid"), _str(body, "corp_name"))
            return {"device": device_view(state, device), "note": f"bound {device.device_sn}"}
        if name == "unbind":
            device = state.unbind(_str(body, "device_sn", True))
            return {"device": device_view(state, device), "note": f"unbound {device.device_sn}"}
        if name == "expire_tokens":
            invalidate = body.get("invalidate") in (True, "1", "true")
            return {"tokens": state.expire_tokens(invalidate=invalidate)}
        if name == "inject":
            errcode, status = _number(body, "errcode"), _number(body, "http_status")
            count = _number(body, "count", 1)
            state.faults.inject(
                _str(body, "path") or "*",
                errcode=None if errcode is None else int(errcode),
                http_status=None if status is None else int(status),
                retry_after=_number(body, "retry_after"),
                count=int(count or 1),
            )
            return {"injections": state.faults.stats()["injections"]}
        if name == "latency":
            seconds = _number(body, "seconds")
            if seconds is None:
                raise ApiError(400, "seconds is required", 400)
            state.faults.set_latency(seconds)
            return {"latency_s": seconds}
        if name == "clear_faults":
            state.faults.clear()
            return {}
        if name == "reset":
            state.reset()
            return {"note": "reset"}
        raise ApiError(404, f"unknown control endpoint {name}", 404)


def _back_to_page(note: str) -> Response:
    return Response(303, b"", "text/plain; charset=utf-8", {"Location": "/?note=" + quote(note)})
