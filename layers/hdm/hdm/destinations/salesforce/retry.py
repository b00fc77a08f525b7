"""Backoff policy: which failures are transient, and how long to wait (tenacity, full jitter).

Transient: HTTP 429 and 503, ``UNABLE_TO_LOCK_ROW``, ``SERVER_UNAVAILABLE``, dropped connections. Not
transient: everything else. ``REQUEST_LIMIT_EXCEEDED`` on a 403 is the daily allocation: it is turned into
:class:`DailyLimitExceeded` and never retried (the pipeline checkpoints and stops).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import requests
import tenacity
from simple_salesforce.exceptions import SalesforceError

from hdm.destinations.salesforce.errors import DailyLimitExceeded

T = TypeVar("T")

TRANSIENT_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_RUNNING_TOO_LONG"})
TRANSIENT_STATUS = frozenset({429, 502, 503, 504})


def error_codes(exc: SalesforceError) -> list[str]:
    """The ``errorCode`` values of a Salesforce error body (a JSON array, or a dict, or text)."""
    content = exc.content
    if isinstance(content, (bytes, str)):
        try:
            content = json.loads(content)
        except (ValueError, TypeError):
            return [c for c in TRANSIENT_CODES | {"REQUEST_LIMIT_EXCEEDED"} if c in str(exc.content)]
    items = content if isinstance(content, list) else [content]
    return [str(i.get("errorCode") or i.get("statusCode")) for i in items if isinstance(i, dict)]


def is_daily_limit(exc: BaseException) -> bool:
    return isinstance(exc, SalesforceError) and exc.status == 403 and "REQUEST_LIMIT_EXCEEDED" in error_codes(exc)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)):
        return True
    if isinstance(exc, SalesforceError):
        if exc.status in TRANSIENT_STATUS:
            return True
        return bool(TRANSIENT_CODES.intersection(error_codes(exc)))
    return False


def make_retrying(attempts: int, base: float, cap: float, total: float) -> tenacity.Retrying:
    return tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_transient),
        wait=tenacity.wait_random_exponential(multiplier=base, max=cap),
        stop=tenacity.stop_after_attempt(attempts) | tenacity.stop_after_delay(total),
        reraise=True,
    )


def call_with_retry(retrying: tenacity.Retrying, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` under the policy; the daily limit becomes :class:`DailyLimitExceeded`."""
    try:
        return retrying(fn, *args, **kwargs)
    except SalesforceError as exc:
        if is_daily_limit(exc):
            raise DailyLimitExceeded(detail=f"{exc.resource_name or ''}".strip()) from exc
        raise
