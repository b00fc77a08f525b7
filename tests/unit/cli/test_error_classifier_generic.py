"""The CLI's error classifier goes by the generic connector failures (hdm.connector_errors) and by the
``classify_error`` hook a connector declares, never by a connector's module names (issue #11 review)."""

from __future__ import annotations

from typing import Literal

import pytest
from hdm import connector_errors, exitcodes, registry
from hdm.errors import classify
from hdm.pipeline.config import ConnectorConfig


class FakeDriverError(Exception):
    """An exception of a library a fake connector uses (neither generic nor hdm's)."""


class FakeSrcConfig(ConnectorConfig):
    type: Literal["fakesrc"] = "fakesrc"


class FakeDstConfig(ConnectorConfig):
    type: Literal["fakedst"] = "fakedst"


def _src_hook(exc):
    return f"fake driver said {exc}" if isinstance(exc, FakeDriverError) else None


def _broken_hook(exc):
    raise RuntimeError("a hook with a bug")


@pytest.fixture
def fakes():
    registry.register_source("fakesrc", FakeSrcConfig, lambda cfg, secrets: None,
                             capabilities={registry.CLASSIFY_ERROR: _src_hook})
    registry.register_destination("fakedst", FakeDstConfig, lambda cfg, secrets, ctx: None,
                                  capabilities={registry.CLASSIFY_ERROR: _broken_hook})
    try:
        yield
    finally:
        registry.unregister("source", "fakesrc")
        registry.unregister("destination", "fakedst")


def test_a_generic_quota_exhausted_is_the_daily_limit_status():
    code, line = classify(connector_errors.QuotaExhausted("monthly allowance spent"))
    assert code == exitcodes.DAILY_LIMIT == 12
    assert "monthly allowance spent" in line and "run the same command later" in line


def test_a_quota_exhausted_anywhere_in_the_chain_is_the_daily_limit_status():
    try:
        try:
            raise connector_errors.QuotaExhausted("daily API limit")
        except connector_errors.QuotaExhausted as inner:
            raise RuntimeError("chunk 3 stopped") from inner
    except RuntimeError as outer:
        assert classify(outer)[0] == exitcodes.DAILY_LIMIT


def test_the_generic_source_and_destination_failures_have_their_statuses():
    assert classify(connector_errors.SourceFailure("cannot reach the server")) == (
        exitcodes.SOURCE, "source: cannot reach the server")
    assert classify(connector_errors.DestinationFailure("login refused")) == (
        exitcodes.DESTINATION, "destination: login refused")
    assert classify(connector_errors.SchemaNotReady("2 fields missing"))[0] == exitcodes.DESTINATION


def test_a_connector_hook_classifies_its_own_exceptions_by_its_kind(fakes):
    assert classify(FakeDriverError("no such table")) == (exitcodes.SOURCE, "source: fake driver said no such table")
    # the destination's broken hook is skipped; what no hook claims is still an internal error
    code, line = classify(ValueError("something else"))
    assert code == exitcodes.INTERNAL and "ValueError" in line


def test_an_unknown_connector_type_is_a_config_error():
    code, line = classify(registry.UnknownConnector("unknown source type 'x' (registered: a)"))
    assert code == exitcodes.CONFIG and "unknown source type 'x'" in line


def test_the_real_connectors_keep_their_statuses_through_their_hooks():
    import pymysql
    from hdm.destinations.salesforce.errors import DailyLimitExceeded, SalesforceDestinationError
    from simple_salesforce.exceptions import SalesforceAuthenticationFailed

    refused = pymysql.err.OperationalError(1045, "Access denied for user 'reader'")
    assert classify(refused) == (exitcodes.SOURCE, "source: the database refused the login: "
                                                   "Access denied for user 'reader'")
    code, line = classify(SalesforceAuthenticationFailed("INVALID_LOGIN", "bad password"))
    assert code == exitcodes.DESTINATION and line.startswith("destination: login refused:")
    assert classify(SalesforceDestinationError("job refused")) == (exitcodes.DESTINATION, "destination: job refused")
    assert classify(DailyLimitExceeded())[0] == exitcodes.DAILY_LIMIT  # was 4 (by its module) before
