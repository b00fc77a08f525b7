"""Basic then X-Session-ID sessions, the session-expired status, per-minute rate limits, injected faults,
call counters and Classic mode."""

from __future__ import annotations

import pytest
import requests
from hdm_infra.testing.kayakoemu import KayakoHandle


def login(k: KayakoHandle) -> str:
    body = k.http().get(k.url("session")).json()
    assert body["status"] == 200 and body["resource"] == "session"
    return body["session_id"]


def with_session(k: KayakoHandle, sid: str) -> requests.Session:
    http = k.http(basic=False)
    http.headers["X-Session-ID"] = sid
    return http


def test_basic_then_session(kayakoemu_seeded: KayakoHandle) -> None:
    k = kayakoemu_seeded
    sid = login(k)
    http = with_session(k, sid)
    body = http.get(k.url("cases"), params={"limit": 1}).json()
    assert body["status"] == 200 and "session_id" not in body  # only Basic-authenticated answers carry one
    assert http.get(k.url("session")).json()["data"]["id"] == sid
    none = k.http(basic=False).get(k.url("cases"))
    assert none.status_code == 401 and none.json()["errors"][0]["code"] == "AUTHENTICATION_FAILED"
    wrong = k.http(basic=False).get(k.url("cases"), auth=(k.running.credentials["email"], "nope"))
    assert wrong.status_code == 401
    # Basic together with a session of another user's: the session cannot be loaded
    mixed = k.http().get(k.url("cases"), headers={"X-Session-ID": "not-a-session"})
    assert mixed.status_code == 454 and mixed.json()["errors"][0]["code"] == "SESSION_LOADING_FAILED"
    http.delete(k.url("session"))
    assert http.get(k.url("cases")).status_code == 401


def test_session_expiry_mid_run(kayakoemu_seeded: KayakoHandle) -> None:
    k = kayakoemu_seeded
    http = with_session(k, login(k))
    assert http.get(k.url("cases")).status_code == 200
    assert k.admin.expire_sessions()["expired"] >= 1
    expired = http.get(k.url("cases"))
    assert expired.status_code == 401 and expired.json()["errors"][0]["code"] == "AUTHENTICATION_FAILED"
    k.admin.knobs(expired_session_status=454)
    assert http.get(k.url("cases")).status_code == 454
    # a session that dies after N calls: the (N+1)th call fails, Basic gets a new one
    k.admin.knobs(session_max_calls=3, expired_session_status=401)
    http = with_session(k, login(k))  # the login call is the first
    assert [http.get(k.url("teams")).status_code for _ in range(3)] == [200, 200, 401]
    assert with_session(k, login(k)).get(k.url("teams")).status_code == 200
    with pytest.raises(RuntimeError):
        k.admin.knobs(expired_session_status=500)


def test_rate_limit_answers_429_with_retry_after(kayakoemu_seeded: KayakoHandle) -> None:
    k = kayakoemu_seeded
    k.admin.knobs(rate_limit_per_minute=3, rate_limit_window_seconds=3600)
    http = with_session(k, login(k))  # login is call 1 of the window
    codes = [http.get(k.url("cases")).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = http.get(k.url("cases"))
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 3600
    assert limited.json() == {"status": 429, "errors": [{
        "code": "RATE_LIMIT_REACHED", "message": "The rate limit for this action was reached",
        "more_info": "https://developer.kayako.com/api/v1/reference/errors/RATE_LIMIT_REACHED"}]}
    # limited to some families only
    k.admin.knobs(rate_limited_families=["cases_list"])
    assert http.get(k.url("teams")).status_code == 200
    assert http.get(k.url("cases")).status_code == 429


def test_injected_faults_and_counters(kayakoemu_seeded: KayakoHandle) -> None:
    k = kayakoemu_seeded
    http = with_session(k, login(k))
    k.admin.clear_counters()
    k.admin.knobs(faults={"rate_429": 1.0, "families": ["users_list"]}, fault_retry_after_seconds=7)
    fault = http.get(k.url("users"))
    assert fault.status_code == 429 and fault.headers["Retry-After"] == "7"
    assert fault.json()["errors"][0]["code"] == "RATE_LIMIT_REACHED"
    assert http.get(k.url("teams")).status_code == 200
    k.admin.knobs(faults={"rate_429": 0.0, "rate_503": 1.0, "families": ["teams_list"]})
    assert http.get(k.url("teams")).status_code == 503
    k.admin.knobs(faults={"rate_503": 0.0, "rate_reset": 1.0, "families": ["teams_list"]})
    with pytest.raises(requests.ConnectionError):
        http.get(k.url("teams"))
    k.admin.knobs(faults={"rate_reset": 0.0})
    counters = k.admin.counters()
    assert counters["families"]["users_list"] == 1 and counters["families"]["teams_list"] == 3


def test_classic_mode_answers_like_classic(kayakoemu_seeded: KayakoHandle) -> None:
    k = kayakoemu_seeded
    k.admin.knobs(classic=True)
    v1 = k.http().get(k.url("cases"))
    assert v1.status_code == 404 and v1.headers["Content-Type"].startswith("text/html")
    classic = k.http().get(f"{k.running.url}/api/index.php", params={"e": "/Tickets/Ticket/ListAll/1/1/-1/-1"})
    assert classic.headers["Content-Type"].startswith("text/xml") and classic.text.startswith("<?xml")
    k.admin.knobs(classic=False)
    assert k.http().get(k.url("cases")).status_code == 200
