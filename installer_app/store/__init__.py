"""The credential store: SQLite records of every SN, its board and its stage; encrypted SecretNos;
inventory import and history export. See ``db.py`` for the API and docs/store.md for the design."""

from installer_app.store.db import DB_FILENAME, Store, open_store
from installer_app.store.errors import (
    CorruptStore,
    HwIdConflict,
    KeyFileError,
    NoKeyStore,
    RuleRefused,
    SnConflict,
    StageOrderError,
    StoreError,
    StoreLocked,
    StoreTooNew,
    StoreUnavailable,
    UnknownSn,
    WrongKey,
)
from installer_app.store.inventory import InventoryFileError, ParsedInventory, parse_inventory
from installer_app.store.keys import SecretCipher, load_cipher
from installer_app.store.records import (
    DeviceRecord,
    EventRecord,
    ImportReport,
    InventoryStats,
    PendingRegistration,
    Source,
    Stage,
)

__all__ = [
    "DB_FILENAME",
    "CorruptStore",
    "DeviceRecord",
    "EventRecord",
    "HwIdConflict",
    "ImportReport",
    "InventoryFileError",
    "InventoryStats",
    "KeyFileError",
    "NoKeyStore",
    "ParsedInventory",
    "PendingRegistration",
    "RuleRefused",
    "SecretCipher",
    "SnConflict",
    "Source",
    "Stage",
    "StageOrderError",
    "Store",
    "StoreError",
    "StoreLocked",
    "StoreTooNew",
    "StoreUnavailable",
    "UnknownSn",
    "WrongKey",
    "load_cipher",
    "open_store",
    "parse_inventory",
]
