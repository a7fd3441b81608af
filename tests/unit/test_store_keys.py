"""The SecretNo cipher and where its key lives: keyring, or an opt-in owner-only key file."""

from __future__ import annotations

import base64
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import pytest
from keyring.backends import fail

from installer_app.config import Settings, StoreSettings
from installer_app.errors import ExitCode
from installer_app.secrets import Secret
from installer_app.store import KeyFileError, NoKeyStore, SecretCipher, load_cipher
from installer_app.store.keys import KEYRING_KEY_NAME, DecryptError
from tests.fixtures.together import run_together

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A credential store that keeps passwords in a dict, standing in for the OS one."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(fail.Keyring())


def test_round_trip_and_fresh_nonce_per_value() -> None:
    cipher = SecretCipher.generate()
    secret = Secret("8f14e45fceea167a5a36dedd4bea2543")
    first, second = cipher.encrypt("WXA2000012345", secret), cipher.encrypt("WXA2000012345", secret)
    assert first != second  # random nonce: equal secrets do not give equal ciphertexts
    assert first[:12] != second[:12]
    assert cipher.decrypt("WXA2000012345", first) == secret
    assert b"8f14e45fceea167a5a36dedd4bea2543" not in first


def test_sn_is_associated_data_case_insensitively() -> None:
    cipher = SecretCipher.generate()
    blob = cipher.encrypt("SNabc1", Secret("s3cret-value"))
    assert cipher.decrypt("snABC1", blob).reveal() == "s3cret-value"
    with pytest.raises(DecryptError):
        cipher.decrypt("SNabc2", blob)  # moved to another row


def test_tampered_or_foreign_ciphertext_does_not_open() -> None:
    cipher = SecretCipher.generate()
    blob = bytearray(cipher.encrypt("SN1", Secret("s3cret-value")))
    blob[-1] ^= 1
    with pytest.raises(DecryptError):
        cipher.decrypt("SN1", bytes(blob))
    with pytest.raises(DecryptError):
        SecretCipher.generate().decrypt("SN1", cipher.encrypt("SN1", Secret("s3cret-value")))
    with pytest.raises(DecryptError):
        cipher.decrypt("SN1", b"short")


# Written by the store's earlier cipher (``cryptography``'s AESGCM) under the key 00 01 .. 1f, for
# the SN WXA2000012345: stores from before the switch to PyCryptodome must still open.
_EARLIER_BLOB = bytes.fromhex(
    "000102030405060708090a0b7f64e72fa0d1f77dee24f2ea80df4f0cb6b7b402941e3b180c0580e42f5c34816fda"
    "53f0090593033438fcdca12f2ebe"
)


def test_blob_written_by_the_earlier_cipher_still_opens() -> None:
    cipher = SecretCipher(bytes(range(32)))
    opened = cipher.decrypt("WXA2000012345", _EARLIER_BLOB)
    assert opened.reveal() == "8f14e45fceea167a5a36dedd4bea2543"
    with pytest.raises(DecryptError):
        cipher.decrypt("WXA2000012346", _EARLIER_BLOB)


def test_blob_layout_is_nonce_ciphertext_tag() -> None:
    blob = SecretCipher.generate().encrypt("SN1", Secret("abcdef"))
    assert len(blob) == 12 + len("abcdef") + 16


def test_cipher_repr_shows_no_key() -> None:
    key = os.urandom(32)
    text = repr(SecretCipher(key, origin="memory"))
    assert base64.b64encode(key).decode() not in text and key.hex() not in text


def test_key_must_be_256_bits() -> None:
    with pytest.raises(ValueError):
        SecretCipher(b"0" * 16)


@posix_only
def test_key_file_is_created_owner_only_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "new-folder" / "store.key"
    first = SecretCipher.from_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(base64.b64decode(path.read_text().strip())) == 32
    again = SecretCipher.from_key_file(path)
    assert again.decrypt("SN1", first.encrypt("SN1", Secret("value-123"))).reveal() == "value-123"
    assert first.origin == f"file:{path}"


def test_key_file_created_by_many_at_once_is_one_key_and_never_half_read(tmp_path: Path) -> None:
    """Two sessions opening on a fresh machine at once (the wizard and a CLI command, two board
    processes on a factory line) must agree on one key; neither may read a half-written file."""
    for attempt in range(20):
        path = tmp_path / f"run{attempt}" / "store.key"
        results = run_together(
            8, lambda path=path: SecretCipher.from_key_file(path).encrypt("SN1", Secret("x"))
        )
        sealed = [r for r in results if isinstance(r, bytes)]
        assert len(sealed) == 8, [r for r in results if isinstance(r, BaseException)]
        reader = SecretCipher.from_key_file(path)
        assert all(reader.decrypt("SN1", blob).reveal() == "x" for blob in sealed)
        assert [p.name for p in path.parent.iterdir()] == ["store.key"]  # no temporary left


@posix_only
def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.key"
    SecretCipher.from_key_file(path)
    path.chmod(0o640)
    with pytest.raises(KeyFileError) as caught:
        SecretCipher.from_key_file(path)
    assert caught.value.exit_code == ExitCode.USAGE
    text = str(caught.value)
    assert "other users" in text and "640" in text and f"chmod 600 {path}" in text


def test_key_file_with_garbage_is_refused_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "store.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"not a key\n")
    os.close(fd)
    with pytest.raises(KeyFileError) as caught:
        SecretCipher.from_key_file(path)
    assert "not a key written by this app" in str(caught.value)
    assert path.read_bytes() == b"not a key\n"


def test_no_credential_store_refuses_and_says_how_to_opt_in() -> None:
    # conftest selects keyring's "fail" backend: a machine without a credential store.
    with pytest.raises(NoKeyStore) as caught:
        load_cipher(Settings())
    assert caught.value.exit_code == ExitCode.USAGE
    text = str(caught.value)
    assert "will not keep device secrets" in text and "keyring.backends.fail.Keyring" in text
    assert "key_file" in text and "[store]" in text and "INSTALLER_KEY_FILE" in text


def test_a_failing_keyring_backend_is_no_key_store(memory_keyring: MemoryKeyring) -> None:
    def broken(service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("locked")

    memory_keyring.get_password = broken  # type: ignore[method-assign]
    with pytest.raises(NoKeyStore):
        SecretCipher.from_keyring()


def test_keyring_key_is_created_once_and_reused(memory_keyring: MemoryKeyring) -> None:
    first = load_cipher(Settings())
    stored = memory_keyring.passwords[("installer-app", KEYRING_KEY_NAME)]
    assert len(base64.b64decode(stored)) == 32
    second = load_cipher(Settings())
    assert memory_keyring.passwords[("installer-app", KEYRING_KEY_NAME)] == stored
    blob = first.encrypt("SN9", Secret("value-999"))
    assert second.decrypt("SN9", blob).reveal() == "value-999"
    assert first.origin == "keyring"


def test_key_file_setting_wins_over_keyring(
    memory_keyring: MemoryKeyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_config = tmp_path / "config.key"
    cipher = load_cipher(Settings(store=StoreSettings(key_file=str(from_config))))
    assert cipher.origin == f"file:{from_config}" and from_config.exists()
    assert memory_keyring.passwords == {}
    from_env = tmp_path / "env.key"
    monkeypatch.setenv("INSTALLER_KEY_FILE", str(from_env))
    cipher = load_cipher(Settings(store=StoreSettings(key_file=str(from_config))))
    assert cipher.origin == f"file:{from_env}"


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_key_file_symlink_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "real.key"
    SecretCipher.from_key_file(target)
    link = tmp_path / "link.key"
    link.symlink_to(target)
    with pytest.raises(KeyFileError):
        SecretCipher.from_key_file(link)


_KEY_OF_THIS_PROCESS = """
import hashlib, sys, time
from installer_app.store.keys import SecretCipher
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
print(hashlib.sha256(SecretCipher.from_keyring()._key).hexdigest())
"""


def test_runs_starting_together_on_a_new_account_share_one_keyring_key(tmp_path: Path) -> None:
    """A factory line starting several runs at once on a fresh computer: one key for all, the
    one the credential store keeps (two keys meant a database sealed with a lost one)."""
    import hashlib
    import json
    import subprocess
    import time

    root = Path(__file__).resolve().parents[2]
    env = dict(
        os.environ,
        PYTHON_KEYRING_BACKEND="tests.fixtures.file_keyring.FileKeyring",
        TEST_KEYRING_FILE=str(tmp_path / "keyring.json"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        PYTHONPATH=str(root),
    )
    start = time.time() + 1.5
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", _KEY_OF_THIS_PROCESS, str(start)],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(5)
    ]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert all(run.returncode == 0 for run in runs), [err for _out, err in outputs]
    keys = {out.strip() for out, _err in outputs}
    kept = json.loads((tmp_path / "keyring.json").read_text(encoding="utf-8"))
    kept_key = base64.b64decode(kept[f"installer-app/{KEYRING_KEY_NAME}"])
    assert keys == {hashlib.sha256(kept_key).hexdigest()}
