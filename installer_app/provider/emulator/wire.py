"""The emulator's view of one HTTP exchange, independent of ``http.server``."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from installer_app.provider.emulator.records import ERR_BAD_JSON, ApiError


@dataclass
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # from the path template

    @property
    def is_form(self) -> bool:
        content_type = self.headers.get("content-type", "")
        return content_type.startswith("application/x-www-form-urlencoded")

    def json(self) -> dict[str, Any]:
        """The body as a JSON object (an empty body is ``{}``); WeCom's 47001 otherwise."""
        if self.is_form:
            form = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
            return {k: v[0] for k, v in form.items()}
        if not self.body.strip():
            return {}
        try:
            data = json.loads(self.body)
        except ValueError as exc:
            raise ApiError(ERR_BAD_JSON, "data format error: body is not JSON") from exc
        if not isinstance(data, dict):
            raise ApiError(ERR_BAD_JSON, "data format error: body is not a JSON object")
        return data


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(
    obj: Mapping[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
    return Response(status, body, headers=dict(headers or {}))


def ok(**fields: Any) -> Response:
    return json_response({"errcode": 0, "errmsg": "ok", **fields})


def error_response(exc: ApiError, headers: dict[str, str] | None = None) -> Response:
    return json_response({"errcode": exc.errcode, "errmsg": exc.errmsg}, exc.http_status, headers)


Handler = Callable[[Request], Response]
