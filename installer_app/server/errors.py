"""The laptop API's error answers: ``{"errcode": N, "errmsg": "..."}`` with the spec's status."""

from __future__ import annotations

ERR_BAD_INPUT = 40035
ERR_UNKNOWN_SN = 600001
ERR_CONFLICT = 600036
ERR_BAD_MODEL = 600042


class ApiFailure(Exception):
    """An answer other than success; the app's handler turns it into JSON."""

    def __init__(
        self,
        status: int,
        errcode: int,
        errmsg: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.status = status
        self.errcode = errcode
        self.errmsg = errmsg
        self.headers = headers or {}


def unauthorized() -> ApiFailure:
    return ApiFailure(401, 401, "invalid, revoked or expired token")


def forbidden() -> ApiFailure:
    return ApiFailure(403, 403, "this needs an admin token")


def unknown_sn() -> ApiFailure:
    return ApiFailure(404, ERR_UNKNOWN_SN, "unknown device_sn")


def pool_empty() -> ApiFailure:
    return ApiFailure(409, 409, "no credential left for this model")


def bad_model(model_id: str) -> ApiFailure:
    return ApiFailure(200, ERR_BAD_MODEL, "invalid model_id: not one this server serves")


def conflict(errmsg: str) -> ApiFailure:
    return ApiFailure(200, ERR_CONFLICT, errmsg)


def rate_limited(retry_after: float) -> ApiFailure:
    return ApiFailure(429, 429, "too many requests", {"Retry-After": f"{retry_after:.0f}"})
