"""What every route of one worker shares (its pool, configuration, WeCom clients, hub), kept on
``app.state`` by ``create_app`` and handed to the routes by small typed dependencies (``Depends``)
instead of closures."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from psycopg_pool import AsyncConnectionPool

from installer_app.server.callback import SuiteCallbacks
from installer_app.server.config import ServerConfig
from installer_app.server.dashboard.queries import ChoicesCache
from installer_app.server.hub import DeviceHub
from installer_app.server.issuance import Issuer
from installer_app.server.ratelimit import RateLimiter
from installer_app.server.suite_client import SuiteClient
from installer_app.server.wecom_ids import ServerWecomClient


@dataclass
class ServerState:
    config: ServerConfig
    database_url: str
    pool: AsyncConnectionPool[Any]
    hub: DeviceHub
    issuer: Issuer
    limiter: RateLimiter
    wecom: ServerWecomClient | None
    suite: SuiteClient | None
    callbacks: SuiteCallbacks | None
    watch: bool
    # Rung when a device is awaited on site: the binding watch looks at it next (watch.py).
    watch_bell: asyncio.Event
    filter_choices: ChoicesCache


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.server
    return state


# The dependencies are coroutines: FastAPI runs a plain function dependency on its thread pool,
# a hand-off to another thread and back on every request for what is an attribute read.


async def _server_state(request: Request) -> ServerState:
    return server_state(request)


async def _pool(request: Request) -> AsyncConnectionPool[Any]:
    return server_state(request).pool


async def _config(request: Request) -> ServerConfig:
    return server_state(request).config


async def _wecom(request: Request) -> ServerWecomClient | None:
    return server_state(request).wecom


async def _hub(request: Request) -> DeviceHub:
    return server_state(request).hub


async def _issuer(request: Request) -> Issuer:
    return server_state(request).issuer


async def _callbacks(request: Request) -> SuiteCallbacks | None:
    return server_state(request).callbacks


State = Annotated[ServerState, Depends(_server_state)]
Pool = Annotated[AsyncConnectionPool[Any], Depends(_pool)]
Config = Annotated[ServerConfig, Depends(_config)]
Wecom = Annotated[ServerWecomClient | None, Depends(_wecom)]
Hub = Annotated[DeviceHub, Depends(_hub)]
IssuerDep = Annotated[Issuer, Depends(_issuer)]
Callbacks = Annotated[SuiteCallbacks | None, Depends(_callbacks)]
