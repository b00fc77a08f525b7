"""REST kit for connectors: session, auth hooks, retries honouring ``Retry-After``, a rate limiter fed by
rate-limit headers, call counters, paging helpers and generic errors. One module per concept.

A connector builds one client per vendor account and shares it (and its limiter) between workers::

    from hdm.http import BearerAuth, HttpClient, RateLimiter, RetryPolicy, cursor_pages, make_session

    intercom = HttpClient(
        "https://api.intercom.io",
        auth=BearerAuth(token),                          # a value resolved from the secret reference
        session=make_session(ca_bundle=None, pool_size=workers),
        limiter=RateLimiter(10_000, 60, share=0.8),      # at most 80% of 10,000 calls a minute
        retry=RetryPolicy(attempts=5, total=120),
        headers={"Intercom-Version": "2.16"},
    )
    for page in cursor_pages(intercom, "/contacts", params={"per_page": 150}, max_pages=10_000):
        ...
    intercom.json("POST", "/contacts", json=payload)     # not resent after a 5xx (not idempotent)
    intercom.counters.snapshot()                         # {"GET /contacts": {"calls": …}, …}

Kayako: ``SessionTokenAuth(basic_login(base + "/session.json", email, password), header="X-Session-ID",
expired_statuses=(401, 454), secrets=(password,))`` and :func:`offset_pages` / :func:`next_url_pages`.
Kustomer: ``BearerAuth`` and :func:`page_number_pages` with ``page_cap=100`` on search.
Failures are :mod:`hdm.http.errors`: ``Transient``, ``QuotaExhausted``, ``AuthFailed``, ``NotFound``, ``Rejected``.
"""

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
