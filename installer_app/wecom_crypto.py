"""WeCom's callback message crypto (加解密方案), shared by the team server and the emulator.

``msg_signature`` is the lower-case hex SHA-1 of (token, timestamp, nonce, encrypted text) sorted
as strings. The AES key is Base64(EncodingAESKey + "="), 32 bytes; AES-256-CBC with the key's
first 16 bytes as IV, PKCS#7 padding to a multiple of 32 bytes (WeCom's block, not AES's 16).
Plain text = random(16) || msg_len (4 bytes, big-endian) || msg || receive_id.

The primitives are PyCryptodome's; only WeCom's framing is written here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from Crypto.Cipher import AES

from installer_app.secrets import Secret

_PAD_BLOCK = 32
_AES_KEY_CHARS = 43


class CallbackCryptoError(Exception):
    """A callback message that does not verify or decrypt (internal; never carries a secret)."""


def signature(token: Secret, timestamp: str, nonce: str, encrypted: str) -> str:
    parts = sorted([token.reveal(), timestamp, nonce, encrypted])
    return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()


def aes_key(encoding_aes_key: Secret) -> bytes:
    """The 32-byte key of a 43-character EncodingAESKey; ValueError when it is not one."""
    text = encoding_aes_key.reveal()
    if len(text) != _AES_KEY_CHARS:
        raise ValueError("the EncodingAESKey is 43 characters")
    try:
        key = base64.b64decode(text + "=", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the EncodingAESKey is not Base64") from None
    if len(key) != 32:
        raise ValueError("the EncodingAESKey does not decode to 32 bytes")
    return key


class MessageCrypto:
    """Verify, decrypt and encrypt callback messages for one token, key and receive_id."""

    def __init__(self, token: Secret, encoding_aes_key: Secret, receive_id: str) -> None:
        self._token = token
        self._key = aes_key(encoding_aes_key)
        self.receive_id = receive_id

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        expected = signature(self._token, timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected.encode(), msg_signature.lower().encode()):
            raise CallbackCryptoError("signature mismatch")

    def decrypt(self, encrypted: str) -> str:
        """The message inside ``encrypted``; refuses another receive_id."""
        msg, receive_id = self.decrypt_with_receiver(encrypted)
        if not hmac.compare_digest(receive_id.encode(), self.receive_id.encode()):
            raise CallbackCryptoError("the message is for another receive_id")
        return msg

    def decrypt_with_receiver(self, encrypted: str) -> tuple[str, str]:
        try:
            blob = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise CallbackCryptoError("not Base64") from None
        if not blob or len(blob) % 16:
            raise CallbackCryptoError("not whole AES blocks")
        plain = AES.new(self._key, AES.MODE_CBC, iv=self._key[:16]).decrypt(blob)
        pad = plain[-1]
        if not 1 <= pad <= _PAD_BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CallbackCryptoError("bad padding")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise CallbackCryptoError("too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise CallbackCryptoError("bad length")
        try:
            msg = plain[20 : 20 + length].decode("utf-8")
            receive_id = plain[20 + length :].decode("utf-8")
        except UnicodeDecodeError:
            raise CallbackCryptoError("not UTF-8") from None
        return msg, receive_id

    def encrypt(self, msg: str, *, random_prefix: bytes | None = None) -> str:
        body = msg.encode("utf-8")
        plain = (
            (random_prefix if random_prefix is not None else os.urandom(16))
            + struct.pack(">I", len(body))
            + body
            + self.receive_id.encode("utf-8")
        )
        pad = _PAD_BLOCK - len(plain) % _PAD_BLOCK
        plain += bytes([pad]) * pad
        sealed = AES.new(self._key, AES.MODE_CBC, iv=self._key[:16]).encrypt(plain)
        return base64.b64encode(sealed).decode("ascii")

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return signature(self._token, timestamp, nonce, encrypted)
