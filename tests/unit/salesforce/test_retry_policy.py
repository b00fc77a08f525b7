"""Backoff: 429/503/lock/connection errors retry with jitter; the daily limit stops the run at once."""

import pytest
import requests
from hdm.destinations.salesforce.errors import DailyLimitExceeded
from hdm.destinations.salesforce.retry import call_with_retry, is_transient, make_retrying
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceRefusedRequest


def _err(cls, status, code):
    return cls("https://x/services", status, "r", [{"errorCode": code, "message": "m"}])


@pytest.mark.parametrize("exc,transient", [
    (_err(SalesforceGeneralError, 503, "SERVER_UNAVAILABLE"), True),
    (_err(SalesforceGeneralError, 429, "TOO_MANY"), True),
    (_err(SalesforceGeneralError, 500, "UNABLE_TO_LOCK_ROW"), True),
    (requests.ConnectionError("reset"), True),
    (_err(SalesforceGeneralError, 500, "INTERNAL"), False),
    (_err(SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED"), False),
])
def test_which_failures_are_transient(exc, transient):
    assert is_transient(exc) is transient


def test_transient_failures_are_retried_until_success():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise _err(SalesforceGeneralError, 503, "SERVER_UNAVAILABLE")
        return "ok"

    assert call_with_retry(make_retrying(5, 0.001, 0.01, 5), flaky) == "ok"
    assert len(calls) == 3


def test_retries_are_bounded():
    calls = []

    def down():
        calls.append(1)
        raise requests.ConnectionError("reset")

    with pytest.raises(requests.ConnectionError):
        call_with_retry(make_retrying(4, 0.001, 0.01, 5), down)
    assert len(calls) == 4


def test_daily_limit_raises_a_dedicated_exception_without_retrying():
    calls = []

    def limited():
        calls.append(1)
        raise _err(SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED")

    with pytest.raises(DailyLimitExceeded, match="REQUEST_LIMIT_EXCEEDED"):
        call_with_retry(make_retrying(5, 0.001, 0.01, 5), limited)
    assert len(calls) == 1


# -- non-idempotent writes (inserts) ----------------------------------------------------------------

def _sent_count(exc: BaseException, idempotent: bool) -> int:
    calls = []

    def failing():
        calls.append(1)
        raise exc

    with pytest.raises(type(exc)):
        call_with_retry(make_retrying(4, 0.001, 0.01, 5, idempotent=idempotent), failing)
    return len(calls)


@pytest.mark.parametrize("exc", [
    requests.ConnectionError("Connection reset by peer"),
    requests.exceptions.ReadTimeout("read timed out"),
    requests.exceptions.ChunkedEncodingError("cut"),
    SalesforceGeneralError("https://x/services", 502, "r", "<html>Bad Gateway</html>"),
    SalesforceGeneralError("https://x/services", 504, "r", "<html>Gateway Timeout</html>"),
    SalesforceGeneralError("https://x/services", 503, "r", "<html>Service Unavailable</html>"),
], ids=["reset", "read-timeout", "chunked", "502", "504", "503-from-a-proxy"])
def test_an_insert_whose_fate_is_unknown_is_sent_once_and_fails(exc):
    assert _sent_count(exc, idempotent=False) == 1
    assert _sent_count(exc, idempotent=True) == 4  # a query or an upsert is still retried


@pytest.mark.parametrize("exc", [
    _err(SalesforceGeneralError, 429, "TOO_MANY"),
    _err(SalesforceGeneralError, 503, "SERVER_UNAVAILABLE"),
    _err(SalesforceGeneralError, 500, "UNABLE_TO_LOCK_ROW"),
    requests.exceptions.ConnectTimeout("connect timed out"),
], ids=["429", "503-salesforce-body", "lock-row-refusal", "connect-timeout"])
def test_an_insert_that_never_reached_the_server_is_retried(exc):
    assert _sent_count(exc, idempotent=False) == 4


def test_an_insert_to_a_closed_port_is_retried_as_never_sent():
    """A real refused connection (urllib3 NewConnectionError inside requests' ConnectionError)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    calls = []

    def post():
        calls.append(1)
        return requests.post(f"http://127.0.0.1:{port}/services/data/v59.0/composite/sobjects", json={}, timeout=2)

    with pytest.raises(requests.ConnectionError):
        call_with_retry(make_retrying(3, 0.001, 0.01, 5, idempotent=False), post)
    assert len(calls) == 3
