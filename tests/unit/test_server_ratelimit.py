"""The team server's per-token rate limit: at least 20 requests a second, then 429 with a wait."""

from __future__ import annotations

from installer_app.server.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_token_makes_20_a_second_for_ever_and_a_burst_ends_in_a_wait() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=50, burst=100, clock=clock)
    for _ in range(10 * 20):  # ten seconds at 20 a second
        assert limiter.take(b"a") is None
        clock.now += 0.05
    for _ in range(200):
        if limiter.take(b"b") is not None:
            break
    else:
        raise AssertionError("an unbounded burst was let through")
    wait = limiter.take(b"b")
    assert wait is not None and wait >= 1
    assert limiter.take(b"other") is None  # one token's limit is its own
    clock.now += wait
    assert limiter.take(b"b") is None
