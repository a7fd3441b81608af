"""The team server's ASGI application (FastAPI): the laptop API C1-C5, /healthz, the suite
callback, and the error answers team-server.md names.

``create_app`` builds it from a ``ServerContext``; ``app_from_environment`` is the factory each
uvicorn worker process calls (``serve`` hands it the configuration file and the database URL in the
environment). Per worker: one async connection pool, one LISTEN connection (hub.py), one binding
watch loop (watch.py), one WeCom client with its token cache.
"""

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import psycopg
from fastapi import BackgroundTasks, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from psycopg_pool import AsyncConnectionPool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from installer_app import __version__
from installer_app.server import hub as hub_module
from installer_app.server.accounts import token_digest
from installer_app.server.callback import SuiteCallbacks
from installer_app.server.config import (
    ENV_CONFIG_FILE,
    ServerConfig,
    ServerSecrets,
    database_url,
    load_server_config,
    load_server_secrets,
)
from installer_app.server.dashboard.routes import dashboard_router
from installer_app.server.db import RETRY_AFTER_S, TRANSIENT, open_async_pool, reason_of
from installer_app.server.errors import (
    ERR_BAD_INPUT,
    ApiFailure,
    forbidden,
    rate_limited,
    unauthorized,
    unknown_sn,
)
from installer_app.server.issuance import Issued, Issuer, Who, authenticate
from installer_app.server.models import (
    DeviceAnswer,
    ErrorAnswer,
    EventsAnswer,
    EventsRequest,
    Health,
    InstallationAnswer,
    IssueAnswer,
    IssueRequest,
    LeaseAnswer,
    LeaseRequest,
    MeAnswer,
    ReturnAnswer,
)
from installer_app.server.ratelimit import RateLimiter
from installer_app.server.sealing import Sealer
from installer_app.server.suite_client import SuiteClient
from installer_app.server.watch import learn_open_corpid, watch_bindings
from installer_app.server.wecom_ids import ServerWecomClient
from installer_app.wecom_crypto import MessageCrypto

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20
MAX_WAIT_S = 30
LAPTOP_HEADER = "x-installer-laptop"
_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorAnswer} for s in (400, 401, 403, 404, 409, 413, 429, 503)
}


@dataclass
class ServerContext:
    config: ServerConfig
    secrets: ServerSecrets
    database_url: str
    pool_size: int = 10
    watch: bool = True


class _BodyLimit:
    """Refuses a body over MAX_BODY (413, errcode 40035) before the app reads it all."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > MAX_BODY:
                await _too_large(send)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > MAX_BODY:
                    raise ApiFailure(413, ERR_BAD_INPUT, "body: larger than 1 MiB")
            return message

        await self.app(scope, limited, send)


async def _too_large(send: Send) -> None:
    body = b'{"errcode":40035,"errmsg":"body: larger than 1 MiB"}'
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _field_of(error: dict[str, Any]) -> str:
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
    if error.get("type") == "json_invalid":
        return "body (not valid JSON)"
    return ".".join(loc) or "body"


def _answer(exc: ApiFailure) -> JSONResponse:
    return JSONResponse(
        {"errcode": exc.errcode, "errmsg": exc.errmsg}, exc.status, headers=exc.headers
    )


def _db_down() -> JSONResponse:
    return JSONResponse(
        {"errcode": 503, "errmsg": "the database is unavailable; retry later"},
        503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def create_app(ctx: ServerContext) -> FastAPI:
    config, secrets = ctx.config, ctx.secrets
    if secrets.server_key is None:
        raise ValueError("the server key is required")
    sealer = Sealer(secrets.server_key)
    wecom: ServerWecomClient | None = None
    if secrets.provider_secret is not None and config.corpid:
        wecom = ServerWecomClient(config.wecom_base_url, config.corpid, secrets.provider_secret)
    suite: SuiteClient | None = None
    if secrets.suite_secret is not None and config.suite_id:
        suite = SuiteClient(config.wecom_base_url, config.suite_id, secrets.suite_secret)
    crypto: MessageCrypto | None = None
    if secrets.callback_token is not None and secrets.callback_aes_key is not None:
        crypto = MessageCrypto(secrets.callback_token, secrets.callback_aes_key, config.suite_id)
    pool: AsyncConnectionPool[Any] = open_async_pool(ctx.database_url, ctx.pool_size)
    hub = hub_module.DeviceHub(ctx.database_url)
    issuer = Issuer(pool, config, sealer, wecom)
    callbacks = SuiteCallbacks(pool, crypto, sealer, suite) if crypto is not None else None
    limiter = RateLimiter(config.rate_limit_per_s, 2 * config.rate_limit_per_s)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pool.open(wait=False)
        tasks = [asyncio.create_task(hub.run(), name="long-poll-listener")]
        if ctx.watch and wecom is not None:
            tasks.append(
                asyncio.create_task(
                    watch_bindings(pool, wecom, config.poll_interval_s), name="binding-watch"
                )
            )
        try:
            yield
        finally:
            for task in tasks:
                await hub_module.stop_task(task)
            await pool.close()
            for client in (wecom, suite):
                if client is not None:
                    client.close()

    app = FastAPI(
        title="installer-app team server",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        responses=_ERRORS,
    )

    @app.exception_handler(ApiFailure)
    async def _failure(request: Request, exc: ApiFailure) -> JSONResponse:
        return _answer(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        return JSONResponse(
            {"errcode": ERR_BAD_INPUT, "errmsg": f"invalid field: {_field_of(first)}"}, 400
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        text = {404: "not found", 405: "method not allowed"}.get(exc.status_code, "bad request")
        return JSONResponse(
            {"errcode": exc.status_code, "errmsg": text}, exc.status_code, headers=exc.headers
        )

    async def _db_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning(
            "%s %s: database unavailable (%s)", request.method, request.url.path, reason_of(exc)
        )
        return _db_down()

    for kind in TRANSIENT:
        app.add_exception_handler(kind, _db_unavailable)

    @app.exception_handler(psycopg.DataError)
    async def _bad_value(request: Request, exc: psycopg.DataError) -> JSONResponse:
        # A value PostgreSQL cannot store (a NUL in a path segment): bad input, not a bug.
        return JSONResponse(
            {"errcode": ERR_BAD_INPUT, "errmsg": "invalid text in the request"}, 400
        )

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        # Answered without its traceback; the log has it (redacted by the log filter).
        return JSONResponse({"errcode": -1, "errmsg": "internal error"}, 500)

    app.add_middleware(_BodyLimit)

    def bearer(request: Request) -> tuple[bytes, str]:
        """The token's digest and the laptop id; 401 without a token, 429 over the rate."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized()
        digest = token_digest(token.strip())
        wait = limiter.take(digest)
        if wait is not None:
            raise rate_limited(wait)
        return digest, request.headers.get(LAPTOP_HEADER, "")[:128]

    async def caller(request: Request) -> Who:
        digest, laptop = bearer(request)
        async with pool.connection() as conn:
            return Who(await authenticate(conn, digest), laptop)

    async def admin(who: Annotated[Who, Depends(caller)]) -> Who:
        if who.caller.role != "admin":
            raise forbidden()
        return who

    Installer = Annotated[Who, Depends(caller)]  # noqa: N806 - a type alias (app.py has no "from __future__ import annotations": FastAPI resolves these closures)

    def _credential(issued: Issued) -> dict[str, str]:
        return {
            "device_sn": issued.device_sn,
            "credential": issued.credential.reveal(),
            "qr_code": issued.qr_code,
        }

    @app.get("/healthz", response_model=Health, responses={503: {"model": ErrorAnswer}})
    async def healthz() -> Any:
        try:
            async with pool.connection(timeout=3) as conn:
                await conn.execute("SELECT 1")
        except TRANSIENT:
            return _db_down()
        return {"errcode": 0, "errmsg": "ok", "database": True}

    @app.get("/v1/me", response_model=MeAnswer)
    async def me(who: Installer) -> Any:
        return {
            "errcode": 0,
            "errmsg": "ok",
            "installer": who.caller.name,
            "role": who.caller.role,
        }

    @app.post("/v1/devices", response_model=IssueAnswer)
    async def issue(body: IssueRequest, request: Request) -> Any:
        digest, laptop = bearer(request)
        issued = await issuer.issue_for_token(
            digest, laptop, body.model_id, body.hw_id, body.device_sn
        )
        # A response object as it is: FastAPI skips re-validating the answer (the hot path).
        return JSONResponse({"errcode": 0, "errmsg": "ok", **_credential(issued)})

    async def _device(sn: str) -> dict[str, Any]:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT d.device_sn, d.hw_id, d.stage, d.bind_status, d.corpid, d.corp_name, "
                "i.installed, i.agentid FROM devices d "
                "LEFT JOIN corp_ids m ON m.plain_corpid = d.corpid "
                "LEFT JOIN installations i ON i.corpid = coalesce(m.open_corpid, d.corpid) "
                "WHERE upper(d.device_sn) = upper(%s) LIMIT 1",
                (sn,),
            )
            row = await cur.fetchone()
        if row is None:
            raise unknown_sn()
        corp = (
            {"corpid": row["corpid"], "corp_name": row["corp_name"] or ""}
            if row["bind_status"] == 1 and row["corpid"]
            else None
        )
        return {
            "errcode": 0,
            "errmsg": "ok",
            "device_sn": row["device_sn"],
            "hw_id": row["hw_id"],
            "stage": row["stage"],
            "bind_status": row["bind_status"],
            "corp": corp,
            "app_installed": bool(row["installed"]),
            "agentid": row["agentid"] if row["installed"] else None,
        }

    @app.get("/v1/devices/{device_sn}", response_model=DeviceAnswer)
    async def device(
        device_sn: str,
        who: Installer,
        wait: Annotated[float, Query(ge=0, le=MAX_WAIT_S)] = 0,
        bind_status: Annotated[int | None, Query(ge=0, le=1)] = None,
    ) -> Any:
        if not device_sn.isalnum() or not device_sn.isascii() or len(device_sn) > 128:
            raise unknown_sn()
        if wait <= 0:
            return await _device(device_sn)
        event = hub.subscribe(device_sn)
        try:
            first = await _device(device_sn)
            # ``bind_status``: what the laptop last saw (docs/team-mode.md). A change it has
            # not seen yet, made just before this request, is answered at once, not after S s.
            if bind_status is not None and first["bind_status"] != bind_status:
                return first
            deadline = time.monotonic() + wait
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return first
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), left)
                event.clear()
                now = await _device(device_sn)
                if now != first:
                    return now
        finally:
            hub.unsubscribe(device_sn, event)

    async def _installation(corpid: str) -> dict[str, Any] | None:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT installed, agentid, extract(epoch FROM auth_time)::bigint AS auth_time "
                "FROM installations WHERE corpid = %s OR corpid = "
                "(SELECT open_corpid FROM corp_ids WHERE plain_corpid = %s) "
                "ORDER BY installed DESC LIMIT 1",
                (corpid, corpid),
            )
            row: dict[str, Any] | None = await cur.fetchone()
            return row

    async def _learn_open_corpid(corpid: str) -> dict[str, Any] | None:
        """A plain corpid not seen yet: ask WeCom for its open corpid, keep the pair."""
        if wecom is None or not await learn_open_corpid(pool, wecom, corpid):
            return None
        return await _installation(corpid)

    @app.get("/v1/installations/{corpid}", response_model=InstallationAnswer)
    async def installation(corpid: str, who: Installer) -> Any:
        corpid = corpid[:128]
        row = await _installation(corpid) or await _learn_open_corpid(corpid)
        if row is None or not row["installed"]:
            return {
                "errcode": 0,
                "errmsg": "ok",
                "installed": False,
                "agentid": None,
                "auth_time": None,
            }
        return {
            "errcode": 0,
            "errmsg": "ok",
            "installed": True,
            "agentid": row["agentid"],
            "auth_time": row["auth_time"],
        }

    @app.post("/v1/events", response_model=EventsAnswer)
    async def events(body: EventsRequest, who: Installer) -> Any:
        accepted, duplicates, refused = await issuer.record_events(
            who, [e.model_dump() for e in body.events]
        )
        return {
            "errcode": 0,
            "errmsg": "ok",
            "accepted": accepted,
            "duplicates": duplicates,
            "refused": refused,
        }

    @app.post("/v1/leases", response_model=LeaseAnswer)
    async def lease(body: LeaseRequest, who: Installer) -> Any:
        lease_id, expires_at, issued = await issuer.lease(who, body.model_id, body.count)
        return {
            "errcode": 0,
            "errmsg": "ok",
            "lease_id": lease_id,
            "expires_at": expires_at,
            "credentials": [_credential(i) for i in issued],
        }

    @app.delete("/v1/leases/{lease_id}", response_model=ReturnAnswer)
    async def return_lease(lease_id: uuid.UUID, who: Installer) -> Any:
        returned = await issuer.return_lease(who, lease_id)
        return {"errcode": 0, "errmsg": "ok", "returned": returned}

    @app.get("/v1/admin/devices")
    async def admin_devices(
        who: Annotated[Who, Depends(admin)],
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> Any:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT d.device_sn, d.hw_id, d.model_id, d.stage, d.bind_status, d.corpid, "
                "i.name AS installer FROM devices d LEFT JOIN installers i "
                "ON i.id = d.installer_id ORDER BY d.issued_at DESC LIMIT %s",
                (limit,),
            )
            rows = await cur.fetchall()
        return {"errcode": 0, "errmsg": "ok", "devices": rows}

    @app.get("/wecom/callback", response_class=PlainTextResponse)
    async def callback_verify(
        msg_signature: Annotated[str, Query(max_length=128)],
        timestamp: Annotated[str, Query(max_length=32)],
        nonce: Annotated[str, Query(max_length=64)],
        echostr: Annotated[str, Query(max_length=4096)],
    ) -> Any:
        if callbacks is None:
            raise ApiFailure(404, 404, "the suite callback is not configured")
        return PlainTextResponse(callbacks.verify_url(msg_signature, timestamp, nonce, echostr))

    @app.post("/wecom/callback", response_class=PlainTextResponse)
    async def callback_event(
        request: Request,
        background: BackgroundTasks,
        msg_signature: Annotated[str, Query(max_length=128)],
        timestamp: Annotated[str, Query(max_length=32)],
        nonce: Annotated[str, Query(max_length=64)],
    ) -> Any:
        if callbacks is None:
            raise ApiFailure(404, 404, "the suite callback is not configured")
        body = await request.body()
        _info, auth_code = await callbacks.receive(msg_signature, timestamp, nonce, body)
        if auth_code is not None:
            background.add_task(callbacks.complete_auth, auth_code)
        return PlainTextResponse("success")

    app.include_router(dashboard_router(pool, config, wecom, ctx.database_url))
    return app


def context_from_environment(env: dict[str, str] | None = None) -> ServerContext:
    env = dict(os.environ) if env is None else env
    config_file = env.get(ENV_CONFIG_FILE)
    config = load_server_config(Path(config_file) if config_file else None)
    return ServerContext(config, load_server_secrets(config, env), database_url(None, config, env))


def app_from_environment() -> FastAPI:
    """uvicorn's factory in each worker process."""
    return create_app(context_from_environment())
