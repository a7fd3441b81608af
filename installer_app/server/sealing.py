"""Sealing secrets at rest in PostgreSQL (SecretNos, credentials, permanent codes).

The same construction as the laptop's store (installer_app/store/keys.py): AES-256-GCM, a random
96-bit nonce, the blob ``nonce(12) || ciphertext || tag(16)``, and the row's identity as associated
data so a sealed value copied to another row does not open. A separate module because the laptop's
cipher names its associated data for SecretNos only and lives beside the SQLite store's key
handling (keyring, key files), which a server does not use.
"""

from __future__ import annotations

import os

from Crypto.Cipher import AES

from installer_app.secrets import Secret

NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32


class SealError(Exception):
    """A sealed value did not open: wrong server key or a damaged or moved value (internal)."""


class Sealer:
    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("the server key is 32 bytes")
        self._key = key

    @staticmethod
    def _aad(kind: str, row: str) -> bytes:
        return f"installer-app/server/{kind}/v1:{row.upper()}".encode("utf-8", "replace")

    def seal(self, kind: str, row: str, secret: Secret) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        gcm = AES.new(self._key, AES.MODE_GCM, nonce=nonce, mac_len=TAG_BYTES)
        gcm.update(self._aad(kind, row))
        sealed, tag = gcm.encrypt_and_digest(secret.reveal().encode("utf-8"))
        return nonce + sealed + tag

    def open(self, kind: str, row: str, blob: bytes) -> Secret:
        if len(blob) < NONCE_BYTES + TAG_BYTES:
            raise SealError("sealed value too short")
        nonce, sealed, tag = blob[:NONCE_BYTES], blob[NONCE_BYTES:-TAG_BYTES], blob[-TAG_BYTES:]
        gcm = AES.new(self._key, AES.MODE_GCM, nonce=nonce, mac_len=TAG_BYTES)
        gcm.update(self._aad(kind, row))
        try:
            return Secret(gcm.decrypt_and_verify(sealed, tag).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise SealError("sealed value does not open with this key for this row") from None

    def __repr__(self) -> str:
        return "Sealer(***)"
