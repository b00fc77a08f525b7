"""REST kit for connectors: session, auth hooks, retries honouring ``Retry-After``, a rate limiter fed by
rate-limit headers, call counters, paging helpers and generic errors. One module per concept."""

from hdm.http.auth import BasicAuth, BearerAuth, SessionTokenAuth, basic_login
from hdm.http.client import HttpClient, vendor_message
from hdm.http.counters import CallCounters
from hdm.http.errors import (
                             AuthFailed,
                             HttpKitError,
                             NotFound,
                             PageCapReached,
                             PagingError,
                             QuotaExhausted,
                             Rejected,
                             Transient,
)
from hdm.http.paging import Page, cursor_pages, next_url_pages, offset_pages, page_number_pages
from hdm.http.ratelimit import RateLimiter
from hdm.http.retry import RetryPolicy, parse_retry_after
from hdm.http.session import make_session

__all__ = [
    "AuthFailed", "BasicAuth", "BearerAuth", "CallCounters", "HttpClient", "HttpKitError", "NotFound", "Page",
    "PageCapReached", "PagingError", "QuotaExhausted", "RateLimiter", "Rejected", "RetryPolicy",
    "SessionTokenAuth", "Transient", "basic_login", "cursor_pages", "make_session", "next_url_pages",
    "offset_pages", "page_number_pages", "parse_retry_after", "vendor_message",
]
