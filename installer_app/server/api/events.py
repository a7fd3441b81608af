"""C4: the laptop's outbox of reported events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from installer_app.server.api.auth import Installer
from installer_app.server.models import EventsAnswer, EventsRequest
from installer_app.server.state import IssuerDep

router = APIRouter()


@router.post("/v1/events", response_model=EventsAnswer)
async def events(body: EventsRequest, who: Installer, issuer: IssuerDep) -> Any:
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
