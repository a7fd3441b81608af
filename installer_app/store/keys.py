"""The key that encrypts SecretNos at rest, and the cipher that uses it.

Each SecretNo is sealed with AES-256-GCM under a random 96-bit nonce; the associated data is the
SN (upper-cased, since WeCom treats SNs case-insensitively), so a ciphertext copied to another
row fails to open. The 256-bit key lives in the OS credential store (keyring, service
``installer-app``, name ``store-key``). Where there is none, the store refuses to keep secrets
unless the user opted in to a key file (``[store] key_file`` or ``INSTALLER_KEY_FILE``) that only
its owner can read: created 0600 in one atomic step, refused when group or others can read it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import secrets as pysecrets
import stat
import sys
from pathlib import Path
from typing import Any

import filelock
from Crypto.Cipher import AES

from installer_app.build_info import has_secret_service
from installer_app.config import KEYRING_SERVICE, Settings
from installer_app.paths import key_creation_lock_file
from installer_app.secrets import Secret
from installer_app.store.errors import KeyFileError, NoKeyStore

log = logging.getLogger(__name__)

KEYRING_KEY_NAME = "store-key"
KEY_BYTES = 32
KEY_LOCK_TIMEOUT_S = 30.0
NONCE_BYTES = 12
TAG_BYTES = 16
_AAD_PREFIX = b"installer-app/secret-no/v1:"
# Backends that keep nothing: the app must not believe the key is safe there.
_USELESS_BACKENDS = ("keyring.backends.fail", "keyring.backends.null", "keyring.backends.chainer")


class DecryptError(Exception):
    """A ciphertext did not open: wrong key, wrong row, or damaged bytes (internal)."""


class SecretCipher:
    """AES-256-GCM with the SN as associated data. Thread-safe (no mutable state).

    The blob is ``nonce(12) || ciphertext || tag(16)``, the layout of the usual AEAD APIs, so the
    stores written before the switch from ``cryptography`` to PyCryptodome (smaller frozen builds,
    docs/packaging.md) open unchanged; tests/unit/test_store_keys.py keeps such a blob.
    """

    __slots__ = ("_key", "origin")

    def __init__(self, key: bytes, origin: str = "memory") -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("the store key is 32 bytes")
        self._key = key
        self.origin = origin  # "keyring", "file:<path>" or "memory"; for messages and docs

    @staticmethod
    def _aad(sn: str) -> bytes:
        return _AAD_PREFIX + sn.upper().encode("ascii", "replace")

    def encrypt(self, sn: str, secret: Secret) -> bytes:
        """``nonce || ciphertext+tag`` for ``secret`` bound to ``sn``."""
        nonce = os.urandom(NONCE_BYTES)
        gcm = AES.new(self._key, AES.MODE_GCM, nonce=nonce, mac_len=TAG_BYTES)
        gcm.update(self._aad(sn))
        sealed, tag = gcm.encrypt_and_digest(secret.reveal().encode("utf-8"))
        return nonce + sealed + tag

    def decrypt(self, sn: str, blob: bytes) -> Secret:
        if len(blob) < NONCE_BYTES + TAG_BYTES:
            raise DecryptError("ciphertext too short")
        nonce, sealed, tag = blob[:NONCE_BYTES], blob[NONCE_BYTES:-TAG_BYTES], blob[-TAG_BYTES:]
        gcm = AES.new(self._key, AES.MODE_GCM, nonce=nonce, mac_len=TAG_BYTES)
        gcm.update(self._aad(sn))
        try:
            plain = gcm.decrypt_and_verify(sealed, tag)
        except ValueError:  # PyCryptodome's "MAC check failed"
            raise DecryptError("ciphertext does not open with this key for this SN") from None
        try:
            return Secret(plain.decode("utf-8"))
        except UnicodeDecodeError:
            raise DecryptError("the opened value is not text") from None

    def __repr__(self) -> str:
        return f"SecretCipher(origin={self.origin!r})"

    @classmethod
    def generate(cls) -> SecretCipher:
        """A cipher with a fresh random key that is kept nowhere (tests, throw-away stores)."""
        return cls(os.urandom(KEY_BYTES))

    @classmethod
    def from_key_file(cls, path: Path) -> SecretCipher:
        """Read the key file, creating it (0600, atomically) with a new key when missing."""
        path = path.expanduser()
        try:
            key = _read_key_file(path)
        except FileNotFoundError:
            key = _create_key_file(path)
        return cls(key, origin=f"file:{path}")

    @classmethod
    def from_keyring(cls) -> SecretCipher:
        """The key from the OS credential store, created there on first use.

        Raises ``NoKeyStore`` when the credential store is missing, a do-nothing backend, or fails.
        """
        try:
            import keyring
            from keyring.errors import KeyringError
        except ImportError:  # pragma: no cover - keyring is a declared dependency
            raise NoKeyStore("keyring is not installed") from None
        try:
            backend: Any = keyring.get_keyring()
        except Exception as exc:  # noqa: BLE001 - a broken keyring set-up is "no credential store"
            raise NoKeyStore(type(exc).__name__) from None
        module = type(backend).__module__
        if module.startswith(_USELESS_BACKENDS) or _priority(backend) <= 0:
            if sys.platform.startswith("linux") and not has_secret_service():
                raise NoKeyStore.secret_service_left_out()
            raise NoKeyStore(f"{module}.{type(backend).__name__}")
        try:
            stored = keyring.get_password(KEYRING_SERVICE, KEYRING_KEY_NAME)
            if stored is None:
                # The first run on this account. Two runs starting together (a factory line)
                # would each make a key and the last to save it would win, while the other's
                # key had sealed the database's key check: every later run refused as the
                # wrong key. So one process at a time creates it, and looks again first.
                with _key_creation_lock():
                    stored = keyring.get_password(KEYRING_SERVICE, KEYRING_KEY_NAME)
                    if stored is None:
                        stored = _create_keyring_key(keyring, type(backend).__name__)
        except (KeyringError, RuntimeError, OSError, filelock.Timeout) as exc:
            raise NoKeyStore(type(exc).__name__) from None
        key = _decode_key(stored)
        if key is None:
            raise NoKeyStore("the stored key is not 32 bytes of base64")
        return cls(key, origin="keyring")


def _key_creation_lock() -> filelock.FileLock:
    """Held while the store key is created in the credential store: one lock per user account,
    like the credential store itself (whatever --data-dir a run uses)."""
    path = key_creation_lock_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    return filelock.FileLock(path, timeout=KEY_LOCK_TIMEOUT_S)


def _create_keyring_key(keyring: Any, backend_name: str) -> str:
    new = base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")
    keyring.set_password(KEYRING_SERVICE, KEYRING_KEY_NAME, new)
    stored = keyring.get_password(KEYRING_SERVICE, KEYRING_KEY_NAME)
    if stored != new:
        raise NoKeyStore(f"{backend_name} did not keep the key")
    log.info("created the store key in the credential store")
    return new


def _priority(backend: Any) -> float:
    try:
        return float(getattr(backend, "priority", 1))
    except Exception:  # noqa: BLE001 - some backends compute priority and fail when unusable
        return 0.0


def _decode_key(text: str) -> bytes | None:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == KEY_BYTES else None


def _read_key_file(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise KeyFileError.unreadable(path, exc.strerror or type(exc).__name__) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):  # a directory: fdopen would raise IsADirectoryError
        os.close(fd)
        raise KeyFileError.unreadable(path, "not a regular file")
    with os.fdopen(fd, "rb") as f:
        if os.name == "posix":
            if info.st_mode & 0o077:
                raise KeyFileError.insecure(path, stat.S_IMODE(info.st_mode))
            if hasattr(os, "getuid") and info.st_uid != os.getuid():
                raise KeyFileError.unreadable(path, "owned by another user")
        raw = f.read(4096)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        text = ""
    key = _decode_key(text)
    if key is None:
        raise KeyFileError.unreadable(path, "not a key written by this app")
    return key


def _create_key_file(path: Path) -> bytes:
    """Write a new key; if another process created the file first, use that one.

    The key is written and synced in a temporary file beside ``path`` and then hard-linked into
    place: the link fails if ``path`` exists and never replaces it, and whoever sees the file sees
    it whole (two sessions opening at once used to read a file the other had created but not yet
    written, and refused it as damaged). Where the file system has no hard links (FAT on a USB
    stick), the file is created in place with O_EXCL instead.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise KeyFileError.unreadable(path, exc.strerror or type(exc).__name__) from None
    key = pysecrets.token_bytes(KEY_BYTES)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{pysecrets.token_hex(4)}.tmp")
    try:
        _write_key(tmp, key)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError:
            _write_key(path, key)  # no hard links here
    except FileExistsError:
        return _read_key_file(path)
    except OSError as exc:
        raise KeyFileError.unreadable(path, exc.strerror or type(exc).__name__) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    log.warning("created a new store key file %s (owner-only); back it up", path)
    return key


def _write_key(path: Path, key: bytes) -> None:
    """Create ``path`` (owner-only, never an existing file or a symlink) holding ``key``."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(base64.b64encode(key) + b"\n")
        f.flush()
        os.fsync(f.fileno())


def load_cipher(settings: Settings) -> SecretCipher:
    """The key file when the user chose one (it wins), else the OS credential store."""
    key_file = settings.key_file()
    if key_file is not None:
        return SecretCipher.from_key_file(key_file)
    return SecretCipher.from_keyring()
