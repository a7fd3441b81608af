"""Installer and admin tokens: created, listed, revoked, and checked on every request.

A token is 32 random bytes (URL-safe Base64) shown once; the database keeps its SHA-256 only, so a
dump of the database lets nobody in. Each request looks its token up again (one indexed read), so
a revocation or expiry applies to the very next request, in every worker, with no restart.
"""

from __future__ import annotations

import hashlib
import secrets as pysecrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg

from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.secrets import Secret

Role = Literal["installer", "admin"]
ROLES: tuple[Role, ...] = ("installer", "admin")
NAME_MAX = 64


class AccountError(InstallerError):
    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class Caller:
    """Who made a request (the token's owner)."""

    id: int
    name: str
    role: str


@dataclass(frozen=True)
class InstallerRow:
    name: str
    role: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return None if t is None else t.isoformat()

        return {
            "installer": self.name,
            "role": self.role,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "revoked_at": iso(self.revoked_at),
            "active": self.revoked_at is None
            and (self.expires_at is None or self.expires_at > datetime.now(self.created_at.tzinfo)),
        }


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def new_token() -> Secret:
    return Secret(pysecrets.token_urlsafe(32))


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_MAX or any(not c.isprintable() for c in name):
        raise AccountError(
            Message(
                QT_TRANSLATE_NOOP("server", "An installer name is 1 to {n} printable characters."),
                n=NAME_MAX,
            )
        )
    return name


def add_installer(
    conn: psycopg.Connection[Any], name: str, role: Role, expires_days: int | None
) -> Secret:
    name = _check_name(name)
    token = new_token()
    try:
        with conn.transaction():
            conn.execute(
                "INSERT INTO installers (name, role, token_sha256, expires_at) VALUES "
                "(%s, %s, %s, CASE WHEN %s::int IS NULL THEN NULL "
                "ELSE now() + make_interval(days => %s::int) END)",
                (name, role, token_digest(token.reveal()), expires_days, expires_days),
            )
            conn.execute(
                "INSERT INTO audit (installer, action, detail) VALUES (%s, 'add-installer', %s)",
                (name, role),
            )
    except psycopg.errors.UniqueViolation:
        raise AccountError(
            Message(QT_TRANSLATE_NOOP("server", "An installer named {name} exists."), name=name),
            Message(QT_TRANSLATE_NOOP("server", "Choose another name.")),
        ) from None
    return token


def revoke(conn: psycopg.Connection[Any], name: str) -> None:
    with conn.transaction():
        cur = conn.execute(
            "UPDATE installers SET revoked_at = coalesce(revoked_at, now()) WHERE name = %s",
            (name,),
        )
        if cur.rowcount == 0:
            raise AccountError(
                Message(QT_TRANSLATE_NOOP("server", "No installer is named {name}."), name=name)
            )
        conn.execute(
            "INSERT INTO audit (installer, action) VALUES (%s, 'revoke')",
            (name,),
        )


def list_installers(conn: psycopg.Connection[Any]) -> list[InstallerRow]:
    rows = conn.execute(
        "SELECT name, role, created_at, expires_at, revoked_at FROM installers ORDER BY name"
    ).fetchall()
    return [InstallerRow(*row) for row in rows]


AUTH_SQL = (
    "SELECT id, name, role FROM installers WHERE token_sha256 = %s AND revoked_at IS NULL "
    "AND (expires_at IS NULL OR expires_at > now())"
)
