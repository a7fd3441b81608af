"""Where a board's credential comes from in team mode: the team server (C1), else a lease.

C1 is idempotent by HW_ID, so a crash between its answer and the store's ``reserve`` is repaired
by asking again. When the server cannot be reached (or its pool is empty) the next credential of a
lease held on this laptop goes to the board, in one store transaction; the server ties it to the
board when the outbox delivers the board's ``written`` event.
"""

from __future__ import annotations

import logging

from installer_app.provider.errors import PoolEmpty, ProviderUnreachable
from installer_app.provider.http import CallScope, RetryPolicy
from installer_app.provider.team import TeamClient
from installer_app.store.db import Store
from installer_app.store.records import Source
from installer_app.team.errors import NoTeamCredential
from installer_app.workflow.sources import Credential, StoreBackedSource

log = logging.getLogger(__name__)

# Offline is found out quickly: one retry after 0.5-1 s, then the lease.
C1_RETRY = RetryPolicy(base_s=0.5, transient_retries=1)


class TeamSource(StoreBackedSource):
    name = Source.PARTNER

    def __init__(self, store: Store, client: TeamClient, *, model_id: str, installer: str) -> None:
        super().__init__(store, model_id=model_id, installer=installer)
        self._client = client.with_retry(C1_RETRY)

    def _new(self, hw_id: str, scope: CallScope) -> Credential:
        try:
            device = self._client.scoped(scope).register_device(self._model_id, hw_id)
        except (ProviderUnreachable, PoolEmpty) as exc:
            record = self._store.take_leased(
                hw_id, model_id=self._model_id, installer=self._installer
            )
            if record is None:
                raise NoTeamCredential(exc.reason) from None
            log.info(
                "team server: %s; board %s takes leased %s", exc.reason.english(), hw_id, record.sn
            )
            return Credential.from_record(self._store, record, resumed=False)
        return self._reserve(hw_id, device.device_sn, device.credential, device.qr_code)
