"""The suite callback URL WeCom calls: its verification (GET) and its events (POST)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import PlainTextResponse

from installer_app.server.errors import ApiFailure
from installer_app.server.state import Callbacks

router = APIRouter()


@router.get("/wecom/callback", response_class=PlainTextResponse)
async def callback_verify(
    callbacks: Callbacks,
    msg_signature: Annotated[str, Query(max_length=128)],
    timestamp: Annotated[str, Query(max_length=32)],
    nonce: Annotated[str, Query(max_length=64)],
    echostr: Annotated[str, Query(max_length=4096)],
) -> Any:
    if callbacks is None:
        raise ApiFailure(404, 404, "the suite callback is not configured")
    return PlainTextResponse(callbacks.verify_url(msg_signature, timestamp, nonce, echostr))


@router.post("/wecom/callback", response_class=PlainTextResponse)
async def callback_event(
    request: Request,
    background: BackgroundTasks,
    callbacks: Callbacks,
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
