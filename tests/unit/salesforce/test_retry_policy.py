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
