"""Search on the Kustomer emulator with plain requests: queryContext, and/or criteria, operators, sort, the 100-page
cap (page 101 refused after links.next pointed at it), a keyset walk on (updated_at, id) that reads every record
exactly once past the cap while hundreds share one updatedAt (and the naive restarts the real taps use miss or
repeat records), records updated during extraction, and both rate limits with their headers and 429."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hdm_infra.testing.kustomeremu import read_all, search_page, seed_org

CUSTOMERS = 300
PAGE = 2  # a small page (the API takes any pageSize up to 500) puts the burst (>200 customers on one updatedAt)
# over 100 pages
NO_LIMITS = {"rate_limit_per_minute": 1_000_000, "search_rate_limit_per_minute": 1_000_000}


@pytest.fixture(scope="module")
def org(kustomeremu_server):
    handle, seeded = seed_org(kustomeremu_server, CUSTOMERS, seed=11, burst=250)
    handle.seeded = seeded
    http = handle.session()
    handle.customers = read_all(http, handle.api_base, "/customers")
    handle.conversations = read_all(http, handle.api_base, "/conversations")
    return handle


@pytest.fixture(autouse=True)
def default_knobs(org):
    org.admin.replace_knobs(NO_LIMITS)
    org.admin.reset_rate_window()


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["data"]]


def search_all(org, body: dict[str, Any]) -> list[str]:
    """Every id a search finds, page by page (500 a page)."""
    http, out = org.session(), []
    for page in range(1, 101):
        response = search_page(http, org.api_base, body, page=page, page_size=500)
        out += ids(response)
        if response.json()["links"]["next"] is None:
            return out
    raise AssertionError("more than 100 pages")


# ----- filters and sort --------------------------------------------------------------------------------------------
def test_filters_and_or_operators_and_custom_attributes(org):
    convs = {c["id"]: c["attributes"] for c in org.conversations}
    ctx = {"queryContext": "conversation"}
    open_ = search_all(org, {**ctx, "and": [{"conversation_status": {"equals": "open"}}]})
    assert set(open_) == {i for i, c in convs.items() if c["status"] == "open"} and open_
    either = search_all(org, {**ctx, "or": [{"conversation_status": {"equals": "snoozed"}},
                                            {"conversation_priority": {"gte": 5}}]})
    assert set(either) == {i for i, c in convs.items() if c["status"] == "snoozed" or c["priority"] >= 5}
    both = search_all(org, {**ctx, "and": [{"conversation_priority": {"in": [1, 2]}},
                                           {"conversation_custom_escalatedBool": {"equals": True}}]})
    assert set(both) == {i for i, c in convs.items() if c["priority"] in (1, 2) and c["custom"]["escalatedBool"]}
    tag = next(t for c in convs.values() for t in c["tags"])
    tagged = search_all(org, {**ctx, "and": [{"conversation_tags": {"in": [tag]}}]})
    assert set(tagged) == {i for i, c in convs.items() if tag in c["tags"]}
    no_refund = search_all(org, {**ctx, "and": [{"conversation_custom_refundAmountNum": {"not_set": True}}]})
    assert set(no_refund) == {i for i, c in convs.items() if "refundAmountNum" not in c["custom"]}
    owner = org.conversations[0]["relationships"]["customer"]["data"]["id"]
    theirs = search_all(org, {**ctx, "and": [{"conversation_customer": {"equals": owner}}]})
    assert set(theirs) == {c["id"] for c in org.conversations
                           if c["relationships"]["customer"]["data"]["id"] == owner}
    cut = sorted(c["updatedAt"] for c in convs.values())[len(convs) // 2]
    window = search_all(org, {**ctx, "and": [{"conversation_updated_at": {"gte": cut.replace("Z", "+00:00")}},
                                             {"conversation_created_at": {"lt": "2023-06-01T00:00:00Z"}}]})
    assert set(window) == {i for i, c in convs.items() if c["updatedAt"] >= cut and c["createdAt"] < "2023-06-01"}
    work = search_all(org, {"queryContext": "customer", "and": [{"customer_emails": {"contains": "@company"}}]})
    assert set(work) == {c["id"] for c in org.customers
                         if any("@company" in e["email"].lower() for e in c["attributes"]["emails"])} and work


def test_sort_by_several_keys_and_by_id(org):
    body = {"queryContext": "conversation", "sort": [{"conversation_priority": "desc"},
                                                     {"conversation_created_at": "asc"}]}
    response = search_page(org.session(), org.api_base, body, page_size=500)
    got = [(r["attributes"]["priority"], r["attributes"]["createdAt"]) for r in response.json()["data"]]
    assert got == sorted(got, key=lambda p: (-p[0], p[1])) and len(got) == min(500, len(org.conversations))
    by_id = search_all(org, {"queryContext": "customer", "sort": [{"customer_id": "desc"}]})
    assert by_id == sorted((c["id"] for c in org.customers), reverse=True)


@pytest.mark.parametrize("body,needle", [
    ({"and": [{"customer_name": {"equals": "x"}}]}, "queryContext"),
    ({"queryContext": "ticket"}, "ticket"),
    ({"queryContext": "customer", "and": [{"customer_shoe_size": {"equals": 1}}]}, "customer_shoe_size"),
    ({"queryContext": "customer", "and": [{"customer_name": {"like": "x"}}]}, "like"),
    ({"queryContext": "customer", "and": [{"conversation_status": {"equals": "open"}}]}, "conversation_status"),
    ({"queryContext": "customer", "sort": [{"customer_name": "up"}]}, "asc or desc"),
    ({"queryContext": "kobject_nope"}, "nope"),
])
def test_a_malformed_search_is_a_400_that_says_what_is_wrong(org, body, needle):
    response = search_page(org.session(), org.api_base, body)
    assert response.status_code == 400
    assert needle in response.json()["errors"][0]["detail"]


# ----- the 100-page cap and the keyset walk past it ------------------------------------------------------------------
def test_links_next_points_at_page_101_and_page_101_is_refused(org):
    http = org.session()
    body = {"queryContext": "customer", "sort": [{"customer_updated_at": "asc"}]}
    page100 = search_page(http, org.api_base, body, page=100, page_size=PAGE).json()
    assert page100["links"]["next"] == f"/v1/customers/search?page=101&pageSize={PAGE}"
    assert page100["links"]["first"] == f"/v1/customers/search?page=1&pageSize={PAGE}"
    refused = search_page(http, org.api_base, body, page=101, page_size=PAGE)
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "search_page_limit"
    org.admin.knobs(search_max_pages=150)
    assert search_page(http, org.api_base, body, page=101, page_size=PAGE).status_code == 200


def _walk(org, ctx: str, restart, page_size: int = PAGE, max_calls: int = 2000,
          cursor_every_page: bool = False) -> tuple[list[dict[str, Any]], int]:
    """Search pages sorted by (updatedAt, id) until links.next is null. At the page cap (or after every page with
    ``cursor_every_page``) the search starts again at page 1 with ``restart(ctx, last record read)``."""
    http = org.session()
    sort = [{f"{ctx}_updated_at": "asc"}, {f"{ctx}_id": "asc"}]
    criteria: list[Any] = []
    seen: list[dict[str, Any]] = []
    cap = org.admin.knobs()["search_max_pages"]
    page, calls = 1, 0
    while calls < max_calls:
        body = {"queryContext": ctx, "and": criteria, "sort": sort}
        response = search_page(http, org.api_base, body, page, page_size)
        calls += 1
        assert response.status_code == 200, response.text
        body = response.json()
        seen.extend(body["data"])
        nxt = body["links"]["next"]
        if nxt is None:
            return seen, calls
        if cursor_every_page or f"page={cap + 1}&" in nxt:
            criteria, page = restart(ctx, seen[-1]), 1
        else:
            page += 1
    return seen, calls


def keyset(ctx: str, last: dict[str, Any]) -> list[Any]:
    """Strictly after (updatedAt, id) of the last record read."""
    at, id_ = last["attributes"]["updatedAt"], last["id"]
    return [{"or": [{f"{ctx}_updated_at": {"gt": at}},
                    {"and": [{f"{ctx}_updated_at": {"equals": at}}, {f"{ctx}_id": {"gt": id_}}]}]}]


def naive_gt(ctx: str, last: dict[str, Any]) -> list[Any]:
    """MeltanoLabs tap: restart with updated_at > the last one seen."""
    return [{f"{ctx}_updated_at": {"gt": last["attributes"]["updatedAt"]}}]


def naive_gte(ctx: str, last: dict[str, Any]) -> list[Any]:
    """singer-io tap: restart with updated_at >= the last one seen."""
    return [{f"{ctx}_updated_at": {"gte": last["attributes"]["updatedAt"]}}]


def test_a_keyset_walk_past_the_100_page_cap_reads_every_record_exactly_once(org):
    burst = org.seeded["seeded"]["burst"]["customer"]
    assert burst > 100 * PAGE  # more than 100 pages share ONE updatedAt
    expected = {c["id"] for c in org.customers}
    seen, calls = _walk(org, "customer", keyset)
    got = [r["id"] for r in seen]
    assert len(got) == len(set(got)) == len(expected) and set(got) == expected
    assert calls == -(-len(expected) // PAGE)  # the floor: one call per page of records, restarts included


def test_a_keyset_walk_of_conversations_with_a_lower_cap_knob(org):
    org.admin.knobs(search_max_pages=4)
    expected = {c["id"] for c in org.conversations}
    seen, calls = _walk(org, "conversation", keyset, page_size=20)
    got = [r["id"] for r in seen]
    assert len(got) == len(set(got)) == len(expected) and set(got) == expected
    assert calls == -(-len(expected) // 20)


def test_a_keyset_walk_without_nested_groups_drains_each_timestamp_then_moves_on(org):
    """The same walk with flat criteria only (nested and/or groups are UNVERIFIED on the real API): first the rest
    of the current timestamp by id, then everything after it."""
    http, ctx, size = org.session(), "customer", 25
    seen: list[dict[str, Any]] = []
    cursor: tuple[str, str] | None = None
    sort = [{"customer_updated_at": "asc"}, {"customer_id": "asc"}]

    def first_page(body: dict[str, Any]) -> list[dict[str, Any]]:
        return search_page(http, org.api_base, {"queryContext": ctx, **body}, 1, size).json()["data"]

    for _ in range(200):
        if cursor is None:
            page = first_page({"sort": sort})
        else:
            at, id_ = cursor
            page = first_page({"and": [{"customer_updated_at": {"equals": at}}, {"customer_id": {"gt": id_}}],
                               "sort": [{"customer_id": "asc"}]})  # the rest of this timestamp
            page = page or first_page({"and": [{"customer_updated_at": {"gt": at}}], "sort": sort})
        if not page:
            break
        seen += page
        cursor = (page[-1]["attributes"]["updatedAt"], page[-1]["id"])
    got = [r["id"] for r in seen]
    assert len(got) == len(set(got)) == len(org.customers)


def test_naive_restarts_on_updated_at_alone_miss_or_repeat_records_in_the_burst(org):
    org.admin.knobs(search_max_pages=5)  # the real cap is 100; 5 keeps the test short, the effect is the same
    expected = {c["id"] for c in org.customers}
    gt_seen, _ = _walk(org, "customer", naive_gt)
    assert len({r["id"] for r in gt_seen}) < len(expected)  # the rest of the burst after the cap is skipped
    gte_seen, calls = _walk(org, "customer", naive_gte, max_calls=40)
    gte_ids = [r["id"] for r in gte_seen]
    assert len(gte_ids) > len(set(gte_ids))  # restarting at the same timestamp reads the same pages again
    assert calls == 40 and set(gte_ids) != expected  # ... and never gets past the burst


def test_paging_one_search_while_records_change_skips_some(org):
    """Pages of one search are offsets into a live result: a record that moves to the end shifts the rest."""
    org.admin.knobs(touch_every_calls=2, touch_count=1, touch_types=["customer"], touch_seed=5)
    seen, _ = _walk(org, "customer", keyset, page_size=10)  # page after page of one query, no cursor
    assert {c["id"] for c in org.customers} - {r["id"] for r in seen}  # some never came up


def test_records_updated_during_extraction_are_read_again_in_their_latest_state(org):
    http = org.session()
    before = {c["id"]: c["attributes"]["rev"] for c in read_all(http, org.api_base, "/customers")}
    org.admin.knobs(touch_every_calls=1, touch_count=2, touch_types=["customer"], touch_seed=3)
    seen, _ = _walk(org, "customer", keyset, page_size=25, cursor_every_page=True)
    org.admin.knobs(touch_every_calls=0)
    # a delta run from the last cursor picks up what changed after the walk had read it
    body = {"queryContext": "customer", "and": keyset("customer", seen[-1]),
            "sort": [{"customer_updated_at": "asc"}, {"customer_id": "asc"}]}
    seen += search_page(http, org.api_base, body, page_size=500).json()["data"]
    latest: dict[str, dict[str, Any]] = {}
    for record in seen:
        latest[record["id"]] = record  # later reads win: the walk is in (updatedAt, id) order
    now = {c["id"]: c for c in read_all(http, org.api_base, "/customers")}
    assert set(latest) == set(now)  # nothing missed
    assert all(latest[i]["attributes"] == now[i]["attributes"] for i in now)  # each in its latest state
    touched = {i for i in now if now[i]["attributes"]["rev"] > before[i]}
    reads = [r["id"] for r in seen]
    assert touched and any(reads.count(i) > 1 for i in touched)  # changed after being read: read again
    assert all(reads.count(i) == 1 for i in now if i not in touched)  # the others exactly once
    assert all(now[i]["attributes"]["updatedAt"] > "2024" for i in touched)  # moved to "now" (after all history)


# ----- rate limits ---------------------------------------------------------------------------------------------------
def test_the_org_wide_limit_answers_429_with_headers_until_the_window_resets(org):
    org.admin.replace_knobs({"rate_limit_per_minute": 5, "search_rate_limit_per_minute": 100})
    org.admin.reset_rate_window()
    http = org.session()
    remaining = []
    for _ in range(5):
        response = http.get(f"{org.api_base}/tags", timeout=30)
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit"] == "5"
        remaining.append(int(response.headers["x-ratelimit-remaining"]))
    assert remaining == [4, 3, 2, 1, 0]
    limited = http.get(f"{org.api_base}/customers", timeout=30)
    assert limited.status_code == 429 and limited.json()["errors"][0]["status"] == 429
    assert limited.headers["x-ratelimit-remaining"] == "0"
    reset = int(limited.headers["x-ratelimit-reset"])
    assert time.time() < reset <= time.time() + 61  # epoch seconds of the window's end
    assert search_page(http, org.api_base, {"queryContext": "customer"}).status_code == 429  # searches count too
    org.admin.reset_rate_window()
    assert http.get(f"{org.api_base}/tags", timeout=30).status_code == 200


def test_searches_have_their_own_lower_limit(org):
    org.admin.replace_knobs({"rate_limit_per_minute": 50, "search_rate_limit_per_minute": 3})
    org.admin.reset_rate_window()
    http = org.session()
    body = {"queryContext": "note"}
    left = []
    for _ in range(3):
        response = search_page(http, org.api_base, body)
        assert response.status_code == 200 and response.headers["x-ratelimit-limit"] == "3"
        left.append(response.headers["x-ratelimit-remaining"])
    assert left == ["2", "1", "0"]
    limited = search_page(http, org.api_base, body)
    assert limited.status_code == 429 and limited.headers["x-ratelimit-remaining"] == "0"
    other = http.get(f"{org.api_base}/customers", timeout=30)  # plain reads still go through
    assert other.status_code == 200 and other.headers["x-ratelimit-limit"] == "50"
    assert int(other.headers["x-ratelimit-remaining"]) == 50 - 4  # the three searches counted org-wide as well


def test_an_injected_429_fault_looks_like_the_real_one(org):
    org.admin.knobs(faults={"rate_429": 1.0, "families": ["list_customers"]})
    http = org.session()
    limited = http.get(f"{org.api_base}/customers", timeout=30)
    assert limited.status_code == 429 and limited.json()["errors"][0]["code"] == "rate_limit_exceeded"
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(limited.headers)
    assert http.get(f"{org.api_base}/tags", timeout=30).status_code == 200
