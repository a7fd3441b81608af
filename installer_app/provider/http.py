"""The transport both provider clients share: JSON over one keep-alive httpx.Client, with retries.

Retry policy (spec A5): errcode -1 a few times; 45009/45033 and HTTP 429 with a long doubling
backoff (or the server's ``Retry-After``); network errors, timeouts and HTTP 5xx exponentially;
everything else stops at once. Every delay is jittered, reported through ``on_retry`` (so a screen
can say "rate limited, retrying in 8 s") and waited with ``sleep``, which by default wakes as soon
as ``cancel`` is set.

Secrets: WeCom puts the access token in the query string and httpx logs full URLs, so the httpx
and httpcore loggers get a ``RedactingFilter`` of their own (it works whatever handlers the
application or a test installs), this module never logs a URL with its query, and no httpx
exception (whose text and attributes carry the URL) ever leaves it: each is turned into a
``ProviderUnreachable`` naming only the host.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self

import httpx

from installer_app.i18n import QT_TRANSLATE_NOOP, Message
from installer_app.provider.errors import (
    ProviderCancelled,
    ProviderError,
    ProviderUnreachable,
    RetryKind,
    UnexpectedAnswer,
)
from installer_app.secrets import RedactingFilter, Secret

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
OnRetry = Callable[[Message, float], None]
_WAIT_SLICE_S = 0.1


@dataclass(frozen=True)
class CallScope:
    """Who is calling: clients are shared by every board of a session, but a retry wait must end
    when *this* board's run is cancelled, and its "rate limited, retrying in 8 s" belongs on
    *this* board's screen. ``JsonClient.scoped`` gives a view of a client for one caller."""

    cancel: threading.Event
    on_retry: OnRetry | None = None


# Maps a decoded answer (HTTP status, JSON body, Retry-After) to an error, or None when it is OK.
ErrorMapper = Callable[[int, Mapping[str, Any], float | None], ProviderError | None]

_HTTP_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


def _install_log_redaction() -> None:
    for name in _HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


_install_log_redaction()


@dataclass(frozen=True)
class Timeouts:
    connect_s: float = 5.0
    read_s: float = 15.0

    def to_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(self.read_s, connect=self.connect_s)


@dataclass(frozen=True)
class RetryPolicy:
    """How many times each kind of error is retried, and how long to wait in between.

    The n-th wait (n from 0) is ``base_s * 2**n`` stretched by a random factor in [1, 2), capped at
    ``max_delay_s``: 1-2 s, 2-4 s, 4-8 s, ... up to 60 s. A server's Retry-After is obeyed as given
    (up to ``max_retry_after_s``).
    """

    base_s: float = 1.0
    max_delay_s: float = 60.0
    busy_retries: int = 3
    rate_limit_retries: int = 4
    transient_retries: int = 3
    max_retry_after_s: float = 300.0

    def retries_for(self, kind: RetryKind) -> int:
        if kind == "busy":
            return self.busy_retries
        if kind == "rate_limit":
            return self.rate_limit_retries
        return self.transient_retries

    def backoff(self, attempt: int, rng: random.Random) -> float:
        nominal = self.base_s * float(2 ** min(attempt, 30))
        return min(self.max_delay_s, nominal * (1.0 + rng.random()))

    def delay_for(self, error: ProviderError, attempt: int, rng: random.Random) -> float:
        if error.retry_after_s is not None:
            return max(0.0, min(self.max_retry_after_s, error.retry_after_s))
        return self.backoff(attempt, rng)

    @classmethod
    def no_retries(cls) -> RetryPolicy:
        return cls(busy_retries=0, rate_limit_retries=0, transient_retries=0)


DEFAULT_TIMEOUTS = Timeouts()
DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True)
class HttpOptions:
    """How a provider client talks HTTP: given once, passed whole through every layer.

    ``cancel`` ends a retry wait at once (the session is closing); ``sleep`` replaces the real
    wait (simulated time in tests); ``on_retry`` hears "rate limited, retrying in 8 s";
    ``transport`` is httpx's (a MockTransport in unit tests); ``rng`` jitters the backoff.
    """

    timeouts: Timeouts = DEFAULT_TIMEOUTS
    retry: RetryPolicy = DEFAULT_RETRY
    cancel: threading.Event | None = None
    sleep: Sleep | None = None
    on_retry: OnRetry | None = None
    transport: httpx.BaseTransport | None = None
    rng: random.Random | None = None


DEFAULT_OPTIONS = HttpOptions()


def retry_message(reason: Message, delay_s: float) -> Message:
    """ "rate limited, retrying in 8 s" for a progress line."""
    return Message(
        QT_TRANSLATE_NOOP("provider", "{reason}, retrying in {seconds} s"),
        reason=reason,
        seconds=max(1, round(delay_s)),
    )


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is not used by the partner service)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _unreachable_detail(exc: httpx.HTTPError) -> Message:
    # Only the kind of failure: the exception's own text may carry the URL and its query.
    if isinstance(exc, httpx.ConnectTimeout):
        return Message(QT_TRANSLATE_NOOP("provider", "connection timed out"))
    if isinstance(exc, httpx.TimeoutException):
        return Message(QT_TRANSLATE_NOOP("provider", "no answer in time"))
    if isinstance(exc, httpx.ConnectError):
        return Message(QT_TRANSLATE_NOOP("provider", "connection failed"))
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return Message(QT_TRANSLATE_NOOP("provider", "connection dropped"))
    return Message(QT_TRANSLATE_NOOP("provider", "network error {kind}"), kind=type(exc).__name__)


class JsonTransport:
    """One keep-alive HTTP client for one base URL. Thread-safe (httpx.Client is)."""

    def __init__(
        self,
        base_url: str,
        *,
        map_error: ErrorMapper,
        options: HttpOptions = DEFAULT_OPTIONS,
        headers: Mapping[str, Secret | str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.host = httpx.URL(self.base_url).host or self.base_url
        self._map_error = map_error
        self._headers = dict(headers or {})
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=options.timeouts.to_httpx(),
            transport=options.transport,
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "installer-app"},
        )
        self._use(options)

    def _use(self, options: HttpOptions) -> None:
        self.options = options
        self._retry = options.retry
        self._cancel = options.cancel or threading.Event()
        self._stops: tuple[threading.Event, ...] = (self._cancel,)
        self._sleep = options.sleep
        self._retry_hooks: tuple[OnRetry, ...] = (options.on_retry,) if options.on_retry else ()
        self._rng = options.rng or random.Random()

    def with_retry(self, retry: RetryPolicy) -> JsonTransport:
        """The same connection and headers with another retry policy (a binding watch backs off
        on its own, so its polls are not retried here)."""
        clone = copy.copy(self)
        clone._use(dataclasses.replace(self.options, retry=retry))
        return clone

    def scoped(self, scope: CallScope) -> JsonTransport:
        """The same connection, whose retry waits also end on ``scope.cancel`` and whose
        retries are also reported to ``scope.on_retry``."""
        clone = copy.copy(self)
        clone._stops = (*self._stops, scope.cancel)
        if scope.on_retry is not None:
            clone._retry_hooks = (*self._retry_hooks, scope.on_retry)
        return clone

    def close(self) -> None:
        self._client.close()

    # -- waiting -----------------------------------------------------------------------------

    def _cancelled(self) -> bool:
        return any(stop.is_set() for stop in self._stops)

    def _wait(self, delay_s: float) -> None:
        if self._cancelled():
            raise ProviderCancelled()
        if self._sleep is not None:
            self._sleep(delay_s)
        else:
            # Two events may end the wait (the client's and its caller's): wait in slices.
            deadline = time.monotonic() + delay_s
            while not self._cancelled():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cancel.wait(min(_WAIT_SLICE_S, remaining))
        if self._cancelled():
            raise ProviderCancelled()

    # -- one exchange ------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Secret | str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send, retry per the policy, and return the decoded JSON object of a good answer."""
        attempts: dict[RetryKind, int] = {}
        while True:
            if self._cancelled():
                raise ProviderCancelled()
            error, data = self._exchange(method, path, params, body)
            if error is None:
                return data
            kind = error.retry_kind
            if kind is None:
                raise error
            done = attempts.get(kind, 0)
            if done >= self._retry.retries_for(kind):
                raise error
            attempts[kind] = done + 1
            delay = self._retry.delay_for(error, done, self._rng)
            log.info(
                "%s %s on %s: %s; retry %d in %.1f s",
                method,
                path,
                self.host,
                error.message.english(),
                done + 1,
                delay,
            )
            for hook in self._retry_hooks:
                hook(error.reason, delay)
            self._wait(delay)

    def _exchange(
        self,
        method: str,
        path: str,
        params: Mapping[str, Secret | str] | None,
        body: Mapping[str, Any] | None,
    ) -> tuple[ProviderError | None, dict[str, Any]]:
        wire_params = {
            k: v.reveal() if isinstance(v, Secret) else v for k, v in (params or {}).items()
        }
        wire_headers = {
            k: v.reveal() if isinstance(v, Secret) else v for k, v in self._headers.items()
        }
        failure: ProviderError | None = None
        try:
            response = self._client.request(
                method, path, params=wire_params or None, json=body, headers=wire_headers
            )
            content = response.read()
        except httpx.HTTPError as exc:
            # Built here, raised outside the except block so the httpx exception (whose text
            # carries the URL and its token) is not even chained as __context__.
            failure = ProviderUnreachable(self.host, _unreachable_detail(exc))
        if failure is not None:
            log.debug("%s %s on %s: %s", method, path, self.host, failure.message.english())
            return failure, {}
        status = response.status_code
        log.debug("%s %s on %s: HTTP %d", method, path, self.host, status)
        if status >= 500:
            detail = Message(
                QT_TRANSLATE_NOOP("provider", "server error HTTP {status}"), status=status
            )
            return ProviderUnreachable(self.host, detail), {}
        data = _decode(content)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        # The status decides first (a proxy's 401 or 429 page is not JSON), then the errcode.
        error = self._map_error(status, data or {}, retry_after)
        if error is None and data is None:
            detail = Message(QT_TRANSLATE_NOOP("provider", "not a JSON object"))
            error = UnexpectedAnswer(self.host, status, detail)
        elif error is None and not 200 <= status < 300:
            detail = Message(QT_TRANSLATE_NOOP("provider", "unexpected HTTP status"))
            error = UnexpectedAnswer(self.host, status, detail)
        return error, data or {}


class JsonClient:
    """What both provider clients share: one ``JsonTransport``, its host, closing."""

    def __init__(
        self,
        base_url: str,
        *,
        map_error: ErrorMapper,
        options: HttpOptions,
        headers: Mapping[str, Secret | str] | None = None,
    ) -> None:
        self._http = JsonTransport(base_url, map_error=map_error, options=options, headers=headers)

    def with_retry(self, retry: RetryPolicy) -> Self:
        """This client on the same connection (and token cache) with another retry policy.
        Close only the original."""
        clone = copy.copy(self)
        clone._http = self._http.with_retry(retry)
        return clone

    def scoped(self, scope: CallScope) -> Self:
        """This client for one caller (a board's run): see ``JsonTransport.scoped``."""
        clone = copy.copy(self)
        clone._http = self._http.scoped(scope)
        return clone

    @property
    def host(self) -> str:
        return self._http.host

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _bad_answer(self) -> UnexpectedAnswer:
        detail = Message(QT_TRANSLATE_NOOP("provider", "fields missing from the answer"))
        return UnexpectedAnswer(self.host, 200, detail)


def _decode(content: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def errcode_of(data: Mapping[str, Any], default: int = 0) -> int:
    """The ``errcode`` of an answer; a missing one is ``default`` (the token endpoint omits it)."""
    value = data.get("errcode", default)
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            return int(str(value))
        except ValueError:
            return -999999
    return value
