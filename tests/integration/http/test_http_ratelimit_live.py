"""The rate limiter against a loopback server that enforces a limit and sends rate-limit headers:
two workers sharing one limiter slow down *before* the server's ceiling, so no 429 is ever answered."""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque

import pytest
from hdm.http import HttpClient, RateLimiter, RetryPolicy, Transient
from werkzeug.wrappers import Response

NO_RETRY = RetryPolicy(attempts=1)


def _json(body, status=200, headers=None):
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")


class FixedWindowServer:
    """Intercom/Kustomer-style: ``limit`` calls per wall-clock window, X-RateLimit-* on every answer
    (``lower`` sends Kustomer's lower-case names), 429 beyond."""

    def __init__(self, limit: int, window: float, lower: bool = False, headers: bool = True) -> None:
        self.limit, self.window, self.lower, self.headers = limit, window, lower, headers
        self.counts: dict[int, int] = {}
        self.too_many = 0
        self.lock = threading.Lock()

    def __call__(self, request):
        with self.lock:
            slot = math.floor(time.time() / self.window)
            used = self.counts[slot] = self.counts.get(slot, 0) + 1
            over = used > self.limit
            self.too_many += int(over)
        reset = int((slot + 1) * self.window)
        names = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset") if self.lower else (
            "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
        values = (self.limit, max(0, self.limit - used), reset)
        headers = {n: str(v) for n, v in zip(names, values, strict=True)} if self.headers else {}
        return _json({"type": "error.list"} if over else {"ok": True}, 429 if over else 200, headers)


class SlidingServer:
    """No headers at all; refuses more than ``limit`` calls in any ``window`` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self.times: deque[float] = deque()
        self.too_many = 0
        self.lock = threading.Lock()

    def __call__(self, request):
        with self.lock:
            now = time.monotonic()
            while self.times and now - self.times[0] >= self.window:
                self.times.popleft()
            over = len(self.times) >= self.limit
            if not over:
                self.times.append(now)
            self.too_many += int(over)
        return _json({}, 429 if over else 200)


def _two_workers(client: HttpClient, calls_each: int) -> tuple[float, list[BaseException]]:
    errors: list[BaseException] = []

    def work():
        for _ in range(calls_each):
            try:
                client.get_json("/contacts")
            except Transient as exc:
                errors.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    return time.monotonic() - started, errors


def test_the_configured_ceiling_spaces_calls_of_two_workers(loopback):
    server = SlidingServer(limit=10, window=1.0)
    loopback.handler = server
    limiter = RateLimiter(limit=10, window=1.0, share=0.8)  # 8 per second, one every 125 ms
    client = HttpClient(loopback.url, limiter=limiter, retry=NO_RETRY)
    elapsed, errors = _two_workers(client, calls_each=6)
    assert errors == [] and server.too_many == 0
    assert elapsed >= 11 * 0.125 - 0.05  # 12 calls spaced by the ceiling
    gaps = [b.at - a.at for a, b in zip(loopback.seen, loopback.seen[1:], strict=False)]
    assert sorted(gaps)[len(gaps) // 2] >= 0.1  # median: 125 ms apart when sent, arrival adds scheduling jitter


@pytest.mark.parametrize("lower", [False, True], ids=["intercom-headers", "kustomer-headers"])
def test_rate_limit_headers_hold_workers_until_the_reset(loopback, lower):
    server = FixedWindowServer(limit=5, window=1.0, lower=lower)
    loopback.handler = server
    limiter = RateLimiter(limit=1000, window=1.0, share=0.8)  # the configured ceiling alone would not stop them
    client = HttpClient(loopback.url, limiter=limiter, retry=NO_RETRY)
    elapsed, errors = _two_workers(client, calls_each=6)
    assert errors == [] and server.too_many == 0
    assert limiter.waits >= 1 and elapsed >= 1.0  # 12 calls at 4 per window need three windows
    assert max(server.counts.values()) <= 4  # 20% of the server's limit is left for other apps


def test_without_the_limiter_the_same_load_hits_the_ceiling(loopback):
    """The two tests above can fail: the servers do refuse bursts."""
    server = FixedWindowServer(limit=5, window=1.0)
    loopback.handler = server
    _, errors = _two_workers(HttpClient(loopback.url, retry=NO_RETRY), calls_each=6)
    assert server.too_many > 0 and errors
