"""Binding QR codes (spec B): the static code from add_device, the signed dynamic code, and
rendering to a PNG image (GUI) or to half-block characters (CLI).

Neither form carries the SecretNo: the dynamic code only carries a SHA-1 signature over it, and
both builders refuse a URL that contains the secret they were given, whatever goes wrong upstream.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import struct
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode

import qrcode
import qrcode.constants

from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.provider.errors import ProviderError
from installer_app.provider.wecom import check_sn
from installer_app.secrets import Secret

QR_HOST = "open.work.weixin.qq.com"
QR_PATH = "/connect/hardware"
DYNAMIC_BASE = f"https://{QR_HOST}{QR_PATH}"
UINT64_MAX = 2**64 - 1
UINT32_MAX = 2**32 - 1
# Spec B: the nonce is a Uint64 in decimal, without leading zeros (1 .. 2**64-1).
NONCE_PATTERN = re.compile(r"[1-9][0-9]{0,19}")
# A query value the checks accept: nothing another URL parser could read differently (no
# percent escapes, no '+', no '@', '\\', '#', ':', '/', ';' or whitespace).
_VALUE = re.compile(r"[A-Za-z0-9_-]{1,128}")
_DYNAMIC_KEYS = frozenset({"sn", "timestamp", "nonce", "signature", "type"})
DEFAULT_REFRESH_S = 600.0
DEFAULT_VALID_S = 1800.0
# A binding link to render where any will do (the self-test's core and Qt checks).
SAMPLE_URL = f"{DYNAMIC_BASE}?hw_code=SELFTEST"
# The mask of the bench's codes (``qr_matrix``'s ``mask``): choosing the best of eight is ~8 ms
# of pure Python per code, and eight boards reach the binding together. Any mask scans.
QUICK_MASK = 0
# Modules of white border the QR standard asks for around a code on screen.
QUIET_ZONE = 4


class InvalidQrCode(ProviderError):
    """A QR link that is not a WeCom hardware-binding link (or would carry a secret)."""

    text = QT_TRANSLATE_NOOP("provider", "The binding QR link is not valid: {problem}")
    hint_text = QT_TRANSLATE_NOOP(
        "provider", "Check the provider settings; switch to the dynamic QR code if this persists."
    )

    def __init__(self, problem: Message) -> None:
        super().__init__(Message(self.text, problem=problem))
        self.problem = problem


@dataclass(frozen=True)
class QrCode:
    url: str
    kind: Literal["static", "dynamic"]
    issued_at: float
    expires_at: float | None  # None: the static code does not expire


def _refuse_secret(url: str, secret: Secret | None) -> None:
    if secret is not None and secret.reveal() and secret.reveal() in url:
        raise InvalidQrCode(Message(QT_TRANSLATE_NOOP("provider", "it would carry a secret")))


def _not_wecom() -> InvalidQrCode:
    return InvalidQrCode(
        Message(QT_TRANSLATE_NOOP("provider", "it does not point at WeCom's binding page"))
    )


def _foreign_parameters() -> InvalidQrCode:
    return InvalidQrCode(Message(QT_TRANSLATE_NOOP("provider", "its parameters are not WeCom's")))


def binding_query(url: str) -> dict[str, str]:
    """The query of a WeCom binding link, checked so strictly that no URL parser can disagree.

    The link must be exactly ``https://open.work.weixin.qq.com/connect/hardware?`` followed by
    ``key=value`` pairs joined by ``&``, each key once, each value of ``[A-Za-z0-9_-]``: no
    userinfo, port, backslash, fragment, percent escape or anything a browser and urlsplit read
    differently (``https://evil.example\\@open.work.weixin.qq.com/...`` goes to evil.example in a
    browser). Which keys are allowed is up to the caller.
    """
    prefix = f"{DYNAMIC_BASE}?"
    if not url.startswith(prefix):
        raise _not_wecom()
    query: dict[str, str] = {}
    for pair in url[len(prefix) :].split("&"):
        key, sep, value = pair.partition("=")
        if not sep or key in query or not _VALUE.fullmatch(key) or not _VALUE.fullmatch(value):
            raise _foreign_parameters()
        query[key] = value
    return query


def static_qr_url(qr_code: str, secret_no: Secret | None = None) -> str:
    """A2's ``qr_code``, checked: exactly WeCom's hardware page with one ``hw_code``, no secret."""
    url = qr_code.strip(" \t\r\n")
    query = binding_query(url)
    if "hw_code" not in query:
        raise InvalidQrCode(Message(QT_TRANSLATE_NOOP("provider", "it has no hw_code")))
    if len(query) != 1:
        raise _foreign_parameters()
    _refuse_secret(url, secret_no)
    return url


def check_dynamic_qr_url(url: str) -> dict[str, str]:
    """A dynamic link (spec B) held to the same strictness; its five values, unverified."""
    query = binding_query(url)
    if (
        set(query) != _DYNAMIC_KEYS
        or query["type"] != "qrcode"
        or not valid_nonce(query["nonce"])
        or not valid_timestamp(query["timestamp"])
        or not re.fullmatch(r"[0-9a-f]{40}", query["signature"])
    ):
        raise _foreign_parameters()
    try:
        check_sn(query["sn"])
    except ProviderError:
        raise _foreign_parameters() from None
    return query


def valid_nonce(nonce: str) -> bool:
    """A Uint64 in decimal without leading zeros, as WeCom's hardware protocol defines it."""
    return NONCE_PATTERN.fullmatch(nonce) is not None and int(nonce) <= UINT64_MAX


def valid_timestamp(ts: str) -> bool:
    """Unix seconds as a decimal Uint32."""
    return re.fullmatch(r"0|[1-9][0-9]{0,9}", ts) is not None and int(ts) <= UINT32_MAX


def new_nonce() -> str:
    """A random Uint64 in decimal (1 .. 2**64-1), so never with a leading zero."""
    return str(secrets.randbelow(UINT64_MAX) + 1)


def dynamic_signature(sn: str, secret_no: Secret, ts: int, nonce: str) -> str:
    """Lower-case hex SHA-1 of the five raw values sorted as byte strings and concatenated."""
    values = sorted(v.encode("utf-8") for v in (sn, secret_no.reveal(), str(ts), nonce, "qrcode"))
    return hashlib.sha1(b"".join(values)).hexdigest()


def dynamic_qr_url(sn: str, secret_no: Secret, ts: int, nonce: str) -> str:
    check_sn(sn)
    if not valid_nonce(nonce):
        raise ValueError("nonce must be a Uint64 in decimal without leading zeros")
    if not 0 <= ts <= UINT32_MAX:
        raise ValueError("timestamp must be Unix seconds (Uint32)")
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
    check_dynamic_qr_url(url)  # an SN urlencode escaped would not survive WeCom's reading
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


def qr_matrix(url: str, border: int = 4, *, mask: int | None = None) -> list[list[bool]]:
    """The code's modules (True = dark), with a quiet zone of ``border`` modules.

    ``mask`` (0-7): that mask pattern instead of the one the standard's penalty rules pick. Any
    mask scans (a reader takes it from the code's format bits); trying all eight is most of the
    encoder's time (~8 ms of pure Python of ~9), which matters where codes are drawn on a thread
    while the GUI thread waits for the interpreter lock (the bench view's binding queue)."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, border=border, mask_pattern=mask
    )
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
