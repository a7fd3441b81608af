"""The per-token rate limit (HTTP 429 with Retry-After): a token bucket per token, per worker.

A limit kept in one worker's memory is a protection against a runaway laptop, not a rule the data
depends on, so it need not be shared: with N workers a token may get up to N times the rate, which
docs/server.md states. The default lets one token make 50 requests a second (bursts of 100), above
the spec's "at least 20".
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

DEFAULT_RATE = 50.0
DEFAULT_BURST = 100.0
_MAX_TOKENS_TRACKED = 10000


class RateLimiter:
    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        burst: float = DEFAULT_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[bytes, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: bytes) -> float | None:
        """None when the request may go, else the seconds to wait before the next one."""
        now = self._clock()
        with self._lock:
            level, at = self._buckets.get(key, (self.burst, now))
            level = min(self.burst, level + (now - at) * self.rate)
            if level >= 1.0:
                if len(self._buckets) >= _MAX_TOKENS_TRACKED and key not in self._buckets:
                    self._buckets.clear()  # forgetting everyone only ever lets more through
                self._buckets[key] = (level - 1.0, now)
                return None
            self._buckets[key] = (level, now)
            return max(1.0, math.ceil((1.0 - level) / self.rate))
