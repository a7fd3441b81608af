"""What goes on a device label, and which boards get one.

A label carries the SN, the HW_ID, the model and the *static* binding QR code from registration.
Never the dynamic code: it is signed with a timestamp and expires within the hour, so a printed
one would stop working before the customer scans it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.provider.errors import ProviderError
from installer_app.provider.qr import static_qr_url
from installer_app.store.db import Store
from installer_app.store.records import DeviceRecord

DYNAMIC_PROFILE_NOTE = Message(
    QT_TRANSLATE_NOOP(
        "labels",
        "This profile shows dynamic binding QR codes, which expire: labels carry the static code "
        "from registration instead, never a dynamic one.",
    )
)


class NoLabels(InstallerError):
    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class LabelData:
    sn: str
    hw_id: str
    model_id: str
    qr_url: str | None  # the static binding link; None when the store has none for this board


def label_for(record: DeviceRecord) -> LabelData:
    url: str | None = None
    if record.qr_code:
        try:
            url = static_qr_url(record.qr_code)
        except ProviderError:
            url = None  # not a WeCom binding link: print the label without a code
    return LabelData(record.sn, record.hw_id or "", record.model_id or "", url)


def labels_for(records: Iterable[DeviceRecord]) -> list[LabelData]:
    """Labels for the boards among ``records`` (free inventory credentials have no board)."""
    return [label_for(r) for r in records if r.hw_id is not None]


def records_for_sns(store: Store, sns: Sequence[str]) -> list[DeviceRecord]:
    """The records of ``sns`` in that order; ``NoLabels`` naming every SN the store lacks."""
    found: list[DeviceRecord] = []
    missing: list[str] = []
    for sn in sns:
        record = store.record_for_sn(sn.strip())
        if record is None or record.hw_id is None:
            missing.append(sn)
        else:
            found.append(record)
    if missing:
        raise NoLabels(
            Message(
                QT_TRANSLATE_NOOP("labels", "No board with these SNs in the history: {sns}."),
                sns=", ".join(missing),
            ),
            Message(QT_TRANSLATE_NOOP("labels", "Check the SNs with: installer-app history")),
        )
    return found


def records_for_day(store: Store, day: datetime) -> list[DeviceRecord]:
    """Boards that got a credential or moved a stage on the local calendar day of ``day``,
    in the order they were first touched that day."""
    start = datetime.combine(day.date(), time(0), tzinfo=day.tzinfo).astimezone()
    seen: dict[str, None] = {}
    for event in store.events_between(start, start + timedelta(days=1)):
        if event.sn and event.hw_id:
            seen.setdefault(event.sn.upper(), None)
    records = [store.record_for_sn(sn) for sn in seen]
    return [r for r in records if r is not None and r.hw_id is not None]


def require_some(labels: list[LabelData], what: Message) -> list[LabelData]:
    if not labels:
        raise NoLabels(
            Message(QT_TRANSLATE_NOOP("labels", "No boards to label: {what}."), what=what)
        )
    return labels
