"""A generic Transient (a connector's retries ran out) is acted on by both engines and by the CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hdm import connector_errors, exitcodes
from hdm.engines import aws
from hdm.engines.local import LocalEngine
from hdm.errors import classify
from hdm.http import errors as http_errors
from hdm_infra.testing.sam_harness import REPO
from test_local_engine import ListSource, MemoryDestination, _config


class Flaky(MemoryDestination):
    """Fails ``failures`` times per chunk with the HTTP kit's Transient, then loads."""

    def __init__(self, store: dict, failures: int, calls: dict):
        super().__init__(store)
        self.failures, self.calls = failures, calls

    def load_chunk(self, phase, chunk_id, rows, crosswalk, migration_id, run_id):
        self.calls[chunk_id] = self.calls.get(chunk_id, 0) + 1
        if self.calls[chunk_id] <= self.failures:
            raise http_errors.Transient("server error", family="POST /things", status=503)
        return super().load_chunk(phase, chunk_id, rows, crosswalk, migration_id, run_id)


def _engine(tmp_path, store, failures, calls):
    engine = LocalEngine(_config(), workdir=tmp_path, progress=False,
                         source_factory=lambda: ListSource(2, 3),
                         destination_factory=lambda: Flaky(store, failures, calls))
    engine.transient_delay = 0  # no sleeps in tests
    return engine


def test_the_local_engine_retries_a_transient_chunk_and_completes(tmp_path):
    store, calls = {}, {}
    outcome = _engine(tmp_path, store, failures=2, calls=calls).run(approve=True)
    assert outcome.status == "succeeded", outcome.message
    assert calls and all(n == 3 for n in calls.values())  # two failures, then the load
    assert len(store) == 5


def test_a_transient_outlasting_the_retries_stops_resumably_with_a_try_later_status(tmp_path):
    store, calls = {}, {}
    outcome = _engine(tmp_path, store, failures=10, calls=calls).run(approve=True)
    assert outcome.status == "failed"
    assert all(n == 3 for n in calls.values())  # bounded: three attempts per chunk, no more
    assert "try again later" in outcome.message
    code, line = classify(outcome.error)
    assert code == exitcodes.TRANSIENT != exitcodes.INTERNAL
    assert "try again later" in line
    # the same command continues: the next run loads what is left
    again = _engine(tmp_path, store, failures=0, calls={}).run(approve=True)
    assert again.status == "succeeded", again.message
    assert len(store) == 5


def test_the_cli_answers_a_transient_with_its_own_exit_status(tmp_path, monkeypatch):
    from hdm import cli

    class Boom:
        def run(self, approve=False, delta=False):
            from hdm.engines.local import RunOutcome
            return RunOutcome("m", "r", "failed", str(tmp_path), "x",
                              error=http_errors.Transient("server busy", status=429))

    monkeypatch.setattr(cli, "_load_config", lambda path: None)
    monkeypatch.setattr(cli, "_engine", lambda *a, **k: Boom())
    result = CliRunner().invoke(cli.main, ["run", "--config", str(tmp_path / "c.yaml"), "--no-progress"])
    assert result.exit_code == exitcodes.TRANSIENT, result.output
    assert "try again later" in result.output
    assert "try again later" in exitcodes.epilog()


def test_a_quota_is_not_retried_as_transient():
    quota = http_errors.QuotaExhausted("daily allocation spent")
    assert not connector_errors.is_transient(quota)
    assert classify(quota)[0] == exitcodes.DAILY_LIMIT


@pytest.mark.parametrize("error", [http_errors.Transient("server error", status=503),
                                   connector_errors.Transient("vendor busy")])
def test_the_lambda_handlers_raise_every_transient_under_one_error_name(error):
    @aws.masked_errors
    def handler(event, context):
        try:
            raise error
        except Exception as exc:
            raise RuntimeError("chunk failed for jane@example.com") from exc

    with pytest.raises(Exception) as caught:
        handler({}, None)
    assert type(caught.value).__name__ == "Transient"
    assert "jane@example.com" not in str(caught.value)


def test_other_errors_keep_their_name_in_the_handlers():
    @aws.masked_errors
    def handler(event, context):
        raise KeyError("x")

    with pytest.raises(KeyError):
        handler({}, None)


def test_the_asl_retries_transient_on_every_chunk_state_bounded_with_backoff():
    definition = json.loads((REPO / "statemachine" / "migration.asl.json").read_text())
    found = {}
    for state in definition["States"].values():
        for name, child in state.get("ItemProcessor", {}).get("States", {}).items():
            found[name] = [r for r in child.get("Retry", []) if "Transient" in r["ErrorEquals"]]
    assert set(found) == {"ExtractChunk", "TransformChunk", "LoadChunk"}
    for name, retriers in found.items():
        assert len(retriers) == 1, name
        r = retriers[0]
        assert 1 <= r["MaxAttempts"] <= 5 and r["BackoffRate"] > 1 and r["IntervalSeconds"] >= 5, name
        assert r.get("MaxDelaySeconds", 0) <= 300, name
