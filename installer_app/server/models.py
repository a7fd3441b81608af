"""The laptop API's request and answer shapes (pydantic): validation and /openapi.json."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

SnText = Annotated[str, Field(pattern=r"^[0-9A-Za-z]{1,128}$")]
HwIdText = Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{2,128}$")]
# Plain text: no control characters (PostgreSQL's text refuses NUL; a log line should not break).
_PLAIN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
ModelIdText = Annotated[str, Field(min_length=1, max_length=64, pattern=_PLAIN)]
ShortText = Annotated[str, Field(min_length=1, max_length=64, pattern=_PLAIN)]


class Answer(BaseModel):
    """Every successful answer: WeCom's convention (team-server.md), errcode 0 and "ok" first,
    then the answer's own fields."""

    errcode: int = 0
    errmsg: str = "ok"


class IssueRequest(BaseModel):
    model_id: ModelIdText
    hw_id: HwIdText
    device_sn: SnText | None = None


class Credential(BaseModel):
    device_sn: str
    credential: str
    qr_code: str


# Answer after Credential in the field order: the credential's fields first, then errcode and
# errmsg, as C1 always answered. (A docstring here would become the schema's description.)
class IssueAnswer(Answer, Credential):
    pass


class Corp(BaseModel):
    corpid: str
    corp_name: str


class DeviceAnswer(Answer):
    device_sn: str
    hw_id: str
    stage: str
    bind_status: int
    corp: Corp | None
    app_installed: bool
    agentid: int | None


class InstallationAnswer(Answer):
    installed: bool
    agentid: int | None
    auth_time: int | None


class Event(BaseModel):
    event_id: uuid.UUID
    device_sn: SnText
    hw_id: HwIdText
    step: ShortText
    outcome: ShortText
    at: datetime
    installer: Annotated[str, Field(min_length=1, max_length=128, pattern=_PLAIN)]
    detail: Annotated[str, Field(max_length=2000, pattern=_PLAIN)] | None = None


class EventsRequest(BaseModel):
    events: Annotated[list[Event], Field(max_length=500)]


class Refused(BaseModel):
    event_id: str
    errcode: int
    errmsg: str


class EventsAnswer(Answer):
    accepted: int
    duplicates: int
    refused: list[Refused] = []


class LeaseRequest(BaseModel):
    model_id: ModelIdText
    count: Annotated[int, Field(ge=1, le=200)]


class LeaseAnswer(Answer):
    lease_id: str
    expires_at: datetime
    credentials: list[Credential]


class ReturnAnswer(Answer):
    returned: int


class MeAnswer(Answer):
    """Who the token belongs to: the laptop's Sign in check (team-mode.md)."""

    installer: str
    role: str


class ErrorAnswer(BaseModel):
    errcode: int
    errmsg: str


class Health(Answer):
    database: bool


SiteState = Literal["app_installed", "bound", "failed", "skipped", "unfinished"]


class SiteDevice(BaseModel):
    device_sn: str
    hw_id: str
    model_id: str
    location: str
    state: SiteState
    app_installed: bool | None  # None: not bound, so the question does not arise
    at: datetime  # the board's last record in the range
    installer: str
    detail: str  # why it failed (as the laptop reported it), else empty


class SiteAnswer(Answer):
    """``GET /v1/sites/{corpid}``: a site's devices from the team's records (sites.py)."""

    corpid: str
    corp_name: str
    devices: list[SiteDevice]
