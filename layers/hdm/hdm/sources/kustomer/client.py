"""The Kustomer API as the source reads it, on hdm's HTTP kit.

- Bearer API key; TLS verified (the system store or ``ca_bundle``).
- Two limiters: the org-wide one (GETs) and the search one (API keys: 100 searches a minute). Each takes
  ``share`` of its limit and is fed by the ``x-ratelimit-*`` headers of the answers it lets through (a search's
  answer describes whichever window binds it), so the source waits for ``x-ratelimit-reset`` instead of meeting
  429; a 429 that comes anyway (other apps share the org's budget) is retried after a backoff, and the limiter,
  having seen remaining 0, holds the retry until the reset. 5xx and broken connections are retried; a search is a
  read, so its POST is sent as idempotent.
- Call counters (one :class:`CallCounters` for both clients): searches are the ``POST /customers/search [ctx]``
  families, counted apart from the GETs.
- :meth:`KustomerApi.walk`: the search keyset walk on (updatedAt, id), re-queried from page 1 after every page,
  so the 100-page cap never binds and records sharing one timestamp are neither skipped nor repeated.
Every loop is bounded (pages per list, pages per walk).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Optional

from hdm.http import BearerAuth, CallCounters, HttpClient, RateLimiter, RetryPolicy, make_session
from hdm.http.errors import HttpKitError
from hdm.http.paging import page_number_pages
from hdm.sources.kustomer.errors import KustomerPagingError as PagingError
from hdm.sources.kustomer.errors import translate

SEARCH_PATH = "/customers/search"
MAX_LIST_PAGES = 10_000


_SHARED: dict[tuple[Any, ...], tuple[RateLimiter, RateLimiter]] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiters(base_url: str, api_key: str, rate_limit_per_minute: int, search_rate_limit_per_minute: int,
                    rate_share: float) -> tuple[RateLimiter, RateLimiter]:
    """The (org, search) limiters every worker of this process shares for one org and key: the engines build a
    source per worker, the org's budget is one. (Separate processes, e.g. Lambdas, meet through the headers.)"""
    account = (base_url, hashlib.sha256(api_key.encode()).hexdigest()[:16], rate_limit_per_minute,
               search_rate_limit_per_minute, rate_share)
    with _SHARED_LOCK:
        if account not in _SHARED:
            _SHARED[account] = (RateLimiter(rate_limit_per_minute, 60, share=rate_share),
                                RateLimiter(search_rate_limit_per_minute, 60, share=rate_share))
        return _SHARED[account]


def search_family(context: str) -> str:
    return f"POST {SEARCH_PATH} [{context}]"


def is_search_family(family: str) -> bool:
    return family.startswith(f"POST {SEARCH_PATH}")


class _Client(HttpClient):
    """The kit's client, its failures re-raised as the Kustomer source's (see :mod:`.errors`)."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().request(*args, **kwargs)
        except HttpKitError as exc:
            raise translate(exc) from exc


class KustomerApi:
    def __init__(self, base_url: str, api_key: str, *, ca_bundle: Optional[str] = None, page_size: int = 100,
                 search_page_size: int = 500, rate_limit_per_minute: int = 1000,
                 search_rate_limit_per_minute: int = 100, rate_share: float = 0.8,
                 retry: Optional[RetryPolicy] = None, max_wait: float = 120.0,
                 sleep: Callable[[float], None] = time.sleep,
                 limiters: Optional[tuple[RateLimiter, RateLimiter]] = None) -> None:
        session = make_session(ca_bundle=ca_bundle)
        auth = BearerAuth(api_key)
        self.counters = CallCounters()
        self.page_size = page_size
        self.search_page_size = search_page_size
        retry = retry or RetryPolicy(attempts=8, base=0.5, cap=20.0, total=180.0)
        if limiters is None:
            limiters = (RateLimiter(rate_limit_per_minute, 60, share=rate_share, max_wait=max_wait, sleep=sleep),
                        RateLimiter(search_rate_limit_per_minute, 60, share=rate_share, max_wait=max_wait,
                                    sleep=sleep))
        self.limiter, self.search_limiter = limiters
        self.http = _Client(base_url, auth=auth, session=session, limiter=self.limiter, counters=self.counters,
                               retry=retry, sleep=sleep)
        self.search_http = _Client(base_url, auth=auth, session=session, limiter=self.search_limiter,
                                      counters=self.counters, retry=retry, sleep=sleep)

    # -- GETs -------------------------------------------------------------------------------------------------
    def get(self, path: str, **kwargs: Any) -> Any:
        return self.http.get_json(path, **kwargs)

    def list_all(self, path: str, *, page_size: Optional[int] = None, params: Optional[dict[str, Any]] = None,
                 family: Optional[str] = None, max_pages: int = MAX_LIST_PAGES,
                 path_params: Optional[dict[str, Any]] = None) -> Iterator[dict[str, Any]]:
        """Every record of a GET list, page after page, following ``links.next``."""
        for page in page_number_pages(self.http, path, page_size=page_size or self.page_size, max_pages=max_pages,
                                      params=params, family=family, path_params=path_params):
            yield from (r for r in page.items if isinstance(r, dict))

    def list_body(self, path: str, **kwargs: Any) -> list[Any]:
        """The bodies of every page of a GET list (when the answer carries more than ``data``: SLA ``included``)."""
        return [p.body for p in page_number_pages(self.http, path, page_size=self.page_size,
                                                  max_pages=MAX_LIST_PAGES, **kwargs)]

    def download(self, url: str, block: int = 1 << 16) -> Iterator[bytes]:
        """The bytes of an attachment (``links.related``, on the API's own origin only), streamed."""
        response = self.http.request("GET", url, family="GET /attachments/{id}/download",
                                     headers={"Accept": "*/*"}, timeout=(5.0, 120.0))
        try:
            yield from response.iter_content(block)
        finally:
            response.close()

    # -- search -----------------------------------------------------------------------------------------------
    def search(self, context: str, criteria: list[Any], *, sort: Optional[list[dict[str, str]]] = None,
               page: int = 1, page_size: Optional[int] = None) -> dict[str, Any]:
        body: dict[str, Any] = {"queryContext": context, "and": criteria, "timeZone": "UTC"}
        if sort:
            body["sort"] = sort
        answer = self.search_http.json("POST", SEARCH_PATH, params={"page": page,
                                                                    "pageSize": page_size or self.search_page_size},
                                       json=body, idempotent=True, family=search_family(context))
        if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
            raise PagingError("the search answer has no data list", family=search_family(context))
        return answer

    def count(self, context: str, criteria: list[Any]) -> int:
        answer = self.search(context, criteria, page_size=1)
        total = (answer.get("meta") or {}).get("total")
        return int(total) if isinstance(total, (int, float)) else len(answer["data"])

    def walk(self, context: str, field_prefix: str, criteria: list[Any], *, max_pages: int,
             page_size: Optional[int] = None) -> Iterator[dict[str, Any]]:
        """Every record matching ``criteria``, ascending on (updatedAt, id), by a keyset: after each page the search
        starts again at page 1 with ``updatedAt > T or (updatedAt = T and id > X)`` for the last record read. A
        record updated while the walk runs moves behind the cursor and is met again in its new state (the caller
        keeps the latest); none is skipped. ``field_prefix`` is the context's field prefix (``kobject`` for
        ``kobject_<klass>``)."""
        updated, ident = f"{field_prefix}_updated_at", f"{field_prefix}_id"
        sort = [{updated: "asc"}, {ident: "asc"}]
        after: Optional[tuple[str, str]] = None
        for _ in range(max_pages):
            keyset = [] if after is None else [{"or": [
                {updated: {"gt": after[0]}},
                {"and": [{updated: {"equals": after[0]}}, {ident: {"gt": after[1]}}]}]}]
            answer = self.search(context, [*criteria, *keyset], sort=sort, page_size=page_size)
            data = [r for r in answer["data"] if isinstance(r, dict)]
            yield from data
            if not data or not (answer.get("links") or {}).get("next"):
                return
            last = data[-1]
            stamp = (last.get("attributes") or {}).get("updatedAt")
            if not isinstance(stamp, str) or not last.get("id"):
                raise PagingError("a search record without updatedAt or id: the keyset cannot go on",
                                  family=search_family(context))
            if after == (stamp, str(last["id"])):
                raise PagingError("the search keyset does not advance", family=search_family(context))
            after = (stamp, str(last["id"]))
        raise PagingError(f"the search walk went past {max_pages} pages", family=search_family(context))

    # -- figures ----------------------------------------------------------------------------------------------
    def call_figures(self) -> dict[str, Any]:
        snap = self.counters.snapshot()
        searches = sum(v["calls"] for k, v in snap.items() if is_search_family(k))
        total = sum(v["calls"] for v in snap.values())
        return {"total": total, "searches": searches, "other": total - searches, "families": snap,
                "limiter": self.limiter.snapshot(), "search_limiter": self.search_limiter.snapshot()}
