"""C5: leases of credentials for offline work, and their return."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from installer_app.server.api.auth import Installer
from installer_app.server.api.devices import credential
from installer_app.server.models import LeaseAnswer, LeaseRequest, ReturnAnswer
from installer_app.server.state import IssuerDep

router = APIRouter()


@router.post("/v1/leases", response_model=LeaseAnswer)
async def lease(body: LeaseRequest, who: Installer, issuer: IssuerDep) -> Any:
    lease_id, expires_at, issued = await issuer.lease(who, body.model_id, body.count)
    return {
        "errcode": 0,
        "errmsg": "ok",
        "lease_id": lease_id,
        "expires_at": expires_at,
        "credentials": [credential(i) for i in issued],
    }


@router.delete("/v1/leases/{lease_id}", response_model=ReturnAnswer)
async def return_lease(lease_id: uuid.UUID, who: Installer, issuer: IssuerDep) -> Any:
    returned = await issuer.return_lease(who, lease_id)
    return {"errcode": 0, "errmsg": "ok", "returned": returned}
