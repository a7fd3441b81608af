"""A thread-safe cache of one access token (spec A1).

One fetch serves every request until shortly before ``expires_in`` runs out (5 minutes, or 10 % of
the lifetime when that is shorter). WeCom may invalidate a token early (40014/42001): the client
calls ``invalidate(token)`` with the token that was refused and asks again. Fetches happen behind
one lock and ``invalidate`` only drops the token it names, so when ten threads see the same refused
token at once, the first one fetches and the other nine reuse its new token.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from installer_app.secrets import Secret

# Fetches a fresh token and its lifetime in seconds.
TokenFetch = Callable[[], tuple[Secret, float]]


class TokenCache:
    def __init__(
        self,
        fetch: TokenFetch,
        *,
        clock: Callable[[], float] = time.monotonic,
        margin_s: float = 300.0,
        margin_ratio: float = 0.1,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._margin_s = margin_s
        self._margin_ratio = margin_ratio
        self._lock = threading.Lock()
        self._token: Secret | None = None
        self._refresh_at = 0.0
        self.fetches = 0

    def _fresh(self) -> Secret | None:
        token = self._token
        if token is not None and self._clock() < self._refresh_at:
            return token
        return None

    def get(self) -> Secret:
        """The cached token, fetching a new one (once, for all threads) when it is due."""
        token = self._fresh()
        if token is not None:
            return token
        with self._lock:
            token = self._fresh()  # another thread may have fetched while this one waited
            if token is not None:
                return token
            value, expires_in = self._fetch()
            self.fetches += 1
            margin = min(self._margin_s, max(0.0, expires_in) * self._margin_ratio)
            self._token = value
            self._refresh_at = self._clock() + max(0.0, expires_in - margin)
            return value

    def invalidate(self, token: Secret) -> None:
        """Drop ``token`` if it is still the cached one (a newer token is kept)."""
        with self._lock:
            if self._token is not None and self._token == token:
                self._token = None

    def clear(self) -> None:
        with self._lock:
            self._token = None
