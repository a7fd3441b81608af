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
# Shorter values are not masked: a whole word of 5 characters is too likely to be ordinary text.
# (WPA passphrases have at least 8 characters; SecretNos, tokens and provider secrets far more.)
_MIN_REDACT_LEN = 6

_lock = threading.Lock()
_known: set[str] = set()
_lengths: tuple[int, ...] = ()  # the distinct lengths in ``_known``, longest first

# Where a secret may start: the start of each run of word characters and every other character.
# A secret is masked only as a whole value, never inside a longer word: a Wi-Fi password that
# happens to be part of a HW_ID must not mask the HW_ID.
_PIECE = re.compile(r"\w+|\W", re.UNICODE)

# Key names that carry secrets, as a query parameter (key=value) or a JSON member ("key": "v").
_SECRET_KEY = r"[A-Za-z_]*(?:token|secret|secret_no|psk|credential|password)"
_QUERY_SECRET = re.compile(rf"\b({_SECRET_KEY})=([^&\s\"',}}]+)", re.IGNORECASE)
_JSON_SECRET = re.compile(rf"(\"{_SECRET_KEY}\"\s*:\s*\")([^\"]*)(\")", re.IGNORECASE)
_BEARER = re.compile(r"(Bearer\s+)(\S+)", re.IGNORECASE)


def register_secret(value: str) -> None:
    global _lengths
    if len(value) >= _MIN_REDACT_LEN:
        with _lock:
            _known.add(value)
            if len(value) not in _lengths:
                _lengths = tuple(sorted({*_lengths, len(value)}, reverse=True))


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _mask_known(text: str) -> str:
    """Each registered secret standing as a whole value in ``text`` becomes ``MASK``.

    A set lookup per candidate start and distinct secret length, so the cost does not grow with
    the number of secrets held (100,000 SecretNos after a big inventory import)."""
    lengths = _lengths
    if not lengths:
        return text
    out: list[str] = []
    done = 0  # text[:done] is in ``out``
    size = len(text)
    for piece in _PIECE.finditer(text):
        start = piece.start()
        if start < done:
            continue
        for length in lengths:
            end = start + length
            if end > size:
                continue
            if end < size and _is_word(text[end - 1]) and _is_word(text[end]):
                continue  # would end inside a word
            if text[start:end] in _known:
                out.append(text[done:start])
                out.append(MASK)
                done = end
                break
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


def redact(text: str) -> str:
    """Mask every registered secret and every token-like ``key=value`` in ``text``."""
    text = _mask_known(text)
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
