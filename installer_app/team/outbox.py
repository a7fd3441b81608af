"""Sending the outbox (store/team_tables.py) to the team server, C4.

``send_now`` sends every unsent event in batches of up to 500, oldest first, and notes each answer
by event id; a batch whose answer is lost (crash, cable) is sent again and the server counts it as
duplicates. ``start`` runs it in the background: every half second while events wait, backing off
(1-2 s doubling to 60 s) while the server cannot be reached.
"""

from __future__ import annotations

import logging
import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from installer_app.errors import InstallerError
from installer_app.provider.http import RetryPolicy
from installer_app.provider.team import MAX_EVENTS_PER_BATCH, TeamClient
from installer_app.store.db import Store
from installer_app.store.records import Stage
from installer_app.store.team_tables import OutboxEvent, RefusedEvent

log = logging.getLogger(__name__)

_IDLE_S = 0.5
_MAX_BACKOFF_S = 60.0
_STAGES = frozenset(stage.value for stage in Stage)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class SyncReport:
    sent: int
    duplicates: int
    refused: list[RefusedEvent] = field(default_factory=list)
    left: int = 0


def wire_event(event: OutboxEvent, installer: str) -> dict[str, Any]:
    """C4's shape: a stage is its own step with outcome ok; a failure is step ``failed``."""
    outcome = "ok" if event.what in _STAGES or event.what == "location" else event.what
    wire: dict[str, Any] = {
        "event_id": event.event_id,
        "device_sn": event.sn,
        "hw_id": event.hw_id,
        "step": event.what,
        "outcome": outcome,
        "at": event.time,
        "installer": (event.installer or installer)[:128],
    }
    if event.detail:
        # Plain text for the server (it refuses control characters).
        wire["detail"] = _CONTROL.sub(" ", event.detail)[:2000]
    return wire


class OutboxSender:
    def __init__(self, store: Store, client: TeamClient, *, installer: str) -> None:
        self._store = store
        self._client = client
        self._installer = installer
        self._lock = threading.Lock()  # one sender at a time in this process
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rng = random.Random()
        self._failing = False  # the background sender's last try could not reach the server

    def send_now(self, client: TeamClient | None = None) -> SyncReport:
        """Send everything waiting; raises ProviderError when the server cannot be reached
        (what was sent before stays sent)."""
        client = client or self._client
        sent = duplicates = 0
        refused: list[RefusedEvent] = []
        with self._lock:
            while not self._stop.is_set():
                batch = self._store.outbox_batch(MAX_EVENTS_PER_BATCH)
                if not batch:
                    break
                answer = client.send_events([wire_event(e, self._installer) for e in batch])
                ids = [e.event_id for e in batch]
                self._store.outbox_done([i for i in ids if i not in answer.refused], answer.refused)
                sent += answer.accepted
                duplicates += answer.duplicates
                refused.extend(
                    RefusedEvent(e.event_id, e.sn, e.what, answer.refused[e.event_id])
                    for e in batch
                    if e.event_id in answer.refused
                )
                for item in refused:
                    log.warning("team server refused %s of %s: %s", item.what, item.sn, item.reason)
        left = self._store.outbox_counts().pending
        return SyncReport(sent, duplicates, refused, left)

    # -- background --------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="team-outbox", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        quiet = self._client.with_retry(RetryPolicy.no_retries())
        failures = 0
        while not self._stop.is_set():
            delay = _IDLE_S
            try:
                if self._store.outbox_counts().pending:
                    self.send_now(quiet)
                failures = 0
                self._failing = False
            except InstallerError as exc:
                failures += 1
                self._failing = True
                delay = min(_MAX_BACKOFF_S, float(2 ** min(failures - 1, 6))) * (
                    1 + self._rng.random()
                )
                log.info("outbox: %s; next try in %.1f s", exc.message.english(), delay)
            except Exception:
                log.exception("outbox: unexpected failure")
                delay = _MAX_BACKOFF_S
            self._stop.wait(delay)

    def close(self, *, flush: bool = True) -> None:
        """Stop the background sender; with ``flush`` try once more, without retries, so the
        last steps of a run reach the server when it is there (not when the background sender
        could not reach it: closing a window on a site without network must not wait for it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if flush and not self._failing:
            self._stop.clear()
            try:
                self.send_now(self._client.with_retry(RetryPolicy.no_retries()))
            except InstallerError as exc:
                log.info("outbox left for later: %s", exc.message.english())
            finally:
                self._stop.set()
