"""The rows of a site handover: every board worked at one enterprise in a date range, bound,
failed or skipped.

A board carries its enterprise (corpid) only once it is bound: a failed or skipped board never
learns it. So the site is taken to be where its installers were that day: a board that is not
bound anywhere belongs to the handover when an installer who bound a board to this enterprise
worked on it the same local day (a *site visit* is an installer and a day). A board bound to
another enterprise never does. See docs/labels.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.store.db import Store
from installer_app.store.records import DeviceRecord, EventRecord, Stage

# Far enough back for "from the first board on".
EPOCH_DAY = date(2000, 1, 1)


class HandoverError(InstallerError):
    exit_code = ExitCode.USAGE


class State(StrEnum):
    APP_INSTALLED = "app_installed"
    BOUND = "bound"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNFINISHED = "unfinished"


STATE_NAMES: dict[State, Message] = {
    State.APP_INSTALLED: Message(QT_TRANSLATE_NOOP("handover", "bound, app installed")),
    State.BOUND: Message(QT_TRANSLATE_NOOP("handover", "bound")),
    State.FAILED: Message(QT_TRANSLATE_NOOP("handover", "failed")),
    State.SKIPPED: Message(QT_TRANSLATE_NOOP("handover", "skipped")),
    State.UNFINISHED: Message(QT_TRANSLATE_NOOP("handover", "unfinished")),
}


@dataclass(frozen=True)
class HandoverRow:
    sn: str  # empty for a skipped board that never got an SN
    hw_id: str
    model_id: str
    location: str
    state: State
    app_installed: bool | None  # None: not bound, so the question does not arise
    time: datetime  # the board's last event in the range (local time)
    installer: str
    detail: str  # why it failed (English, from the store), else empty


@dataclass(frozen=True)
class Handover:
    corpid: str
    corp_name: str
    first_day: date
    last_day: date
    rows: tuple[HandoverRow, ...]

    @property
    def installers(self) -> list[str]:
        return sorted({r.installer for r in self.rows if r.installer})

    def counts(self) -> dict[State, int]:
        counted = Counter(r.state for r in self.rows)
        return {s: counted.get(s, 0) for s in State}


def day_range(
    first: date | None, last: date | None, zone: tzinfo | None = None
) -> tuple[datetime, datetime]:
    """Local midnight of ``first`` to local midnight after ``last`` (both days included)."""
    zone = zone or datetime.now().astimezone().tzinfo
    first = first or EPOCH_DAY
    last = last or datetime.now(zone).date()
    if last < first:
        raise HandoverError(
            Message(
                QT_TRANSLATE_NOOP(
                    "handover", "The range ends ({last}) before it starts ({first})."
                ),
                first=first.isoformat(),
                last=last.isoformat(),
            )
        )
    return (
        datetime.combine(first, time(0), tzinfo=zone),
        datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone),
    )


def collect(
    store: Store,
    corpid: str,
    first: date | None = None,
    last: date | None = None,
    zone: tzinfo | None = None,
) -> Handover:
    """The handover of ``corpid`` for the local days ``first``..``last`` (default: all time)."""
    corpid = corpid.strip()
    since, until = day_range(first, last, zone)
    zone = since.tzinfo
    events = store.events_between(since, until)
    ours = {r.sn.upper(): r for r in store.records_for_corp(corpid)}
    visits = {
        (e.installer, e.time.astimezone(zone).date())
        for e in events
        if e.sn.upper() in ours and e.what in (Stage.BOUND.value, Stage.APP_INSTALLED.value)
    }
    by_board: dict[str, list[EventRecord]] = {}
    records: dict[str, DeviceRecord | None] = {}
    for event in events:
        key = event.sn.upper() or f"hw:{event.hw_id}"
        if key not in records:
            record = ours.get(event.sn.upper()) or (
                store.record_for_sn(event.sn) if event.sn else None
            )
            records[key] = record
        record = records[key]
        if record is not None and record.corpid and record.corpid != corpid:
            continue  # bound to another enterprise
        mine = record is not None and record.corpid == corpid
        if mine or (event.installer, event.time.astimezone(zone).date()) in visits:
            by_board.setdefault(key, []).append(event)
    rows = [_row(records[key], board_events, zone) for key, board_events in by_board.items()]
    corp_name = next((r.corp_name for r in ours.values() if r.corp_name), "") or ""
    return assemble(corpid, corp_name, rows, (first, last), (since, until))


def assemble(
    corpid: str,
    corp_name: str,
    rows: Sequence[HandoverRow],
    days: tuple[date | None, date | None],
    span: tuple[datetime, datetime],
) -> Handover:
    """The handover of ``rows`` (any source), oldest first. ``days``: the range asked for;
    ``span``: its local midnights (``day_range``)."""
    ordered = sorted(rows, key=lambda r: r.time)
    first, last = days
    since, until = span
    return Handover(
        corpid=corpid,
        corp_name=corp_name,
        # Without a range the dates are those of the first and last board.
        first_day=first or (ordered[0].time.date() if ordered else since.date()),
        last_day=last
        or (ordered[-1].time.date() if ordered else (until - timedelta(days=1)).date()),
        rows=tuple(ordered),
    )


def _row(
    record: DeviceRecord | None, events: Sequence[EventRecord], zone: tzinfo | None
) -> HandoverRow:
    last = events[-1]
    failures = [e for e in events if e.what == "failed"]
    if record is not None and record.reached(Stage.BOUND):
        state = State.APP_INSTALLED if record.reached(Stage.APP_INSTALLED) else State.BOUND
    else:
        # The last outcome of the day decides: a board skipped after a failure was skipped.
        outcomes = [e.what for e in events if e.what in ("failed", "skipped")]
        state = State(outcomes[-1]) if outcomes else State.UNFINISHED
    return HandoverRow(
        sn=record.sn if record else last.sn,
        hw_id=(record.hw_id if record else None) or last.hw_id or "",
        model_id=(record.model_id if record else None) or "",
        location=(record.location if record else None) or "",
        state=state,
        app_installed=record.reached(Stage.APP_INSTALLED)
        if record is not None and record.reached(Stage.BOUND)
        else None,
        time=last.time.astimezone(zone),
        installer=last.installer or (record.installer if record else None) or "",
        detail=failures[-1].detail or "" if state is State.FAILED and failures else "",
    )


def require_rows(handover: Handover) -> Handover:
    if not handover.rows:
        raise HandoverError(
            Message(
                QT_TRANSLATE_NOOP(
                    "handover", "No boards for the enterprise {corp} from {first} to {last}."
                ),
                corp=handover.corpid,
                first=handover.first_day.isoformat(),
                last=handover.last_day.isoformat(),
            ),
            Message(
                QT_TRANSLATE_NOOP("handover", "Check the corpid and the dates in the history.")
            ),
        )
    return handover
