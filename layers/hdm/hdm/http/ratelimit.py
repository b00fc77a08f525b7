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
   other apps sharing a workspace or org quota — it holds every worker until the reset time. The header's
   *limit* only sizes that reserve: its window is the vendor's (Intercom spreads a minute's quota over
   10-second windows), so it is not turned into a rate.

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
        self._tat = 0.0  # theoretical arrival time of the next call (virtual scheduling)
        self._server_limit: Optional[float] = None
        self._remaining: Optional[float] = None
        self._reset_wall: Optional[float] = None
        self._stale_until: Optional[float] = None
        self._in_flight = 0
        self.waited_seconds = 0.0
        self.waits = 0

    # -- before a request ---------------------------------------------------------------------------------
    def acquire(self) -> float:
        """Block until one call may go; return the seconds waited. A worker held by the header gate looks
        again after the reset (the budget it waited for may have gone to another worker)."""
        started = self._clock()
        waited = 0.0
        for _ in range(10_000):
            with self._lock:
                now = self._clock()
                gate = self._header_gate(now)
                reserved = gate <= now
                if reserved:
                    tau = (self.burst - 1) * self._interval
                    wait = max(now, self._tat - tau) - now
                    # a booking is made only when it is kept: a refused one changes nothing (no undo needed,
                    # and no other worker's booking made in between is undone)
                    if now + wait - started <= self.max_wait:
                        self._tat = max(self._tat, now) + self._interval
                        if self._remaining is not None:
                            self._remaining -= 1
                        self._in_flight += 1
                else:
                    wait = gate - now
            if now + wait - started > self.max_wait:
                raise QuotaExhausted("rate limit would need a wait longer than allowed",
                                     retry_after=now + wait - started)
            if wait > 0:
                self._sleep(wait)
                waited += wait
            if reserved:
                break
        if waited > 0:
            with self._lock:
                self.waited_seconds += waited
                self.waits += 1
        return waited

    def _header_gate(self, now: float) -> float:
        """Monotonic time before which the server's remaining budget says wait (``now`` if none)."""
        if self._remaining is None or self._server_limit is None:
            return now
        wall = self._wall()
        if self._reset_wall is not None and wall >= self._reset_wall:
            # a new window: the full budget again, counted down until an answer says otherwise;
            # answers still to come from the old window are ignored (see observe)
            self._stale_until, self._reset_wall = self._reset_wall, None
            self._remaining = self._server_limit
        reserve = self._server_limit - math.floor(self._server_limit * self.share + 1e-9)  # 1 - 0.8 != 0.2
        if self._remaining > reserve:
            return now
        if self._reset_wall is None:
            return now + self.window  # out of budget and no reset time known: wait one window
        return now + (self._reset_wall - wall)

    # -- after a response ---------------------------------------------------------------------------------
    def observe(self, headers: Mapping[str, str]) -> None:
        """After each :meth:`acquire`, once: the answer's headers (429 included), or ``{}`` when no answer came.

        The server's *remaining* counts the calls it has seen; calls of other workers still in flight are
        not in it yet, so the estimate subtracts them (conservative: a call may be counted twice, never
        missed)."""
        limit = _number(headers, HEADER_LIMIT)
        remaining = _number(headers, HEADER_REMAINING)
        reset = _number(headers, HEADER_RESET)
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
        if remaining is None:
            return
        if reset is not None and reset < 1e9:  # some servers send seconds-until-reset, not a Unix time
            reset = self._wall() + reset
        with self._lock:
            if reset is not None and ((self._reset_wall is not None and reset < self._reset_wall - 0.5)
                                      or (self._stale_until is not None and reset <= self._stale_until + 0.5)):
                return  # a late answer from a window that is over
            remaining = max(0.0, remaining - self._in_flight)
            if limit is not None and limit > 0:
                self._server_limit = limit
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
