"""Errors the credential store reports to a person (context ``store``).

None of them ever carries a SecretNo or a key: parameters are SNs, HW_IDs, paths and reasons.
"""

from __future__ import annotations

from pathlib import Path

from installer_app.config import ENV_KEY_FILE
from installer_app.errors import ExitCode, InstallerError
from installer_app.i18n import QT_TRANSLATE_NOOP, Message


class StoreError(InstallerError):
    """Base of every store error."""

    exit_code = ExitCode.FAILURE


class SnConflict(StoreError):
    """The SN already belongs to another board, or is held with another SecretNo."""

    def __init__(self, sn: str, held_by: str | None, wanted_by: str) -> None:
        self.sn, self.held_by, self.wanted_by = sn, held_by, wanted_by
        if held_by is None:
            message = Message(
                QT_TRANSLATE_NOOP(
                    "store", "SN {sn} is already in the store with another SecretNo."
                ),
                sn=sn,
            )
        else:
            message = Message(
                QT_TRANSLATE_NOOP(
                    "store",
                    "SN {sn} is already assigned to board {held_by}; it cannot go to board "
                    "{wanted_by}.",
                ),
                sn=sn,
                held_by=held_by,
                wanted_by=wanted_by,
            )
        super().__init__(
            message,
            Message(
                QT_TRANSLATE_NOOP(
                    "store",
                    "An SN is given to one board only, ever. Use another SN, or check the "
                    "history for the board that holds it.",
                )
            ),
        )


class HwIdConflict(StoreError):
    """The board already holds another SN in this store."""

    def __init__(self, hw_id: str, held_sn: str, wanted_sn: str) -> None:
        self.hw_id, self.held_sn, self.wanted_sn = hw_id, held_sn, wanted_sn
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP(
                    "store", "Board {hw_id} already holds SN {held_sn}; it cannot also get {sn}."
                ),
                hw_id=hw_id,
                held_sn=held_sn,
                sn=wanted_sn,
            ),
            Message(QT_TRANSLATE_NOOP("store", "Resume the board with the SN it already holds.")),
        )


class UnknownSn(StoreError):
    def __init__(self, sn: str) -> None:
        self.sn = sn
        super().__init__(Message(QT_TRANSLATE_NOOP("store", "SN {sn} is not in the store."), sn=sn))


class StageOrderError(StoreError):
    """A stage may only move forward."""

    def __init__(self, sn: str, current: str, wanted: str) -> None:
        self.sn, self.current, self.wanted = sn, current, wanted
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP(
                    "store",
                    "SN {sn} is {current}; it cannot move to {wanted} (stages only move forward).",
                ),
                sn=sn,
                current=current,
                wanted=wanted,
            )
        )


class RuleRefused(StoreError):
    """The database's own rules (triggers, unique index) refused a change the Python checks let
    through: kept as a last line of defence, e.g. against another program writing the file."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP(
                    "store", "The store refused a change that would break its rules: {reason}."
                ),
                reason=reason,
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "store", "Nothing was changed. Check the history of this board, then retry."
                )
            ),
        )


class CorruptStore(StoreError):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP("store", "The database file is damaged: {file} ({reason})."),
                file=str(path),
                reason=reason,
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "store",
                    "Keep a copy of the file, then restore it from a backup or move it away to "
                    "start a new one.",
                )
            ),
        )


class StoreTooNew(StoreError):
    exit_code = ExitCode.USAGE

    def __init__(self, path: Path, found: int, known: int) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP(
                    "store",
                    "The database {file} was written by a newer version of the app (schema "
                    "{found}, this version knows {known}).",
                ),
                file=str(path),
                found=found,
                known=known,
            ),
            Message(QT_TRANSLATE_NOOP("store", "Update the app to open it.")),
        )


class StoreLocked(StoreError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP(
                    "store", "The database {file} stayed busy in another program for too long."
                ),
                file=str(path),
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "store", "Close the other copy of the app that uses it, then try again."
                )
            ),
        )


class StoreUnavailable(StoreError):
    """The file cannot be opened or written (permissions, disk full, missing folder)."""

    exit_code = ExitCode.USAGE

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP("store", "Cannot use the database {file}: {reason}."),
                file=str(path),
                reason=reason,
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "store", "Check the folder's permissions and free space, or pick --data-dir."
                )
            ),
        )


def _key_file_hint() -> Message:
    return Message(
        QT_TRANSLATE_NOOP(
            "store",
            "To keep the key in a file only you can read instead: in the wizard, Settings → "
            "Records → Key file; on the command line, key_file in the [store] section of the "
            "configuration, or the environment variable {env}.",
        ),
        env=ENV_KEY_FILE,
    )


class NoKeyStore(StoreError):
    """No OS credential store for the encryption key, and no key file chosen."""

    exit_code = ExitCode.USAGE

    def __init__(self, reason: str | Message) -> None:
        headline = (
            reason
            if isinstance(reason, Message)
            else Message(
                QT_TRANSLATE_NOOP(
                    "store",
                    "This computer has no credential store to keep the database key ({reason}), "
                    "so the app will not keep device secrets.",
                ),
                reason=reason,
            )
        )
        super().__init__(headline, _key_file_hint())

    @classmethod
    def secret_service_left_out(cls) -> NoKeyStore:
        """A Linux executable built without SecretStorage (docs/packaging.md)."""
        return cls(
            Message(
                QT_TRANSLATE_NOOP(
                    "store",
                    "This copy of the app was built without access to the Linux desktop keyring "
                    "(Secret Service), so it will not keep device secrets there.",
                )
            )
        )


class KeyFileError(StoreError):
    """The key file is unsafe or unreadable."""

    exit_code = ExitCode.USAGE

    @classmethod
    def insecure(cls, path: Path, mode: int) -> KeyFileError:
        return cls(
            Message(
                QT_TRANSLATE_NOOP(
                    "store",
                    "The key file {file} can be read by other users (permissions {mode}); the "
                    "app will not use it.",
                ),
                file=str(path),
                mode=f"{mode:03o}",
            ),
            Message(
                QT_TRANSLATE_NOOP("store", "Run: chmod 600 {file}"),
                file=str(path),
            ),
        )

    @classmethod
    def unreadable(cls, path: Path, reason: str) -> KeyFileError:
        return cls(
            Message(
                QT_TRANSLATE_NOOP("store", "Cannot use the key file {file}: {reason}."),
                file=str(path),
                reason=reason,
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "store",
                    "The key file holds one line of base64 (32 bytes). Restore it from your "
                    "backup; without it the stored SecretNos cannot be read.",
                )
            ),
        )


class WrongKey(StoreError):
    """The key opens no secret in this database (another key file or credential store)."""

    exit_code = ExitCode.USAGE

    def __init__(self, path: Path) -> None:
        super().__init__(
            Message(
                QT_TRANSLATE_NOOP(
                    "store",
                    "The encryption key does not match the database {file}: its SecretNos were "
                    "stored with another key.",
                ),
                file=str(path),
            ),
            Message(
                QT_TRANSLATE_NOOP(
                    "store",
                    "Use the key file or credential store this database was created with.",
                )
            ),
        )
