"""Leases (C5): credentials taken before leaving for a site without network, and given back.

Taking one keeps its credentials sealed in the local store in one transaction; the server already
reserved them to this installer, so a crash after its answer only leaves them unused on the server
until the lease expires (14 days) and they return to the pool by themselves.
"""

from __future__ import annotations

import logging

from installer_app.provider.errors import BadSn
from installer_app.provider.team import Lease, TeamClient
from installer_app.store.db import Store
from installer_app.store.team_tables import LeasedCredential

log = logging.getLogger(__name__)


def take_lease(store: Store, client: TeamClient, model_id: str, count: int) -> Lease:
    lease = client.take_lease(model_id, count)
    store.add_lease(
        lease.lease_id,
        model_id,
        lease.expires_at,
        [LeasedCredential(c.device_sn, c.credential, c.qr_code) for c in lease.credentials],
    )
    log.info("took lease %s: %d credentials", lease.lease_id, len(lease.credentials))
    return lease


def return_leases(store: Store, client: TeamClient) -> int:
    """Give every lease not returned yet back to the server (its unused credentials), then drop
    them here. Returns how many credentials went back."""
    returned = 0
    for lease in store.leases():
        if lease.returned:
            continue
        try:
            returned += client.return_lease(lease.lease_id)
        except BadSn:
            # The server no longer knows the lease (404): nothing of it is left to give back.
            log.info("lease %s unknown to the server", lease.lease_id)
        store.forget_lease(lease.lease_id)
    return returned
