"""Faults armed on the provider emulator for one run: injected errors and added latency.

They live in memory only (a restarted emulator starts clean) and have their own lock, so arming a
fault never waits for a request that holds the state's lock.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

from installer_app.provider.emulator.records import ApiError

MAX_LATENCY_S = 300.0


@dataclass
class Injection:
    """Answer the next ``remaining`` requests to ``path`` (or ``*``) with this error."""

    path: str
    errcode: int | None
    http_status: int | None
    retry_after: float | None
    remaining: int


class FaultBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._injections: list[Injection] = []
        self._latency_s = 0.0

    def inject(
        self,
        path: str = "*",
        *,
        errcode: int | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
        count: int = 1,
    ) -> None:
        if (errcode is None) == (http_status is None):
            raise ApiError(400, "give exactly one of errcode and http_status", 400)
        if http_status is not None and not 400 <= http_status <= 599:
            raise ApiError(400, "http_status must be 4xx or 5xx", 400)
        if count < 1:
            raise ApiError(400, "count must be at least 1", 400)
        with self._lock:
            self._injections.append(Injection(path, errcode, http_status, retry_after, count))

    def take(self, path: str, template: str) -> Injection | None:
        """The first armed fault matching this request, used up by one; None when none."""
        with self._lock:
            for injection in self._injections:
                if injection.path in ("*", path, template):
                    injection.remaining -= 1
                    if injection.remaining <= 0:
                        self._injections.remove(injection)
                    return Injection(**asdict(injection))
        return None

    @property
    def latency_s(self) -> float:
        with self._lock:
            return self._latency_s

    def set_latency(self, seconds: float) -> None:
        if not 0 <= seconds <= MAX_LATENCY_S:
            raise ApiError(400, "latency must be between 0 and 300 seconds", 400)
        with self._lock:
            self._latency_s = seconds

    def clear(self) -> None:
        with self._lock:
            self._injections.clear()
            self._latency_s = 0.0

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "injections": [asdict(i) for i in self._injections],
                "latency_s": self._latency_s,
            }
