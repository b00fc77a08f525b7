"""When to send a request again, and how long to wait first (tenacity, exponential backoff with full jitter).

Retried: connection errors, and the statuses of :attr:`RetryPolicy.statuses` (429 and 5xx by default).
A ``Retry-After`` header (seconds or an HTTP date) replaces the backoff for that wait. Bounded in attempts
and in total time; a ``Retry-After`` longer than the time left, or than :attr:`RetryPolicy.max_retry_after`,
is not slept: the call fails with :class:`Transient` carrying ``retry_after`` for the engine to reschedule,
or :class:`QuotaExhausted` beyond :attr:`RetryPolicy.quota_after` (a daily or monthly allocation).

A request that is not idempotent (POST, PATCH unless the caller says otherwise) is sent again only when it
certainly never reached the server: the connection was never made, or (``resend_writes_on_429``) the server
refused it with 429 — rate limiting is checked before the request is processed. A reset connection, a read
timeout or a 5xx may come after the write happened, and a second send could write twice.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import random
from dataclasses import dataclass, field
from typing import Any, Optional

import requests
import tenacity
from urllib3.exceptions import NewConnectionError

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base: float = 0.5  # backoff: random in [0, base * 2**n], capped
    cap: float = 30.0
    total: float = 120.0  # no retry starts after this many seconds since the first attempt
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 500, 502, 503, 504}))
    max_retry_after: float = 60.0
    quota_after: float = 3600.0
    resend_writes_on_429: bool = True


def parse_retry_after(value: Optional[str], now: Optional[dt.datetime] = None) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds or an HTTP date; ``None`` if unusable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def never_reached_server(exc: BaseException) -> bool:
    """The connection was never made: a connect timeout or a refused/unresolvable connection."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo and len(seen) < 20:
        e = todo.pop()
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, NewConnectionError):
            return True
        todo.extend([e.__cause__, e.__context__, getattr(e, "reason", None), *(e.args[:1] if e.args else ())])
    return False


class RetryableFailure(Exception):
    """Raised inside an attempt: retry, or if the policy says stop, raise ``final``."""

    def __init__(self, final: BaseException, retry_after: Optional[float] = None) -> None:
        super().__init__(str(final))
        self.final = final
        self.retry_after = retry_after


def make_retrying(policy: RetryPolicy, sleep=tenacity.nap.sleep, before_sleep=None) -> tenacity.Retrying:
    backoff = tenacity.wait_random_exponential(multiplier=policy.base, max=policy.cap)

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        after = getattr(exc, "retry_after", None)
        if after is not None:
            return after + random.uniform(0, min(1.0, 0.1 * after))  # never earlier than asked
        return backoff(state)

    def stop(state: tenacity.RetryCallState) -> bool:
        if state.attempt_number >= policy.attempts:
            return True
        elapsed = state.seconds_since_start or 0.0
        exc = state.outcome.exception() if state.outcome else None
        after = getattr(exc, "retry_after", None) or 0.0
        return elapsed + after >= policy.total

    return tenacity.Retrying(retry=tenacity.retry_if_exception_type(RetryableFailure), wait=wait, stop=stop,
                             reraise=True, sleep=sleep, before_sleep=before_sleep)
