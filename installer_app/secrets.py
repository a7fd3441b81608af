"""Keeping secrets out of logs, output and exceptions.

A ``Secret`` wraps a provider secret, token, SecretNo, installer token or Wi-Fi password: its
``repr``/``str`` are masked, and ``reveal()`` is the only way to the value, so a secret cannot reach
a log line or an f-string by accident. Every Secret also registers its value with the
``RedactingFilter`` that ``installer_app.logsetup`` installs on every log handler, which masks any
registered value and any ``access_token``-like query parameter that slips into a message anyway
(httpx logs full URLs, and WeCom puts the token in the query string).
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"
_MIN_REDACT_LEN = 4  # masking shorter values would garble ordinary text

_lock = threading.Lock()
_known: set[str] = set()

# Key names that carry secrets, as a query parameter (key=value) or a JSON member ("key": "v").
_SECRET_KEY = r"[A-Za-z_]*(?:token|secret|secret_no|psk|credential|password)"
_QUERY_SECRET = re.compile(rf"\b({_SECRET_KEY})=([^&\s\"',}}]+)", re.IGNORECASE)
_JSON_SECRET = re.compile(rf"(\"{_SECRET_KEY}\"\s*:\s*\")([^\"]*)(\")", re.IGNORECASE)
_BEARER = re.compile(r"(Bearer\s+)(\S+)", re.IGNORECASE)


def register_secret(value: str) -> None:
    if len(value) >= _MIN_REDACT_LEN:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    """Mask every registered secret and every token-like ``key=value`` in ``text``."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    text = _QUERY_SECRET.sub(lambda m: m.group(1) + "=" + MASK, text)
    text = _JSON_SECRET.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    return _BEARER.sub(lambda m: m.group(1) + MASK, text)


class Secret:
    """A secret string that never shows itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register_secret(value)

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return MASK

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret is not pickled")


class RedactingFilter(logging.Filter):
    """Rewrites each record's final text with ``redact``; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now, redacted, so a formatter cannot print it raw later.
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True
