"""Retries against a real loopback server: Retry-After honoured (measured), bounds, idempotency, error mapping."""

from __future__ import annotations

import email.utils
import json
import socket
import time

import pytest
from hdm.http import AuthFailed, HttpClient, NotFound, QuotaExhausted, Rejected, RetryPolicy, Transient
from werkzeug.wrappers import Response

FAST = RetryPolicy(attempts=3, base=0.05, cap=0.2, total=10.0, max_retry_after=5.0, quota_after=600.0)


def _json(body, status=200, headers=None):
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")


def _sequence(*responses):
    answers = list(responses)

    def handler(request):
        return answers.pop(0) if len(answers) > 1 else answers[0]

    return handler


def test_429_with_retry_after_seconds_is_honoured(loopback):
    loopback.handler = _sequence(_json({"type": "error.list"}, 429, {"Retry-After": "1"}), _json({"ok": 1}))
    client = HttpClient(loopback.url, retry=FAST)
    started = time.monotonic()
    assert client.get_json("/contacts") == {"ok": 1}
    gap = loopback.seen[1].at - loopback.seen[0].at
    assert 1.0 <= gap < 1.0 + 1.0, gap  # waited what the server asked, jitter at most 10% / 1 s
    assert time.monotonic() - started < 3
    counts = client.counters.snapshot()["GET /contacts"]
    assert counts == {"calls": 2, "retries": 1, "statuses": {"200": 1, "429": 1}, "seconds": counts["seconds"]}


def test_429_with_retry_after_http_date_is_honoured(loopback):
    def handler(request):
        if len(loopback.seen) == 1:
            when = email.utils.formatdate(time.time() + 2, usegmt=True)
            return _json({}, 429, {"Retry-After": when})
        return _json({"ok": 2})

    loopback.handler = handler
    client = HttpClient(loopback.url, retry=FAST)
    assert client.get_json("/tickets") == {"ok": 2}
    gap = loopback.seen[1].at - loopback.seen[0].at
    assert 0.9 <= gap < 3.5, gap  # an HTTP date has 1-second precision


def test_retry_after_beyond_the_policy_is_not_slept_but_reported(loopback):
    loopback.handler = lambda r: _json({}, 429, {"Retry-After": "30"})
    client = HttpClient(loopback.url, retry=FAST)
    started = time.monotonic()
    with pytest.raises(Transient) as caught:
        client.get_json("/contacts")
    assert time.monotonic() - started < 1
    assert caught.value.retry_after == 30 and caught.value.status == 429
    assert len(loopback.seen) == 1


def test_retry_after_of_hours_is_a_spent_quota(loopback):
    loopback.handler = lambda r: _json({"errors": [{"code": "rate_limit_exceeded", "message": "daily"}]}, 429,
                                       {"Retry-After": "7200"})
    with pytest.raises(QuotaExhausted) as caught:
        HttpClient(loopback.url, retry=FAST).get_json("/contacts")
    assert "daily" in str(caught.value) and len(loopback.seen) == 1


def test_5xx_retries_are_bounded_in_attempts(loopback):
    loopback.handler = lambda r: _json({"errors": [{"message": "boom"}]}, 503)
    client = HttpClient(loopback.url, retry=FAST)
    started = time.monotonic()
    with pytest.raises(Transient) as caught:
        client.get_json("/cases")
    assert len(loopback.seen) == FAST.attempts
    assert time.monotonic() - started < 2
    assert caught.value.status == 503 and "GET /cases" in str(caught.value)


def test_5xx_retries_are_bounded_in_total_time(loopback):
    loopback.handler = lambda r: _json({}, 503, {"Retry-After": "0.4"})
    client = HttpClient(loopback.url, retry=RetryPolicy(attempts=50, base=0.05, cap=0.1, total=1.0))
    started = time.monotonic()
    with pytest.raises(Transient):
        client.get_json("/cases")
    assert time.monotonic() - started < 2.0
    assert 2 <= len(loopback.seen) <= 4


def test_a_post_is_not_sent_again_after_a_5xx_unless_marked_idempotent(loopback):
    loopback.handler = _sequence(_json({}, 502), _json({"id": "1"}, 201))
    client = HttpClient(loopback.url, retry=FAST)
    with pytest.raises(Transient):
        client.request("POST", "/contacts", json={"email": "a@example.com"})
    assert len(loopback.seen) == 1
    loopback.handler = _sequence(_json({}, 502), _json({"id": "1"}, 201))
    assert client.json("POST", "/contacts/search", json={}, idempotent=True) == {"id": "1"}
    assert len(loopback.seen) == 3


def test_a_post_is_sent_again_after_a_429(loopback):
    loopback.handler = _sequence(_json({}, 429, {"Retry-After": "0"}), _json({"id": "2"}, 201))
    assert HttpClient(loopback.url, retry=FAST).json("POST", "/contacts", json={}) == {"id": "2"}
    assert len(loopback.seen) == 2


def test_a_post_is_sent_again_when_the_connection_was_never_made():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = HttpClient(f"http://127.0.0.1:{port}", retry=FAST, timeout=(0.5, 1.0))
    with pytest.raises(Transient) as caught:
        client.request("POST", "/contacts", json={})
    assert "connection failed" in str(caught.value)
    assert client.counters.snapshot()["POST /contacts"]["statuses"] == {"connection-error": FAST.attempts}


def test_a_post_is_not_sent_again_after_a_read_timeout_but_a_get_is(loopback):
    def slow(request):
        time.sleep(0.6)
        return _json({})

    loopback.handler = slow
    client = HttpClient(loopback.url, retry=FAST, timeout=(1.0, 0.2))
    with pytest.raises(Transient) as caught:
        client.request("POST", "/tickets", json={})
    assert "not sent again" in str(caught.value)
    assert len(loopback.seen) == 1
    with pytest.raises(Transient):
        client.request("GET", "/tickets")
    assert len(loopback.seen) == 1 + FAST.attempts


@pytest.mark.parametrize(("status", "exc"), [(401, AuthFailed), (403, AuthFailed), (404, NotFound),
                                             (409, Rejected), (422, Rejected)])
def test_statuses_map_to_generic_errors_with_the_vendor_message(loopback, status, exc):
    loopback.handler = lambda r: _json({"type": "error.list", "errors": [{"code": "conflict",
                                        "message": "A contact matching those details already exists"}]}, status)
    with pytest.raises(exc) as caught:
        HttpClient(loopback.url, retry=FAST).get_json("/contacts/{id}", path_params={"id": "abc/../x"})
    text = str(caught.value)
    assert f"HTTP {status}" in text and "conflict A contact matching" in text
    assert "GET /contacts/{id}" in text and "abc" not in text  # the template, not the id
    assert loopback.seen[0].raw == "/contacts/abc%2F..%2Fx"  # path values are quoted, not interpreted
    assert len(loopback.seen) == 1
    if exc is Rejected:
        assert caught.value.errors == [{"code": "conflict",
                                        "message": "A contact matching those details already exists"}]


def test_vendor_messages_are_cut_and_masked_and_non_json_bodies_never_quoted(loopback):
    long = "x" * 5000
    loopback.handler = lambda r: _json({"errors": [{"message": f"person bob@example.com said {long}"}]}, 422)
    with pytest.raises(Rejected) as caught:
        HttpClient(loopback.url, retry=FAST).get_json("/contacts")
    assert "bob@example.com" not in str(caught.value) and len(str(caught.value)) < 300
    loopback.handler = lambda r: Response("<html>secret page for carol@example.com</html>", status=400)
    with pytest.raises(Rejected) as caught:
        HttpClient(loopback.url, retry=FAST).get_json("/contacts")
    assert "carol" not in str(caught.value) and "non-JSON answer" in str(caught.value)


def test_a_next_url_on_another_origin_is_refused(loopback):
    with pytest.raises(Rejected):
        HttpClient(loopback.url).request("GET", "https://elsewhere.example/api/v1/cases")
    assert loopback.seen == []


def test_timeouts_user_agent_and_version_header_are_always_sent(loopback):
    client = HttpClient(loopback.url, headers={"Intercom-Version": "2.16"})
    client.get_json("/me")
    headers = loopback.seen[0].headers
    assert headers["User-Agent"].startswith("hdm/") and headers["Intercom-Version"] == "2.16"
    with pytest.raises(ValueError):
        HttpClient(loopback.url, timeout=(5.0, None))  # type: ignore[arg-type]


def test_a_connector_can_say_which_answers_mean_a_spent_quota(loopback):
    loopback.handler = lambda r: _json({"errors": [{"code": "REQUEST_LIMIT_EXCEEDED", "message": "daily"}]}, 403)

    def is_quota(response):
        return response.status_code == 403 and "REQUEST_LIMIT_EXCEEDED" in response.text

    with pytest.raises(QuotaExhausted):
        HttpClient(loopback.url, retry=FAST, is_quota=is_quota).get_json("/contacts")
    with pytest.raises(AuthFailed):
        HttpClient(loopback.url, retry=FAST).get_json("/contacts")
