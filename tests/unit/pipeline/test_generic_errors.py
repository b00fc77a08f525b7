"""The engines act on generic connector failures (hdm.connector_errors), never on a connector's class names or
error strings: any connector's QuotaExhausted stops the run resumably (exit 12); Salesforce's own errors and the
HTTP kit's are those generic failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from hdm import connector_errors
from hdm.destinations.salesforce.errors import DailyLimitExceeded, SchemaNotReady
from hdm.engines.local import LocalEngine
from hdm.http import errors as http_errors
from hdm.pipeline.report import exit_status
from test_local_engine import ListSource, MemoryDestination, _config


class MonthlyCapReached(connector_errors.QuotaExhausted):
    """Some other connector's allowance (a name no engine knows)."""


class Capped(MemoryDestination):
    def __init__(self, store, error):
        super().__init__(store)
        self.error = error

    def load_chunk(self, phase, chunk_id, rows, crosswalk, migration_id, run_id):
        if phase == "contacts":
            raise self.error
        return super().load_chunk(phase, chunk_id, rows, crosswalk, migration_id, run_id)


@pytest.mark.parametrize("error", [
    MonthlyCapReached("monthly API allowance spent"),
    http_errors.QuotaExhausted("allowance spent", family="GET /tickets", status=429),
    DailyLimitExceeded("rest"),
])
def test_any_quota_exhausted_stops_the_run_resumably_with_exit_12(tmp_path, error):
    outcome = LocalEngine(_config(), workdir=tmp_path, progress=False, source_factory=lambda: ListSource(2, 3),
                          destination_factory=lambda: Capped({}, error)).run(approve=True)
    assert outcome.status == "stopped", outcome.message
    assert "run the same command again" in outcome.message
    assert exit_status(outcome.status, None) == 12


def test_a_quota_exhausted_wrapped_by_another_error_still_stops(tmp_path):
    def wrapped():
        try:
            raise MonthlyCapReached("spent")
        except MonthlyCapReached as exc:
            raise RuntimeError("chunk failed") from exc

    try:
        wrapped()
    except RuntimeError as exc:
        error = exc
    outcome = LocalEngine(_config(), workdir=tmp_path, progress=False, source_factory=lambda: ListSource(2, 3),
                          destination_factory=lambda: Capped({}, error)).run(approve=True)
    assert outcome.status == "stopped"


def test_other_failures_are_not_a_stop(tmp_path):
    outcome = LocalEngine(_config(), workdir=tmp_path, progress=False, source_factory=lambda: ListSource(2, 3),
                          destination_factory=lambda: Capped({}, RuntimeError("REQUEST_LIMIT_EXCEEDED"))
                          ).run(approve=True)
    assert outcome.status == "failed", "a vendor's error string is not a generic stop"


def test_connector_errors_are_the_generic_ones():
    assert issubclass(DailyLimitExceeded, connector_errors.QuotaExhausted)
    assert issubclass(SchemaNotReady, connector_errors.SchemaNotReady)
    assert issubclass(http_errors.QuotaExhausted, connector_errors.QuotaExhausted)
    assert issubclass(http_errors.Transient, connector_errors.Transient)
    err = http_errors.Transient("gave up", family="GET /x", status=503, retry_after=2.0)
    assert err.status == 503 and err.retry_after == 2.0 and "HTTP 503" in str(err)
    report = {"not_ready": [{"field": "Case.x__c", "reason": "no access"}]}
    assert SchemaNotReady(report["not_ready"], report).report is report


def test_the_engines_and_steps_name_no_salesforce_error():
    root = Path(__file__).resolve().parents[3]  # the repository
    core = root / "layers" / "hdm" / "hdm"
    texts = [(core / f).read_text() for f in ("engines/local.py", "engines/aws.py", "pipeline/steps.py")]
    texts += [p.read_text() for p in (root / "functions").glob("*/app.py")]
    for needle in ("DailyLimitExceeded", "REQUEST_LIMIT_EXCEEDED", "RequestLimitExceeded", "SalesforceError"):
        assert not any(needle in t for t in texts), needle
