"""Each paging style against a loopback server shaped like its vendor, each with its bound; counters per family."""

from __future__ import annotations

import json

import pytest
from hdm.http import (
    HttpClient,
    PageCapReached,
    PagingError,
    Rejected,
    cursor_pages,
    next_url_pages,
    offset_pages,
    page_number_pages,
)
from hdm.http.paging import cursor_in_body
from werkzeug.wrappers import Response

RECORDS = [{"id": str(i)} for i in range(1, 24)]  # 23 records: pages of 5 → 5 pages, the last one short


def _json(body, status=200, headers=None):
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")


def _flat(pages):
    return [r["id"] for p in pages for r in p.items]


def test_offset_limit_kayako_style(loopback):
    def handler(request):
        offset, limit = int(request.args["offset"]), int(request.args["limit"])
        return _json({"status": 200, "data": RECORDS[offset:offset + limit], "total_count": len(RECORDS)})

    loopback.handler = handler
    client = HttpClient(loopback.url + "/api/v1")
    pages = list(offset_pages(client, "/cases", limit=5, params={"include": "user"}))
    assert _flat(pages) == [r["id"] for r in RECORDS] and len(pages) == 5
    assert [s.args["offset"] for s in loopback.seen] == ["0", "5", "10", "15", "20"]
    assert all(s.args["include"] == "user" for s in loopback.seen)
    assert client.counters.calls("GET /cases") == 5
    with pytest.raises(PagingError):
        list(offset_pages(client, "/cases", limit=5, max_pages=3))


def test_cursor_intercom_style_in_params_and_in_a_search_body(loopback):
    def page_for(after):
        start = 0 if after is None else int(after)
        chunk = RECORDS[start:start + 5]
        pages = {"type": "pages", "per_page": 5}
        if start + 5 < len(RECORDS):
            pages["next"] = {"per_page": 5, "starting_after": str(start + 5)}
        return _json({"type": "list", "data": chunk, "pages": pages})

    def handler(request):
        if request.method == "POST":
            return page_for((request.get_json().get("pagination") or {}).get("starting_after"))
        return page_for(request.args.get("starting_after"))

    loopback.handler = handler
    client = HttpClient(loopback.url)
    assert _flat(cursor_pages(client, "/contacts", params={"per_page": 5})) == [r["id"] for r in RECORDS]
    assert [s.args.get("starting_after") for s in loopback.seen] == [None, "5", "10", "15", "20"]
    query = {"query": {"field": "updated_at", "operator": ">", "value": 0}, "pagination": {"per_page": 5}}
    pages = list(cursor_pages(client, "/contacts/search", method="POST", json=query,
                              place=cursor_in_body("pagination", "starting_after")))
    assert _flat(pages) == [r["id"] for r in RECORDS]
    assert query["pagination"] == {"per_page": 5}  # the caller's body is not changed
    assert client.counters.snapshot().keys() == {"GET /contacts", "POST /contacts/search"}
    with pytest.raises(PagingError):
        list(cursor_pages(client, "/contacts", max_pages=2))


def test_a_repeating_cursor_is_an_error_not_an_endless_loop(loopback):
    loopback.handler = lambda r: _json({"data": [{"id": "1"}], "pages": {"next": {"starting_after": "same"}}})
    with pytest.raises(PagingError, match="repeats"):
        list(cursor_pages(HttpClient(loopback.url), "/contacts"))
    assert len(loopback.seen) == 2


def test_next_url_kayako_style_absolute_relative_and_foreign(loopback):
    def handler(request):
        offset = int(request.args.get("offset", 0))
        body = {"status": 200, "data": RECORDS[offset:offset + 5]}
        if offset + 5 < len(RECORDS):
            nxt = f"/api/v1/cases?offset={offset + 5}&limit=5"
            body["next_url"] = (loopback.url + nxt) if offset % 10 == 0 else nxt  # both forms
        return _json(body)

    loopback.handler = handler
    client = HttpClient(loopback.url + "/api/v1")
    pages = list(next_url_pages(client, "/cases", params={"limit": 5}))
    assert _flat(pages) == [r["id"] for r in RECORDS]
    assert client.counters.snapshot() == {"GET /cases": client.counters.snapshot()["GET /cases"]}
    assert client.counters.calls("GET /cases") == 5
    with pytest.raises(PagingError):
        list(next_url_pages(client, "/cases", params={"limit": 5}, max_pages=2))
    loopback.handler = lambda r: _json({"data": [], "next_url": "https://attacker.example/steal"})
    with pytest.raises(Rejected, match="another origin"):
        list(next_url_pages(client, "/cases"))


def test_page_number_kustomer_style_with_the_vendor_cap(loopback):
    def handler(request):
        page, size = int(request.args["page"]), int(request.args["pageSize"])
        chunk = RECORDS[(page - 1) * size: page * size]
        last = page * size >= len(RECORDS)
        return _json({"data": chunk, "meta": {"page": page},
                      "links": {"self": "x", "next": None if last else f"/v1/customers/search?page={page + 1}"}})

    loopback.handler = handler
    client = HttpClient(loopback.url + "/v1")
    pages = list(page_number_pages(client, "/customers/search", method="POST", page_size=5, json={}))
    assert _flat(pages) == [r["id"] for r in RECORDS] and pages[-1].next is None
    seen: list[str] = []
    with pytest.raises(PageCapReached):
        for page in page_number_pages(client, "/customers/search", method="POST", page_size=5, page_cap=3, json={}):
            seen.extend(r["id"] for r in page.items)
    assert seen == [r["id"] for r in RECORDS[:15]]  # every page up to the cap was handed over first
    with pytest.raises(PagingError):
        list(page_number_pages(client, "/customers", page_size=5, max_pages=2))
    assert client.counters.calls("POST /customers/search") == 5 + 3
