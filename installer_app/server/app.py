"""The team server's ASGI application (FastAPI): the laptop API C1-C5, /healthz, the suite
callback, and the error answers team-server.md names.

``create_app`` builds it from a ``ServerContext``; ``app_from_environment`` is the factory each
uvicorn worker process calls (``serve`` hands it the configuration file and the database URL in the
environment). Per worker: one async connection pool, one LISTEN connection (hub.py), one binding
watch loop (watch.py), one WeCom client with its token cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import AsyncConnectionPool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from installer_app import __version__
from installer_app.server import hub as hub_module
from installer_app.server.api import (
    admin,
    devices,
    events,
    health,
    leases,
    sites,
    suite_callback,
)
from installer_app.server.api.health import db_down
from installer_app.server.callback import SuiteCallbacks
from installer_app.server.config import (
    ENV_CONFIG_FILE,
    ServerConfig,
    ServerSecrets,
    database_url,
    load_server_config,
    load_server_secrets,
)
from installer_app.server.dashboard.queries import ChoicesCache
from installer_app.server.dashboard.routes import dashboard_router
from installer_app.server.db import TRANSIENT, open_async_pool, reason_of
from installer_app.server.errors import ERR_BAD_INPUT, ApiFailure
from installer_app.server.issuance import Issuer
from installer_app.server.models import ErrorAnswer
from installer_app.server.ratelimit import RateLimiter
from installer_app.server.sealing import Sealer
from installer_app.server.state import ServerState
from installer_app.server.suite_client import SuiteClient
from installer_app.server.watch import watch_bindings
from installer_app.server.wecom_ids import ServerWecomClient
from installer_app.wecom_crypto import MessageCrypto

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20
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


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ServerState = app.state.server
    await state.pool.open(wait=False)
    tasks = [asyncio.create_task(state.hub.run(), name="long-poll-listener")]
    if state.watch and state.wecom is not None:
        tasks.append(
            asyncio.create_task(
                watch_bindings(
                    state.pool, state.wecom, state.config.poll_interval_s, state.watch_bell
                ),
                name="binding-watch",
            )
        )
    try:
        yield
    finally:
        for task in tasks:
            await hub_module.stop_task(task)
        await state.pool.close()
        for client in (state.wecom, state.suite):
            if client is not None:
                client.close()


def _state(ctx: ServerContext) -> ServerState:
    """The worker's shared objects, built once; the routes reach them through ``state.py``."""
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
    bell = asyncio.Event()
    return ServerState(
        config=config,
        database_url=ctx.database_url,
        pool=pool,
        hub=hub_module.DeviceHub(ctx.database_url),
        issuer=Issuer(pool, config, sealer, wecom, bell),
        limiter=RateLimiter(config.rate_limit_per_s, 2 * config.rate_limit_per_s),
        wecom=wecom,
        suite=suite,
        callbacks=SuiteCallbacks(pool, crypto, sealer, suite) if crypto is not None else None,
        watch=ctx.watch,
        watch_bell=bell,
        filter_choices=ChoicesCache(),
    )


async def _failure(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiFailure)
    return _answer(exc)


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    return JSONResponse(
        {"errcode": ERR_BAD_INPUT, "errmsg": f"invalid field: {_field_of(first)}"}, 400
    )


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    text = {404: "not found", 405: "method not allowed"}.get(exc.status_code, "bad request")
    return JSONResponse(
        {"errcode": exc.status_code, "errmsg": text}, exc.status_code, headers=exc.headers
    )


async def _db_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning(
        "%s %s: database unavailable (%s)", request.method, request.url.path, reason_of(exc)
    )
    return db_down()


async def _bad_value(request: Request, exc: Exception) -> JSONResponse:
    # A value PostgreSQL cannot store (a NUL in a path segment): bad input, not a bug.
    return JSONResponse({"errcode": ERR_BAD_INPUT, "errmsg": "invalid text in the request"}, 400)


async def _bug(request: Request, exc: Exception) -> JSONResponse:
    # Answered without its traceback; the log has it (redacted by the log filter).
    return JSONResponse({"errcode": -1, "errmsg": "internal error"}, 500)


def create_app(ctx: ServerContext) -> FastAPI:
    state = _state(ctx)
    app = FastAPI(
        title="installer-app team server",
        version=__version__,
        lifespan=_lifespan,
        docs_url=None,
        redoc_url=None,
        responses=_ERRORS,
    )
    app.state.server = state
    app.add_exception_handler(ApiFailure, _failure)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http)
    for kind in TRANSIENT:
        app.add_exception_handler(kind, _db_unavailable)
    app.add_exception_handler(psycopg.DataError, _bad_value)
    app.add_exception_handler(Exception, _bug)
    app.add_middleware(_BodyLimit)
    for api in (health, devices, events, leases, sites, admin, suite_callback):
        app.include_router(api.router)
    app.include_router(dashboard_router)
    return app


def context_from_environment(env: dict[str, str] | None = None) -> ServerContext:
    env = dict(os.environ) if env is None else env
    config_file = env.get(ENV_CONFIG_FILE)
    config = load_server_config(Path(config_file) if config_file else None)
    return ServerContext(config, load_server_secrets(config, env), database_url(None, config, env))


def app_from_environment() -> FastAPI:
    """uvicorn's factory in each worker process."""
    return create_app(context_from_environment())
