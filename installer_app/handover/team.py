"""The site handover from the team server's records (team mode): one package for a site worked by
several installers from several laptops.

The server applies the same rule as ``rows.collect`` (a board bound to the enterprise, or bound
nowhere and worked on a day its installer bound a board there) over every laptop's reports, with
this laptop's local days. The rows then make the same PDF, CSV and XLSX as the local ones.
"""

from __future__ import annotations

import re
from datetime import date, tzinfo

from installer_app.errors import ExitCode
from installer_app.handover.rows import (
    Handover,
    HandoverError,
    HandoverRow,
    State,
    assemble,
    day_range,
)
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.plain_text import one_line
from installer_app.provider.errors import ProviderError
from installer_app.provider.http import RetryPolicy
from installer_app.provider.team import SiteDevice, TeamClient

# What the server takes for a corpid (docs/server.md); anything else is no enterprise at all.
CORPID = re.compile(r"[0-9A-Za-z_-]{1,128}")
# The server is asked once more after 0.5-1 s; then the installer is told (and offered --local).
FETCH_RETRY = RetryPolicy(base_s=0.5, transient_retries=1)


class TeamRecordsUnavailable(HandoverError):
    """The team server could not give the site's records: unreachable, the token refused, …"""

    exit_code = ExitCode.PROVIDER

    def __init__(self, why: Message) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP(
                    "handover", "The team server's records cannot be read now: {why}"
                ),
                why=why,
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "handover",
                    "Try again when the team server can be reached, or make the package from "
                    "this laptop's records only (installer-app handover --local; in the wizard: "
                    "Records: this laptop).",
                )
            ),
        )


def _plain(text: str) -> str:
    """Outside text as one line: whitespace folded as the local store does, controls shown."""
    return one_line(" ".join(text.split()))


def _row(device: SiteDevice, zone: tzinfo | None) -> HandoverRow:
    return HandoverRow(
        sn=_plain(device.device_sn),
        hw_id=_plain(device.hw_id),
        model_id=_plain(device.model_id),
        location=_plain(device.location),
        state=State(device.state),
        app_installed=device.app_installed,
        time=device.at.astimezone(zone),
        installer=_plain(device.installer),
        detail=_plain(device.detail),
    )


def collect_from_team(
    client: TeamClient,
    corpid: str,
    first: date | None = None,
    last: date | None = None,
    zone: tzinfo | None = None,
) -> Handover:
    """The handover of ``corpid`` for the local days ``first``..``last`` from the team server."""
    corpid = corpid.strip()
    since, until = day_range(first, last, zone)
    offset = since.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    if not CORPID.fullmatch(corpid):
        return assemble(corpid, "", [], (first, last), (since, until))  # no such site
    try:
        site = client.with_retry(FETCH_RETRY).site(corpid, since, until, minutes)
    except ProviderError as exc:
        raise TeamRecordsUnavailable(exc.message) from None
    rows = [_row(device, since.tzinfo) for device in site.devices]
    return assemble(corpid, _plain(site.corp_name), rows, (first, last), (since, until))
