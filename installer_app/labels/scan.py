"""What a barcode scanner typed: a board's SN, its HW_ID, or a QR code holding its binding link.

``resolve_scan`` turns the text into the board identities it can mean (looking the SN or link up
in the store); ``pick_port`` finds the connected port of that board. A port's HW_ID is known
without asking the board only for simulators; a real USB bridge matches by its USB serial number
(some boards print it on the label). Anything else matches nothing: the caller says so briefly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from installer_app.formats import is_sn, normalize_hw_id
from installer_app.store.records import DeviceRecord

# A scan is short: anything longer is not a label (and is not looked up).
MAX_SCAN_CHARS = 512


class RecordLookup(Protocol):
    def record_for_sn(self, sn: str) -> DeviceRecord | None: ...

    def record_for_hw_id(self, hw_id_hex: str) -> DeviceRecord | None: ...

    def record_for_qr_code(self, url: str) -> DeviceRecord | None: ...


@dataclass(frozen=True)
class ScanMatch:
    text: str
    sn: str | None = None
    hw_ids: frozenset[str] = field(default_factory=frozenset)

    @property
    def empty(self) -> bool:
        return self.sn is None and not self.hw_ids


def clean(text: str) -> str:
    """The scanned text without control characters and surrounding space."""
    return "".join(ch for ch in text if ch.isprintable()).strip()[:MAX_SCAN_CHARS]


def resolve_scan(text: str, store: RecordLookup | None) -> ScanMatch:
    """The board(s) ``text`` names. Never raises for odd input: it just matches nothing."""
    value = clean(text)
    if not value:
        return ScanMatch(value)
    record: DeviceRecord | None = None
    hw_ids: set[str] = set()
    if value.lower().startswith("https://"):
        query = parse_qs(urlsplit(value).query)
        if store is not None:
            record = store.record_for_qr_code(value)
        sn_in_link = query.get("sn", [""])[0]  # a dynamic code names the SN
        if record is None and store is not None and is_sn(sn_in_link):
            record = store.record_for_sn(sn_in_link)
    else:
        try:
            hw_id = normalize_hw_id(value)
        except ValueError:
            hw_id = ""
        if hw_id:
            hw_ids.add(hw_id)
            if store is not None:
                record = store.record_for_hw_id(hw_id)
        if record is None and is_sn(value) and store is not None:
            record = store.record_for_sn(value)
    if record is not None and record.hw_id:
        hw_ids.add(record.hw_id)
    return ScanMatch(value, record.sn if record else None, frozenset(hw_ids))


def pick_port(match: ScanMatch, ports: Iterable[Any]) -> Any | None:
    """The port of the board ``match`` names, or None."""
    for port in ports:
        hw_id = getattr(port, "hw_id_hex", None)
        if hw_id and hw_id.lower() in match.hw_ids:
            return port
        serial = getattr(port, "serial_number", None)
        if serial and match.text and serial.strip().lower() == match.text.lower():
            return port
    return None
