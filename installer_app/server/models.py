"""The laptop API's request and answer shapes (pydantic): validation and /openapi.json."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

SnText = Annotated[str, Field(pattern=r"^[0-9A-Za-z]{1,128}$")]
HwIdText = Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{2,128}$")]
# Plain text: no control characters (PostgreSQL's text refuses NUL; a log line should not break).
_PLAIN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
ModelIdText = Annotated[str, Field(min_length=1, max_length=64, pattern=_PLAIN)]
ShortText = Annotated[str, Field(min_length=1, max_length=64, pattern=_PLAIN)]


class IssueRequest(BaseModel):
    model_id: ModelIdText
    hw_id: HwIdText
    device_sn: SnText | None = None


class Credential(BaseModel):
    device_sn: str
    credential: str
    qr_code: str


class IssueAnswer(Credential):
    errcode: int = 0
    errmsg: str = "ok"


class Corp(BaseModel):
    corpid: str
    corp_name: str


class DeviceAnswer(BaseModel):
    errcode: int = 0
    errmsg: str = "ok"
    device_sn: str
    hw_id: str
    stage: str
    bind_status: int
    corp: Corp | None
    app_installed: bool
    agentid: int | None


class InstallationAnswer(BaseModel):
    errcode: int = 0
    errmsg: str = "ok"
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


class EventsAnswer(BaseModel):
    errcode: int = 0
    errmsg: str = "ok"
    accepted: int
    duplicates: int
    refused: list[Refused] = []


class LeaseRequest(BaseModel):
    model_id: ModelIdText
    count: Annotated[int, Field(ge=1, le=200)]


class LeaseAnswer(BaseModel):
    errcode: int = 0
    errmsg: str = "ok"
    lease_id: str
    expires_at: datetime
    credentials: list[Credential]


class ReturnAnswer(BaseModel):
    errcode: int = 0
    errmsg: str = "ok"
    returned: int


class ErrorAnswer(BaseModel):
    errcode: int
    errmsg: str


class Health(BaseModel):
    errcode: int = 0
    errmsg: str = "ok"
    database: bool
