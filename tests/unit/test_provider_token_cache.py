"""TokenCache: one fetch serves everyone until shortly before expiry; invalidate drops only the
token it names, so concurrent refusals cause one refresh."""

from __future__ import annotations

import threading

from installer_app.provider.token_cache import TokenCache
from installer_app.secrets import Secret


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Fetcher:
    def __init__(self, expires_in: float = 7200, gate: threading.Event | None = None) -> None:
        self.calls = 0
        self.expires_in = expires_in
        self.gate = gate
        self.lock = threading.Lock()

    def __call__(self) -> tuple[Secret, float]:
        if self.gate is not None:
            assert self.gate.wait(30)
        with self.lock:
            self.calls += 1
            return Secret(f"cache-token-{self.calls:04d}"), self.expires_in


def test_one_fetch_until_the_refresh_margin() -> None:
    clock, fetch = Clock(), Fetcher(7200)
    cache = TokenCache(fetch, clock=clock)
    first = cache.get()
    clock.now += 7200 - 300 - 1  # five minutes before expiry: still good
    assert cache.get() == first and fetch.calls == 1
    clock.now += 1
    assert cache.get() != first and fetch.calls == 2


def test_short_lifetimes_use_a_ten_percent_margin() -> None:
    clock, fetch = Clock(), Fetcher(60)
    cache = TokenCache(fetch, clock=clock)
    cache.get()
    clock.now += 53.9
    cache.get()
    assert fetch.calls == 1
    clock.now += 0.2
    cache.get()
    assert fetch.calls == 2


def test_invalidate_drops_only_the_named_token() -> None:
    clock, fetch = Clock(), Fetcher()
    cache = TokenCache(fetch, clock=clock)
    stale = cache.get()
    cache.invalidate(stale)
    fresh = cache.get()
    assert fetch.calls == 2 and fresh != stale
    cache.invalidate(stale)  # a slow thread reporting the old token: the new one stays
    assert cache.get() == fresh and fetch.calls == 2


def test_ten_threads_at_once_cause_one_fetch() -> None:
    gate = threading.Event()
    fetch = Fetcher(gate=gate)
    cache = TokenCache(fetch)
    start = threading.Barrier(10)
    got: list[Secret] = []

    def worker() -> None:
        start.wait(30)
        got.append(cache.get())

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(30)
    assert len(got) == 10 and len(set(got)) == 1
    assert fetch.calls == 1


def test_ten_threads_refused_at_once_refresh_once() -> None:
    fetch = Fetcher()
    cache = TokenCache(fetch)
    stale = cache.get()
    start = threading.Barrier(10)

    def worker() -> None:
        start.wait(30)
        cache.invalidate(stale)
        cache.get()

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # Some threads may invalidate after the refresh, but they name the stale token: no effect.
    assert fetch.calls == 2
