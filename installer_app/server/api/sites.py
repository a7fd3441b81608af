"""A site's devices from the team's records: the site handover made on any laptop of the team."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from installer_app.server.api.auth import Installer
from installer_app.server.errors import ERR_BAD_INPUT, ApiFailure
from installer_app.server.models import SiteAnswer
from installer_app.server.sites import site_devices
from installer_app.server.state import Pool

router = APIRouter()

MAX_OFFSET_MIN = 18 * 60  # the widest UTC offset there is (and then some)


def _aware(moment: datetime | None) -> datetime | None:
    """A time without an offset is taken as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@router.get("/v1/sites/{corpid}", response_model=SiteAnswer)
async def site(
    who: Installer,
    pool: Pool,
    corpid: Annotated[str, Path(pattern=r"^[0-9A-Za-z_-]{1,128}$")],
    since: datetime | None = None,
    until: datetime | None = None,
    utc_offset: Annotated[int, Query(ge=-MAX_OFFSET_MIN, le=MAX_OFFSET_MIN)] = 0,
) -> Any:
    # Any installer of the team may read any site: the team shares one record (docs/server.md).
    since, until = _aware(since), _aware(until)
    if since is not None and until is not None and until <= since:
        raise ApiFailure(400, ERR_BAD_INPUT, "invalid field: until (not after since)")
    async with pool.connection() as conn:
        return await site_devices(conn, corpid, since, until, utc_offset)
