"""A thread-safe rate limiter that waits *before* a request: a configured ceiling plus the server's
rate-limit headers.

Two gates, the later of the two wins:

1. **Ceiling** (configured): at most ``share`` × ``limit`` calls per ``window`` seconds, spread evenly
   (a GCRA / virtual-scheduling token bucket with a small burst). Intercom: 10,000/min per app spread
   over 10-second windows, so ``RateLimiter(10_000, 60, share=0.8)`` sends at most one call every 7.5 ms.
2. **Headers** (observed): ``X-RateLimit-Limit``/``-Remaining``/``-Reset`` (Intercom; Kustomer sends the
   same names in lower case; ``Reset`` is a Unix time in seconds for both, apis.md §1.2/§3.3). The
   limiter keeps its own estimate of *remaining* (the last value seen, lowered by each call it lets
   through), and when it would go below the reserve — ``(1 - share)`` of the server's limit, left for
   other apps sharing a workspace or org quota — it holds every worker until the reset time. When the
   server's limit is lower than the configured ceiling, the ceiling follows the server.

Why not a library: pyrate-limiter (the maintained candidate) gives fixed-rate buckets; it cannot be fed
the server's *remaining/reset*, which is the part that matters for quotas shared with other apps, so we
would write the header gate anyway; and its Limiter API changed between 2.x, 3.x and 4.x (delay and
blocking options moved). The ceiling here is a dozen lines of virtual scheduling.

Waits are bounded (``max_wait``); a limiter asked to wait longer raises :class:`QuotaExhausted` rather
than sleep for hours.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Optional

from hdm.http.errors import QuotaExhausted

HEADER_LIMIT = "x-ratelimit-limit"
HEADER_REMAINING = "x-ratelimit-remaining"
HEADER_RESET = "x-ratelimit-reset"


def _number(headers: Mapping[str, str], name: str) -> Optional[float]:
    """A header as a number; the lookup ignores case (requests' headers do; plain dicts are searched)."""
    value = headers.get(name)
    if value is None:
        for key, v in headers.items():
            if key.lower() == name:
                value = v
                break
    if value is None:
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


class RateLimiter:
    """Shared by every worker talking to one vendor account (one instance per quota)."""

    def __init__(self, limit: float, window: float = 60.0, *, share: float = 0.8, burst: int = 1,
                 max_wait: float = 120.0, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        if limit <= 0 or window <= 0 or not 0 < share <= 1:
            raise ValueError("limit and window must be > 0, share in (0, 1]")
        self.window = window
        self.share = share
        self.burst = max(1, burst)
        self.max_wait = max_wait
        self._clock, self._wall, self._sleep = clock, wall, sleep
        self._lock = threading.Lock()
        self._interval = window / (limit * share)
        self._configured_interval = self._interval
        self._tat = 0.0  # theoretical arrival time of the next call (virtual scheduling)
        self._server_limit: Optional[float] = None
        self._remaining: Optional[float] = None
        self._reset_wall: Optional[float] = None
        self.waited_seconds = 0.0
        self.waits = 0

    # -- before a request ---------------------------------------------------------------------------------
    def acquire(self) -> float:
        """Block until one call may go; return the seconds waited."""
        with self._lock:
            now = self._clock()
            tau = (self.burst - 1) * self._interval
            at = max(now, self._tat - tau)
            self._tat = max(self._tat, now) + self._interval
            at = max(at, self._header_gate(now))
            if self._remaining is not None:
                self._remaining -= 1
        wait = at - now
        if wait > self.max_wait:
            raise QuotaExhausted("rate limit would need a wait longer than allowed", retry_after=wait)
        if wait > 0:
            self._sleep(wait)
            with self._lock:
                self.waited_seconds += wait
                self.waits += 1
        return max(wait, 0.0)

    def _header_gate(self, now: float) -> float:
        """Monotonic time before which the server's remaining budget says wait (``now`` if none)."""
        if self._remaining is None or self._server_limit is None:
            return now
        wall = self._wall()
        if self._reset_wall is not None and wall >= self._reset_wall:
            self._remaining = self._reset_wall = None  # a new window: trust the next response
            return now
        reserve = math.floor(self._server_limit * (1 - self.share))
        if self._remaining > reserve:
            return now
        if self._reset_wall is None:
            return now + self.window  # out of budget and no reset time: wait one window
        return now + (self._reset_wall - wall)

    # -- after a response ---------------------------------------------------------------------------------
    def observe(self, headers: Mapping[str, str]) -> None:
        """Feed the rate-limit headers of any response (429 included)."""
        limit = _number(headers, HEADER_LIMIT)
        remaining = _number(headers, HEADER_REMAINING)
        reset = _number(headers, HEADER_RESET)
        if remaining is None:
            return
        if reset is not None and reset < 1e9:  # some servers send seconds-until-reset, not a Unix time
            reset = self._wall() + reset
        with self._lock:
            if limit is not None and limit > 0:
                self._server_limit = limit
                server_interval = self.window / (limit * self.share)
                self._interval = max(self._configured_interval, server_interval)
            new_window = reset is not None and (self._reset_wall is None or reset > self._reset_wall + 0.5)
            if self._remaining is None or new_window:
                self._remaining = remaining
            else:  # answers arrive out of order between workers: the lowest count is the freshest
                self._remaining = min(self._remaining, remaining)
            if reset is not None:
                self._reset_wall = reset if self._reset_wall is None or new_window else self._reset_wall
            elif self._reset_wall is None:
                self._reset_wall = self._wall() + self.window

    def snapshot(self) -> dict[str, float | int | None]:
        with self._lock:
            return {"interval_seconds": self._interval, "server_limit": self._server_limit,
                    "remaining_estimate": self._remaining, "waits": self.waits,
                    "waited_seconds": round(self.waited_seconds, 3)}
