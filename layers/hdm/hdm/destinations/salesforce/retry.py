"""Backoff policy: which failures are transient, and how long to wait (tenacity, full jitter).

Transient: HTTP 429 and 503, ``UNABLE_TO_LOCK_ROW``, ``SERVER_UNAVAILABLE``, dropped connections. Not
transient: everything else. A non-idempotent write (an insert) is sent again only after a failure that
certainly never reached the server (:func:`never_reached_server`): a dropped connection or a gateway error
may come after the server wrote the record, and a second send would write it twice.
``REQUEST_LIMIT_EXCEEDED`` on a 403 is the daily allocation: it is turned into :class:`DailyLimitExceeded` and
never retried (the pipeline checkpoints and stops).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests
import tenacity
from simple_salesforce.exceptions import SalesforceError

from hdm.destinations.salesforce.errors import DailyLimitExceeded
from hdm.http.retry import never_reached_server as connection_never_made

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


def has_salesforce_error_body(exc: SalesforceError) -> bool:
    """The answer is Salesforce's own JSON error (``errorCode``), not a gateway's page."""
    content = exc.content
    if isinstance(content, (bytes, str)):
        try:
            content = json.loads(content)
        except (ValueError, TypeError):
            return False
    items = content if isinstance(content, list) else [content]
    return any(isinstance(i, dict) and (i.get("errorCode") or i.get("statusCode")) for i in items)


def never_reached_server(exc: BaseException) -> bool:
    """Transient and certainly not processed: safe to send a non-idempotent write again.

    The connection was never made (connect timeout, refused), the org throttled the call (429), or Salesforce
    itself answered 503 with its error body (it refused the request before doing anything). A reset, a read
    timeout, a 502/504 or a bare 503 from a proxy may come after the write happened: not retried. A Salesforce
    error body with a transient code (``UNABLE_TO_LOCK_ROW``) is the org refusing the whole request, its
    transaction rolled back: retried too."""
    if isinstance(exc, SalesforceError):
        if exc.status == 429:
            return True
        if exc.status in (502, 504) or not has_salesforce_error_body(exc):
            return False
        return exc.status == 503 or bool(TRANSIENT_CODES.intersection(error_codes(exc)))
    return connection_never_made(exc)


def make_retrying(attempts: int, base: float, cap: float, total: float, idempotent: bool = True
                  ) -> tenacity.Retrying:
    """The backoff policy; ``idempotent=False`` (inserts) retries only :func:`never_reached_server` failures."""
    return tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_transient if idempotent else never_reached_server),
        wait=tenacity.wait_random_exponential(multiplier=base, max=cap),
        stop=tenacity.stop_after_attempt(attempts) | tenacity.stop_after_delay(total),
        reraise=True,
    )


def call_with_retry[T](retrying: tenacity.Retrying, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` under the policy; the daily limit becomes :class:`DailyLimitExceeded`."""
    try:
        return retrying(fn, *args, **kwargs)
    except SalesforceError as exc:
        if is_daily_limit(exc):
            raise DailyLimitExceeded(detail=f"{exc.resource_name or ''}".strip()) from exc
        raise
