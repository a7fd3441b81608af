"""The binding watch's questions in team mode: C2 (long-poll) for the binding, C3 for the
companion app, and whether the server can confirm at all.

A board whose record the server refused (600036) stops here with ``TeamConflict``. A board the
server does not know yet (its events still in the outbox) is simply not bound yet.
"""

from __future__ import annotations

from installer_app.provider.errors import BadSn
from installer_app.provider.http import RetryPolicy
from installer_app.provider.partner import Installation
from installer_app.provider.team import TeamClient
from installer_app.provider.wecom import CorpBinding
from installer_app.store.db import Store
from installer_app.team.errors import TeamConflict
from installer_app.workflow.sources import Credential

# Held by the server until the device changes; below the client's 15 s read timeout.
LONG_POLL_S = 10.0


class TeamBinding:
    def __init__(self, store: Store, client: TeamClient, *, long_poll_s: float = LONG_POLL_S):
        self._store = store
        self._client = client.with_retry(RetryPolicy.no_retries())
        self._long_poll_s = long_poll_s

    def check_binding(self, sn: str) -> CorpBinding | None:
        refused = self._store.refused_for(sn)
        if refused is not None:
            raise TeamConflict(sn, refused)
        try:
            # C2's ?wait= holds the answer until the device changes from what the server sees
            # when the request arrives; bind_status=0 (we have not seen it bound) makes it
            # answer at once when it is bound already.
            state = self._client.device_state(sn, wait_s=self._long_poll_s, seen_bound=False)
        except BadSn:
            return None  # the server learns of it when the outbox delivers its events
        return state.binding

    def check_install(self, corpid: str) -> Installation:
        return self._client.get_installation(corpid)

    def confirm_later(self, credential: Credential) -> bool:
        """A board written with a leased credential while the server cannot be reached: the
        server confirms its binding later (it watches every written board)."""
        record = self._store.record_for_sn(credential.sn)
        if record is None or record.lease_id is None:
            return False
        return not self._client.reachable()
