"""The companion app's (suite) callbacks from WeCom: URL verification and the events.

The signature is checked before anything is decrypted or stored (403 otherwise). An accepted POST
is answered ``success`` at once: the event is recorded in the same short transaction (a replay
finds its digest and is recorded once), and the slow part of ``create_auth`` (two calls to WeCom)
runs after the answer. ``suite_ticket`` is kept sealed; ``cancel_auth`` turns C3 to
``installed: false``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import xml.etree.ElementTree as ET
from typing import Any

from psycopg_pool import AsyncConnectionPool

from installer_app.errors import InstallerError
from installer_app.provider.wecom_crypto import CallbackCryptoError, MessageCrypto
from installer_app.secrets import Secret
from installer_app.server.errors import ApiFailure
from installer_app.server.sealing import Sealer
from installer_app.server.suite_client import SuiteClient

log = logging.getLogger(__name__)

TICKET_KIND = "suite-ticket"
PERMANENT_KIND = "permanent-code"


def forbidden() -> ApiFailure:
    return ApiFailure(403, 403, "signature or receiver mismatch")


def _xml_fields(text: str) -> dict[str, str]:
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        raise ApiFailure(400, 40035, "body: not the XML of a WeCom callback") from None
    return {child.tag: (child.text or "").strip() for child in root}


class SuiteCallbacks:
    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        crypto: MessageCrypto,
        sealer: Sealer,
        suite: SuiteClient | None,
    ) -> None:
        self.pool = pool
        self.crypto = crypto
        self.sealer = sealer
        self.suite = suite

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        try:
            self.crypto.verify(msg_signature, timestamp, nonce, echostr)
            return self.crypto.decrypt(echostr)
        except CallbackCryptoError:
            raise forbidden() from None

    async def receive(
        self, msg_signature: str, timestamp: str, nonce: str, body: bytes
    ) -> tuple[str, str | None]:
        """Check, decrypt and record one event; ``(info_type, auth_code or None)``.

        The caller answers ``success`` and then runs ``complete_auth`` with the auth code."""
        try:
            outer = _xml_fields(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise ApiFailure(400, 40035, "body: not UTF-8") from None
        encrypted = outer.get("Encrypt", "")
        try:
            self.crypto.verify(msg_signature, timestamp, nonce, encrypted)
            plain = self.crypto.decrypt(encrypted)
        except CallbackCryptoError:
            raise forbidden() from None
        fields = _xml_fields(plain)
        info_type = fields.get("InfoType", "")
        digest = hashlib.sha256(plain.encode("utf-8")).digest()
        corpid = fields.get("AuthCorpId") or None
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "INSERT INTO suite_events (digest, info_type, corpid) VALUES (%s, %s, %s) "
                "ON CONFLICT (digest) DO NOTHING RETURNING digest",
                (digest, info_type, corpid),
            )
            if await cur.fetchone() is None:
                log.info("suite callback %s delivered again: already recorded", info_type)
                return info_type, None
            if info_type == "suite_ticket" and fields.get("SuiteTicket"):
                sealed = self.sealer.seal(TICKET_KIND, "1", Secret(fields["SuiteTicket"]))
                await conn.execute(
                    "INSERT INTO suite_ticket (id, ticket_sealed) VALUES (1, %s) "
                    "ON CONFLICT (id) DO UPDATE SET ticket_sealed = EXCLUDED.ticket_sealed, "
                    "received_at = now()",
                    (sealed,),
                )
            elif info_type == "cancel_auth" and corpid:
                await conn.execute(
                    "UPDATE installations SET installed = false, updated_at = now() "
                    "WHERE corpid = %s",
                    (corpid,),
                )
                await conn.execute(
                    "INSERT INTO audit (action, detail) VALUES ('cancel_auth', %s)", (corpid,)
                )
            elif info_type == "change_auth" and corpid:
                await conn.execute(
                    "UPDATE installations SET updated_at = now() WHERE corpid = %s", (corpid,)
                )
                await conn.execute(
                    "INSERT INTO audit (action, detail) VALUES ('change_auth', %s)", (corpid,)
                )
        log.info("suite callback %s recorded", info_type)
        auth_code = fields.get("AuthCode") if info_type == "create_auth" else None
        return info_type, auth_code or None

    async def complete_auth(self, auth_code: str) -> None:
        """After the answer: suite token, permanent code, the installation recorded."""
        if self.suite is None:
            log.warning("create_auth received but INSTALLER_SUITE_SECRET is not set")
            return
        suite = self.suite
        try:
            async with self.pool.connection() as conn:
                cur = await conn.execute("SELECT ticket_sealed FROM suite_ticket WHERE id = 1")
                row = await cur.fetchone()
            if row is None:
                log.warning("create_auth before any suite_ticket: cannot get a suite token")
                return
            suite.use_ticket(self.sealer.open(TICKET_KIND, "1", row["ticket_sealed"]))
            auth = await asyncio.to_thread(suite.get_permanent_code, auth_code)
            sealed = self.sealer.seal(PERMANENT_KIND, auth.corpid, auth.permanent_code)
            async with self.pool.connection() as conn, conn.transaction():
                await conn.execute(
                    "INSERT INTO installations (corpid, corp_name, agentid, "
                    "permanent_code_sealed) VALUES (%s, %s, %s, %s) ON CONFLICT (corpid) DO "
                    "UPDATE SET corp_name = EXCLUDED.corp_name, agentid = EXCLUDED.agentid, "
                    "permanent_code_sealed = EXCLUDED.permanent_code_sealed, installed = true, "
                    "auth_time = now(), updated_at = now()",
                    (auth.corpid, auth.corp_name, auth.agentid, sealed),
                )
                await conn.execute(
                    "INSERT INTO audit (action, detail) VALUES ('create_auth', %s)", (auth.corpid,)
                )
            log.info("companion app installed in %s", auth.corpid)
        except InstallerError as exc:
            log.warning("create_auth: %s", exc.message.english())
        except Exception:
            log.exception("create_auth failed")
