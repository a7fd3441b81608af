"""The shapes of the credentials the app handles, written once for every layer: the WeCom client,
the partner client, the store, the inventory import, the device simulator and the provider
emulator all check against these.

- SN (spec A2): 1 to 128 characters ``[0-9A-Za-z]``.
- SecretNo: 1 to 128 printable ASCII characters (no space).
- HW_ID: an even number (2 to 128) of hex digits, kept lower-case (as ``HelloInfo.hw_id_hex``).

Each layer raises its own error for a bad value (the provider ``BadSn``, the store ``ValueError``,
the inventory import a rejected row); the rule itself lives only here.
"""

from __future__ import annotations

import re
from typing import Final

SN_PATTERN: Final = re.compile(r"[0-9A-Za-z]{1,128}")
SECRET_NO_PATTERN: Final = re.compile(r"[\x21-\x7e]{1,128}")
HW_ID_HEX_PATTERN: Final = re.compile(r"[0-9a-f]{2,128}")


def is_sn(text: str) -> bool:
    return SN_PATTERN.fullmatch(text) is not None


def is_secret_no(text: str) -> bool:
    return SECRET_NO_PATTERN.fullmatch(text) is not None


def require_sn(sn: str) -> str:
    """``sn`` unchanged when it follows the SN rule, else ValueError."""
    if not is_sn(sn):
        raise ValueError(f"not a valid SN: {sn!r}")
    return sn


def normalize_hw_id(hw_id: str) -> str:
    """Lower-case hex, as ``HelloInfo.hw_id_hex`` gives it; ``ValueError`` when not hex."""
    value = hw_id.strip().lower()
    if not HW_ID_HEX_PATTERN.fullmatch(value) or len(value) % 2:
        raise ValueError(f"not a HW_ID in hex: {hw_id!r}")
    return value
