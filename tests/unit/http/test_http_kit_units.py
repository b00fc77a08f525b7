"""Pure logic of hdm.http: Retry-After parsing, the limiter on a fake clock, vendor messages, scrubbing,
counters, URL families, session settings."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
import requests
from hdm.http import (
    BasicAuth,
    BearerAuth,
    CallCounters,
    HttpClient,
    QuotaExhausted,
    RateLimiter,
    Rejected,
    make_session,
    parse_retry_after,
    vendor_message,
)
from hdm.http.errors import scrub


class FakeTime:
    def __init__(self, wall: float = 1_800_000_000.0) -> None:
        self.mono = 100.0
        self.wall_offset = wall - self.mono
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.mono

    def wall(self) -> float:
        return self.mono + self.wall_offset

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.mono += seconds


def _limiter(t: FakeTime, **kw) -> RateLimiter:
    return RateLimiter(clock=t.clock, wall=t.wall, sleep=t.sleep, **kw)


def test_retry_after_seconds_date_and_garbage():
    now = dt.datetime(2026, 12, 3, 12, 0, 0, tzinfo=dt.UTC)
    assert parse_retry_after("3") == 3.0 and parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after("Thu, 03 Dec 2026 12:00:07 GMT", now=now) == 7.0
    assert parse_retry_after("Thu, 03 Dec 2026 11:00:00 GMT", now=now) == 0.0  # in the past: go now
    assert parse_retry_after("-4") == 0.0
    for bad in (None, "", "soon", "nan", "inf"):
        assert parse_retry_after(bad) is None


def test_ceiling_spaces_calls_evenly():
    t = FakeTime()
    limiter = _limiter(t, limit=10_000, window=60.0, share=0.8)  # 8,000/min: one every 7.5 ms
    for _ in range(9):
        limiter.acquire()
    assert t.slept == pytest.approx([0.0075] * 8)


def test_headers_hold_calls_until_the_reset_and_keep_a_reserve():
    t = FakeTime()
    limiter = _limiter(t, limit=1_000_000, window=60.0, share=0.8)
    reset = t.wall() + 10
    limiter.acquire()
    limiter.observe({"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "4", "X-RateLimit-Reset": str(int(reset))})
    limiter.acquire()  # 4 left > reserve 2: goes at once
    limiter.observe({})
    limiter.acquire()  # estimate 3 → goes
    limiter.observe({})
    assert sum(t.slept) < 0.01
    limiter.acquire()  # estimate 2 = the reserve: wait for the reset
    assert t.wall() == pytest.approx(reset, abs=0.01) and max(t.slept) == pytest.approx(10, abs=0.01)


def test_lower_case_headers_and_seconds_until_reset_are_understood():
    t = FakeTime()
    limiter = _limiter(t, limit=1_000_000, window=60.0, share=0.5)
    limiter.acquire()
    limiter.observe({"x-ratelimit-limit": "100", "x-ratelimit-remaining": "50", "x-ratelimit-reset": "30"})
    limiter.acquire()
    assert max(t.slept) == pytest.approx(30, abs=0.01)


def test_a_wait_beyond_max_wait_is_a_spent_quota():
    t = FakeTime()
    limiter = _limiter(t, limit=1_000_000, window=60.0, max_wait=5.0)
    limiter.acquire()
    limiter.observe({"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0",
                     "X-RateLimit-Reset": str(int(t.wall() + 3600))})
    with pytest.raises(QuotaExhausted):
        limiter.acquire()
    assert max(t.slept, default=0) < 0.01


def test_late_answers_from_an_old_window_do_not_lower_the_new_budget():
    t = FakeTime()
    limiter = _limiter(t, limit=1_000_000, window=60.0, share=0.5)
    old_reset = int(t.wall() + 1)
    limiter.acquire()
    limiter.observe({"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "8", "X-RateLimit-Reset": str(old_reset)})
    limiter.acquire()
    limiter.observe({"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "9",
                     "X-RateLimit-Reset": str(old_reset + 60)})  # a new window
    limiter.acquire()
    limiter.observe({"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(old_reset)})
    assert limiter.snapshot()["remaining_estimate"] == 8  # 9 - the call made since, the stale 0 ignored


def test_limiter_is_thread_safe():
    t = FakeTime()
    lock = threading.Lock()

    def sleep(seconds):
        with lock:
            t.slept.append(seconds)

    limiter = RateLimiter(100, 1.0, share=1.0, clock=lambda: 0.0, wall=t.wall, sleep=sleep)
    threads = [threading.Thread(target=lambda: [limiter.acquire() for _ in range(25)]) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    # 100 calls at one instant: each got its own slot, 10 ms apart
    assert sorted(round(s, 4) for s in t.slept) == [round(i * 0.01, 4) for i in range(1, 100)]  # the first: no wait


def _response(status: int, body, content_type="application/json") -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = json.dumps(body).encode() if not isinstance(body, bytes) else body
    r.headers["Content-Type"] = content_type
    return r


@pytest.mark.parametrize(("body", "expected"), [
    ({"type": "error.list", "request_id": "r", "errors": [{"code": "not_found", "message": "User Not Found"}]},
     "not_found User Not Found"),  # Intercom
    ({"status": 429, "errors": [{"code": "RATE_LIMIT_REACHED", "message": "slow down", "more_info": "u"}]},
     "RATE_LIMIT_REACHED slow down"),  # Kayako
    ({"errors": [{"status": 400, "title": "Bad Request", "detail": "pageSize too big"}, {"title": "x"}]},
     "400 pageSize too big (+1 more)"),  # Kustomer (JSON:API)
    ({"message": "plain"}, "plain"),
    ({"error": {"message": "nested"}}, "nested"),
    ([1, 2], ""),
])
def test_vendor_message_shapes(body, expected):
    assert vendor_message(_response(400, body)) == expected


def test_non_json_bodies_are_never_quoted():
    assert vendor_message(_response(502, b"<html>token=abc</html>", "text/html")) == "non-JSON answer (22 bytes)"


def test_scrub_cuts_masks_and_hides_secrets():
    text = scrub("key sk-live-123456 for dana@example.com " + "y" * 1000, ("sk-live-123456",))
    assert "sk-live" not in text and "dana@" not in text and len(text) <= 200 and "***" in text


def test_auth_reprs_hide_secrets():
    for auth in (BearerAuth("tok-123456"), BasicAuth("u", "pw-123456")):
        assert "123456" not in repr(auth) and "123456" not in str(auth)
    with pytest.raises(ValueError):
        BearerAuth("")


def test_counters_snapshot():
    c = CallCounters()
    c.record("GET /a", "200", 0.1, retry=False)
    c.record("GET /a", "429", 0.2, retry=True)
    c.record("POST /b", "connection-error", 0.0, retry=False)
    assert c.snapshot() == {"GET /a": {"calls": 2, "retries": 1, "statuses": {"200": 1, "429": 1}, "seconds": 0.3},
                            "POST /b": {"calls": 1, "retries": 0, "statuses": {"connection-error": 1},
                                        "seconds": 0.0}}
    assert c.total == 3 and c.calls("GET /nothing") == 0


def test_urls_and_families():
    client = HttpClient("https://acme.kayako.com/api/v1/")
    assert client.url_for("/cases/{id}/posts", {"id": "7 8"}) == "https://acme.kayako.com/api/v1/cases/7%208/posts"
    assert client.family_of("get", "/cases/{id}/posts?x=1") == "GET /cases/{id}/posts"
    assert client.family_of("GET", "https://acme.kayako.com/api/v1/cases?offset=5") == "GET /api/v1/cases"
    with pytest.raises(Rejected):
        client.url_for("https://acme.kayako.com.evil.example/api/v1/cases")
    with pytest.raises(ValueError):
        HttpClient("acme.kayako.com")


def test_session_defaults(tmp_path):
    s = make_session()
    assert s.verify is True and s.headers["User-Agent"].startswith("hdm/")
    assert s.get_adapter("https://x").max_retries.total == 0
    with pytest.raises(ValueError):
        make_session(ca_bundle=tmp_path / "missing.pem")


class BreakingSession:
    """A session whose first answers break mid-body, then succeed."""

    def __init__(self, failures: int) -> None:
        self.verify = True
        self.failures = failures
        self.calls = 0

    def request(self, method, url, **kwargs):
        self.calls += 1
        if self.calls <= self.failures:
            raise requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead")
        return _response(200, {"ok": True})


def test_an_answer_broken_mid_body_is_transient_and_retried_for_reads_only():
    from hdm.http import RetryPolicy, Transient

    fast = RetryPolicy(attempts=3, base=0.001, cap=0.001)
    session = BreakingSession(failures=1)
    client = HttpClient("https://api.example", session=session, retry=fast)  # type: ignore[arg-type]
    assert client.get_json("/contacts") == {"ok": True} and session.calls == 2
    session = BreakingSession(failures=1)
    client = HttpClient("https://api.example", session=session, retry=fast)  # type: ignore[arg-type]
    with pytest.raises(Transient, match="not sent again"):
        client.request("POST", "/contacts", json={})
    assert session.calls == 1
