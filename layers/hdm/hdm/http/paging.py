"""Paging helpers: generators of :class:`Page`, each bounded by ``max_pages``.

- :func:`offset_pages`: ``offset``/``limit`` (Kayako lists).
- :func:`cursor_pages`: a cursor read from each answer and sent back (Intercom ``pages.next.starting_after``;
  for ``POST …/search`` the cursor goes in the body's ``pagination``).
- :func:`next_url_pages`: follow the answer's next URL (Kayako ``next_url``, or an HTTP ``Link: rel="next"``),
  only on the client's own origin.
- :func:`page_number_pages`: ``page`` from 1 + ``pageSize``, following ``links.next`` (Kustomer), with the
  vendor's page cap: :class:`PageCapReached` tells the caller to restart with a narrower (keyset) query.

Going past ``max_pages`` raises :class:`PagingError` (never a silent stop that would drop records); so does a
cursor or URL that repeats.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import urljoin

from hdm.http.client import HttpClient
from hdm.http.errors import PageCapReached, PagingError

Items = Callable[[Any], list]


@dataclass(frozen=True)
class Page:
    number: int  # 1-based count of pages fetched by this generator
    items: list
    body: Any
    next: Optional[str] = None  # the cursor/URL/page that comes after this page, if any


def _items(key: str) -> Items:
    def get(body: Any) -> list:
        value = body.get(key) if isinstance(body, dict) else None
        return value if isinstance(value, list) else []
    return get


def _dig(body: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def _bound(number: int, max_pages: int, family: str) -> None:
    if number > max_pages:
        raise PagingError(f"more than {max_pages} pages", family=family)


def offset_pages(client: HttpClient, path: str, *, limit: int = 100, max_pages: int = 1000,
                 params: Optional[Mapping[str, Any]] = None, items: Items = _items("data"),
                 offset_param: str = "offset", limit_param: str = "limit",
                 total: Optional[Callable[[Any], Optional[int]]] = lambda b: _dig(b, "total_count"),
                 **request: Any) -> Iterator[Page]:
    """Until a page is shorter than ``limit`` or ``total`` says all were read."""
    family = client.family_of("GET", path)
    offset, number = 0, 0
    while True:
        number += 1
        _bound(number, max_pages, family)
        body = client.get_json(path, params={**(params or {}), offset_param: offset, limit_param: limit}, **request)
        got = items(body)
        offset += len(got)
        known = total(body) if total else None
        more = len(got) >= limit and len(got) > 0 and (not isinstance(known, int) or offset < known)
        yield Page(number, got, body, str(offset) if more else None)
        if not more:
            return


def intercom_next(body: Any) -> Optional[str]:
    """Intercom's ``pages.next.starting_after`` (``pages.next`` may also be a URL string in older versions:
    then there is no cursor to send and paging stops)."""
    value = _dig(body, "pages", "next", "starting_after")
    return value if isinstance(value, str) and value else None


def cursor_in_params(name: str = "starting_after") -> Callable[[dict, str], None]:
    def place(request: dict, cursor: str) -> None:
        request["params"] = {**(request.get("params") or {}), name: cursor}
    return place


def cursor_in_body(*keys: str) -> Callable[[dict, str], None]:
    """Intercom search: ``cursor_in_body("pagination", "starting_after")``."""
    def place(request: dict, cursor: str) -> None:
        body = copy.deepcopy(request.get("json") or {})
        node = body
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = cursor
        request["json"] = body
    return place


def cursor_pages(client: HttpClient, path: str, *, method: str = "GET", max_pages: int = 1000,
                 items: Items = _items("data"), next_cursor: Callable[[Any], Optional[str]] = intercom_next,
                 place: Callable[[dict, str], None] = cursor_in_params(), start: Optional[str] = None,
                 **request: Any) -> Iterator[Page]:
    """Send the cursor each answer gives until there is none. A search by POST is read-only: it is
    marked idempotent so it is retried like a GET."""
    family = request.pop("family", None) or client.family_of(method, path)
    if method.upper() != "GET":
        request.setdefault("idempotent", True)
    cursor, seen, number = start, set(), 0
    while True:
        number += 1
        _bound(number, max_pages, family)
        call = dict(request)
        if cursor is not None:
            place(call, cursor)
        body = client.json(method, path, family=family, **call)
        cursor = next_cursor(body)
        yield Page(number, items(body), body, cursor)
        if cursor is None:
            return
        if cursor in seen:
            raise PagingError("the cursor repeats", family=family)
        seen.add(cursor)


def kayako_next(body: Any) -> Optional[str]:
    value = _dig(body, "next_url")
    return value if isinstance(value, str) and value else None


def next_url_pages(client: HttpClient, path: str, *, max_pages: int = 1000, items: Items = _items("data"),
                   next_url: Callable[[Any], Optional[str]] = kayako_next, use_link_header: bool = True,
                   **request: Any) -> Iterator[Page]:
    """The first request is ``path`` with ``request``'s params; later ones are the next URL as given
    (it carries its own query). Same family for all, so counts stay per list."""
    family = request.pop("family", None) or client.family_of("GET", path)
    url: Optional[str] = path
    seen: set[str] = set()
    number = 0
    while url is not None:
        number += 1
        _bound(number, max_pages, family)
        response = client.request("GET", url, family=family, **request)
        body = response.json() if response.content else None
        following = next_url(body)
        if following is None and use_link_header:
            following = response.links.get("next", {}).get("url")
        if following is not None:
            following = urljoin(response.url, following)  # a relative next URL; the client checks the origin
        yield Page(number, items(body), body, following)
        if following is not None:
            if following in seen:
                raise PagingError("the next URL repeats", family=family)
            seen.add(following)
            request = {k: v for k, v in request.items() if k not in ("params", "path_params")}
        url = following


def kustomer_has_next(body: Any) -> bool:
    return bool(_dig(body, "links", "next"))


def page_number_pages(client: HttpClient, path: str, *, page_size: int = 100, page_cap: Optional[int] = None,
                      max_pages: int = 1000, method: str = "GET", items: Items = _items("data"),
                      has_next: Callable[[Any], bool] = kustomer_has_next, page_param: str = "page",
                      size_param: str = "pageSize", params: Optional[Mapping[str, Any]] = None,
                      **request: Any) -> Iterator[Page]:
    """``page`` = 1, 2, … while the answer says there is a next page. With ``page_cap`` (Kustomer search: 100),
    a next page beyond the cap raises :class:`PageCapReached` after the last allowed page was yielded."""
    family = request.pop("family", None) or client.family_of(method, path)
    if method.upper() != "GET":
        request.setdefault("idempotent", True)
    page = 0
    while True:
        page += 1
        _bound(page, max_pages, family)
        body = client.json(method, path, family=family,
                           params={**(params or {}), page_param: page, size_param: page_size}, **request)
        got = items(body)
        more = has_next(body) and bool(got)
        yield Page(page, got, body, str(page + 1) if more else None)
        if not more:
            return
        if page_cap is not None and page >= page_cap:
            raise PageCapReached(f"the vendor's cap of {page_cap} pages was reached with more to read",
                                 family=family)
