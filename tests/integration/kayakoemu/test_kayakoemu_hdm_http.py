"""hdm's own HTTP kit (the one the Kayako source will use) against the emulator: Basic login to a session,
X-Session-ID, next_url paging, and the faults a real run meets (429 with Retry-After, 503, resets, the session
expiring mid-run) lose and duplicate nothing."""

from __future__ import annotations

from hdm.http import HttpClient, RetryPolicy, SessionTokenAuth, basic_login, make_session
from hdm.http.paging import next_url_pages
from hdm_infra.testing.kayakoemu import SEED_CASES, KayakoHandle


def test_hdm_http_extracts_every_case_once_through_faults(kayakoemu_seeded: KayakoHandle) -> None:
    k = kayakoemu_seeded
    creds = k.running.credentials
    k.admin.knobs(session_max_calls=4, fault_retry_after_seconds=2,
                  faults={"seed": 11, "rate_429": 0.2, "rate_503": 0.1, "rate_reset": 0.1,
                          "families": ["cases_list"]})
    waits: list[float] = []
    auth = SessionTokenAuth(basic_login(f"{k.running.api_url}/session.json", creds["email"], creds["password"]),
                            header="X-Session-ID", expired_statuses=(401, 454), secrets=(creds["password"],))
    client = HttpClient(k.running.api_url, auth=auth, session=make_session(ca_bundle=k.running.cert_path),
                        retry=RetryPolicy(attempts=8, base=0.01, cap=0.02, total=30.0), sleep=waits.append)
    ids = []
    for page in next_url_pages(client, "/cases", params={"limit": 1, "include": "user"}, max_pages=50):
        ids += [c["id"] for c in page.items]
        assert all("full_name" in c["requester"] for c in page.items)
    assert len(ids) == SEED_CASES == len(set(ids)) and ids == sorted(ids)
    assert auth.logins >= 2  # the session died mid-run and was renewed
    assert any(w >= 2.0 for w in waits)  # the injected 429's Retry-After (2 s) was honoured
    statuses = client.counters.snapshot()["GET /cases"]["statuses"]
    assert statuses.get("429") and statuses.get("503") and statuses.get("401")
    families = k.admin.counters()["families"]
    assert families["cases_list"] > SEED_CASES // 2  # faults cost extra calls, none was lost
