"""hdm's own HTTP kit (the one the Kustomer source will use) against the emulator: bearer key, search pages with an
(updatedAt, id) cursor, the search limit's x-ratelimit-* headers honoured by hdm's RateLimiter (it waits for the
reset instead of meeting 429s), and injected 429/503 faults retried without losing or repeating a record."""

from __future__ import annotations

from typing import Any

from hdm.http import HttpClient, RetryPolicy, make_session
from hdm.http.auth import BearerAuth
from hdm.http.ratelimit import RateLimiter
from hdm_infra.testing.kustomeremu import SEED_CUSTOMERS, KustomerHandle

SORT = [{"customer_updated_at": "asc"}, {"customer_id": "asc"}]


def _walk(client: HttpClient, size: int) -> list[str]:
    ids: list[str] = []
    criteria: list[Any] = []
    for _ in range(100):
        body = client.json("POST", "/customers/search", params={"page": 1, "pageSize": size},
                           json={"queryContext": "customer", "and": criteria, "sort": SORT},
                           idempotent=True)  # a search is a read: safe to send again after a 503 or a reset
        ids += [r["id"] for r in body["data"]]
        if not body["links"]["next"]:
            return ids
        last = body["data"][-1]
        at = last["attributes"]["updatedAt"]
        criteria = [{"or": [{"customer_updated_at": {"gt": at}},
                            {"and": [{"customer_updated_at": {"equals": at}}, {"customer_id": {"gt": last["id"]}}]}]}]
    raise AssertionError("walk did not end")


def _client(k: KustomerHandle, **kwargs: Any) -> HttpClient:
    return HttpClient(k.api_base, auth=BearerAuth(k.running.api_key),
                      session=make_session(ca_bundle=k.running.cert_path), **kwargs)


def test_hdm_http_waits_for_the_search_window_instead_of_meeting_429(kustomeremu_seeded: KustomerHandle) -> None:
    k = kustomeremu_seeded
    k.admin.knobs(search_rate_limit_per_minute=5, window_seconds=2.0)  # 8 pages: one wait
    k.admin.reset_rate_window()
    limiter = RateLimiter(1000, 60, share=1.0, max_wait=10)
    client = _client(k, limiter=limiter, retry=RetryPolicy(attempts=2, base=0.01, cap=0.02, total=10.0))
    ids = _walk(client, size=5)
    assert len(ids) == len(set(ids)) == SEED_CUSTOMERS
    assert limiter.waits >= 1  # held by x-ratelimit-remaining = 0 until x-ratelimit-reset
    statuses = client.counters.snapshot()["POST /customers/search"]["statuses"]
    assert set(statuses) == {"200"}  # no 429 was needed


def test_hdm_http_retries_injected_faults_and_loses_nothing(kustomeremu_seeded: KustomerHandle) -> None:
    k = kustomeremu_seeded
    k.admin.knobs(rate_limit_per_minute=100_000, search_rate_limit_per_minute=100_000,
                  faults={"seed": 4, "rate_429": 0.25, "rate_503": 0.15, "families": ["search_customer"]})
    waits: list[float] = []
    client = _client(k, retry=RetryPolicy(attempts=10, base=0.01, cap=0.02, total=30.0), sleep=waits.append)
    ids = _walk(client, size=3)
    assert len(ids) == len(set(ids)) == SEED_CUSTOMERS
    statuses = client.counters.snapshot()["POST /customers/search"]["statuses"]
    assert statuses.get("429") and statuses.get("503") and waits
    assert k.admin.counts()["calls"]["searches"] > -(-SEED_CUSTOMERS // 3)  # faults cost calls, none was lost
