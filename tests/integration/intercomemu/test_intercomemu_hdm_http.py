"""hdm's own HTTP kit (what the Intercom destination uses) against the emulator: the RateLimiter follows
X-RateLimit-Remaining/Reset and waits for the window instead of meeting 429s; injected 429/500/503 faults on reads
are retried and nothing is lost or repeated."""

from __future__ import annotations

from hdm.http import HttpClient, RetryPolicy, make_session
from hdm.http.auth import BearerAuth
from hdm.http.paging import cursor_in_body, cursor_pages
from hdm.http.ratelimit import RateLimiter


def _client(emu, **kwargs) -> HttpClient:
    return HttpClient(emu.url, auth=BearerAuth(emu.access_token), session=make_session(ca_bundle=emu.running.cert_path),
                      headers={"Intercom-Version": "2.16"}, **kwargs)


def _contacts(emu, n):
    for i in range(n):
        response = emu.api.post(emu.url + "/contacts", json={"email": f"p{i}@x.example", "external_id": f"p-{i}"})
        assert response.status_code == 200, response.text


def test_the_rate_limiter_waits_for_the_window_instead_of_meeting_429(intercomemu):
    intercomemu.admin.knobs(rate_per_minute=300, window_seconds=1)  # 5 calls a 1-second window
    limiter = RateLimiter(100_000, 60, share=1.0, max_wait=10)
    client = _client(intercomemu, limiter=limiter, retry=RetryPolicy(attempts=2, base=0.01, cap=0.02, total=10.0))
    for _ in range(12):
        assert client.get_json("/tags")["type"] == "list"
    assert limiter.waits >= 1  # held by X-RateLimit-Remaining 0 until X-RateLimit-Reset
    assert set(client.counters.snapshot()["GET /tags"]["statuses"]) == {"200"}


def test_faults_are_retried_and_search_pages_lose_nothing(intercomemu):
    _contacts(intercomemu, 7)
    intercomemu.admin.knobs(faults={"seed": 3, "rate_429": 0.2, "rate_500": 0.2, "rate_503": 0.2,
                                    "families": ["SearchContacts"]})
    waits: list[float] = []
    client = _client(intercomemu, retry=RetryPolicy(attempts=12, base=0.01, cap=0.02, total=30.0),
                     sleep=waits.append)
    body = {"query": {"field": "email", "operator": "$", "value": "@x.example"}, "pagination": {"per_page": 2}}
    ids = []
    for page in cursor_pages(client, "/contacts/search", method="POST", json=body, max_pages=20,
                             place=cursor_in_body("pagination", "starting_after")):
        ids += [c["external_id"] for c in page.items]
    assert sorted(ids) == [f"p-{i}" for i in range(7)]
    statuses = client.counters.snapshot()["POST /contacts/search"]["statuses"]
    assert {"429", "500", "503"} <= set(statuses) and waits
