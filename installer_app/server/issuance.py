"""C1 (credentials by HW_ID), C5 (leases) and C4 (events): the rules that share the pool.

Every rule is a transaction and a constraint, never process memory, so any number of workers and
instances may run at once (docs/server.md):
- an SN is tied to one board for ever: ``credentials.hw_id`` and ``devices.hw_id`` are UNIQUE, and
  ``devices.device_sn`` is UNIQUE; a race between two requests for one board ends in a unique
  violation for the second, which rolls back and reads the first one's answer;
- the pool is read with ``FOR UPDATE SKIP LOCKED``: concurrent requests take different free SNs
  without waiting for each other;
- register mode takes a transaction-scoped advisory lock on the HW_ID while it calls WeCom, so one
  board is registered once even when its laptop retries at once;
- a lease marks its SNs with the lease's expiry; an SN whose lease has expired is free again for C1
  and C5 without any job having to run.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from installer_app.provider.errors import ProviderError, SnAlreadyRegistered
from installer_app.provider.wecom import RegisteredDevice, WecomClient
from installer_app.secrets import Secret
from installer_app.server.accounts import AUTH_SQL, Caller
from installer_app.server.config import ServerConfig
from installer_app.server.errors import (
    ApiFailure,
    bad_model,
    conflict,
    pool_empty,
    unauthorized,
)
from installer_app.server.sealing import Sealer
from installer_app.server.watch import LOOK_SOON_SQL

SEAL_KIND = "credential"
LEASE_DAYS = 14
_RACE_RETRIES = 3
_MODEL_ERRCODES = (600038, 600042)

_FREE = "hw_id IS NULL AND (lease_id IS NULL OR lease_expires_at < now())"

# The hot path of C1 (inventory mode, no SN asked for) as one statement, so one round trip: the
# token check (read in this very statement, so a revocation applies to the next request with no
# cache to invalidate), the board's earlier answer if it has one, else a free SN reserved with
# SKIP LOCKED, tied to the board, recorded as a device and in the audit table. No row: the token
# is wrong, revoked or expired (401); a row without an SN: the pool is empty (409); a unique
# violation: another request for the same board won, and running it again reads that answer.
_ISSUE_FOR_TOKEN_SQL = f"""
WITH who AS (
    SELECT id, name FROM installers WHERE token_sha256 = %(digest)s AND revoked_at IS NULL
    AND (expires_at IS NULL OR expires_at > now())
), had AS (
    SELECT c.device_sn, c.secret_sealed, c.qr_code FROM devices d
    JOIN credentials c ON c.device_sn = d.device_sn
    WHERE d.hw_id = %(hw)s AND EXISTS (SELECT FROM who)
), picked AS (
    SELECT device_sn, secret_sealed, qr_code FROM credentials
    WHERE model_id = %(model)s AND {_FREE}
        AND EXISTS (SELECT FROM who) AND NOT EXISTS (SELECT FROM had)
    ORDER BY imported_at, device_sn LIMIT 1 FOR UPDATE SKIP LOCKED
), tied AS (
    UPDATE credentials c SET hw_id = %(hw)s, issued_at = now(), lease_id = NULL,
        lease_expires_at = NULL
    FROM picked WHERE c.device_sn = picked.device_sn RETURNING c.device_sn
), dev AS (
    INSERT INTO devices (hw_id, device_sn, model_id, installer_id)
    SELECT %(hw)s, device_sn, %(model)s, (SELECT id FROM who) FROM tied RETURNING device_sn
), logged AS (
    INSERT INTO audit (installer, laptop, action, device_sn, hw_id, detail)
    SELECT (SELECT name FROM who), %(laptop)s, 'issue', device_sn, %(hw)s, %(model)s FROM dev
), issued AS (
    SELECT p.device_sn, p.secret_sealed, p.qr_code FROM picked p JOIN dev d USING (device_sn)
)
SELECT coalesce(h.device_sn, n.device_sn) AS device_sn,
    coalesce(h.secret_sealed, n.secret_sealed) AS secret_sealed,
    coalesce(h.qr_code, n.qr_code) AS qr_code
FROM who LEFT JOIN had h ON true LEFT JOIN issued n ON true
"""


def _written(event: dict[str, Any]) -> bool:
    return bool(event["step"] == "written" and event["outcome"] == "ok")


@dataclass(frozen=True)
class Issued:
    device_sn: str
    credential: Secret
    qr_code: str


@dataclass(frozen=True)
class Who:
    caller: Caller
    laptop: str


async def audit(
    conn: psycopg.AsyncConnection[Any],
    who: Who | None,
    action: str,
    device_sn: str | None = None,
    hw_id: str | None = None,
    detail: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO audit (installer, laptop, action, device_sn, hw_id, detail) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (
            who.caller.name if who else None,
            who.laptop if who else None,
            action,
            device_sn,
            hw_id,
            detail,
        ),
    )


async def authenticate(conn: psycopg.AsyncConnection[Any], digest: bytes) -> Caller:
    """The token's owner; 401 for a wrong, revoked or expired token (read again every time)."""
    cur = await conn.execute(AUTH_SQL, (digest,))
    row = await cur.fetchone()
    if row is None:
        raise unauthorized()
    return Caller(row["id"], row["name"], row["role"])


class Issuer:
    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        config: ServerConfig,
        sealer: Sealer,
        wecom: WecomClient | None,
        watch_bell: asyncio.Event,
    ) -> None:
        self.pool = pool
        self.config = config
        self.sealer = sealer
        self.wecom = wecom
        self.watch_bell = watch_bell

    def _issued(self, row: dict[str, Any]) -> Issued:
        sn = row["device_sn"]
        return Issued(sn, self.sealer.open(SEAL_KIND, sn, row["secret_sealed"]), row["qr_code"])

    def check_model(self, model_id: str) -> None:
        if model_id not in self.config.model_ids:
            raise bad_model(model_id)

    # -- C1 ----------------------------------------------------------------------------------

    async def issue(self, who: Who, model_id: str, hw_id: str, device_sn: str | None) -> Issued:
        self.check_model(model_id)
        hw_id = hw_id.lower()
        for _ in range(_RACE_RETRIES):
            try:
                if self.config.source == "register":
                    return await self._issue_register(who, model_id, hw_id, device_sn)
                return await self._issue_inventory(who, model_id, hw_id, device_sn)
            except psycopg.errors.UniqueViolation:
                continue  # another request for this board won: read its answer
        raise conflict("device_sn conflict: this SN belongs to another board")

    async def _existing(
        self, conn: psycopg.AsyncConnection[Any], hw_id: str, device_sn: str | None
    ) -> Issued | None:
        cur = await conn.execute(
            "SELECT c.device_sn, c.secret_sealed, c.qr_code FROM devices d "
            "JOIN credentials c ON c.device_sn = d.device_sn WHERE d.hw_id = %s",
            (hw_id,),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        if device_sn is not None and device_sn.upper() != row["device_sn"].upper():
            raise conflict("device_sn conflict: this board already has another SN")
        return self._issued(row)

    async def _tie(
        self,
        conn: psycopg.AsyncConnection[Any],
        who: Who | None,
        row: dict[str, Any],
        hw_id: str,
        model_id: str,
        action: str,
    ) -> None:
        sn = row["device_sn"]
        await conn.execute(
            "UPDATE credentials SET hw_id = %s, issued_at = now() WHERE device_sn = %s", (hw_id, sn)
        )
        await conn.execute(
            "INSERT INTO devices (hw_id, device_sn, model_id, installer_id) "
            "VALUES (%s, %s, %s, %s)",
            (hw_id, sn, model_id, who.caller.id if who else None),
        )
        await audit(conn, who, action, sn, hw_id, model_id)

    async def _issue_inventory(
        self, who: Who, model_id: str, hw_id: str, device_sn: str | None
    ) -> Issued:
        async with self.pool.connection() as conn, conn.transaction():
            found = await self._existing(conn, hw_id, device_sn)
            if found is not None:
                return found
            if device_sn is not None:
                cur = await conn.execute(
                    "SELECT device_sn, secret_sealed, qr_code, model_id, "
                    f"({_FREE}) AS free FROM credentials WHERE upper(device_sn) = upper(%s) "
                    "FOR UPDATE",
                    (device_sn,),
                )
                row = await cur.fetchone()
                if row is None or not row["free"] or row["model_id"] != model_id:
                    raise conflict("device_sn conflict: not a free SN of this model")
            else:
                cur = await conn.execute(
                    "SELECT device_sn, secret_sealed, qr_code FROM credentials "
                    f"WHERE model_id = %s AND {_FREE} ORDER BY imported_at, device_sn "
                    "LIMIT 1 FOR UPDATE SKIP LOCKED",
                    (model_id,),
                )
                row = await cur.fetchone()
                if row is None:
                    raise pool_empty()
            await self._tie(conn, who, row, hw_id, model_id, "issue")
            return self._issued(row)

    async def issue_for_token(
        self, digest: bytes, laptop: str, model_id: str, hw_id: str, device_sn: str | None
    ) -> Issued:
        """C1 for the token with this digest. The hot path (inventory mode, no SN asked for, a
        model the server serves) is one statement; the other cases check the token first and
        go through ``issue``."""
        hw_id = hw_id.lower()
        fast = (
            self.config.source == "inventory"
            and device_sn is None
            and model_id in self.config.model_ids
        )
        if not fast:
            async with self.pool.connection() as conn:
                who = Who(await authenticate(conn, digest), laptop)
            return await self.issue(who, model_id, hw_id, device_sn)
        params = {"digest": digest, "model": model_id, "hw": hw_id, "laptop": laptop}
        async with self.pool.connection() as conn:
            for _ in range(_RACE_RETRIES):
                try:
                    cur = await conn.execute(_ISSUE_FOR_TOKEN_SQL, params)
                except psycopg.errors.UniqueViolation:
                    continue  # another request for this board won: read its answer
                row = await cur.fetchone()
                if row is None:
                    raise unauthorized()
                if row["device_sn"] is None:
                    raise pool_empty()
                return self._issued(row)
        raise conflict("device_sn conflict: this SN belongs to another board")

    async def _issue_register(
        self, who: Who, model_id: str, hw_id: str, device_sn: str | None
    ) -> Issued:
        if self.wecom is None:
            raise ApiFailure(
                503, 503, "register mode needs INSTALLER_PROVIDER_SECRET", {"Retry-After": "60"}
            )
        async with self.pool.connection() as conn, conn.transaction():
            # One registration per board at a time, in every worker and instance.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 7))", (hw_id,))
            found = await self._existing(conn, hw_id, device_sn)
            if found is not None:
                return found
            sn = device_sn or self.config.sn_prefix + hw_id.upper()
            cur = await conn.execute(
                "SELECT device_sn, secret_sealed, qr_code, hw_id FROM credentials "
                "WHERE upper(device_sn) = upper(%s) FOR UPDATE",
                (sn,),
            )
            row = await cur.fetchone()
            if row is not None:
                if row["hw_id"] is not None:
                    raise conflict("device_sn conflict: this SN belongs to another board")
            else:
                try:
                    registered: RegisteredDevice = await asyncio.to_thread(
                        self.wecom.add_device, model_id, sn
                    )
                except SnAlreadyRegistered:
                    raise conflict("device_sn conflict: WeCom has this SN registered") from None
                except ProviderError as exc:
                    # WeCom does not know the model (600038) or calls it invalid (600042).
                    if exc.errcode not in _MODEL_ERRCODES:
                        raise
                    raise bad_model(model_id) from None
                sealed = self.sealer.seal(SEAL_KIND, registered.device_sn, registered.secret_no)
                await conn.execute(
                    "INSERT INTO credentials (device_sn, model_id, secret_sealed, qr_code, origin) "
                    "VALUES (%s, %s, %s, %s, 'register')",
                    (registered.device_sn, model_id, sealed, registered.qr_code),
                )
                row = {
                    "device_sn": registered.device_sn,
                    "secret_sealed": sealed,
                    "qr_code": registered.qr_code,
                }
            await self._tie(conn, who, row, hw_id, model_id, "register")
            return self._issued(row)

    # -- C5 ----------------------------------------------------------------------------------

    async def lease(
        self, who: Who, model_id: str, count: int
    ) -> tuple[str, datetime, list[Issued]]:
        self.check_model(model_id)
        lease_id = uuid.uuid4()
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "INSERT INTO leases (id, installer_id, model_id, expires_at) "
                "VALUES (%s, %s, %s, now() + make_interval(days => %s)) RETURNING expires_at",
                (lease_id, who.caller.id, model_id, LEASE_DAYS),
            )
            lease = await cur.fetchone()
            assert lease is not None
            cur = await conn.execute(
                "SELECT device_sn, secret_sealed, qr_code FROM credentials "
                f"WHERE model_id = %s AND {_FREE} ORDER BY imported_at, device_sn "
                "LIMIT %s FOR UPDATE SKIP LOCKED",
                (model_id, count),
            )
            rows = await cur.fetchall()
            if not rows:
                raise pool_empty()
            sns = [r["device_sn"] for r in rows]
            await conn.execute(
                "UPDATE credentials SET lease_id = %s, lease_expires_at = %s "
                "WHERE device_sn = ANY(%s)",
                (lease_id, lease["expires_at"], sns),
            )
            await audit(conn, who, "lease", None, None, f"{lease_id} {len(sns)} {model_id}")
            return str(lease_id), lease["expires_at"], [self._issued(r) for r in rows]

    async def return_lease(self, who: Who, lease_id: uuid.UUID) -> int:
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "UPDATE leases SET returned_at = coalesce(returned_at, now()) "
                "WHERE id = %s AND (installer_id = %s OR %s) RETURNING id",
                (lease_id, who.caller.id, who.caller.role == "admin"),
            )
            if await cur.fetchone() is None:
                raise ApiFailure(404, 404, "unknown lease_id")
            cur = await conn.execute(
                "UPDATE credentials SET lease_id = NULL, lease_expires_at = NULL "
                "WHERE lease_id = %s AND hw_id IS NULL",
                (lease_id,),
            )
            returned: int = cur.rowcount
            await audit(conn, who, "return-lease", None, None, f"{lease_id} {returned}")
            return returned

    # -- C4 ----------------------------------------------------------------------------------

    async def record_events(
        self, who: Who, events: list[dict[str, Any]]
    ) -> tuple[int, int, list[dict[str, Any]]]:
        accepted = duplicates = 0
        refused: list[dict[str, Any]] = []
        async with self.pool.connection() as conn:
            for event in events:
                try:
                    async with conn.transaction():
                        outcome = await self._record_event(conn, who, event)
                except psycopg.errors.UniqueViolation:
                    outcome = "refused"
                if outcome == "accepted":
                    accepted += 1
                    if _written(event):
                        self.watch_bell.set()  # after the commit: the watch sees the change
                elif outcome == "duplicate":
                    duplicates += 1
                else:
                    refused.append(
                        {
                            "event_id": str(event["event_id"]),
                            "errcode": 600036,
                            "errmsg": "this SN belongs to another hw_id",
                        }
                    )
        return accepted, duplicates, refused

    async def _record_event(
        self, conn: psycopg.AsyncConnection[Any], who: Who, event: dict[str, Any]
    ) -> str:
        sn, hw_id = event["device_sn"], event["hw_id"].lower()
        cur = await conn.execute("SELECT 1 FROM events WHERE event_id = %s", (event["event_id"],))
        if await cur.fetchone() is not None:
            return "duplicate"
        cur = await conn.execute(
            "SELECT hw_id FROM devices WHERE upper(device_sn) = upper(%s)", (sn,)
        )
        device = await cur.fetchone()
        if device is not None and device["hw_id"] != hw_id:
            return "refused"
        if device is None:
            cur = await conn.execute(
                "SELECT device_sn, model_id, hw_id, lease_id FROM credentials "
                "WHERE upper(device_sn) = upper(%s) FOR UPDATE",
                (sn,),
            )
            cred = await cur.fetchone()
            if cred is not None and cred["hw_id"] is not None and cred["hw_id"] != hw_id:
                return "refused"
            if cred is not None and _written(event):
                # A leased credential is tied to its board when the laptop reports writing it.
                await self._tie(conn, who, cred, hw_id, cred["model_id"], "tie-leased")
        cur = await conn.execute(
            "INSERT INTO events (event_id, device_sn, hw_id, step, outcome, at, installer, detail,"
            " installer_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (event_id) DO NOTHING",
            (
                event["event_id"],
                sn,
                hw_id,
                event["step"],
                event["outcome"],
                event["at"],
                event["installer"],
                event.get("detail"),
                who.caller.id,
            ),
        )
        if cur.rowcount == 0:
            return "duplicate"
        await conn.execute(
            "UPDATE devices SET stage = %s, last_outcome = %s, updated_at = now() "
            "WHERE upper(device_sn) = upper(%s) AND hw_id = %s",
            (event["step"], event["outcome"], sn, hw_id),
        )
        if _written(event):
            # The board shows its QR code now: the binding watch looks at it next (watch.py).
            await conn.execute(LOOK_SOON_SQL, (sn,))
        await audit(conn, who, f"event:{event['step']}:{event['outcome']}", sn, hw_id)
        return "accepted"
