"""Binding QR codes (spec B): the static code from add_device, the signed dynamic code, and
rendering to a PNG image (GUI) or to half-block characters (CLI).

Neither form carries the SecretNo: the dynamic code only carries a SHA-1 signature over it, and
both builders refuse a URL that contains the secret they were given, whatever goes wrong upstream.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import struct
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, urlencode, urlsplit

import qrcode
import qrcode.constants

from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.provider.errors import ProviderError
from installer_app.provider.wecom import check_sn
from installer_app.secrets import Secret

QR_HOST = "open.work.weixin.qq.com"
QR_PATH = "/connect/hardware"
DYNAMIC_BASE = f"https://{QR_HOST}{QR_PATH}"
NONCE_ALPHABET = string.ascii_letters + string.digits
DEFAULT_REFRESH_S = 600.0
DEFAULT_VALID_S = 1800.0
# A binding link to render where any will do (the self-test's core and Qt checks).
SAMPLE_URL = f"{DYNAMIC_BASE}?hw_code=SELFTEST"


class InvalidQrCode(ProviderError):
    """A QR link that is not a WeCom hardware-binding link (or would carry a secret)."""

    text = QT_TRANSLATE_NOOP("provider", "The binding QR link is not valid: {problem}")
    hint_text = QT_TRANSLATE_NOOP(
        "provider", "Check the provider settings; switch to the dynamic QR code if this persists."
    )

    def __init__(self, problem: Message) -> None:
        super().__init__(Message(self.text, problem=problem))


@dataclass(frozen=True)
class QrCode:
    url: str
    kind: Literal["static", "dynamic"]
    issued_at: float
    expires_at: float | None  # None: the static code does not expire


def _refuse_secret(url: str, secret: Secret | None) -> None:
    if secret is not None and secret.reveal() and secret.reveal() in url:
        raise InvalidQrCode(Message(QT_TRANSLATE_NOOP("provider", "it would carry a secret")))


def static_qr_url(qr_code: str, secret_no: Secret | None = None) -> str:
    """A2's ``qr_code``, checked: https, WeCom's hardware page, an ``hw_code``, no secret."""
    parts = urlsplit(qr_code.strip())
    if parts.scheme != "https" or parts.hostname != QR_HOST or parts.path != QR_PATH:
        raise InvalidQrCode(
            Message(QT_TRANSLATE_NOOP("provider", "it does not point at WeCom's binding page"))
        )
    if not parse_qs(parts.query).get("hw_code", [""])[0]:
        raise InvalidQrCode(Message(QT_TRANSLATE_NOOP("provider", "it has no hw_code")))
    url = parts.geturl()
    _refuse_secret(url, secret_no)
    return url


def new_nonce(length: int = 16) -> str:
    return "".join(secrets.choice(NONCE_ALPHABET) for _ in range(length))


def dynamic_signature(sn: str, secret_no: Secret, ts: int, nonce: str) -> str:
    """Lower-case hex SHA-1 of the five raw values sorted as byte strings and concatenated."""
    values = sorted(v.encode("utf-8") for v in (sn, secret_no.reveal(), str(ts), nonce, "qrcode"))
    return hashlib.sha1(b"".join(values)).hexdigest()


def dynamic_qr_url(sn: str, secret_no: Secret, ts: int, nonce: str) -> str:
    check_sn(sn)
    if not 8 <= len(nonce) <= 32 or any(c not in NONCE_ALPHABET for c in nonce):
        raise ValueError("nonce must be 8..32 characters of [0-9A-Za-z]")
    if ts < 0:
        raise ValueError("timestamp must be Unix seconds")
    query = urlencode(
        {
            "sn": sn,
            "timestamp": str(ts),
            "nonce": nonce,
            "signature": dynamic_signature(sn, secret_no, ts, nonce),
            "type": "qrcode",
        }
    )
    url = f"{DYNAMIC_BASE}?{query}"
    _refuse_secret(url, secret_no)
    return url


class DynamicQr:
    """The dynamic code of one device, renewed every ``refresh_every_s`` while it is shown.

    ``current()`` is cheap: call it from a display timer; it returns the same code until it is
    due for renewal (well before its ``valid_s`` lifetime ends). Thread-safe.
    """

    def __init__(
        self,
        sn: str,
        secret_no: Secret,
        *,
        clock: Callable[[], float] = time.time,
        refresh_every_s: float = DEFAULT_REFRESH_S,
        valid_s: float = DEFAULT_VALID_S,
        nonce: Callable[[], str] = new_nonce,
    ) -> None:
        if refresh_every_s >= valid_s:
            raise ValueError("a dynamic code must be renewed before it expires")
        self.sn = check_sn(sn)
        self._secret_no = secret_no
        self._clock = clock
        self._refresh_every_s = refresh_every_s
        self._valid_s = valid_s
        self._nonce = nonce
        self._lock = threading.Lock()
        self._code: QrCode | None = None

    @property
    def refresh_every_s(self) -> float:
        return self._refresh_every_s

    def current(self) -> QrCode:
        with self._lock:
            now = self._clock()
            code = self._code
            if code is None or now >= code.issued_at + self._refresh_every_s:
                ts = int(now)
                url = dynamic_qr_url(self.sn, self._secret_no, ts, self._nonce())
                code = QrCode(url, "dynamic", float(ts), float(ts) + self._valid_s)
                self._code = code
            return code

    def next_renewal_at(self) -> float:
        return self.current().issued_at + self._refresh_every_s


def static_code(
    qr_code: str, secret_no: Secret | None = None, *, now: float | None = None
) -> QrCode:
    issued = time.time() if now is None else now
    return QrCode(static_qr_url(qr_code, secret_no), "static", issued, None)


# -- rendering -----------------------------------------------------------------------------------


def qr_matrix(url: str, border: int = 4) -> list[list[bool]]:
    """The code's modules (True = dark), with a quiet zone of ``border`` modules."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=border)
    code.add_data(url)
    code.make(fit=True)
    return [[bool(cell) for cell in row] for row in code.get_matrix()]


def _png(width: int, height: int, rows: Sequence[bytes]) -> bytes:
    """An 8-bit grayscale PNG, written with zlib alone (no imaging library at run time)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def render_png(url: str, box_size: int = 8, border: int = 4) -> bytes:
    """The code as a black-on-white PNG, ``box_size`` pixels per module."""
    if box_size < 1:
        raise ValueError("box_size must be at least 1")
    matrix = qr_matrix(url, border)
    rows: list[bytes] = []
    for line in matrix:
        pixels = b"".join((b"\x00" if dark else b"\xff") * box_size for dark in line)
        rows.extend([pixels] * box_size)
    size = len(matrix) * box_size
    return _png(size, size, rows)


_UPPER, _LOWER, _FULL = "\u2580", "\u2584", "\u2588"


def render_terminal(url: str, *, dark_background: bool = True, border: int = 2) -> str:
    """The code in half-block characters: one text row holds two module rows.

    On a dark terminal the light modules are drawn (as light text) and the dark ones left blank,
    so the code reads dark-on-light like on paper; ``dark_background=False`` for light terminals.
    """
    matrix = qr_matrix(url, border)
    if len(matrix) % 2:
        matrix.append([False] * len(matrix[0]))  # the quiet zone is light anyway
    lines = []
    for top, bottom in zip(matrix[0::2], matrix[1::2], strict=True):
        chars = []
        for t, b in zip(top, bottom, strict=True):
            t_ink, b_ink = (not t, not b) if dark_background else (t, b)
            chars.append(
                _FULL if t_ink and b_ink else _UPPER if t_ink else _LOWER if b_ink else " "
            )
        lines.append("".join(chars))
    return "\n".join(lines)
